"""The control API: loopback by default, a bearer token beyond it; never on the gateway port."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import pytest

from coldbrew.cli.client import Client
from tests.e2e.harness import EXAMPLES, Server, wait_for
from tests.e2e.test_faults import announcing_coffee

SERVICES = "/apis/serving.knative.dev/v1/services"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_by_default_the_control_api_is_on_loopback_only_and_open_there(server: Server) -> None:
    assert httpx.get(f"{server.admin_url}{SERVICES}").status_code == 200
    # Bound to 127.0.0.1: another loopback address (and so any other interface) finds nothing.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.2:{server.admin_port}/healthz", timeout=2)
    assert not (server.state_dir / "admin-token").exists()


def test_the_state_dir_and_pod_logs_are_the_owners_only(server: Server) -> None:
    server.cli("apply", "-f", "-", stdin=announcing_coffee())
    server.wait_ready("coffee")
    server.request("coffee.default.example.com")  # the app logs each request
    assert mode(server.state_dir) == 0o700
    db = [p for p in server.state_dir.iterdir() if p.name.startswith("state.db")]
    assert {p.name for p in db} >= {"state.db", "state.db-wal"}
    assert all(mode(p) == 0o600 for p in db), {p.name: oct(mode(p)) for p in db}
    logs = wait_for(lambda: list((server.state_dir / "logs").rglob("*.log")), what="a pod log")
    assert all(mode(log) & 0o077 == 0 for log in logs), {str(p): oct(mode(p)) for p in logs}


@pytest.fixture
def exposed(tmp_path: Path):
    with Server(tmp_path / "state", "--admin-host", "0.0.0.0", "--workers", "2") as srv:
        yield srv


def test_beyond_loopback_every_call_needs_the_token(exposed: Server) -> None:
    token_file = exposed.state_dir / "admin-token"
    assert mode(token_file) == 0o600
    token = token_file.read_text().strip()
    assert len(token) >= 32 and token not in exposed.log()
    wait_for(lambda: str(token_file) in exposed.log(), what="serve to say where the token is")
    base = f"http://127.0.0.2:{exposed.admin_port}"  # reached beyond 127.0.0.1
    assert httpx.get(f"{base}/healthz").status_code == 200  # probes stay open
    assert httpx.get(f"{base}/readyz").status_code == 200
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {token}"}):
        answer = httpx.get(f"{base}{SERVICES}", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    refused = httpx.put(
        f"{base}{SERVICES.replace('/services', '/namespaces/default/services')}/coffee",
        content=(EXAMPLES / "coffee.yaml").read_bytes(),
    )
    assert refused.status_code == 401
    ok = httpx.get(f"{base}{SERVICES}", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    # The CLI sends the token from $COLDBREW_TOKEN; without it, it is told why.
    env_before = os.environ.get("COLDBREW_TOKEN")
    try:
        os.environ["COLDBREW_TOKEN"] = token
        assert exposed.cli("apply", "-f", str(EXAMPLES / "coffee.yaml")).returncode == 0
        # The workers reached the feed and the metrics stream with the token: Ready
        # needs both workers to have applied the route.
        exposed.wait_ready("coffee", timeout=20)
        assert exposed.request("coffee.default.example.com").text == "Hello coffee!\n"
        os.environ["COLDBREW_TOKEN"] = "wrong"
        out = exposed.cli("get", "ksvc")
        assert out.returncode == 1 and "401" in out.stderr, out
    finally:
        if env_before is None:
            os.environ.pop("COLDBREW_TOKEN", None)
        else:
            os.environ["COLDBREW_TOKEN"] = env_before
    assert Client(base, token=token).get("ksvc", "coffee", "default")["metadata"]["name"]


def test_the_gateway_port_serves_no_control_or_admin_endpoint(server: Server) -> None:
    for path in ("/healthz", "/readyz", SERVICES, "/api/v1/pods", "/dataplane/feed", "/metrics"):
        for host in ("127.0.0.1", f"127.0.0.1:{server.port}", "localhost"):
            answer = httpx.get(f"{server.url}{path}", headers={"Host": host})
            assert answer.status_code == 404, (path, host, answer.text)

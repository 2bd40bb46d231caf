"""``coldbrew serve --https-port --tls-self-signed`` with curl trusting the generated CA."""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import EXAMPLES, Server, free_port, wait_for
from tests.tooling import needs_tool

COFFEE = "coffee.default.example.com"


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[Server]:
    with Server(tmp_path / "state", "--https-port", str(free_port()), "--tls-self-signed") as srv:
        yield srv


def https_port(srv: Server) -> int:
    return int(srv.extra[srv.extra.index("--https-port") + 1])


def curl(srv: Server, *flags: str, host: str = COFFEE) -> subprocess.CompletedProcess[str]:
    port = https_port(srv)
    ca = srv.state_dir / "tls" / "ca.crt"
    cmd = ["curl", "-sS", "--max-time", "10", "--cacert", str(ca)]
    cmd += ["--resolve", f"{host}:{port}:127.0.0.1", *flags, f"https://{host}:{port}/"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def advertises_h2(port: int) -> bool:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=COFFEE) as tls,
    ):
        return tls.selected_alpn_protocol() == "h2"


@needs_tool("curl")
def test_curl_over_tls_trusting_the_local_ca(https_server: Server) -> None:
    ca = https_server.state_dir / "tls" / "ca.crt"
    assert str(ca) in https_server.log()  # printed, so the user can trust it
    assert (https_server.state_dir / "tls" / "ca.key").stat().st_mode & 0o777 == 0o600
    out = https_server.cli("apply", "-f", str(EXAMPLES / "coffee.yaml"))
    assert out.returncode == 0, out.stderr
    https_server.wait_ready("coffee")
    done = curl(https_server, "--http1.1")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello coffee!\n"
    if advertises_h2(https_port(https_server)):
        done = curl(https_server, "--http2", "-w", "%{http_version}")
        assert done.returncode == 0, done.stderr
        assert done.stdout == "Hello coffee!\n2"
    old = curl(https_server, "--http1.1", "--tls-max", "1.1")
    assert old.returncode != 0  # TLS 1.1 refused
    # A service in a new namespace: the CA re-signs the certificate for its wildcard.
    tea = (EXAMPLES / "tea.yaml").read_text().replace("name: tea", "name: tea\n  namespace: shop")
    out = https_server.cli("apply", "-f", "-", stdin=tea)
    assert out.returncode == 0, out.stderr
    wait_for(lambda: https_server.ready("tea", "shop"), what="ksvc tea Ready")

    def tea_answers() -> bool:
        done = curl(https_server, "--http1.1", host="tea.shop.example.com")
        return done.returncode == 0 and done.stdout == "Hello tea!\n"

    wait_for(tea_answers, timeout=15, interval=0.5, what="tea over TLS")


@needs_tool("curl")
def test_gateway_workers_serve_https_from_the_same_files(tmp_path: Path) -> None:
    srv = Server(
        tmp_path / "state",
        "--workers", "2",
        "--https-port", str(free_port()),
        "--tls-self-signed",
        "-f", str(EXAMPLES / "coffee.yaml"),
    )  # fmt: skip
    srv.start()
    try:
        srv.wait_ready("coffee", timeout=20)

        def answers() -> bool:
            done = curl(srv, "--http1.1")
            return done.returncode == 0 and done.stdout == "Hello coffee!\n"

        wait_for(answers, timeout=15, interval=0.5, what="HTTPS through the workers")
    finally:
        assert srv.stop() == 0, srv.log()[-4000:]

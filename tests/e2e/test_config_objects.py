"""ConfigMaps and Secrets with the process runtime: env references, waiting, refusals."""

from __future__ import annotations

import stat
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from coldbrew.cli.client import ClientError
from tests.e2e.harness import Server, wait_for

# A pod answering its env: PASSWORD (a Secret), GREETING (a ConfigMap), POD (the fieldRef).
SERVER = textwrap.dedent(
    """
    import http.server, os
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = " ".join(os.environ.get(k, "-") for k in ("PASSWORD", "CFG_GREETING", "POD"))
            self.send_response(200); self.end_headers(); self.wfile.write(body.encode() + b"\\n")
        def log_message(self, *a): pass
    http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
    """
)


def service(**container: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "image": "registry.example.com/envtest:v1",
        "command": ["python", "-c", SERVER],
        "env": [
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ],
        "envFrom": [{"configMapRef": {"name": "web"}, "prefix": "CFG_"}],
    }
    spec.update(container)
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "envtest"},
        "spec": {"template": {"spec": {"containers": [spec]}}},
    }


CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "web"},
    "data": {"GREETING": "hello"},
}
SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db"},
    "data": {"password": "czNjcmV0"},
}  # base64 of "s3cret"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """serve with Knative's kubernetes.podspec-fieldref flag Enabled (its default: Disabled)."""
    config = tmp_path / "config.yaml"
    config.write_text("features:\n  kubernetes.podspec-fieldref: Enabled\n")
    with Server(tmp_path / "state", "--config", str(config)) as srv:
        yield srv


def revision_ready(server: Server) -> dict[str, Any]:
    rev = server.client().get("revisions", "envtest-00001")
    return next(c for c in rev["status"]["conditions"] if c["type"] == "Ready")


def test_missing_secret_holds_the_revision_until_it_is_applied(
    server: Server, tmp_path: Path
) -> None:
    manifests = tmp_path / "all.yaml"
    manifests.write_text(yaml.safe_dump_all([service(), CONFIGMAP]))
    out = server.cli("apply", "-f", str(manifests))
    assert out.returncode == 0, out.stderr
    assert "configmap/web created" in out.stdout
    cond = wait_for(  # the ConfigMap came after the Service: then only the Secret is missing
        lambda: 'secret "db"' in (c := revision_ready(server)).get("message", "") and c,
        timeout=20,
        what="revision not Ready for its Secret",
    )
    assert cond["status"] == "False" and cond["reason"] == "CreateContainerConfigError"
    assert 'secret "db" not found' in cond["message"]
    revisions = server.cli("get", "revisions")
    assert "CreateContainerConfigError" in revisions.stdout
    pods = server.cli("get", "pods")
    assert "CreateContainerConfigError" in pods.stdout

    def service_ready() -> dict[str, Any]:
        conditions = server.service("envtest")["status"]["conditions"]
        return next(c for c in conditions if c["type"] == "Ready")

    wait_for(
        lambda: 'secret "db" not found' in service_ready().get("message", ""),
        what="the service's Ready condition naming the Secret",
    )
    ksvc = server.cli("get", "ksvc").stdout.splitlines()[1].split()
    assert ksvc[-2:] == ["False", "RevisionFailed"]

    server.client().apply(SECRET)
    svc = server.wait_ready("envtest", timeout=30)
    assert svc["status"]["latestReadyRevisionName"] == "envtest-00001"
    answer = server.request("envtest.default.example.com").text.split()
    assert answer[:2] == ["s3cret", "hello"]
    assert answer[2].startswith("envtest-00001-deployment-")

    listing = server.cli("get", "secrets").stdout.splitlines()
    assert listing[0].split() == ["NAME", "TYPE", "DATA", "AGE"]
    assert listing[1].split()[:3] == ["db", "Opaque", "1"]
    assert server.cli("get", "cm").stdout.splitlines()[1].split()[:2] == ["web", "1"]
    shown = server.cli("get", "secret", "db", "-o", "yaml").stdout
    assert "czNjcmV0" in shown and "s3cret" not in shown
    assert "s3cret" not in server.log()
    for name in ("state.db", "state.db-wal"):  # they hold the Secret
        assert stat.S_IMODE((server.state_dir / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(server.state_dir.stat().st_mode) == 0o700


def test_config_objects_survive_a_restart_and_delete(tmp_path: Path) -> None:
    srv = Server(tmp_path / "state")
    srv.start()
    try:
        assert srv.client().apply(SECRET) == "created"
        assert srv.client().apply(SECRET) == "unchanged"
    finally:
        assert srv.stop() == 0
    srv = Server(tmp_path / "state")
    srv.start()
    try:
        assert srv.client().get("secrets", "db")["data"] == {"password": "czNjcmV0"}
        out = srv.cli("delete", "secret", "db")
        assert out.returncode == 0 and 'secret "db" deleted' in out.stdout
        assert srv.client().get("secrets")["items"] == []
    finally:
        assert srv.stop() == 0


def test_process_runtime_refuses_volume_mounts(server: Server) -> None:
    server.client().apply(CONFIGMAP)
    server.client().apply(SECRET)
    svc = service(volumeMounts=[{"name": "web", "mountPath": "/etc/web", "readOnly": True}])
    svc["spec"]["template"]["spec"]["volumes"] = [{"name": "web", "configMap": {"name": "web"}}]
    server.client().apply(svc)
    cond = wait_for(
        lambda: (c := revision_ready(server))["status"] == "False" and c,
        timeout=20,
        what="revision not Ready",
    )
    assert cond["reason"] == "CreateContainerConfigError"
    assert (
        "spec.template.spec.containers[0].volumeMounts[0].mountPath: the process runtime "
        "cannot mount volumes; use --runtime docker" in cond["message"]
    )


def test_a_bad_secret_is_refused_naming_its_field(server: Server) -> None:
    bad = dict(SECRET, data={"password": "not base64!"})
    with pytest.raises(ClientError) as err:
        server.client().apply(bad)
    assert "illegal base64 data: data[password]" in str(err.value)
    assert server.client().get("secrets")["items"] == []

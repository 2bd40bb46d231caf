"""Bad input gets a clear error naming its field and loses nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from coldbrew.api import load_documents
from coldbrew.cli.client import ClientError
from tests.e2e.harness import EXAMPLES, Server

CORPUS = sorted((Path(__file__).parents[1] / "data" / "invalid").glob("*.yaml"))


def expected_field(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# field: "), path
    return first.removeprefix("# field: ").strip()


def test_invalid_corpus_refused_and_nothing_stored(server: Server) -> None:
    assert len(CORPUS) >= 30
    server.cli("apply", "-f", str(EXAMPLES / "coffee.yaml"))
    before = server.wait_ready("coffee")
    client = server.client()
    for path in CORPUS:
        docs = load_documents(path.read_text())
        with pytest.raises(ClientError) as err:
            client.apply(docs[0])
        assert expected_field(path) in str(err.value), (path.name, str(err.value))
    services = client.get("ksvc")["items"]
    assert [s["metadata"]["name"] for s in services] == ["coffee"]
    assert client.get("configmaps")["items"] == client.get("secrets")["items"] == []
    after = server.service("coffee")
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    revisions = client.get("revisions")["items"]
    assert [r["metadata"]["name"] for r in revisions] == ["coffee-00001"]
    assert server.request("coffee.default.example.com").text == "Hello coffee!\n"


def test_cli_names_the_field_and_exits_1(server: Server, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    good = yaml.safe_load((EXAMPLES / "tea.yaml").read_text())
    broken = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    broken["spec"]["template"]["spec"]["containerConcurrency"] = 1001
    bad.write_text(yaml.safe_dump_all([good, broken]))
    out = server.cli("apply", "-f", str(bad))
    assert out.returncode == 1
    assert "service.serving.knative.dev/tea created" in out.stdout
    assert "expected 0 <= 1001 <= 1000: spec.template.spec.containerConcurrency" in out.stderr
    names = [s["metadata"]["name"] for s in server.client().get("ksvc")["items"]]
    assert names == ["tea"]

    syntax = server.cli("apply", "-f", "-", stdin="apiVersion: [unclosed\n")
    assert syntax.returncode == 1 and "line" in syntax.stderr


def test_cli_reports_a_server_that_is_down(tmp_path: Path) -> None:
    srv = Server(tmp_path / "state")  # never started
    out = srv.cli("get", "ksvc")
    assert out.returncode == 1
    assert "cannot reach the coldbrew server" in out.stderr
    assert "Traceback" not in out.stderr


def test_unknown_revision_in_traffic_keeps_previous_routing(server: Server, tmp_path: Path) -> None:
    server.cli("apply", "-f", str(EXAMPLES / "coffee-v1.yaml"))
    server.wait_ready("coffee")
    canary = yaml.safe_load((EXAMPLES / "coffee-canary.yaml").read_text())
    canary["spec"]["traffic"][0]["revisionName"] = "coffee-v9"
    out = server.cli("apply", "-f", "-", stdin=yaml.safe_dump(canary))
    assert out.returncode == 0, out.stderr

    def routes_failed() -> dict | None:
        svc = server.service("coffee")
        conds = {c["type"]: c for c in svc["status"]["conditions"]}
        return svc if conds["RoutesReady"]["status"] == "False" else None

    from tests.e2e.harness import wait_for

    svc = wait_for(routes_failed, what="RoutesReady False")
    conds = {c["type"]: c for c in svc["status"]["conditions"]}
    assert conds["RoutesReady"]["reason"] == "RevisionMissing"
    assert "coffee-v9" in conds["RoutesReady"]["message"]
    assert conds["Ready"]["status"] == "False"
    for _ in range(10):
        assert server.request("coffee.default.example.com").text == "Hello coffee-v1!\n"


def test_unmapped_image_fails_revision_and_keeps_serving(server: Server) -> None:
    server.cli("apply", "-f", str(EXAMPLES / "coffee.yaml"))
    server.wait_ready("coffee")
    manifest = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    manifest["spec"]["template"]["spec"]["containers"][0]["image"] = "example.org/no/such:1"
    server.cli("apply", "-f", "-", stdin=yaml.safe_dump(manifest))

    from tests.e2e.harness import wait_for

    def failed() -> dict | None:
        svc = server.service("coffee")
        conds = {c["type"]: c for c in svc["status"]["conditions"]}
        return conds if conds["ConfigurationsReady"]["status"] == "False" else None

    conds = wait_for(failed, what="ConfigurationsReady False")
    assert conds["ConfigurationsReady"]["reason"] == "RevisionFailed"
    assert "example.org/no/such:1" in conds["ConfigurationsReady"]["message"]
    table = server.cli("get", "ksvc").stdout
    assert "coffee-00002" in table and "RevisionFailed" in table
    rev = server.client().get("revisions", "coffee-00002")
    ready = {c["type"]: c for c in rev["status"]["conditions"]}["Ready"]
    assert ready["status"] == "False" and ready["reason"] == "ImagePullBackOff"
    assert server.request("coffee.default.example.com").text == "Hello coffee!\n"


def test_serve_refuses_a_wrong_config_naming_the_key(tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "config.yaml"
    cmd = [sys.executable, "-m", "coldbrew", "serve", "--port", "0", "--admin-port", "0"]
    cmd += ["--state-dir", str(tmp_path / "s"), "--config", str(config)]
    for text, key in [
        ("autoscaler:\n  stable-window: 2s\n", "autoscaler.stable-window"),
        ("autoscaler:\n  no-such-key: 1\n", "no-such-key"),
        ("scaler: {}\n", "scaler"),
    ]:
        config.write_text(text)
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        assert out.returncode == 1
        assert key in out.stderr, out.stderr


def test_serve_refuses_an_unreadable_state_file_naming_it(tmp_path: Path) -> None:
    import subprocess
    import sys

    state_dir = tmp_path / "s"
    state_dir.mkdir()
    state = state_dir / "state.json"
    cmd = [sys.executable, "-m", "coldbrew", "serve", "--port", "0", "--admin-port", "0"]
    cmd += ["--state-dir", str(state_dir)]
    for text, message in [
        ('{"version": 1, "services": [', "not JSON"),
        ('{"version": 2, "services": [], "revisions": []}', "written by a newer coldbrew"),
        ('{"version": 1, "services": [{"name": 1}], "revisions": []}', "services[0]"),
    ]:
        state.write_text(text)
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        assert out.returncode == 1, out.stderr
        assert "refusing to start" in out.stderr and str(state) in out.stderr, out.stderr
        assert message in out.stderr, out.stderr
        assert state.read_text() == text  # left for the user to look at


def test_serve_refuses_a_state_db_it_cannot_read_naming_it(tmp_path: Path) -> None:
    import sqlite3
    import subprocess
    import sys

    state_dir = tmp_path / "s"
    state_dir.mkdir()
    db_file = state_dir / "state.db"
    cmd = [sys.executable, "-m", "coldbrew", "serve", "--port", "0", "--admin-port", "0"]
    cmd += ["--state-dir", str(state_dir), "--runtime", "process"]
    garbage = b"\xff\xfe not an SQLite database, long enough for its header. " * 4
    db_file.write_bytes(garbage)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert out.returncode == 1, out.stderr
    assert "refusing to start" in out.stderr and str(db_file) in out.stderr, out.stderr
    assert "not a database" in out.stderr, out.stderr
    assert db_file.read_bytes() == garbage  # left for the user to look at
    db_file.unlink()
    db = sqlite3.connect(db_file)
    db.execute("PRAGMA user_version = 99")
    db.close()
    newer = db_file.read_bytes()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert out.returncode == 1, out.stderr
    assert str(db_file) in out.stderr and "written by a newer coldbrew" in out.stderr, out.stderr
    assert db_file.read_bytes() == newer


def test_serve_refuses_a_state_it_cannot_read_naming_it(tmp_path: Path) -> None:
    import subprocess
    import sys

    state_dir = tmp_path / "s"
    (state_dir / "state.json").mkdir(parents=True)  # not a file: unreadable as one
    cmd = [sys.executable, "-m", "coldbrew", "serve", "--port", "0", "--admin-port", "0"]
    cmd += ["--state-dir", str(state_dir), "--runtime", "process"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert out.returncode == 1, out.stderr
    assert f"cannot read {state_dir / 'state.json'}" in out.stderr, out.stderr
    assert (state_dir / "state.json").is_dir() and not list((state_dir / "state.json").iterdir())
    garbage = b"\xff\xfe{\x00 truncated"
    (state_dir / "state.json").rmdir()
    (state_dir / "state.json").write_bytes(garbage)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "not JSON" in out.stderr, out.stderr
    assert (state_dir / "state.json").read_bytes() == garbage

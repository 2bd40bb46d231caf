"""Delete, logs, listing formats and a graceful stop, against a real server."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import httpx
import yaml

from tests.e2e.harness import EXAMPLES, Server, wait_for

COFFEE = "coffee.default.example.com"


def test_delete_removes_everything(server: Server) -> None:
    server.cli("apply", "-f", str(EXAMPLES / "coffee.yaml"))
    server.wait_ready("coffee")
    out = server.cli("delete", "ksvc", "coffee")
    assert out.returncode == 0
    assert out.stdout.strip() == 'service.serving.knative.dev "coffee" deleted'
    assert server.request(COFFEE).status_code == 404
    wait_for(lambda: not server.pods(), timeout=35, what="pods gone")
    assert server.client().get("revisions")["items"] == []
    missing = server.cli("delete", "ksvc", "coffee")
    assert missing.returncode == 1 and "not found" in missing.stderr


def test_output_formats(server: Server) -> None:
    server.cli("apply", "-f", str(EXAMPLES / "coffee.yaml"))
    server.wait_ready("coffee")
    listing = json.loads(server.cli("get", "ksvc", "-o", "json").stdout)
    assert listing["kind"] == "ServiceList"
    assert listing["items"][0]["apiVersion"] == "serving.knative.dev/v1"
    one = yaml.safe_load(server.cli("get", "ksvc", "coffee", "-o", "yaml").stdout)
    assert one["kind"] == "Service" and one["metadata"]["name"] == "coffee"
    revs = server.cli("get", "revisions").stdout.splitlines()
    assert revs[0].split() == [
        "NAME",
        "CONFIG",
        "NAME",
        "GENERATION",
        "READY",
        "REASON",
        "ACTUAL",
        "REPLICAS",
        "DESIRED",
        "REPLICAS",
    ]
    assert revs[1].split() == ["coffee-00001", "coffee", "1", "True", "1", "1"]
    pods = json.loads(server.cli("get", "pods", "-o", "json").stdout)
    pod = pods["items"][0]
    labels = pod["metadata"]["labels"]
    assert labels["serving.knative.dev/service"] == "coffee"
    assert labels["serving.knative.dev/revision"] == "coffee-00001"
    assert labels["serving.knative.dev/configuration"] == "coffee"
    assert pod["status"]["phase"] == "Running" and pod["status"]["podIP"] == "127.0.0.1"
    port = pod["spec"]["containers"][0]["ports"][0]["containerPort"]
    assert httpx.get(f"http://127.0.0.1:{port}/").text == "Hello coffee!\n"
    wide = server.cli("get", "pods", "-o", "wide").stdout
    assert "127.0.0.1" in wide and str(port) in wide
    empty = server.cli("get", "ksvc", "-n", "other")
    assert empty.returncode == 0 and "No resources found" in empty.stderr


def test_logs_of_a_pod(server: Server, tmp_path: Path) -> None:
    app = tmp_path / "chatty.py"
    app.write_text(
        "import os, http.server\n"
        "print('chatty starting on', os.environ['PORT'], os.environ['K_REVISION'], flush=True)\n"
        "http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])),"
        " http.server.SimpleHTTPRequestHandler).serve_forever()\n"
    )
    manifest = yaml.safe_load((EXAMPLES / "tea.yaml").read_text())
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    container["command"] = ["python", str(app)]
    server.cli("apply", "-f", "-", stdin=yaml.safe_dump(manifest))
    server.wait_ready("tea")
    pod = server.pods("tea-00001")[0]["metadata"]["name"]
    text = wait_for(lambda: "chatty" in (t := server.cli("logs", pod).stdout) and t)
    assert "chatty starting on" in text and "tea-00001" in text
    assert server.cli("logs", "no-such-pod").returncode == 1


APPS = Path(__file__).resolve().parents[1] / "apps"


def test_sigterm_finishes_in_flight_requests(server: Server) -> None:
    manifest = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    container["command"] = ["python", str(APPS / "announcing_app.py")]
    server.cli("apply", "-f", "-", stdin=yaml.safe_dump(manifest))
    server.wait_ready("coffee")
    pod = server.pods()[0]
    name, pid = pod["metadata"]["name"], pod["metadata"]["annotations"]["coldbrew.dev/pid"]
    result: dict[str, httpx.Response] = {}
    thread = threading.Thread(
        target=lambda: result.setdefault("r", server.request(COFFEE, "/?sleep=1500"))
    )
    thread.start()
    wait_for(lambda: "started /?sleep=1500" in server.cli("logs", name).stdout, what="in flight")
    assert server.stop(signal.SIGTERM) == 0
    thread.join(10)
    assert result["r"].status_code == 200
    assert result["r"].text == "done /?sleep=1500\n"
    assert not Path(f"/proc/{pid}").exists()

"""The seed article's cafe demo, end to end: real server, real pods, real hey."""

from __future__ import annotations

import collections
import os
import re
import signal

import httpx

from tests.e2e.harness import EXAMPLES, Hey, Server, wait_for
from tests.tooling import needs_tool

COFFEE = "coffee.default.example.com"


def hello(server: Server, host: str = COFFEE) -> str:
    resp = server.request(host)
    assert resp.status_code == 200, resp.text
    return resp.text


def test_coffee_ready_and_answers(server: Server) -> None:
    # How fast it gets Ready is a benchmark's (loadtest/cafe.py), not this test's.
    out = server.cli("apply", "-f", str(EXAMPLES / "coffee.yaml"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "service.serving.knative.dev/coffee created"
    svc = server.wait_ready("coffee", timeout=30)
    assert svc["status"]["url"] == "http://coffee.default.example.com"
    assert svc["status"]["latestReadyRevisionName"] == "coffee-00001"
    assert hello(server) == "Hello coffee!\n"
    # Host matching ignores case and port.
    assert hello(server, "Coffee.Default.Example.COM:8080") == "Hello coffee!\n"
    unknown = server.request("nope.default.example.com")
    assert unknown.status_code == 404
    again = server.cli("apply", "-f", str(EXAMPLES / "coffee.yaml"))
    assert again.stdout.strip() == "service.serving.knative.dev/coffee unchanged"

    table = server.cli("get", "ksvc")
    assert table.returncode == 0
    header, row = table.stdout.splitlines()
    assert header.split() == ["NAME", "URL", "LATESTCREATED", "LATESTREADY", "READY", "REASON"]
    assert row.split() == ["coffee", svc["status"]["url"], "coffee-00001", "coffee-00001", "True"]
    pods = server.cli("get", "pods")
    assert re.search(
        r"^coffee-00001-deployment-[a-z0-9]+-[a-z0-9]{5}\s+1/1\s+Running\s+0\s", pods.stdout, re.M
    ), pods.stdout


def load_seen(server: Server, revision: str = "coffee-00001") -> bool:
    path = "/apis/autoscaling.internal.knative.dev/v1alpha1/namespaces/default/podautoscalers"
    pa = httpx.get(f"{server.admin_url}{path}/{revision}", timeout=5).json()
    return float(pa["status"].get("coldbrew", {}).get("panicValue", 0)) > 0


@needs_tool("hey")
def test_rollout_under_load_drops_nothing(server: Server) -> None:
    server.cli("apply", "-f", str(EXAMPLES / "coffee.yaml"))
    server.wait_ready("coffee")
    with Hey("-z", "8s", "-c", "20", "-host", COFFEE, f"{server.url}/") as hey:
        wait_for(lambda: len(server.pods("coffee-00001")) == 1, what="old pod")
        wait_for(lambda: load_seen(server), what="the autoscaler to see the load")
        out = server.cli("apply", "-f", str(EXAMPLES / "coffee-v1.yaml"))
        assert out.stdout.strip() == "service.serving.knative.dev/coffee configured"
        wait_for(
            lambda: (
                server.service("coffee")["status"].get("latestReadyRevisionName") == "coffee-v1"
            ),
            what="coffee-v1 ready",
        )
        codes = hey.finish()
    assert set(codes) == {"200"}, hey.report
    assert codes["200"] > 100, hey.report
    for _ in range(20):
        assert hello(server) == "Hello coffee-v1!\n"
    wait_for(lambda: not server.pods("coffee-00001"), timeout=35, what="old pods gone")


def test_canary_split_and_tags(server: Server) -> None:
    server.cli("apply", "-f", str(EXAMPLES / "coffee-v1.yaml"))
    server.wait_ready("coffee")
    out = server.cli("apply", "-f", str(EXAMPLES / "coffee-canary.yaml"))
    assert out.returncode == 0, out.stderr
    svc = wait_for(
        lambda: (
            (s := server.ready("coffee"))
            and s["status"]["latestReadyRevisionName"] == "coffee-v2"
            and s
        ),
        what="canary ready",
    )
    traffic = {t.get("tag"): t for t in svc["status"]["traffic"]}
    assert traffic["v1"]["url"] == "http://v1-coffee.default.example.com"
    assert traffic["v2"]["percent"] == 30
    assert hello(server, "v1-coffee.default.example.com") == "Hello coffee-v1!\n"
    assert hello(server, "v2-coffee.default.example.com") == "Hello coffee-v2!\n"
    assert hello(server, "latest-coffee.default.example.com") == "Hello coffee-v2!\n"
    counts: collections.Counter[str] = collections.Counter()
    with httpx.Client(base_url=server.url, headers={"Host": COFFEE}, timeout=10) as http:
        for _ in range(3000):
            counts[http.get("/").text] += 1
    assert sum(counts.values()) == 3000
    share = counts["Hello coffee-v1!\n"] / 3000
    assert abs(share - 0.70) <= 0.03, counts
    assert counts["Hello coffee-v1!\n"] + counts["Hello coffee-v2!\n"] == 3000


def test_restart_brings_services_back(server: Server) -> None:
    server.cli("apply", "-f", str(EXAMPLES / "coffee.yaml"))
    server.cli("apply", "-f", str(EXAMPLES / "tea.yaml"))
    server.wait_ready("coffee")
    server.wait_ready("tea")
    assert server.stop() == 0
    server.start()
    server.wait_ready("coffee")
    server.wait_ready("tea")
    assert hello(server) == "Hello coffee!\n"
    assert hello(server, "tea.default.example.com") == "Hello tea!\n"
    revisions = server.client().get("revisions")["items"]
    assert sorted(r["metadata"]["name"] for r in revisions) == ["coffee-00001", "tea-00001"]


def test_kill_9_pod_restarts(server: Server) -> None:
    server.cli("apply", "-f", str(EXAMPLES / "coffee.yaml"))
    server.wait_ready("coffee")
    pod = wait_for(lambda: server.pods("coffee-00001"), what="pod")[0]
    name = pod["metadata"]["name"]
    pid = int(pod["metadata"]["annotations"]["coldbrew.dev/pid"])
    os.kill(pid, signal.SIGKILL)

    def restarted() -> bool:
        pods = server.pods("coffee-00001")
        st = pods[0]["status"] if pods else {}
        cs = st.get("containerStatuses", [{}])[0]
        return bool(pods) and cs.get("restartCount") == 1 and cs.get("ready") is True

    wait_for(restarted, timeout=15, what="pod restarted and ready")
    assert server.pods("coffee-00001")[0]["metadata"]["name"] == name
    assert hello(server) == "Hello coffee!\n"
    table = server.cli("get", "pods").stdout
    assert re.search(rf"^{name}\s+1/1\s+Running\s+1\s", table, re.M), table
    logs = server.cli("logs", name)
    assert logs.returncode == 0

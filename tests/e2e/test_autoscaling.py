"""The KPA end to end: the seed's stress test, scale to zero and back, hard concurrency."""

from __future__ import annotations

import concurrent.futures
import json
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.e2e.harness import EXAMPLES, Hey, Server, wait_for
from tests.tooling import needs_tool


@pytest.fixture
def server(quick_idle_server: Server) -> Server:
    """This module's revisions idle in about 12 s (see ``conftest.quick_idle_server``)."""
    return quick_idle_server


COFFEE = "coffee.default.example.com"
APPS = Path(__file__).resolve().parents[1] / "apps"
hey_missing = needs_tool("hey")


def coffee(window: str = "6s", **annotations: str) -> dict:
    manifest = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    notes = manifest["spec"]["template"]["metadata"]["annotations"]
    notes["autoscaling.knative.dev/window"] = window
    notes.update(annotations)
    return manifest


def kpa(server: Server, revision: str = "coffee-00001") -> dict:
    path = "/apis/autoscaling.internal.knative.dev/v1alpha1/namespaces/default/podautoscalers"
    return httpx.get(f"{server.admin_url}{path}/{revision}", timeout=5).json()


def ready_pods(server: Server, revision: str = "coffee-00001") -> int:
    return int(kpa(server, revision)["status"]["actualScale"])


@hey_missing
def test_seed_stress_scales_out_and_back(server: Server, tmp_path: Path) -> None:
    server.client().apply(coffee())
    server.wait_ready("coffee")
    with Hey("-z", "20s", "-c", "90", "-host", COFFEE, f"{server.url}/?sleep=100") as hey:
        start = time.monotonic()
        wait_for(lambda: ready_pods(server) >= 9, timeout=12, interval=0.25, what=">= 9 pods")
        scaled_after = time.monotonic() - start
        codes = hey.finish()
    assert set(codes) == {"200"}, hey.report
    assert scaled_after < 12
    table = server.cli("get", "kpa").stdout
    assert table.splitlines()[0].split()[:5] == [
        "NAME",
        "DESIREDSCALE",
        "ACTUALSCALE",
        "READY",
        "REASON",
    ]
    # After the load the KPA brings the pods back down (to zero, with a 6 s window).
    wait_for(lambda: ready_pods(server) == 0, timeout=60, interval=0.5, what="scale to zero")
    replay_matches_live(server, tmp_path)


def replay_matches_live(server: Server, tmp_path: Path) -> None:
    """``coldbrew simulate`` on the live run's trace reproduces its decisions."""
    live = httpx.get(f"{server.admin_url}/autoscaler/traces/default/coffee-00001").json()
    trace = tmp_path / "trace.csv"
    rows = [f"{r['second']},{r['concurrency']:.4f}" for r in live["trace"]]
    trace.write_text("second,concurrency\n" + "\n".join(rows) + "\n")
    manifest = tmp_path / "coffee.yaml"
    manifest.write_text(yaml.safe_dump(coffee()))
    out = server.cli(
        "simulate", "-f", str(manifest), "--trace", str(trace), "--tail-seconds", "30", "-o", "json"
    )
    assert out.returncode == 0, out.stderr
    sim = json.loads(out.stdout)
    live_desired = [d["desired"] for d in live["decisions"]]
    sim_desired = [t["desired"] for t in sim["ticks"]]
    assert abs(max(live_desired) - max(sim_desired)) <= 1, (live_desired, sim_desired)
    assert live_desired[-1] == 0 and sim_desired[-1] == 0


def test_scale_to_zero_then_50_concurrent_requests(server: Server) -> None:
    # "disable" keeps meaning Knative's scale to zero now that a reserve is the default.
    server.client().apply(coffee(**{"knative.aliyun.com/reserve-instance": "disable"}))
    server.wait_ready("coffee")
    assert server.request(COFFEE).status_code == 200
    wait_for(lambda: not server.pods("coffee-00001"), timeout=60, interval=0.5, what="zero pods")
    assert kpa(server)["status"]["desiredScale"] == 0
    svc = server.service("coffee")
    assert {c["type"]: c["status"] for c in svc["status"]["conditions"]}["Ready"] == "True"

    def one(_: int) -> tuple[int, str]:
        r = httpx.get(f"{server.url}/", headers={"Host": COFFEE}, timeout=30)
        return r.status_code, r.text

    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        results = list(pool.map(one, range(50)))
    assert results == [(200, "Hello coffee!\n")] * 50
    assert ready_pods(server) >= 1


def test_container_concurrency_1_is_a_hard_limit(server: Server) -> None:
    manifest = coffee(window="60s")
    spec = manifest["spec"]["template"]["spec"]
    spec["containerConcurrency"] = 1
    spec["containers"][0]["command"] = ["python", str(APPS / "counting_app.py")]
    manifest["spec"]["template"]["metadata"]["annotations"]["autoscaling.knative.dev/max-scale"] = (
        "1"
    )
    server.client().apply(manifest)
    server.wait_ready("coffee")

    def one(_: int) -> int:
        r = httpx.get(f"{server.url}/?sleep=50", headers={"Host": COFFEE}, timeout=60)
        return r.status_code

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        assert list(pool.map(one, range(20))) == [200] * 20
    port = server.pods("coffee-00001")[0]["spec"]["containers"][0]["ports"][0]["containerPort"]
    assert httpx.get(f"http://127.0.0.1:{port}/max").text == "1\n"

"""Reserved instances: the seed's sequence, end to end, dropping nothing."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

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
RESERVE_LABEL = "knative.aliyun.com/reserve-instance"
hey_missing = needs_tool("hey")


def manifest(name: str = "coffee.yaml", **annotations: str) -> dict:
    doc = yaml.safe_load((EXAMPLES / name).read_text())
    notes = doc["spec"]["template"]["metadata"]["annotations"]
    notes["autoscaling.knative.dev/window"] = "6s"
    notes.update(annotations)
    return doc


def kinds(server: Server) -> list[tuple[str, bool]]:
    """(standard|reserve, ready) of every live pod."""
    out = []
    for pod in server.pods():
        if pod["metadata"].get("deletionTimestamp"):
            continue
        kind = "reserve" if pod["metadata"]["labels"].get(RESERVE_LABEL) else "standard"
        ready = pod["status"]["containerStatuses"][0]["ready"]
        out.append((kind, ready))
    return out


class Trickle:
    """Requests every 100 ms in the background; counts successes (with their latency)
    and failures, and keeps ``seen``: (sent at, status or 0, body or error) of each.
    :meth:`wait_ok` waits for the n-th success."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.seen: list[tuple[float, int, str]] = []
        self.failed: list[object] = []
        self.latencies: list[float] = []
        self.stop = threading.Event()
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self.run)

    @property
    def ok(self) -> int:
        return len(self.latencies)

    def run(self) -> None:
        with httpx.Client(base_url=self.server.url, headers={"Host": COFFEE}) as http:
            while True:
                start, sent = time.perf_counter(), time.monotonic()
                try:
                    r = http.get("/", timeout=30)
                    self.seen.append((sent, r.status_code, r.text.strip()))
                    if r.status_code == 200:
                        self._record(self.latencies, time.perf_counter() - start)
                    else:
                        self._record(self.failed, r.status_code)
                except httpx.HTTPError as exc:
                    self.seen.append((sent, 0, repr(exc)))
                    self._record(self.failed, repr(exc))
                if self.stop.wait(0.1):
                    return

    def _record(self, into: list[Any], item: Any) -> None:
        with self.changed:
            into.append(item)
            self.changed.notify_all()

    def wait_ok(self, n: int, timeout: float = 30) -> None:
        """Until ``n`` requests succeeded; fails at once if one failed."""
        with self.changed:
            if not self.changed.wait_for(lambda: self.ok >= n or self.failed, timeout):
                raise AssertionError(f"{self.ok} of {n} trickle requests answered in {timeout}s")
        assert self.failed == []

    def __enter__(self) -> Trickle:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(60)


@hey_missing
def test_seed_sequence_hands_over_both_ways(server: Server) -> None:
    server.client().apply(manifest())
    server.wait_ready("coffee")
    with Hey("-z", "6s", "-c", "30", "-host", COFFEE, f"{server.url}/?sleep=100") as hey:
        codes = hey.finish()
    assert set(codes) == {"200"}, hey.report
    # Idle: the standard pods go, one ready reserve pod stays.
    wait_for(lambda: kinds(server) == [("reserve", True)], timeout=60, interval=0.3, what="reserve")
    reserve = server.pods()[0]["metadata"]["name"]
    assert "-deployment-reserve-" in reserve
    # The trickle's first request wakes it: answered at once by the reserve pod. The
    # trickle runs through the hand-over and until the standard pod has answered.
    with Trickle(server) as trickle:
        trickle.wait_ok(1)
        warm = trickle.latencies[0]
        r = server.request(COFFEE)
        assert r.status_code == 200 and r.text == "Hello coffee!\n"
        wait_for(lambda: ("standard", True) in kinds(server), timeout=20, what="standard pod ready")
        wait_for(lambda: ("reserve", True) not in kinds(server), timeout=40, what="reserve gone")
        trickle.wait_ok(trickle.ok + 1)  # answered once the reserve is gone
    assert trickle.failed == [] and trickle.ok >= 2
    assert warm < 1.0  # a warm answer, not a cold start (generous: a shared 2-core machine)


def test_set_reserve_spec_annotations(server: Server) -> None:
    server.client().apply(manifest("coffee-set-reserve.yaml"))
    server.wait_ready("coffee")
    wait_for(lambda: kinds(server) == [("reserve", True)], timeout=60, interval=0.3, what="reserve")
    pod = server.pods()[0]
    notes = pod["metadata"]["annotations"]
    assert notes["k8s.aliyun.com/eci-instance-spec"] == "ecs.t5-c1m2.large"
    assert notes["k8s.aliyun.com/eci-instance-cpu"] == "2.000"
    assert notes["k8s.aliyun.com/eci-instance-mem"] == "4.00"
    pods = server.cli("get", "pods", "-o", "wide").stdout
    assert "ecs.t5-c1m2.large" in pods.splitlines()[1], pods
    assert "cpu=2" in pods and "mem=4Gi" in pods, pods
    assert server.request(COFFEE).text == "Hello coffee-set-reserve!\n"
    revisions = server.cli("get", "revisions", "-o", "wide").stdout.splitlines()
    assert revisions[0].split()[-6:] == ["IMAGE", "RESERVE", "POD-SECONDS", "COST", "BY", "TYPE"]
    assert "ecs.t5-c1m2.large=" in revisions[1] and "standard=" in revisions[1], revisions


def test_min_scale_1_keeps_a_standard_pod_and_disable_scales_to_zero(server: Server) -> None:
    server.client().apply(manifest(**{"autoscaling.knative.dev/min-scale": "1"}))
    server.wait_ready("coffee")
    tea = manifest("tea.yaml", **{"knative.aliyun.com/reserve-instance": "disable"})
    server.client().apply(tea)
    server.wait_ready("tea")
    wait_for(lambda: not server.pods("tea-00001"), timeout=60, interval=0.3, what="tea at zero")
    assert [k for k in kinds(server)] == [("standard", True)]


def test_an_explicit_min_scale_zero_beats_a_global_min_scale_of_one(tmp_path: Path) -> None:
    """Knative's ScaleBounds: a revision's min-scale "0" wins over config min-scale 1.

    coffee (min-scale "0") idles onto its reserve, which min-scale 1 would disable; latte
    (min-scale "0", reserve disabled) idles to no pod at all; tea, without the annotation,
    keeps its standard pod under the global min-scale and has no reserve.
    """
    config = tmp_path / "config.yaml"
    config.write_text("autoscaler:\n  min-scale: 1\n  scale-to-zero-grace-period: 6s\n")
    server = Server(tmp_path / "state", "--config", str(config))
    server.start()
    try:
        zero = {"autoscaling.knative.dev/min-scale": "0"}
        latte = manifest(**zero, **{"knative.aliyun.com/reserve-instance": "disable"})
        latte["metadata"]["name"] = "latte"
        for doc in (manifest(**zero), latte, manifest("tea.yaml")):
            server.client().apply(doc)
        for name in ("coffee", "latte", "tea"):
            server.wait_ready(name)

        def idle() -> bool:
            return not server.pods("latte-00001") and [
                pod["metadata"]["labels"].get(RESERVE_LABEL) for pod in server.pods("coffee-00001")
            ] == ["true"]

        wait_for(idle, timeout=90, interval=0.3, what="coffee on its reserve, latte at zero")
        wait_for(lambda: ("reserve", True) in kinds(server), timeout=30, what="reserve ready")
        tea = server.pods("tea-00001")
        assert [p["metadata"]["labels"].get(RESERVE_LABEL) for p in tea] == [None]
    finally:
        assert server.stop() == 0, server.log()[-4000:]


def test_a_revision_that_loses_its_traffic_gets_no_reserve(server: Server) -> None:
    server.client().apply(manifest())
    server.wait_ready("coffee")
    server.client().apply(manifest("coffee-v1.yaml"))
    wait_for(
        lambda: server.service("coffee")["status"].get("latestReadyRevisionName") == "coffee-v1"
    )
    wait_for(lambda: not server.pods("coffee-00001"), timeout=40, what="old revision gone")
    wait_for(lambda: kinds(server) == [("reserve", True)], timeout=60, interval=0.3, what="reserve")
    assert server.pods("coffee-00001") == []
    assert [p["metadata"]["labels"]["serving.knative.dev/revision"] for p in server.pods()] == [
        "coffee-v1"
    ]

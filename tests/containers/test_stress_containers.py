"""The seed's stress test on containers, then the hand-over to one reserve container and back."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.containers.test_cafe_containers import COFFEE, service
from tests.containers.util import containers_of
from tests.e2e.harness import Hey, Server, wait_for
from tests.e2e.test_reserve import Trickle, kinds
from tests.tooling import needs_tool

CPU_ANNOTATION = "k8s.aliyun.com/eci-instance-cpu"
MEM_ANNOTATION = "k8s.aliyun.com/eci-instance-mem"


def coffee(image: str) -> dict[str, Any]:
    doc = service("coffee", image, "coffee")
    doc["spec"]["template"]["metadata"] = {
        "annotations": {
            "autoscaling.knative.dev/target": "10",
            "autoscaling.knative.dev/window": "6s",
            "knative.aliyun.com/reserve-instance-eci-use-specs": "ecs.t5-c1m2.large",
        }
    }
    return doc


@needs_tool("hey")
@pytest.mark.timeout(240)
def test_stress_then_one_reserve_container(
    server: Server, engine_url: str, hello_image: str
) -> None:
    server.client().apply(coffee(hello_image))
    server.wait_ready("coffee", timeout=30)
    most = 0
    with Hey("-z", "20s", "-c", "90", "-host", COFFEE, f"{server.url}/?sleep=100") as hey:
        while hey.proc.poll() is None:
            most = max(most, len(containers_of(engine_url, server.state_dir)))
            time.sleep(1)
        codes = hey.finish()
    assert set(codes) == {"200"}, hey.report
    assert most >= 3, f"at most {most} containers under load"

    # Idle: the standard containers go, one ready reserve container stays.
    wait_for(lambda: kinds(server) == [("reserve", True)], timeout=90, interval=0.5, what="reserve")
    wait_for(
        lambda: len(containers_of(engine_url, server.state_dir)) == 1,
        timeout=45,  # a container may take its 30 s grace period to stop
        what="one container left",
    )
    (info,) = containers_of(engine_url, server.state_dir)
    pod = server.pods()[0]
    assert "-deployment-reserve-" in pod["metadata"]["name"]
    assert info["Config"]["Labels"]["dev.coldbrew.pod"] == pod["metadata"]["name"]
    notes = pod["metadata"]["annotations"]
    cpu, mem_gib = float(notes[CPU_ANNOTATION]), float(notes[MEM_ANNOTATION])
    host = info["HostConfig"]
    cores = host["NanoCpus"] / 1e9 if host.get("NanoCpus") else host["CpuQuota"] / host["CpuPeriod"]
    assert cores == pytest.approx(cpu), host
    assert host["Memory"] == round(mem_gib * (1 << 30)), host

    # A request wakes it, answered at once by the reserve; the hand-over drops nothing.
    with Trickle(server) as trickle:
        start = time.perf_counter()
        r = server.request(COFFEE)
        warm = time.perf_counter() - start
        assert r.status_code == 200 and r.text == "Hello coffee!\n"
        wait_for(lambda: ("standard", True) in kinds(server), timeout=30, what="standard pod ready")
        wait_for(lambda: ("reserve", True) not in kinds(server), timeout=60, what="reserve gone")
    assert trickle.failed == [] and trickle.ok > 0
    print(f"reserve container wake-up: first answer in {warm * 1000:.1f} ms")

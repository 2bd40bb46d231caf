"""ASK's reserve-pod names and annotations (rulebook.ask), and that they stay light."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rulebook.ask import reserve_pod_annotations, use_specs_value


@pytest.mark.parametrize(
    ("types", "instance", "expected"),
    [
        (("ecs.t5-c1m2.large",), "ecs.t5-c1m2.large", "ecs.t5-c1m2.large"),
        (("ecs.x", "ecs.t5-c1m2.large"), "ecs.t5-c1m2.large", "ecs.x,ecs.t5-c1m2.large"),
        ((), "1-2Gi", "1-2Gi"),  # a CPU-memory size: the instance's name
    ],
)
def test_use_specs_value(types: tuple[str, ...], instance: str, expected: str) -> None:
    assert use_specs_value(types, instance) == expected


@pytest.mark.parametrize(
    ("cpu", "memory_gib", "cpu_text", "mem_text"),
    [(1.0, 2.0, "1.000", "2.00"), (0.5, 0.5, "0.500", "0.50"), (2, 4, "2.000", "4.00")],
)
def test_reserve_pod_annotations(
    cpu: float, memory_gib: float, cpu_text: str, mem_text: str
) -> None:
    got = reserve_pod_annotations(instance="ecs.x", cpu=cpu, memory_gib=memory_gib, use_specs="u")
    assert got == {
        "k8s.aliyun.com/eci-use-specs": "u",
        "k8s.aliyun.com/eci-instance-spec": "ecs.x",
        "k8s.aliyun.com/eci-instance-cpu": cpu_text,
        "k8s.aliyun.com/eci-instance-mem": mem_text,
    }


@pytest.mark.parametrize(
    "module", ["rulebook.ask", "coldbrew.cluster.deployments", "coldbrew.cluster.scaler.kpa"]
)
def test_cluster_mode_does_not_import_the_local_pod_runtime(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "bad = sorted(m for m in sys.modules if m.startswith('coldbrew.runtime')); "
        "print(bad); raise SystemExit(bool(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr

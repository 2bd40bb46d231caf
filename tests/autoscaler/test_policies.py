"""compare_policies: scale-to-zero vs a reserve instance vs min-scale 1, and the CLI table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autoscaler.comparing import POLICIES, compare_policies
from autoscaler.config import AutoscalerConfig
from autoscaler.pricing import PriceTable
from autoscaler.simulating import TracePoint, simulate
from autoscaler.spec import make_spec

ROOT = Path(__file__).resolve().parents[2]


def idle_heavy() -> list[TracePoint]:
    """A burst, 15 minutes of idle, another burst, then idle."""
    busy = lambda s: 10 <= s < 40 or 1000 <= s < 1030  # noqa: E731
    return [TracePoint(s, 20.0 if busy(s) else 0.0) for s in range(1100)]


@pytest.mark.parametrize("start", [0.0, 3.0])
def test_policies_on_an_idle_heavy_trace(start: float) -> None:
    cfg = AutoscalerConfig()
    spec = make_spec(cfg, container_concurrency=10)
    prices = PriceTable()
    out = compare_policies(spec, cfg, idle_heavy(), start, prices=prices)
    assert tuple(out) == POLICIES
    zero, reserve, warm = out["scale-to-zero"], out["reserve"], out["min-scale-1"]
    assert zero["cold_starts"] >= 1 and zero["cold_start_seconds"] >= 1
    assert reserve["cold_starts"] == 0 and warm["cold_starts"] == 0
    assert zero["reserve_pod_seconds"] == warm["reserve_pod_seconds"] == 0
    # The reserve runs through the long idle; standard pods behave as under scale-to-zero.
    assert reserve["reserve_pod_seconds"] > 800
    assert reserve["standard_pod_seconds"] == pytest.approx(zero["standard_pod_seconds"], abs=5)
    assert warm["standard_pod_seconds"] >= 1100
    assert zero["cost"] < reserve["cost"] < warm["cost"]
    # Costs add up from the price table.
    hourly = prices.price_per_hour("ecs.t5-lc1m2.small")
    assert reserve["reserve_cost"] == pytest.approx(reserve["reserve_pod_seconds"] * hourly / 3600)
    assert reserve["cost"] == pytest.approx(reserve["standard_cost"] + reserve["reserve_cost"])
    json.dumps(out)


def test_standard_pods_match_simulate() -> None:
    cfg = AutoscalerConfig()
    spec = make_spec(cfg, container_concurrency=10)
    trace = idle_heavy()
    result = simulate(spec, cfg, trace)
    zero = compare_policies(spec, cfg, trace, prices=PriceTable())["scale-to-zero"]
    # simulate samples ready pods at ticks; the ledger integrates exactly.
    assert zero["standard_pod_seconds"] == pytest.approx(result.summary["pod_seconds"], abs=20)


def test_reserve_replaces_the_zero_from_the_start() -> None:
    cfg = AutoscalerConfig(allow_zero_initial_scale=True, initial_scale=0)
    spec = make_spec(cfg, container_concurrency=10)
    trace = [TracePoint(s, 5.0 if 100 <= s < 110 else 0.0) for s in range(200)]
    out = compare_policies(
        spec, cfg, trace, 5.0, prices=PriceTable(), reserve_type="1-2Gi", reserve_replicas=2
    )
    assert out["scale-to-zero"]["cold_starts"] == 1
    assert out["scale-to-zero"]["cold_start_seconds"] == 5  # pods take 5 s to start
    assert out["reserve"]["cold_starts"] == 0
    # two reserve pods: 0-105 (until the standard pod is ready) and again after scale-down
    assert out["reserve"]["reserve_pod_seconds"] > 2 * 105


def test_cli_prints_the_policy_table(tmp_path: Path) -> None:
    manifest = tmp_path / "svc.yaml"
    manifest.write_text(
        "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: coffee\n"
        "spec:\n  template:\n    metadata:\n      annotations:\n"
        "        autoscaling.knative.dev/target: '10'\n"
        "    spec:\n      containers:\n        - image: helloworld\n"
    )
    trace = tmp_path / "trace.csv"
    trace.write_text(
        "second,concurrency\n" + "".join(f"{p.second},{p.concurrency}\n" for p in idle_heavy())
    )
    prices = tmp_path / "prices.yaml"
    prices.write_text("currency: CNY\ninstances:\n  ecs.t5-lc1m2.small: 0.01\n")

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "coldbrew", "simulate", "-f", str(manifest)]
        cmd += ["--trace", str(trace), "--pod-start-seconds", "2", *extra]
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)

    out = run("--prices", str(prices))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("POLICY"))
    for col in ("STANDARD POD-S", "RESERVE POD-S", "COST", "COLD STARTS"):
        assert col in lines[head]
    rows = {line.split()[0]: line.split() for line in lines[head + 1 : head + 4]}
    assert set(rows) == set(POLICIES)
    assert rows["scale-to-zero"][-1] != "0" and rows["reserve"][-1] == "0"
    assert "CNY" in rows["reserve"]

    js = run("-o", "json")
    assert js.returncode == 0, js.stderr
    data = json.loads(js.stdout)
    assert {"ticks", "summary", "policies"} <= set(data)
    assert data["policies"]["reserve"]["cold_starts"] == 0

    bad = tmp_path / "bad.yaml"
    bad.write_text("prices:\n  instances:\n    foo: 1\n")
    err = run("--config", str(bad))
    assert err.returncode == 1 and "prices.instances.foo: unknown instance type" in err.stderr

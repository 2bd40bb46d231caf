"""The trace simulator, trace parsing and plotting."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from autoscaler.config import AutoscalerConfig
from autoscaler.plotting import plot
from autoscaler.simulating import TraceError, TracePoint, read_trace, simulate
from autoscaler.spec import make_spec


def burst_trace() -> list[TracePoint]:
    """10 s idle, 30 s at 50 concurrent, then idle."""
    return [TracePoint(s, 50.0 if 10 <= s < 40 else 0.0) for s in range(160)]


def test_simulate_scales_out_then_to_zero() -> None:
    cfg = AutoscalerConfig()
    spec = make_spec(cfg, container_concurrency=10)  # target 7 per pod
    result = simulate(spec, cfg, burst_trace())
    d = result.to_dict()
    json.dumps(d)  # JSON-ready
    ticks, summary = d["ticks"], d["summary"]
    assert {"time", "stable", "panic_value", "desired", "ready", "panic"} <= set(ticks[0])
    assert [t["time"] for t in ticks[:3]] == [2.0, 4.0, 6.0]
    assert summary["peak_pods"] == 8  # ceil(50 / 7)
    assert summary["seconds_to_first_scale_out"] is not None
    assert summary["seconds_to_first_scale_out"] <= 2
    assert any(t["panic"] for t in ticks)
    assert ticks[-1]["ready"] == 0 and summary["final_pods"] == 0
    # Last traffic at second 39: zero after about a stable window (activator in path).
    assert 60 <= summary["seconds_to_zero_after_traffic"] <= 66
    # `desired` is the decider's count before scale-to-zero timing.
    at_70 = next(t for t in ticks if t["time"] == 70.0)
    assert at_70["desired"] >= 1


def test_simulate_pod_start_delay_and_bounds() -> None:
    cfg = AutoscalerConfig()
    spec = replace(make_spec(cfg, container_concurrency=10), max_scale=4, min_scale=1)
    result = simulate(spec, cfg, burst_trace(), pod_start_seconds=6)
    ticks = result.ticks
    first_out = next(t for t in ticks if t["desired"] > 1)
    at_start = next(t for t in ticks if t["time"] == first_out["time"])
    assert at_start["ready"] == 1  # the new pods are not ready yet
    later = next(t for t in ticks if t["time"] == first_out["time"] + 6)
    assert later["ready"] == first_out["desired"]  # ready 6 s after being asked for
    assert max(t["desired"] for t in ticks) == 4
    assert ticks[-1]["ready"] == 1  # min-scale


def test_simulate_rps_metric_needs_rps_column() -> None:
    cfg = AutoscalerConfig()
    spec = make_spec(cfg, container_concurrency=0, metric="rps", target=10)
    with pytest.raises(ValueError, match="rps"):
        simulate(spec, cfg, burst_trace())
    trace = [TracePoint(s, 1.0, 70.0) for s in range(20)]
    result = simulate(spec, cfg, trace)
    assert result.summary["peak_pods"] == 10  # 70 rps / (10 x 70%)


def test_read_trace(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("second,concurrency\n0,1.5\n1,2\n\n3,0\n")
    assert read_trace(p) == [TracePoint(0, 1.5), TracePoint(1, 2.0), TracePoint(3, 0.0)]
    p.write_text("second,concurrency,rps\n0,1,10\n1,2,\n")
    assert read_trace(p) == [TracePoint(0, 1.0, 10.0), TracePoint(1, 2.0, None)]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", ":1: empty"),
        ("time,load\n0,1\n", ":1: header"),
        ("second,concurrency\n0,1\n1\n", ":3: expected 2 columns"),
        ("second,concurrency\n0,1\nx,2\n", ":3:"),
        ("second,concurrency\n0,1\n1,-2\n", ":3: values must be"),
        ("second,concurrency\n0,1\n0,2\n", ":3: second 0 appears twice"),
        ("second,concurrency,rps\n0,1,nan\n", ":2:"),
    ],
)
def test_read_trace_errors_name_the_line(tmp_path: Path, text: str, fragment: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(TraceError) as err:
        read_trace(p)
    assert fragment in str(err.value)


def test_plot_writes_png(tmp_path: Path) -> None:
    cfg = AutoscalerConfig()
    result = simulate(make_spec(cfg, container_concurrency=10), cfg, burst_trace())
    out = plot(result, tmp_path / "sim.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

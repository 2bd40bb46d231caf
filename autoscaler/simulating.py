"""Replay a per-second load trace through the real :class:`Autoscaler` on a virtual clock.

Every ``tick-interval`` seconds the autoscaler ticks, having been fed the stats of every
trace second before the tick (as the gateway streams each second's stats when it ends).
Pods asked for become ready ``pod_start_seconds`` later (0: by the next tick or poke);
pods removed disappear at once, not-yet-ready ones first.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoscaler.autoscaling import Autoscaler
from autoscaler.config import AutoscalerConfig
from autoscaler.spec import DeciderSpec

SIM_KEY = "sim/revision"
_EPSILON = 1e-6


@dataclass(frozen=True, slots=True)
class TracePoint:
    """Load during one second: average concurrency and (optionally) requests that arrived."""

    second: int
    concurrency: float
    rps: float | None = None


class TraceError(ValueError):
    """A malformed trace file; the message names the line."""


@dataclass(slots=True)
class SimulationResult:
    """Per-tick observations and a summary; ``to_dict()`` is JSON-ready."""

    ticks: list[dict[str, Any]]
    summary: dict[str, Any]
    trace: list[TracePoint] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ticks": list(self.ticks), "summary": dict(self.summary)}


class _Pods:
    """The virtual pod runtime: ready times of the pods that exist."""

    def __init__(self, start_seconds: float) -> None:
        self.start = start_seconds
        self.now = 0.0
        self.ready_at: list[float] = []

    def scale(self, _key: str, count: int) -> None:
        while len(self.ready_at) < count:
            self.ready_at.append(self.now + max(self.start, _EPSILON))
        self.ready_at.sort()
        del self.ready_at[max(count, 0) :]  # the latest to become ready go first

    def ready(self, _key: str) -> int:
        return sum(1 for t in self.ready_at if t <= self.now)


def simulate(
    spec: DeciderSpec,
    config: AutoscalerConfig,
    trace: list[TracePoint],
    pod_start_seconds: float = 0.0,
    *,
    tail_seconds: float = 0.0,
) -> SimulationResult:
    """Run ``trace`` (plus ``tail_seconds`` of silence) through the autoscaler."""
    if spec.metric == "rps" and any(p.rps is None for p in trace if p.concurrency > 0):
        raise ValueError("an rps-scaled spec needs an rps column in the trace")
    points = sorted(trace, key=lambda p: p.second)
    pods = _Pods(pod_start_seconds)
    scale_calls: list[tuple[float, int]] = []

    def scale(key: str, count: int) -> None:
        scale_calls.append((pods.now, count))
        pods.scale(key, count)

    autoscaler = Autoscaler(config, scale=scale, ready_pods=pods.ready, clock=lambda: pods.now)
    autoscaler.watch(SIM_KEY, spec)
    step = config.tick_interval
    end = (points[-1].second + 1 if points else 0) + tail_seconds
    ticks: list[dict[str, Any]] = []
    i = 0
    n_ticks = max(1, math.ceil(end / step))
    for k in range(1, n_ticks + 1):
        t = k * step
        while i < len(points) and points[i].second < t:
            p = points[i]
            i += 1
            if p.concurrency <= 0 and not p.rps:
                continue  # the gateway sends no stats for an idle second
            pods.now = float(p.second)
            autoscaler.record(
                {
                    "type": "stats",
                    "worker": "sim",
                    "stats": [
                        {"revision": SIM_KEY, "concurrency": p.concurrency, "requests": p.rps or 0}
                    ],
                },
                now=pods.now,
            )
        pods.now = t
        autoscaler.tick(t)
        st = autoscaler.status(SIM_KEY)
        ticks.append(
            {
                "time": t,
                "stable": st.stable_value,
                "panic_value": st.panic_value,
                "desired": st.recommended if st.recommended >= 0 else max(st.desired, 0),
                "scale": st.desired,
                "ready": st.actual,
                "panic": st.panicking,
            }
        )
    return SimulationResult(ticks, _summary(points, ticks, scale_calls, step), points)


def _summary(
    points: list[TracePoint],
    ticks: list[dict[str, Any]],
    scale_calls: list[tuple[float, int]],
    step: float,
) -> dict[str, Any]:
    busy = [p.second for p in points if p.concurrency > 0 or p.rps]
    first, last = (busy[0], busy[-1]) if busy else (None, None)
    to_scale_out: float | None = None
    to_zero: float | None = None
    if first is not None:
        before = [c for t, c in scale_calls if t < first]
        base = before[-1] if before else 0
        for t, count in scale_calls:
            if t >= first and count > base:
                to_scale_out = t - first
                break
        assert last is not None
        for t, count in scale_calls:
            if t > last and count == 0:
                to_zero = t - last
                break
    return {
        "ticks": len(ticks),
        "peak_pods": max((x["ready"] for x in ticks), default=0),
        "peak_desired": max((x["desired"] for x in ticks), default=0),
        "first_traffic_second": first,
        "seconds_to_first_scale_out": to_scale_out,
        "seconds_to_zero_after_traffic": to_zero,
        "panic_seconds": sum(step for x in ticks if x["panic"]),
        "pod_seconds": sum(step * x["ready"] for x in ticks),
        "final_pods": ticks[-1]["ready"] if ticks else 0,
        "scale_calls": len(scale_calls),
    }


def read_trace(path: str | Path) -> list[TracePoint]:
    """Parse a CSV trace: header ``second,concurrency`` and optionally ``rps``."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            raise TraceError(f"{path}:1: empty trace, expected header second,concurrency") from None
        if header[:2] != ["second", "concurrency"] or header[2:] not in ([], ["rps"]):
            raise TraceError(
                f"{path}:1: header must be second,concurrency[,rps], got {','.join(header)}"
            )
        points: list[TracePoint] = []
        seen: set[int] = set()
        for row in reader:
            line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise TraceError(f"{path}:{line}: expected {len(header)} columns, got {len(row)}")
            try:
                second = int(row[0])
                concurrency = float(row[1])
                rps = float(row[2]) if len(row) == 3 and row[2].strip() else None
            except ValueError as exc:
                raise TraceError(f"{path}:{line}: {exc}") from None
            values = [concurrency] + ([rps] if rps is not None else [])
            if second < 0 or any(not math.isfinite(v) or v < 0 for v in values):
                raise TraceError(f"{path}:{line}: values must be finite and non-negative")
            if second in seen:
                raise TraceError(f"{path}:{line}: second {second} appears twice")
            seen.add(second)
            points.append(TracePoint(second, concurrency, rps))
    return points

"""Replay a per-second load trace through the real :class:`Autoscaler` on a virtual clock.

Every ``tick-interval`` seconds the autoscaler ticks, having been fed the stats of every
trace second before the tick (as the gateway streams each second's stats when it ends).
Pods asked for become ready ``pod_start_seconds`` later (0: by the next tick or poke);
pods removed disappear at once, not-yet-ready ones first.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoscaler.accounting import CostLedger
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


class VirtualPods:
    """The virtual pod runtime: ready times of the pods that exist.

    With ``reserve`` > 0 (ASK reserved instances) a scale to zero leaves that many reserve
    pods running, ready at once and counting no capacity; they go when a standard pod is ready.
    Pods are reported to ``ledger`` (if any) as they start and stop.
    """

    def __init__(
        self, start_seconds: float, ledger: CostLedger | None = None, *, reserve: int = 0
    ) -> None:
        self.start = start_seconds
        self.now = 0.0
        self.ready_at: list[tuple[float, str]] = []
        self.ledger = ledger
        self.reserve = reserve
        self.reserve_type = ""
        self.reserve_on = False
        self.standard_size: tuple[float | None, float | None] = (None, None)
        self._named = 0

    def scale(self, key: str, count: int) -> None:
        self.settle(key)
        if count <= 0 and self.reserve and not self.reserve_on:
            self.reserve_on = True  # the reserve is up before the standard pods leave
            for i in range(self.reserve):
                self._event(key, f"reserve-{i}", True, "reserve", self.reserve_type)
        while len(self.ready_at) < count:
            self._named += 1
            name = f"pod-{self._named}"
            self.ready_at.append((self.now + max(self.start, _EPSILON), name))
            self._event(key, name, True, "standard", None)
        self.ready_at.sort()
        for _, name in self.ready_at[max(count, 0) :]:  # the latest to become ready go first
            self._event(key, name, False)
        del self.ready_at[max(count, 0) :]

    def settle(self, key: str) -> None:
        """Remove the reserve pods at the moment the first standard pod became ready."""
        if self.reserve_on and self.ready_at and self.ready_at[0][0] <= self.now:
            now, self.now = self.now, self.ready_at[0][0]
            for i in range(self.reserve):
                self._event(key, f"reserve-{i}", False)
            self.now, self.reserve_on = now, False

    def _event(
        self, key: str, name: str, up: bool, kind: str = "", itype: str | None = None
    ) -> None:
        if self.ledger is None:
            return
        if up:
            cpu, memory = self.standard_size
            self.ledger.running(key, name, kind, itype, cpu, memory)  # type: ignore[arg-type]
        else:
            self.ledger.stopped(key, name)

    def ready(self, _key: str) -> int:
        return sum(1 for t, _ in self.ready_at if t <= self.now)

    def serving(self, key: str) -> bool:
        """Any pod (standard or reserve) ready to take a request now."""
        self.settle(key)
        return self.reserve_on or self.ready(key) > 0


def simulate(
    spec: DeciderSpec,
    config: AutoscalerConfig,
    trace: list[TracePoint],
    pod_start_seconds: float = 0.0,
    *,
    tail_seconds: float = 0.0,
) -> SimulationResult:
    """Run ``trace`` (plus ``tail_seconds`` of silence) through the autoscaler."""
    points = sorted(trace, key=lambda p: p.second)
    ticks: list[dict[str, Any]] = []

    def observe(t: float, autoscaler: Autoscaler) -> None:
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

    scale_calls = replay(
        spec, config, points, VirtualPods(pod_start_seconds), tail_seconds, after_tick=observe
    )
    return SimulationResult(
        ticks, _summary(points, ticks, scale_calls, config.tick_interval), points
    )


def replay(
    spec: DeciderSpec,
    config: AutoscalerConfig,
    points: list[TracePoint],
    pods: VirtualPods,
    tail_seconds: float,
    *,
    after_tick: Callable[[float, Autoscaler], None] | None = None,
    before_load: Callable[[TracePoint], None] | None = None,
) -> list[tuple[float, int]]:
    """Drive a real :class:`Autoscaler` over sorted ``points``; returns its scale calls."""
    if spec.metric == "rps" and any(p.rps is None for p in points if p.concurrency > 0):
        raise ValueError("an rps-scaled spec needs an rps column in the trace")
    scale_calls: list[tuple[float, int]] = []

    def scale(key: str, count: int) -> None:
        scale_calls.append((pods.now, count))
        pods.scale(key, count)

    autoscaler = Autoscaler(config, scale=scale, ready_pods=pods.ready, clock=lambda: pods.now)
    autoscaler.watch(SIM_KEY, spec)
    step = config.tick_interval
    end = (points[-1].second + 1 if points else 0) + tail_seconds
    i = 0
    for k in range(1, max(1, math.ceil(end / step)) + 1):
        t = k * step
        while i < len(points) and points[i].second < t:
            p = points[i]
            i += 1
            pods.now = float(p.second)
            if before_load is not None:
                before_load(p)
            if p.concurrency <= 0 and not p.rps:
                continue  # the gateway sends no stats for an idle second
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
        if after_tick is not None:
            after_tick(t, autoscaler)
    pods.settle(SIM_KEY)
    return scale_calls


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

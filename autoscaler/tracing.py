"""A bounded record of what the autoscaler saw and decided, per revision.

The per-second load (summed over gateway workers) is what ``coldbrew simulate``
replays, and the decisions are what a replay should reproduce; keeping both
makes a live run checkable against the simulator.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

KEEP_SECONDS = 3600


@dataclass(slots=True)
class RevisionTrace:
    seconds: dict[int, list[float]] = field(default_factory=dict)  # second -> [conc, rps]
    decisions: deque[tuple[float, int, int, bool]] = field(
        default_factory=lambda: deque(maxlen=KEEP_SECONDS)
    )


class Tracer:
    def __init__(self) -> None:
        self._revisions: dict[str, RevisionTrace] = {}

    def load(self, key: str, now: float, concurrency: float, rps: float) -> None:
        """Add one worker's stat to the second it arrived in."""
        trace = self._revisions.setdefault(key, RevisionTrace())
        second = math.floor(now)
        bucket = trace.seconds.get(second)
        if bucket is None:
            bucket = trace.seconds[second] = [0.0, 0.0]
            if len(trace.seconds) > KEEP_SECONDS:
                del trace.seconds[min(trace.seconds)]
        bucket[0] += concurrency
        bucket[1] += rps

    def decision(self, key: str, now: float, desired: int, ready: int, panic: bool) -> None:
        self._revisions.setdefault(key, RevisionTrace()).decisions.append(
            (now, desired, ready, panic)
        )

    def last_second(self, key: str, now: float) -> tuple[float, float]:
        """(concurrency, rps) of the last whole second before ``now`` (0s without load)."""
        trace = self._revisions.get(key)
        if trace is None:
            return (0.0, 0.0)
        conc, rps = trace.seconds.get(math.floor(now) - 1, (0.0, 0.0))
        return (conc, rps)

    def forget(self, key: str) -> None:
        self._revisions.pop(key, None)

    def export(self, key: str) -> dict[str, Any]:
        """Seconds relative to the first one with load; decisions on the same clock."""
        trace = self._revisions.get(key)
        if trace is None or not trace.seconds:
            return {"trace": [], "decisions": []}
        start = min(trace.seconds)
        last = max(trace.seconds)
        rows = []
        for second in range(start, last + 1):
            conc, rps = trace.seconds.get(second, (0.0, 0.0))
            rows.append({"second": second - start, "concurrency": conc, "rps": rps})
        decisions = [
            {"time": t - start, "desired": d, "ready": r, "panic": p}
            for t, d, r, p in trace.decisions
            if t >= start
        ]
        return {"trace": rows, "decisions": decisions}

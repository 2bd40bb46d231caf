"""Cumulative per-revision request figures: the gateway side of its Prometheus metrics.

The hot path only does plain integer and float updates on a :class:`RevisionTally` the
revision already holds (no metrics library call per request). Counters only grow, for the
life of the gateway process: a tally is kept per revision key in the context even after
the revision is forgotten, so a scrape never sees a counter go down. :meth:`RevisionTally.frame`
turns one into a JSON-able dict; it travels once a second in the ``stats`` frame of the
metrics stream (docs/seams.md) and is what gateway/exposition.py renders, after
:func:`merge_frames` summed several workers' frames.

Histograms are cumulative bucket rows ``[count, sum, n_0, ..., n_k]``, where ``n_i`` counts
the observations in ``(bound_{i-1}, bound_i]`` and ``n_k`` those above the last bound
(rendered cumulatively, Prometheus style, at scrape time).
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

# Knative's request latency distribution (milliseconds): Bucket125(5, 100000).
LATENCY_BOUNDS_MS = (
    5.0, 10.0, 20.0, 25.0, 50.0, 100.0, 200.0, 250.0, 500.0, 1000.0, 2000.0, 2500.0,
    5000.0, 10000.0, 20000.0, 25000.0, 50000.0, 100000.0,
)  # fmt: skip
# The hot path counts a latency at or below the first bound with one float comparison; a
# bisect call (five rich comparisons) costs about 800 instructions, callgrind says.
FIRST_LATENCY_BOUND_MS = LATENCY_BOUNDS_MS[0]
# Waits (held in the activator's queue, cold starts, pod start-up), in seconds.
WAIT_BOUNDS_S = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
)  # fmt: skip

Row = list[float]
LATENCY_ROW: Row = [0, 0.0] + [0] * (len(LATENCY_BOUNDS_MS) + 1)  # copy it


def new_row(bounds: tuple[float, ...]) -> Row:
    return [0, 0.0] + [0] * (len(bounds) + 1)


def observe(row: Row, bounds: tuple[float, ...], value: float) -> None:
    row[0] += 1
    row[1] += value
    row[2 + bisect_left(bounds, value)] += 1


class RevisionTally:
    """One revision's cumulative figures in one gateway process."""

    __slots__ = (
        "cold",
        "cold_starts",
        "failures",
        "held",
        "latency",
        "wakeups",
    )

    def __init__(self) -> None:
        self.latency: dict[int, Row] = {}  # status -> latency row (ms), its count = requests
        self.held = new_row(WAIT_BOUNDS_S)  # requests that waited in the queue, and how long
        self.cold = new_row(WAIT_BOUNDS_S)  # no ready pod at arrival -> response start (s)
        self.cold_starts = 0  # arrivals finding no ready pod and no request waiting for one
        self.wakeups = 0  # arrivals waking an idle reserve (wake_on_request, none in flight)
        self.failures: dict[tuple[int, str], int] = {}  # (5xx status, cause) -> answers

    def done(self, status: int, seconds: float) -> None:
        """A response (``status``) ended ``seconds`` after the request arrived."""
        row = self.latency.get(status)
        if row is None:
            row = self.latency[status] = new_row(LATENCY_BOUNDS_MS)
        ms = seconds * 1000.0
        row[0] += 1
        row[1] += ms
        row[2 + bisect_left(LATENCY_BOUNDS_MS, ms)] += 1

    def failed(self, status: int, cause: str, seconds: float) -> None:
        """The gateway answered ``status`` itself, for ``cause`` (5xx ones counted by cause)."""
        self.done(status, seconds)
        if status >= 500:
            key = (status, cause)
            self.failures[key] = self.failures.get(key, 0) + 1

    def empty(self) -> bool:
        """Nothing counted yet (a revision no request reached: not worth a frame entry)."""
        return not (
            self.latency or self.held[0] or self.cold[0] or self.cold_starts or self.wakeups
        )

    def frame(self) -> dict[str, Any]:
        return {
            "latency": {str(code): list(row) for code, row in self.latency.items()},
            "held": list(self.held),
            "cold": list(self.cold),
            "cold_starts": self.cold_starts,
            "wakeups": self.wakeups,
            "failures": {f"{code}:{cause}": n for (code, cause), n in self.failures.items()},
        }


def _add_rows(into: Row, row: list[Any]) -> None:
    for i, value in enumerate(row[: len(into)]):
        into[i] += value


def merge_frames(frames: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Sum several workers' ``{revision key: tally frame (+ gauges)}`` maps into one."""
    out: dict[str, dict[str, Any]] = {}
    for frame in frames:
        for key, entry in frame.items():
            into = out.get(key)
            if into is None:
                out[key] = into = {
                    "latency": {},
                    "held": new_row(WAIT_BOUNDS_S),
                    "cold": new_row(WAIT_BOUNDS_S),
                    "cold_starts": 0,
                    "wakeups": 0,
                    "failures": {},
                    "in_flight": 0,
                    "queued": 0,
                    "concurrency": 0.0,
                }
            for code, row in entry.get("latency", {}).items():
                _add_rows(into["latency"].setdefault(code, new_row(LATENCY_BOUNDS_MS)), row)
            _add_rows(into["held"], entry.get("held", []))
            _add_rows(into["cold"], entry.get("cold", []))
            for name in ("cold_starts", "wakeups", "in_flight", "queued", "concurrency"):
                into[name] += entry.get(name, 0)
            for cause, n in entry.get("failures", {}).items():
                into["failures"][cause] = into["failures"].get(cause, 0) + n
    return out

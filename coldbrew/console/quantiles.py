"""Latency quantiles over a recent window, from the gateways' cumulative histogram buckets.

The gateway workers report cumulative latency rows ``[count, sum, n_0, ..., n_k]`` per
revision and status (gateway/tally.py, summed over workers by
:meth:`coldbrew.observing.WorkerTotals.merged`). :class:`LatencyWindow` keeps one sample
of them a second and differences the newest against the one ``window`` seconds older: the
requests that ended in between, bucket by bucket. :func:`histogram_quantile` then reads a
quantile off those buckets the way PromQL's ``histogram_quantile`` does: linear
interpolation inside the bucket holding the rank, the first bucket starting at 0, and a
rank in the overflow bucket answered with the highest finite bound.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from gateway.tally import LATENCY_BOUNDS_MS

Buckets = list[float]  # n_0..n_k: counts per bucket (not cumulative), n_k above the last bound


def histogram_quantile(q: float, bounds: Sequence[float], buckets: Sequence[float]) -> float | None:
    """The ``q`` quantile (0..1) of per-bucket counts; ``None`` when they hold nothing."""
    if not 0.0 <= q <= 1.0 or math.isnan(q):
        raise ValueError(f"quantile must be within 0..1, not {q}")
    if len(buckets) != len(bounds) + 1:
        raise ValueError(f"{len(bounds)} bounds want {len(bounds) + 1} buckets, not {len(buckets)}")
    total = sum(buckets)
    if total <= 0:
        return None
    rank = q * total
    below = 0.0
    for i, bound in enumerate(bounds):
        n = buckets[i]
        if n > 0 and below + n >= rank:
            lower = bounds[i - 1] if i > 0 else 0.0
            if i == 0 and bound <= 0:
                return bound
            return lower + (bound - lower) * max(rank - below, 0.0) / n
        below += n
    return bounds[-1] if bounds else None  # the rank is in the overflow bucket


def latency_buckets(entry: Any) -> Buckets:
    """One revision's merged totals -> its latency buckets over every status."""
    out = [0.0] * (len(LATENCY_BOUNDS_MS) + 1)
    latency = entry.get("latency", {}) if isinstance(entry, dict) else {}
    for row in latency.values():
        for i, n in enumerate(row[2 : 2 + len(out)]):
            out[i] += n
    return out


def difference(new: Buckets, old: Buckets | None) -> Buckets:
    """``new - old``, bucket by bucket; a bucket that went down (a reset) counts as ``new``."""
    if old is None:
        return list(new)
    if any(n < o for n, o in zip(new, old, strict=True)):
        return list(new)
    return [n - o for n, o in zip(new, old, strict=True)]


def add(rows: Iterable[Buckets]) -> Buckets:
    out = [0.0] * (len(LATENCY_BOUNDS_MS) + 1)
    for row in rows:
        for i, n in enumerate(row):
            out[i] += n
    return out


def quantiles_ms(buckets: Buckets | None) -> dict[str, float | None]:
    """``{"p50Ms": .., "p99Ms": ..}`` of latency buckets (``None`` for an empty window)."""
    out: dict[str, float | None] = {}
    for name, q in (("p50Ms", 0.5), ("p99Ms", 0.99)):
        value = None if buckets is None else histogram_quantile(q, LATENCY_BOUNDS_MS, buckets)
        out[name] = None if value is None else round(value, 1)
    return out


class LatencyWindow:
    """Per-revision latency buckets of the last ``window`` seconds, sampled once a ``step``."""

    def __init__(
        self,
        totals: Callable[[], dict[str, dict[str, Any]]],
        clock: Callable[[], float],
        window: float = 10.0,
        step: float = 1.0,
    ) -> None:
        self.totals = totals
        self.clock = clock
        self.window = window
        self.step = step
        self._samples: deque[tuple[float, dict[str, Buckets]]] = deque()

    def _sample(self) -> None:
        now = self.clock()
        if self._samples and now - self._samples[-1][0] < self.step:
            return
        rows = {key: latency_buckets(entry) for key, entry in self.totals().items()}
        self._samples.append((now, rows))
        # keep the newest sample at least ``window`` old (the baseline), drop older ones
        while len(self._samples) > 1 and now - self._samples[1][0] >= self.window:
            self._samples.popleft()

    def recent(self) -> dict[str, Buckets]:
        """Revision key -> its buckets of the requests that ended in the window."""
        self._sample()
        newest = self._samples[-1][1]
        if len(self._samples) == 1:
            return {}  # no baseline yet: nothing is known about the last seconds
        oldest = self._samples[0][1]
        return {key: difference(row, oldest.get(key)) for key, row in newest.items()}

"""Per-revision metric collection (Knative's ``metrics.collection``).

Every stat is added into the bucket of the second it is recorded at, so the stats of all
gateway workers for the same second are summed, as Knative sums its activators' stats.
A worker that stops sending simply stops contributing.
"""

from __future__ import annotations

from dataclasses import dataclass

from autoscaler.buckets import TimedFloatBuckets


class NoDataError(LookupError):
    """No stat within the stable window (Knative's ``ErrNoData``)."""


@dataclass(slots=True)
class _Pair:
    stable: TimedFloatBuckets
    panic: TimedFloatBuckets


def _pair(stable_window: float, panic_window: float) -> _Pair:
    return _Pair(TimedFloatBuckets(stable_window), TimedFloatBuckets(panic_window))


@dataclass(slots=True)
class CollectorStats:
    """Counters for status and debugging."""

    records: int = 0
    workers: frozenset[str] = frozenset()  # replaced, not changed: idle ones share the empty one


class MetricCollector:
    """Stable and panic windows of concurrency and requests-per-second for one revision."""

    def __init__(self, stable_window: float, panic_window: float) -> None:
        self.stable_window = stable_window
        self.panic_window = panic_window
        # Made at the first record: an idle revision (most of 10,000) never gets one.
        self._windows: tuple[_Pair, _Pair] | None = None  # (concurrency, rps)
        self.stats = CollectorStats()

    def record(
        self, now: float, concurrency: float, rps: float = 0.0, worker: str | None = None
    ) -> None:
        """Add one worker's (or one scrape's) values for the second containing ``now``. O(1)."""
        if self._windows is None:
            self._windows = (
                _pair(self.stable_window, self.panic_window),
                _pair(self.stable_window, self.panic_window),
            )
        for pair, value in zip(self._windows, (concurrency, rps), strict=True):
            pair.stable.record(now, value)
            pair.panic.record(now, value)
        self.stats.records += 1
        if worker is not None and worker not in self.stats.workers:
            self.stats.workers = self.stats.workers | {worker}

    def resize(self, stable_window: float, panic_window: float, now: float) -> None:
        """Follow a spec change of the windows, keeping the newest data."""
        for pair in self._windows or ():
            pair.stable.resize(stable_window, now)
            pair.panic.resize(panic_window, now)
        self.stable_window = stable_window
        self.panic_window = panic_window

    def is_empty(self, now: float) -> bool:
        return self._windows is None or self._windows[0].stable.is_empty(now)

    def stable_and_panic(self, metric: str, now: float) -> tuple[float, float]:
        """``(stable, panic)`` window averages of ``metric``; raises :class:`NoDataError`."""
        if self._windows is None:
            raise NoDataError("no data available")
        pair = self._windows[1] if metric == "rps" else self._windows[0]
        if pair.stable.is_empty(now):
            raise NoDataError("no data available")
        return pair.stable.window_average(now), pair.panic.window_average(now)

    def stable_and_panic_concurrency(self, now: float) -> tuple[float, float]:
        return self.stable_and_panic("concurrency", now)

    def stable_and_panic_rps(self, now: float) -> tuple[float, float]:
        return self.stable_and_panic("rps", now)

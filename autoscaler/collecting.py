"""Per-revision metric collection (Knative's ``metrics.collection``).

Every stat is added into the bucket of the second it is recorded at, so the stats of all
gateway workers for the same second are summed, as Knative sums its activators' stats.
A worker that stops sending simply stops contributing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    workers: set[str] = field(default_factory=set)


class MetricCollector:
    """Stable and panic windows of concurrency and requests-per-second for one revision."""

    def __init__(self, stable_window: float, panic_window: float) -> None:
        self.stable_window = stable_window
        self.panic_window = panic_window
        self._concurrency = _pair(stable_window, panic_window)
        self._rps = _pair(stable_window, panic_window)
        self.stats = CollectorStats()

    def record(
        self, now: float, concurrency: float, rps: float = 0.0, worker: str | None = None
    ) -> None:
        """Add one worker's (or one scrape's) values for the second containing ``now``. O(1)."""
        for pair, value in ((self._concurrency, concurrency), (self._rps, rps)):
            pair.stable.record(now, value)
            pair.panic.record(now, value)
        self.stats.records += 1
        if worker is not None:
            self.stats.workers.add(worker)

    def resize(self, stable_window: float, panic_window: float, now: float) -> None:
        """Follow a spec change of the windows, keeping the newest data."""
        for pair in (self._concurrency, self._rps):
            pair.stable.resize(stable_window, now)
            pair.panic.resize(panic_window, now)
        self.stable_window = stable_window
        self.panic_window = panic_window

    def is_empty(self, now: float) -> bool:
        return self._concurrency.stable.is_empty(now)

    def stable_and_panic(self, metric: str, now: float) -> tuple[float, float]:
        """``(stable, panic)`` window averages of ``metric``; raises :class:`NoDataError`."""
        pair = self._rps if metric == "rps" else self._concurrency
        if pair.stable.is_empty(now):
            raise NoDataError("no data available")
        return pair.stable.window_average(now), pair.panic.window_average(now)

    def stable_and_panic_concurrency(self, now: float) -> tuple[float, float]:
        return self.stable_and_panic("concurrency", now)

    def stable_and_panic_rps(self, now: float) -> tuple[float, float]:
        return self.stable_and_panic("rps", now)

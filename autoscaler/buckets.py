"""Time-bucketed aggregation, ported from Knative's ``pkg/autoscaler/aggregation``.

* :class:`TimedFloatBuckets` = ``TimedFloat64Buckets``: a ring of 1-second buckets; the
  window average divides by the number of buckets between the first and last write
  (capped by the window), minus the buckets that aged out since the last write.
* :class:`WeightedFloatBuckets` = ``WeightedFloat64Buckets``: exponentially weighted.
* :class:`MaxTimeWindow` = ``max.TimeWindow``: the maximum over a sliding time window
  (used for scale-down-delay), a monotonic deque with O(1) amortised record.

Times are float seconds on any clock; bucket ``i`` holds ``[i*g, (i+1)*g)``.
"""

from __future__ import annotations

import math
from collections import deque

PRECISION = 6
WEIGHT_PRECISION = 0.9999
MIN_EXPONENT = 0.2


def _round(x: float, digits: int = PRECISION) -> float:
    p = 10.0**digits
    return math.copysign(math.floor(abs(x) * p + 0.5), x) / p


class TimedFloatBuckets:
    """Sum of values per bucket over a sliding window; average over valid buckets."""

    def __init__(self, window: float, granularity: float = 1.0) -> None:
        if window <= 0 or granularity <= 0:
            raise ValueError("window and granularity must be positive")
        self.granularity = granularity
        self.window = window
        self._n = math.ceil(window / granularity)
        # Allocated at the first write: most revisions of a large platform are idle and
        # never get one, and 10,000 of them would hold 4 rings each for nothing.
        self._buckets: list[float] = []
        self._first: int | None = None  # bucket index of the first write in the window
        self._last: int | None = None  # bucket index of the last write
        self._total = 0.0

    def _index(self, t: float) -> int:
        return math.floor(t / self.granularity)

    def _span(self, a: int, b: int) -> float:
        """Duration from bucket ``a`` to bucket ``b``."""
        return (b - a) * self.granularity

    def record(self, t: float, value: float) -> None:
        """Add ``value`` to the bucket of time ``t`` (older buckets within the window ok)."""
        b = self._index(t)
        n = self._n
        last = self._last
        if last != b:
            if last is not None and self._span(b, last) >= self.window:
                return  # older than the window: dropped
            if self._first is None or self._first > b:
                self._first = b
            if last is None or b > last:
                if last is None or self._span(last, b) >= self.window:
                    self._first = b
                    self._buckets = [0.0] * n
                    self._total = 0.0
                else:
                    for i in range(last + 1, b + 1):
                        self._total -= self._buckets[i % n]
                        self._buckets[i % n] = 0.0
                self._last = b
        self._buckets[b % n] += value
        self._total += value

    def is_empty(self, now: float) -> bool:
        """No write within the window before ``now``."""
        return self._last is None or self._span(self._last, self._index(now)) > self.window

    def window_average(self, now: float) -> float:
        """Knative's ``TimedFloat64Buckets.WindowAverage``."""
        if self._last is None or self._first is None:
            return 0.0
        now_b = self._index(now)
        n = self._n
        written = self._last - self._first + 1  # inclusive
        d = self._span(self._last, now_b)
        if d <= 0:
            return _round(self._total / min(written, n))
        if d < self.window:
            total = self._total
            for i in range(self._last + 1, now_b + 1):
                total -= self._buckets[i % n]
            return _round(total / min(written, n - (now_b - self._last)))
        return 0.0

    def resize(self, window: float, now: float) -> None:
        """``ResizeWindow``: keep the newest buckets that fit the new window."""
        if window == self.window:
            return
        n_new = math.ceil(window / self.granularity)
        new: list[float] = []  # no data kept: allocated at the next write
        total = 0.0
        if self._last is not None and self._span(self._last, self._index(now)) <= self.window:
            new = [0.0] * n_new
            n_old = self._n
            idx = self._last
            for _ in range(min(n_new, n_old)):
                new[idx % n_new] = self._buckets[idx % n_old]
                total += self._buckets[idx % n_old]
                idx -= 1
            self._first = self._last - (n_old - 1)
        else:
            self._first = None
            self._last = None
        self.window = window
        self._n = n_new
        self._buckets = new
        self._total = total


def _smoothing_coeff(num_buckets: float) -> float:
    return max(1 - (1 - WEIGHT_PRECISION) ** (1 / num_buckets), MIN_EXPONENT)


class WeightedFloatBuckets(TimedFloatBuckets):
    """``WeightedFloat64Buckets``: exponentially decaying weights, newest heaviest."""

    def __init__(self, window: float, granularity: float = 1.0) -> None:
        super().__init__(window, granularity)
        self._coeff = _smoothing_coeff(math.ceil(window / granularity))

    def window_average(self, now: float) -> float:
        if self.is_empty(now) or self._last is None:
            return 0.0
        now_b = self._index(now)
        n = self._n
        count = n
        multiplier = self._coeff
        if now_b > self._last:
            zeros = now_b - self._last
            multiplier *= (1 - self._coeff) ** zeros
            count -= zeros
        ret = 0.0
        for i in range(count):
            ret += self._buckets[(self._last - i) % n] * multiplier
            multiplier *= 1 - self._coeff
        return ret

    def resize(self, window: float, now: float) -> None:
        super().resize(window, now)
        self._coeff = _smoothing_coeff(math.ceil(window / self.granularity))


class MaxTimeWindow:
    """Maximum of the values recorded in the last ``duration`` (``max.TimeWindow``)."""

    def __init__(self, duration: float, granularity: float = 2.0) -> None:
        if duration <= 0 or granularity <= 0:
            raise ValueError("duration and granularity must be positive")
        self.duration = duration
        self.granularity = max(1, int(granularity))  # whole seconds, as Knative's index math
        self._size = math.ceil(duration / self.granularity)
        self._maxima: deque[tuple[int, int]] = deque()  # (index, value), values descending

    def record(self, now: float, value: int) -> None:
        """Record ``value`` at ``now``; equal indexes keep the larger value."""
        index = math.floor(now) // self.granularity
        q = self._maxima
        while q and value >= q[-1][1]:
            q.pop()
        while q and index - q[0][0] >= self._size:
            q.popleft()
        if q and q[-1][0] == index:
            value = max(value, q.pop()[1])
        q.append((index, value))

    def current(self) -> int:
        """The maximum over the window as of the last record (0 before any)."""
        return self._maxima[0][1] if self._maxima else 0

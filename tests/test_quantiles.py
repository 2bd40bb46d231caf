"""The console's latency quantiles: PromQL's histogram_quantile on bucket tables, windows."""

from __future__ import annotations

from typing import Any

import pytest

from coldbrew.console.quantiles import (
    LatencyWindow,
    difference,
    histogram_quantile,
    latency_buckets,
    quantiles_ms,
)
from gateway.tally import RevisionTally

BOUNDS = (10.0, 20.0, 50.0, 100.0)


@pytest.mark.parametrize(
    ("q", "buckets", "expected"),
    [
        # all in (20, 50]: the rank's share of the way through that bucket
        (0.5, [0, 0, 10, 0, 0], 35.0),
        (0.99, [0, 0, 10, 0, 0], 20.0 + 30.0 * 0.99),
        (0.1, [0, 0, 10, 0, 0], 23.0),
        # the first bucket starts at 0
        (0.5, [4, 0, 0, 0, 0], 5.0),
        # rank 5 of 10: the 5th observation is the last of the first bucket
        (0.5, [5, 5, 0, 0, 0], 10.0),
        (0.6, [5, 5, 0, 0, 0], 12.0),
        # empty buckets in between are skipped
        (0.9, [5, 0, 0, 5, 0], 50.0 + 50.0 * 0.8),
        # a rank in the overflow bucket: the highest finite bound (PromQL's answer)
        (0.99, [1, 0, 0, 0, 99], 100.0),
        (0.5, [0, 0, 0, 0, 3], 100.0),
    ],
)
def test_histogram_quantile_interpolates_within_the_bucket_as_promql(
    q: float, buckets: list[float], expected: float
) -> None:
    assert histogram_quantile(q, BOUNDS, buckets) == pytest.approx(expected)


def test_an_empty_table_has_no_quantile_and_bad_arguments_are_refused() -> None:
    assert histogram_quantile(0.5, BOUNDS, [0, 0, 0, 0, 0]) is None
    assert quantiles_ms(None) == {"p50Ms": None, "p99Ms": None}
    with pytest.raises(ValueError, match="quantile"):
        histogram_quantile(1.5, BOUNDS, [1, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="buckets"):
        histogram_quantile(0.5, BOUNDS, [1, 0, 0, 0])


def test_buckets_come_from_the_gateway_rows_summed_over_statuses() -> None:
    tally = RevisionTally()
    for _ in range(98):
        tally.done(200, 0.060)  # (50, 100] ms
    tally.done(503, 0.300)  # (250, 500]
    tally.done(503, 0.300)
    buckets = latency_buckets(tally.frame())
    assert sum(buckets) == 100
    got = quantiles_ms(buckets)
    assert got["p50Ms"] == pytest.approx(50 + 50 * 50 / 98, abs=0.1)
    assert got["p99Ms"] is not None and 250 < got["p99Ms"] <= 500


def test_difference_of_cumulative_buckets_and_a_reset() -> None:
    assert difference([3, 5, 1], [1, 2, 1]) == [2, 3, 0]
    assert difference([3, 5, 1], None) == [3, 5, 1]  # new revision: all of it is recent
    assert difference([1, 0, 0], [3, 5, 1]) == [1, 0, 0]  # went down: counted from zero


class Totals:
    """Merged worker totals as WorkerTotals.merged gives them, fed by real tallies."""

    def __init__(self) -> None:
        self.tallies: dict[str, RevisionTally] = {}

    def add(self, key: str, seconds: float, n: int) -> None:
        tally = self.tallies.setdefault(key, RevisionTally())
        for _ in range(n):
            tally.done(200, seconds)

    def __call__(self) -> dict[str, dict[str, Any]]:
        return {key: t.frame() for key, t in self.tallies.items()}


def test_the_window_keeps_the_last_ten_seconds_sampled_once_a_second() -> None:
    now = [100.0]
    totals = Totals()
    window = LatencyWindow(totals, lambda: now[0], window=10.0, step=1.0)
    totals.add("ns/a-00001", 0.004, 1000)  # before the window opens: never recent
    assert window.recent() == {}  # one sample, no baseline
    totals.add("ns/a-00001", 0.060, 10)
    now[0] += 0.5
    assert window.recent() == {}  # within the step: not sampled again
    now[0] += 0.5
    recent = window.recent()["ns/a-00001"]
    assert sum(recent) == 10 and quantiles_ms(recent)["p50Ms"] == 75.0
    # ten seconds of 300 ms requests push the 60 ms ones out of the window
    for _ in range(12):
        totals.add("ns/a-00001", 0.300, 5)
        totals.add("ns/b-00001", 0.015, 1)
        now[0] += 1.0
        recent_all = window.recent()
    a, b = recent_all["ns/a-00001"], recent_all["ns/b-00001"]
    assert sum(a) == 50 and sum(b) == 10  # ten one-second steps of each
    assert quantiles_ms(a) == {"p50Ms": 375.0, "p99Ms": 497.5}
    assert quantiles_ms(b)["p50Ms"] == 15.0

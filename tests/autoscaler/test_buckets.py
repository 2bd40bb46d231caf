"""Bucket aggregation (Knative's aggregation package) and the per-revision collector."""

from __future__ import annotations

import pytest

from autoscaler.buckets import MaxTimeWindow, TimedFloatBuckets, WeightedFloatBuckets
from autoscaler.collecting import MetricCollector, NoDataError

T = 10_000.0


def test_window_average_over_written_buckets() -> None:
    b = TimedFloatBuckets(5)
    assert b.is_empty(T) and b.window_average(T) == 0
    b.record(T, 10)
    b.record(T + 0.5, 2)  # same second: summed
    assert b.window_average(T) == 12
    b.record(T + 1, 4)
    assert b.window_average(T + 1) == 8  # (12 + 4) / 2 written buckets
    b.record(T + 4, 2)
    assert b.window_average(T + 4) == pytest.approx(18 / 5)  # gaps count as zeros


def test_window_average_ages_out_old_buckets() -> None:
    b = TimedFloatBuckets(5)
    for s in range(5):
        b.record(T + s, s + 1)  # 1..5
    assert b.window_average(T + 4) == 3
    # Two seconds later without writes: buckets of T and T+1 leave the window, and the
    # average is over the remaining written buckets (Knative's TimedFloat64Buckets).
    assert b.window_average(T + 6) == pytest.approx((3 + 4 + 5) / 3)
    assert not b.is_empty(T + 9)
    assert b.window_average(T + 9) == 0
    assert b.is_empty(T + 10)


def test_record_older_within_window_and_drop_too_old() -> None:
    b = TimedFloatBuckets(5)
    b.record(T + 10, 5)
    b.record(T + 8, 5)  # late but within the window: counted
    assert b.window_average(T + 10) == pytest.approx(10 / 3)
    b.record(T + 5, 100)  # a full window older than the last write: dropped
    assert b.window_average(T + 10) == pytest.approx(10 / 3)


def test_gap_longer_than_window_resets() -> None:
    b = TimedFloatBuckets(3)
    b.record(T, 9)
    b.record(T + 10, 3)
    assert b.window_average(T + 10) == 3


def test_resize_keeps_newest() -> None:
    b = TimedFloatBuckets(4)
    for s in range(4):
        b.record(T + s, 1 + s)
    b.resize(2, T + 3)
    assert b.window == 2
    assert b.window_average(T + 3) == pytest.approx(3.5)


def test_weighted_buckets_favour_recent() -> None:
    w = WeightedFloatBuckets(10)
    for s in range(9):
        w.record(T + s, 0)
    w.record(T + 9, 10)
    recent = w.window_average(T + 9)
    w2 = WeightedFloatBuckets(10)
    w2.record(T, 10)
    for s in range(1, 10):
        w2.record(T + s, 0)
    assert recent > w2.window_average(T + 9) > 0


def test_max_time_window() -> None:
    w = MaxTimeWindow(10, 2)
    assert w.current() == 0
    w.record(0, 5)
    w.record(2, 3)
    assert w.current() == 5
    w.record(8, 1)
    assert w.current() == 5
    w.record(10, 2)  # the 5 at index 0 leaves the 5-bucket window
    assert w.current() == 3
    w.record(10, 7)  # same index keeps the larger
    assert w.current() == 7


def test_collector_sums_two_workers() -> None:
    c = MetricCollector(60, 6)
    with pytest.raises(NoDataError):
        c.stable_and_panic("concurrency", T)
    for s in range(6):
        c.record(T + s + 0.2, 3.0, 10, worker="gw-1")
        c.record(T + s + 0.7, 2.0, 5, worker="gw-2")
    assert c.stable_and_panic("concurrency", T + 5) == (5.0, 5.0)
    assert c.stable_and_panic("rps", T + 5) == (15.0, 15.0)
    assert c.stats.workers == {"gw-1", "gw-2"} and c.stats.records == 12
    # gw-2 stops: only gw-1 contributes for the next seconds.
    for s in range(6, 12):
        c.record(T + s, 3.0, 10, worker="gw-1")
    stable, panic = c.stable_and_panic("concurrency", T + 11)
    assert panic == 3.0 and stable == pytest.approx((6 * 5 + 6 * 3) / 12)


def test_collector_resize() -> None:
    c = MetricCollector(60, 6)
    for s in range(10):
        c.record(T + s, float(s))
    c.resize(10, 2, T + 9)
    assert c.stable_and_panic("concurrency", T + 9) == (4.5, 8.5)

"""Ports of Knative's pkg/autoscaler/scaling/autoscaler_test.go onto the Python Decider."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pytest

from autoscaler.collecting import MetricCollector, NoDataError
from autoscaler.deciding import Decider, ScaleResult, apply_bounds
from autoscaler.spec import DeciderSpec

STABLE_WINDOW = 60.0
TARGET_UTILIZATION = 0.75
T0 = 1_000.0


@dataclass
class FakeMetrics:
    """Knative's test metricClient: fixed values, optional no-data."""

    stable_concurrency: float = 0.0
    panic_concurrency: float = 0.0
    stable_rps: float = 0.0
    panic_rps: float = 0.0
    no_data: bool = False

    def set(self, stable: float, panic: float) -> None:
        self.stable_concurrency, self.panic_concurrency = stable, panic

    def stable_and_panic(self, metric: str, now: float) -> tuple[float, float]:
        if self.no_data:
            raise NoDataError("no data")
        if metric == "rps":
            return self.stable_rps, self.panic_rps
        return self.stable_concurrency, self.panic_concurrency


def make_spec(target: float, tbc: float, metric: str = "concurrency", **kw: object) -> DeciderSpec:
    base = DeciderSpec(
        metric=metric,  # type: ignore[arg-type]
        target_value=target,
        total_value=target / TARGET_UTILIZATION,
        target_burst_capacity=tbc,
        panic_threshold=2,
        max_scale_up_rate=10,
        max_scale_down_rate=10,
        activator_capacity=150,
        stable_window=STABLE_WINDOW,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def new(target: float, tbc: float, metrics: FakeMetrics, ready: int = 1, **kw: object) -> Decider:
    return Decider(make_spec(target, tbc, **kw), metrics, now=T0, ready_pods=ready)


def ebc(tot: float, tbc: float, concurrency: float, pods: float) -> int:
    """Knative's expectedEBC helper."""
    return math.floor(tot / TARGET_UTILIZATION * pods - tbc - concurrency)


def expect(d: Decider, now: float, ready: int, pods: int, want_ebc: int) -> ScaleResult:
    got = d.scale(now, ready)
    assert got.scale_valid
    assert (got.desired_pod_count, got.excess_burst_capacity) == (pods, want_ebc)
    return got


def test_no_data_no_autoscale() -> None:
    d = new(10, 100, FakeMetrics(no_data=True))
    assert d.scale(T0, 1) == ScaleResult()
    assert not d.scale(T0, 1).scale_valid


def test_stable_mode_increase_with_concurrency_default() -> None:
    m = FakeMetrics(50, 10)
    d = new(10, 101, m)
    expect(d, T0, 1, 5, ebc(10, 101, 10, 1))
    m.stable_concurrency = 100
    expect(d, T0, 1, 10, ebc(10, 101, 10, 1))


def test_stable_mode_increase_with_rps() -> None:
    m = FakeMetrics(stable_rps=50, panic_rps=50)
    d = new(10, 101, m, metric="rps")
    expect(d, T0, 1, 5, ebc(10, 101, 50, 1))
    m.stable_rps, m.panic_rps = 100, 99
    expect(d, T0, 1, 10, ebc(10, 101, 99, 1))


def test_unpanic_after_slow_increase() -> None:
    m = FakeMetrics(11, 25)
    d = new(1, 98, m)
    start = T0
    expect(d, start, 10, 25, ebc(1, 98, 25, 10))
    assert d.panic_time == start
    m.set(30, 41)
    tm = start + STABLE_WINDOW / 2
    expect(d, tm, 40, 41, ebc(1, 98, 41, 40))
    assert d.panic_time == start, "panic time must not move below the threshold"
    m.set(50, 56)
    tm += STABLE_WINDOW / 2 + 2
    got = expect(d, tm, 55, 50, ebc(1, 98, 56, 55))
    assert d.panic_time is None and not got.panicking


def test_extend_panic_window() -> None:
    m = FakeMetrics(11, 25)
    d = new(1, 98, m)
    expect(d, T0, 10, 25, ebc(1, 98, 25, 10))
    m.set(30, 80)
    tm = T0 + STABLE_WINDOW / 2
    got = expect(d, tm, 40, 80, ebc(1, 98, 80, 40))
    assert d.panic_time == tm and got.panicking


def test_stable_mode_decrease() -> None:
    m = FakeMetrics(100, 100)
    d = new(10, 98, m)
    expect(d, T0, 8, 10, ebc(10, 98, 100, 8))
    m.set(50, 50)
    expect(d, T0, 8, 5, ebc(10, 98, 50, 8))


def test_stable_mode_no_traffic_scale_to_zero() -> None:
    m = FakeMetrics(1, 0)
    d = new(10, 75, m)
    expect(d, T0, 1, 1, ebc(10, 75, 0, 1))
    m.stable_concurrency = 0
    expect(d, T0, 1, 0, ebc(10, 75, 0, 1))


def test_activation_scale() -> None:
    m = FakeMetrics(0, 0)
    d = new(10, 75, m, activation_scale=2)
    expect(d, T0, 1, 0, ebc(10, 75, 0, 1))
    m.stable_concurrency = 1
    expect(d, T0, 1, 2, ebc(10, 75, 0, 1))


def test_panic_mode_exponential_track_and_stabilize() -> None:
    m = FakeMetrics(6, 6)
    d = new(1, 101, m)
    expect(d, T0, 1, 6, ebc(1, 101, 6, 1))
    tm = T0
    m.set(36, 36)
    expect(d, tm, 6, 36, ebc(1, 101, 36, 6))
    assert d.panic_time == tm
    m.set(216, 216)
    tm += 1
    expect(d, tm, 36, 216, ebc(1, 101, 216, 36))
    assert d.panic_time == tm
    m.set(1296, 1296)
    expect(d, tm, 216, 1296, ebc(1, 101, 1296, 216))
    tm += 1
    expect(d, tm, 1296, 1296, ebc(1, 101, 1296, 1296))


@pytest.mark.parametrize(
    ("label", "target", "tbc", "stable", "panic", "ready", "prep", "want", "want_ebc"),
    [
        ("UnlimitedTBC", 181, -1, 21, 26, 1, {}, 1, -1),
        ("ZeroTBC", 10, 0, 50, 49, 1, {}, 5, 0),
        ("StableNoChange", 10, 100, 50, 50, 1, {}, 5, ebc(10, 100, 50, 1)),
        ("StableNoChangeAlreadyScaled", 10, 100, 50, 50, 5, {}, 5, ebc(10, 100, 50, 5)),
        (
            "IncreaseWithSmallScaleUpRate",
            1,
            1982,
            3,
            3.1,
            2,
            {"max_scale_up_rate": 1.1},
            3,
            ebc(1, 1982, 3.1, 2),
        ),
        (
            "DecreaseWithSmallScaleDownRate",
            10,
            1982,
            1,
            1,
            100,
            {"max_scale_down_rate": 1.1},
            90,
            ebc(10, 1982, 1, 100),
        ),
        (
            "DecreaseNonReachable",
            10,
            1982,
            1,
            1,
            100,
            {"max_scale_down_rate": 1.1, "reachable": False},
            1,
            ebc(10, 1982, 1, 100),
        ),
        ("PanicModeDoublePodCount", 10, 84, 50, 100, 1, {}, 10, ebc(10, 84, 100, 1)),
    ],
)
def test_scale_table(
    label: str,
    target: float,
    tbc: float,
    stable: float,
    panic: float,
    ready: int,
    prep: dict[str, object],
    want: int,
    want_ebc: int,
) -> None:
    d = new(target, tbc, FakeMetrics(stable, panic), ready=1, **prep)
    expect(d, T0, ready, want, want_ebc)


@pytest.mark.parametrize(("stable", "want"), [(50, 50), (20, 30)])
def test_panic_picks_larger_of_stable_and_panic(stable: float, want: int) -> None:
    d = new(1, 100, FakeMetrics(stable, 30), ready=1)
    d.panic_time, d.max_panic_pods = T0 - 5, 5
    expect(d, T0, 5, want, ebc(1, 100, 30, 5))


def test_panic_then_unpanic_scale_down() -> None:
    m = FakeMetrics(100, 100)
    d = new(10, 93, m)
    expect(d, T0, 1, 10, ebc(10, 93, 100, 1))
    panic_time = T0 + 2
    m.panic_concurrency = 1000
    expect(d, panic_time, 10, 100, ebc(10, 93, 1000, 10))
    m.set(1, 1)
    # Traffic dropped off: the scale stays while panicking (never scale down in panic).
    expect(d, panic_time + 30, 10, 100, ebc(10, 93, 1, 10))
    # A stable window after the last over-threshold time, panic ends and we scale down.
    got = expect(d, panic_time + 61, 10, 1, ebc(10, 93, 1, 10))
    assert not got.panicking


def test_rate_limit_scale_up() -> None:
    m = FakeMetrics(1000, 1001)
    d = new(10, 61, m)
    expect(d, T0, 1, 10, ebc(10, 61, 1001, 1))  # need 100, only x10
    expect(d, T0, 10, 100, ebc(10, 61, 1001, 10))


def test_rate_limit_scale_down() -> None:
    m = FakeMetrics(1, 1)
    d = new(10, 61, m)
    expect(d, T0, 100, 10, ebc(10, 61, 1, 100))  # need 1, only /10
    expect(d, T0, 10, 1, ebc(10, 61, 1, 10))


def test_use_one_pod_as_minimum_if_no_ready_pods() -> None:
    d = new(10, 81, FakeMetrics(1000, 888))
    expect(d, T0, 0, 10, ebc(10, 81, 888, 0))


def test_update_target() -> None:
    m = FakeMetrics(100, 101)
    d = new(10, 77, m)
    expect(d, T0, 10, 10, ebc(10, 77, 101, 10))
    d.update(make_spec(1, 71, total_value=1 / TARGET_UTILIZATION))
    expect(d, T0, 10, 100, ebc(1, 71, 101, 10))


@pytest.mark.parametrize(("ready", "panicking"), [(0, False), (1, False), (2, True)])
def test_start_in_panic_mode(ready: int, panicking: bool) -> None:
    d = Decider(make_spec(100, 11), FakeMetrics(10, 10), now=T0, ready_pods=ready)
    assert d.panicking is panicking
    assert d.max_panic_pods == ready


def test_scale_down_delay_simple_and_gradual() -> None:
    m = FakeMetrics()
    d = Decider(
        DeciderSpec(
            target_value=10,
            max_scale_down_rate=10,
            max_scale_up_rate=10,
            panic_threshold=100,
            scale_down_delay=300,
            target_burst_capacity=0,
        ),
        m,
        now=0,
    )
    m.set(40, 40)
    assert d.scale(2, 0).desired_pod_count == 4
    m.set(0, 0)
    assert d.scale(300, 0).desired_pod_count == 4  # less than the delay at lower load
    assert d.scale(302, 0).desired_pod_count == 0
    m.set(40, 40)
    assert d.scale(540, 0).desired_pod_count == 4
    m.set(30, 30)
    assert d.scale(600, 0).desired_pod_count == 4  # 4 still dominates
    m.set(0, 0)
    assert d.scale(660, 0).desired_pod_count == 4
    assert d.scale(840, 0).desired_pod_count == 3  # the 4 scrolled out
    assert d.scale(900, 0).desired_pod_count == 0


def test_scale_down_delay_not_reachable_is_ignored() -> None:
    m = FakeMetrics(40, 40)
    spec = DeciderSpec(
        target_value=10,
        max_scale_down_rate=10,
        max_scale_up_rate=10,
        panic_threshold=100,
        scale_down_delay=300,
        reachable=False,
    )
    d = Decider(spec, m, now=0)
    assert d.scale(2, 0).desired_pod_count == 4
    m.set(0, 0)
    assert d.scale(4, 0).desired_pod_count == 0


def test_min_max_bounds_after_decision() -> None:
    m = FakeMetrics(1000, 1000)
    d = new(10, 0, m, min_scale=2, max_scale=7)
    got = expect(d, T0, 10, 7, 0)
    assert got.unbounded_pod_count == 100
    m.set(0, 0)
    d2 = new(10, 0, m, min_scale=2, max_scale=7)
    assert d2.scale(T0, 1).desired_pod_count == 2
    assert [apply_bounds(1, 0, x) for x in (0, 5, 1000)] == [1, 5, 1000]


def test_excess_burst_capacity_uses_real_ready_count() -> None:
    d = new(10, 20, FakeMetrics(5, 5))
    # 0 ready: total capacity 0 -> negative EBC, the activator stays in the path.
    assert d.scale(T0, 0).excess_burst_capacity == math.floor(0 - 20 - 5)
    assert d.scale(T0, 3).excess_burst_capacity == ebc(10, 20, 5, 3)


def test_with_real_collector() -> None:
    c = MetricCollector(60, 6)
    d = Decider(make_spec(10, 0), c, now=0)
    assert not d.scale(1, 1).scale_valid
    for s in range(10):
        c.record(s, 30.0, 0.0)
    got = d.scale(10, 1)
    assert got.scale_valid and got.stable_value == 30 and got.desired_pod_count == 3

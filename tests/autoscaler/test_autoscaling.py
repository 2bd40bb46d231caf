"""The multi-revision engine on a virtual clock: scale-out, scale-to-zero timing, activator."""

from __future__ import annotations

from dataclasses import replace

import pytest

from autoscaler.autoscaling import Autoscaler, MalformedMessageError
from autoscaler.config import AutoscalerConfig
from autoscaler.spec import DeciderSpec, make_spec

KEY = "default/coffee-00001"


class Cluster:
    """Fake pods (ready at once unless ``instant`` is False) and a manual clock."""

    def __init__(self, instant: bool = True) -> None:
        self.now = 0.0
        self.instant = instant
        self.pods: dict[str, int] = {}
        self.ready: dict[str, int] = {}
        self.scale_calls: list[tuple[float, str, int]] = []
        self.activator_calls: list[tuple[float, str, bool]] = []

    def scale(self, key: str, count: int) -> None:
        self.scale_calls.append((self.now, key, count))
        self.pods[key] = count
        if self.instant:
            self.ready[key] = count

    def ready_pods(self, key: str) -> int:
        return self.ready.get(key, 0)

    def activator(self, key: str, in_path: bool) -> None:
        self.activator_calls.append((self.now, key, in_path))

    def autoscaler(self, config: AutoscalerConfig | None = None) -> Autoscaler:
        return Autoscaler(
            config or AutoscalerConfig(),
            scale=self.scale,
            ready_pods=self.ready_pods,
            activator=self.activator,
            clock=lambda: self.now,
        )


def stats(concurrency: float, requests: int = 0, key: str = KEY, worker: str = "gw-1") -> dict:
    return {
        "type": "stats",
        "worker": worker,
        "time": 0.0,
        "stats": [{"revision": key, "concurrency": concurrency, "requests": requests}],
    }


def spec(**kw: object) -> DeciderSpec:
    base = make_spec(AutoscalerConfig(), container_concurrency=10)  # target 7 per pod
    return replace(base, **kw)  # type: ignore[arg-type]


def run(
    c: Cluster, a: Autoscaler, until: float, load: float = 0.0, key: str = KEY, step: float = 2.0
) -> None:
    """Advance to ``until``: each second's stats (if load) are recorded, ticks every ``step``."""
    while c.now < until:
        start = c.now
        for s in range(int(start), int(start + step)):
            if load:
                c.now = float(s)
                a.record(stats(load, key=key), now=float(s))
        c.now = start + step
        a.tick()


def zero_time(c: Cluster, key: str = KEY) -> float | None:
    return next((t for t, k, n in c.scale_calls if k == key and n == 0), None)


def test_watch_starts_at_initial_scale_and_is_idempotent() -> None:
    c = Cluster()
    a = c.autoscaler()
    a.watch(KEY, spec(initial_scale=3))
    a.watch(KEY, spec(initial_scale=3))
    assert c.scale_calls == [(0.0, KEY, 3)]
    assert c.activator_calls == [(0.0, KEY, True)]
    assert a.keys() == [KEY]
    st = a.status(KEY)
    assert (st.desired, st.actual, st.in_path, st.phase) == (3, 3, True, "activating")


def test_initial_scale_held_until_reached() -> None:
    c = Cluster(instant=False)
    a = c.autoscaler()
    a.watch(KEY, spec(initial_scale=3))
    run(c, a, 10)
    assert c.scale_calls == [(0.0, KEY, 3)]  # no data, nothing ready: no decision applied
    c.ready[KEY] = 3
    run(c, a, 12)
    assert a.status(KEY).phase == "active"
    run(c, a, 14)
    # Idle but active for less than the stable window: down to at most 1 (Knative).
    assert c.pods[KEY] == 1


def test_scale_out_on_load_and_spec_update() -> None:
    c = Cluster()
    a = c.autoscaler()
    a.watch(KEY, spec())
    run(c, a, 20, load=35)  # 35 / 7 = 5 pods
    assert c.pods[KEY] == 5
    st = a.status(KEY)
    assert st.stable_value > 0 and st.panic_value == 35
    a.watch(KEY, spec(target_value=3.5))  # a changed spec applies on the next tick
    run(c, a, 24, load=35)
    assert c.pods[KEY] == 10


def test_unknown_revision_and_malformed_messages() -> None:
    c = Cluster()
    a = c.autoscaler()
    a.watch(KEY, spec())
    a.record(stats(100, key="default/other"))  # ignored
    a.record({"type": "hello", "worker": "gw-9"})
    assert "gw-9" in a.workers
    for bad in (
        [],
        {"type": "bogus"},
        {"type": "stats", "stats": "x"},
        {"type": "stats", "stats": [{"revision": KEY, "concurrency": -1}]},
        {"type": "stats", "stats": [{"concurrency": 1}]},
        {"type": "poke"},
        {"type": "poke", "revision": KEY, "concurrency": "1"},
    ):
        with pytest.raises(MalformedMessageError):
            a.record(bad)  # type: ignore[arg-type]
    a.unwatch(KEY)
    a.unwatch(KEY)
    a.record(stats(5))  # unwatched: ignored
    with pytest.raises(KeyError):
        a.status(KEY)


def test_scale_to_zero_waits_grace_period_when_activator_not_in_path() -> None:
    c = Cluster()
    a = c.autoscaler()
    a.watch(KEY, spec(target_burst_capacity=0))  # EBC always 0: activator leaves the path
    run(c, a, 10, load=5)
    assert c.pods[KEY] == 1 and a.status(KEY).in_path is False
    run(c, a, 200)
    t_zero = zero_time(c)
    assert t_zero is not None
    inactive_at = next(t for t, _, p in c.activator_calls if p and t > 10)
    # Stable window without traffic (last traffic at second 9), then the grace period
    # counted from when the activator was put back in the path.
    assert 9 + 60 <= inactive_at <= 9 + 60 + 4
    assert t_zero - inactive_at == pytest.approx(30, abs=2)
    st = a.status(KEY)
    assert (st.desired, st.phase, st.in_path) == (0, "inactive", True)


def test_scale_to_zero_fast_path_when_activator_already_in_path() -> None:
    c = Cluster()
    a = c.autoscaler()
    a.watch(KEY, spec())  # TBC 211 > one pod's capacity: the activator stays in path
    run(c, a, 10, load=5)
    assert a.status(KEY).in_path is True
    run(c, a, 200)
    t_zero = zero_time(c)
    assert t_zero is not None
    # Knative: the grace period is an upper bound; in proxy mode for longer than it,
    # the last pod goes one tick after the revision is marked inactive.
    assert 9 + 60 <= t_zero <= 9 + 60 + 6


def test_scale_to_zero_pod_retention() -> None:
    c = Cluster()
    a = c.autoscaler()
    a.watch(KEY, spec(scale_to_zero_pod_retention_period=90))
    run(c, a, 10, load=5)
    run(c, a, 300)
    t_zero = zero_time(c)
    assert t_zero is not None
    assert 9 + 60 + 90 <= t_zero <= 9 + 60 + 90 + 6


def test_min_scale_keeps_pods() -> None:
    c = Cluster()
    a = c.autoscaler()
    a.watch(KEY, spec(min_scale=2))
    run(c, a, 20, load=35)
    assert c.pods[KEY] == 5
    run(c, a, 300)
    assert c.pods[KEY] == 2 and zero_time(c) is None


def test_max_scale_caps() -> None:
    c = Cluster()
    a = c.autoscaler()
    a.watch(KEY, spec(max_scale=3))
    run(c, a, 20, load=700)
    assert max(n for _, _, n in c.scale_calls) == 3


def test_enable_scale_to_zero_false_keeps_one() -> None:
    c = Cluster()
    a = c.autoscaler()
    a.watch(KEY, spec(enable_scale_to_zero=False))
    run(c, a, 10, load=20)
    run(c, a, 300)
    assert c.pods[KEY] == 1 and zero_time(c) is None


def test_poke_scales_from_zero_immediately() -> None:
    c = Cluster(instant=False)
    a = c.autoscaler()
    a.watch(KEY, spec(initial_scale=0))
    assert c.scale_calls == [(0.0, KEY, 0)]
    run(c, a, 10)
    c.now = 11.3
    a.record({"type": "poke", "worker": "gw-1", "time": 0.0, "revision": KEY, "concurrency": 1.0})
    assert c.scale_calls[-1] == (11.3, KEY, 1)
    assert a.status(KEY).phase == "activating"
    c.ready[KEY] = 1
    a.poke(KEY, now=12.0)
    assert a.status(KEY).phase == "active"


def test_stats_at_zero_poke_like_knative() -> None:
    c = Cluster()
    a = c.autoscaler()
    a.watch(KEY, spec())
    run(c, a, 10, load=5)
    run(c, a, 200)
    assert c.pods[KEY] == 0
    c.now = 201.5
    a.record(stats(3.0))  # traffic at zero scale decides at once, without waiting for a tick
    assert c.scale_calls[-1] == (201.5, KEY, 1)


def test_activator_follows_excess_burst_capacity_sign() -> None:
    c = Cluster()
    a = c.autoscaler()
    # one pod takes 10; TBC 10 -> EBC = 10 * ready - 10 - panic concurrency
    a.watch(KEY, spec(target_burst_capacity=10))
    run(c, a, 4)  # idle: EBC 0 -> serve
    assert c.activator_calls[-1][2] is False
    run(c, a, 8, load=2)  # EBC negative -> activator in path
    assert c.activator_calls[-1][2] is True
    assert a.status(KEY).excess_burst_capacity < 0


def test_activator_tbc_minus_one_always_in_path() -> None:
    c = Cluster()
    a = c.autoscaler()
    a.watch(KEY, spec(target_burst_capacity=-1))
    run(c, a, 30, load=20)
    assert [p for _, _, p in c.activator_calls] == [True]
    assert a.status(KEY).excess_burst_capacity == -1


def test_several_revisions_tick_independently() -> None:
    c = Cluster()
    a = c.autoscaler()
    other = "default/tea-00001"
    a.watch(KEY, spec())
    a.watch(other, spec())
    for s in range(20):
        c.now = float(s)
        a.record(stats(35, key=KEY))
        if s % 2:
            a.tick()
    assert (c.pods[KEY], c.pods[other]) == (5, 1)


def test_status_reason_mentions_panic() -> None:
    c = Cluster()
    a = c.autoscaler()
    a.watch(KEY, spec())
    run(c, a, 6, load=70)
    st = a.status(KEY)
    assert st.panicking and "panic" in st.reason and st.recommended == 10


def test_callback_failure_is_retried() -> None:
    c = Cluster()
    fails = {"n": 1}

    def flaky(key: str, count: int) -> None:
        if count > 1 and fails["n"]:
            fails["n"] -= 1
            raise RuntimeError("boom")
        c.scale(key, count)

    a = Autoscaler(AutoscalerConfig(), scale=flaky, ready_pods=c.ready_pods, clock=lambda: c.now)
    a.watch(KEY, spec())
    run(c, a, 6, load=35)
    assert c.pods[KEY] == 5


def test_a_resting_revision_is_skipped_by_ticks_until_traffic_or_a_spec_change() -> None:
    """At zero with no pods and no metrics a tick decides nothing: ticks skip it (10,000
    idle revisions cost nothing), and a stat, a spec change or a pod wakes it again."""
    c = Cluster()
    a = c.autoscaler()
    a.watch(KEY, spec(initial_scale=0))
    run(c, a, 4)
    rev = a._revisions[KEY]
    assert rev.resting and a.status(KEY).desired == 0
    decided = a.status(KEY).reason
    rev.reason = "untouched"  # a tick would overwrite it
    run(c, a, 8)
    assert rev.reason == "untouched"
    run(c, a, 12, load=14)  # stats: decided again, scaled from zero
    assert not rev.resting and c.pods[KEY] == 2
    assert decided != rev.reason
    run(c, a, 200)  # the load ends: back to zero, then resting again
    assert c.pods[KEY] == 0 and rev.resting
    a.watch(KEY, spec(initial_scale=0, min_scale=1))  # a new spec: ticked again
    run(c, a, 204)
    assert c.pods[KEY] == 1 and not rev.resting
    a.watch(KEY, spec(initial_scale=0))
    run(c, a, 400)
    assert c.pods[KEY] == 0 and rev.resting
    c.ready[KEY] = 1  # a pod nobody asked for (a manual scale): the KPA sees it again
    run(c, a, 402)
    assert not rev.resting

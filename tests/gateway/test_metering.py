"""Time-weighted concurrency with an injected clock."""

from __future__ import annotations

import pytest

from gateway.timekeeping import Meter, PodLoad, RevisionLoad


def arrive(load: RevisionLoad, now: float) -> None:
    """A request arrives, as gateway.handling.Exchange.start counts it."""
    load.add(1, now)
    load.arrivals += 1


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_revision_concurrency_counts_and_pods() -> None:
    clock = Clock()
    meter = Meter(clock)
    load = meter.load("default/r")
    a, b = PodLoad("127.0.0.1:1"), PodLoad("127.0.0.1:2")
    meter.adopt(load, [a, b])
    # Second 1: arrivals at .25 (held until .5, then on pod a), .5 (pod b); a leaves at .75.
    clock.now = 100.25
    arrive(load, clock.now)
    clock.now = 100.5
    arrive(load, clock.now)
    a.add(1, clock.now)
    b.add(1, clock.now)
    clock.now = 100.75
    a.add(-1, clock.now)
    load.add(-1, clock.now)
    (stats,) = meter.close(101.0)
    # revision: 1 x .25 + 2 x .25 + 1 x .25 = 1.0; pod a: 1 x .25; pod b: 1 x .5
    assert stats == {
        "revision": "default/r",
        "concurrency": pytest.approx(1.0),
        "requests": 2,
        "pods": {"127.0.0.1:1": pytest.approx(0.25), "127.0.0.1:2": pytest.approx(0.5)},
    }
    # Second 2: nothing arrives, b's request is still in flight the whole second.
    (stats,) = meter.close(102.0)
    assert stats["concurrency"] == pytest.approx(1.0)
    assert stats["requests"] == 0
    assert stats["pods"] == {"127.0.0.1:2": pytest.approx(1.0)}
    # Second 3: b ends at 102.5.
    b.add(-1, 102.5)
    load.add(-1, 102.5)
    (stats,) = meter.close(103.0)
    assert stats["concurrency"] == pytest.approx(0.5)
    assert stats["pods"] == {"127.0.0.1:2": pytest.approx(0.5)}
    # Second 4: idle revisions are not reported.
    assert meter.close(104.0) == []


def test_short_requests_and_uneven_buckets() -> None:
    clock = Clock()
    meter = Meter(clock)
    load = meter.load("default/r")
    for i in range(100):  # 100 requests of 2 ms each in one second: concurrency 0.2
        t = 100.0 + i * 0.01
        arrive(load, t)
        load.add(-1, t + 0.002)
    (stats,) = meter.close(101.0)
    assert stats["requests"] == 100
    assert stats["concurrency"] == pytest.approx(0.2)
    arrive(load, 101.0)
    (stats,) = meter.close(101.5)  # a half-second bucket averages over its own length
    assert stats["concurrency"] == pytest.approx(1.0)


def test_forgotten_revision_dropped_when_idle_and_pods_leave() -> None:
    clock = Clock()
    meter = Meter(clock)
    load = meter.load("default/r")
    pod = PodLoad("127.0.0.1:1")
    meter.adopt(load, [pod])
    arrive(load, 100.0)
    pod.add(1, 100.0)
    meter.adopt(load, [])  # the pod left the revision but still carries a request
    load.detached = True  # forgotten
    (stats,) = meter.close(101.0)
    assert stats["pods"] == {"127.0.0.1:1": pytest.approx(1.0)}
    pod.add(-1, 101.5)
    load.add(-1, 101.5)
    (stats,) = meter.close(102.0)
    assert stats["concurrency"] == pytest.approx(0.5)
    assert load not in meter.loads and not load.pods
    assert meter.close(103.0) == []


def test_should_poke_rate_limit() -> None:
    meter = Meter(Clock())
    load = meter.load("default/r")
    assert meter.should_poke(load, 10.0)
    assert not meter.should_poke(load, 10.05)
    assert meter.should_poke(load, 10.11)

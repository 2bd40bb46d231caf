"""Pod choice policies and the revision queue, with fake trackers and waiters."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from activator import RoundRobin, Throttler, first_available, policy_for, random_choice_2


class Pod:
    def __init__(self, name: str, in_flight: int = 0) -> None:
        self.name = name
        self.in_flight = in_flight

    def __repr__(self) -> str:
        return f"Pod({self.name}, {self.in_flight})"


class Waiter:
    def __init__(self, name: str, log: list[tuple[str, str]]) -> None:
        self.name = name
        self.queued = False
        self.log = log

    def granted(self, tracker: Any) -> None:
        tracker.in_flight += 1  # reserve, as the contract requires
        self.log.append((self.name, tracker.name))


def test_policy_choice_by_cc() -> None:
    assert policy_for(0) is random_choice_2
    assert policy_for(1) is first_available
    assert policy_for(3) is first_available
    assert isinstance(policy_for(4), RoundRobin)
    assert policy_for(10, activator_in_path=False) is random_choice_2


def test_first_available_packs_in_order() -> None:
    pods = [Pod("a", 2), Pod("b", 1), Pod("c", 0)]
    assert first_available(pods, 2) is pods[1]
    pods[1].in_flight = 2
    assert first_available(pods, 2) is pods[2]
    pods[2].in_flight = 2
    assert first_available(pods, 2) is None
    assert first_available([], 2) is None


def test_round_robin_skips_full_pods() -> None:
    pods = [Pod("a"), Pod("b", 5), Pod("c")]
    rr = RoundRobin()
    picks = [rr(pods, 5).name for _ in range(4)]  # type: ignore[union-attr]
    assert picks == ["a", "c", "a", "c"]
    for pod in pods:
        pod.in_flight = 5
    assert rr(pods, 5) is None
    assert rr([], 5) is None


def test_random_choice_2_prefers_less_loaded_and_respects_capacity() -> None:
    pods = [Pod("a", 10), Pod("b", 0)]
    assert all(random_choice_2(pods, 0) is pods[1] for _ in range(50))
    counts: Counter[str] = Counter()
    even = [Pod(str(i)) for i in range(4)]
    for _ in range(4000):
        pod = random_choice_2(even, 0)
        assert pod is not None
        counts[pod.name] += 1
    assert min(counts.values()) > 700  # all pods used
    full = [Pod("a", 3), Pod("b", 3), Pod("c", 3), Pod("d", 1)]
    assert all(random_choice_2(full, 3) is full[3] for _ in range(50))
    full[3].in_flight = 3
    assert random_choice_2(full, 3) is None
    assert random_choice_2([Pod("x", 1)], 1) is None
    assert random_choice_2([], 0) is None


def test_throttler_hard_limit_and_fifo() -> None:
    log: list[tuple[str, str]] = []
    pod = Pod("p")
    th: Throttler[Pod] = Throttler([pod], container_concurrency=2)
    for _ in range(2):
        got = th.pick()
        assert got is pod
        got.in_flight += 1
    assert th.pick() is None
    waiters = [Waiter(f"w{i}", log) for i in range(4)]
    for w in waiters:
        assert th.enqueue(w)
    assert th.waiting == 4
    assert th.pick() is None  # FIFO: nobody jumps the queue even if a slot frees
    pod.in_flight -= 1
    assert th.dispatch() == 1
    assert log == [("w0", "p")]
    th.cancel(waiters[1])  # w1 gave up
    pod.in_flight -= 1
    th.dispatch()
    assert log == [("w0", "p"), ("w2", "p")]
    assert pod.in_flight == 2
    assert th.waiting == 1


def test_throttler_depth_endpoints_arrive_and_drain() -> None:
    log: list[tuple[str, str]] = []
    th: Throttler[Pod] = Throttler(container_concurrency=1, queue_depth=3)
    waiters = [Waiter(f"w{i}", log) for i in range(4)]
    assert [th.enqueue(w) for w in waiters] == [True, True, True, False]
    assert not waiters[3].queued
    pods = [Pod("a"), Pod("b")]
    # released at once, oldest first
    assert th.configure(pods, container_concurrency=1, queue_depth=3) == 2
    assert log == [("w0", "a"), ("w1", "b")]
    assert th.drain() == [waiters[2]]
    assert th.waiting == 0 and not waiters[2].queued


def test_throttler_unlimited_releases_everyone_and_compacts() -> None:
    log: list[tuple[str, str]] = []
    th: Throttler[Pod] = Throttler()
    waiters = [Waiter(f"w{i}", log) for i in range(500)]
    for w in waiters:
        th.enqueue(w)
    for w in waiters[:400]:
        th.cancel(w)  # lazily removed, compacted as dead entries pile up
    assert th.waiting == 100
    assert len(th._queue) <= 2 * 100 + 64
    th.configure([Pod("a")])
    assert [name for name, _ in log] == [w.name for w in waiters[400:]]


@pytest.mark.parametrize("cc", [1, 2, 3, 4, 7])
def test_policies_never_exceed_cc(cc: int) -> None:
    pods = [Pod(str(i)) for i in range(3)]
    for in_path in (True, False):
        policy = policy_for(cc, activator_in_path=in_path)
        for pod in pods:
            pod.in_flight = 0
        taken = 0
        while (pod := policy(pods, cc)) is not None:
            pod.in_flight += 1
            taken += 1
        assert taken == 3 * cc
        assert all(p.in_flight == cc for p in pods)

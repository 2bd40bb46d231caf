"""Load balancing: pod choice within a revision, as Knative's activator does it.

Knative's pkg/activator/net/lb_policy.go.

Every policy takes the revision's trackers and its containerConcurrency ``cc`` (0 means
unlimited) and returns a tracker with a free slot, or None when every pod is full (or
there is none). Policies only read ``in_flight``; the caller reserves the slot.

- cc == 0: power of two choices by in-flight count (``random_choice_2``)
- cc 1..3: the first pod with a free slot (``first_available``), packing small pods
- cc > 3: round robin over pods with a free slot (``RoundRobin``)

With the activator out of the path (``activator_in_path=False``) every cc uses ``random_choice_2``,
which still never returns a full pod when cc > 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from random import random
from typing import Protocol, TypeVar


class Tracker(Protocol):
    """A pod as the policies see it: how many requests it has in flight from us."""

    in_flight: int


T = TypeVar("T", bound=Tracker)
Policy = Callable[[Sequence[T], int], T | None]


def first_available(trackers: Sequence[T], cc: int) -> T | None:
    """The first tracker (in list order) with a free slot."""
    if cc <= 0:
        return trackers[0] if trackers else None
    for tracker in trackers:
        if tracker.in_flight < cc:
            return tracker
    return None


def random_choice_2(trackers: Sequence[T], cc: int) -> T | None:
    """Two trackers at random; the one with fewer in flight (among those with room)."""
    n = len(trackers)
    if n <= 1:
        if n == 0:
            return None
        a = trackers[0]
        return a if cc <= 0 or a.in_flight < cc else None
    i = int(random() * n)
    j = int(random() * (n - 1))
    if j >= i:
        j += 1
    a = trackers[i]
    b = trackers[j]
    if cc <= 0:
        return a if a.in_flight <= b.in_flight else b
    a_free = a.in_flight < cc
    if a_free and b.in_flight < cc:
        return a if a.in_flight <= b.in_flight else b
    if a_free:
        return a
    if b.in_flight < cc:
        return b
    return first_available(trackers, cc)  # both sampled pods are full: look at the rest


class RoundRobin:
    """Round robin over trackers with a free slot; remembers where it left off."""

    __slots__ = ("index",)

    def __init__(self) -> None:
        self.index = 0

    def __call__(self, trackers: Sequence[T], cc: int) -> T | None:
        n = len(trackers)
        if n == 0:
            return None
        start = self.index % n
        for step in range(n):
            k = start + step
            if k >= n:
                k -= n
            tracker = trackers[k]
            if cc <= 0 or tracker.in_flight < cc:
                self.index = k + 1
                return tracker
        return None


def policy_for(container_concurrency: int, activator_in_path: bool = True) -> Policy[T]:
    """Knative's policy for a containerConcurrency; P2C when the activator is not in path."""
    if not activator_in_path or container_concurrency <= 0:
        return random_choice_2
    if container_concurrency <= 3:
        return first_available
    return RoundRobin()

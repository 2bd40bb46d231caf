"""The activator's throttler: a revision's FIFO queue and its pod choice (Knative's).

A request for a revision first asks :meth:`Throttler.pick` for a pod with a free slot.
When there is none (no endpoints yet, or every pod has ``container_concurrency`` requests
in flight) it waits in the revision's FIFO queue: a deque of waiter objects, no task,
future or timer per request. The moment a slot frees (a request ends, endpoints or
capacity arrive) :meth:`Throttler.dispatch` hands it to the oldest live waiter,
synchronously, so nothing else can take it first.

Waiters are the caller's own objects (the gateway's exchanges): ``queued`` is True while
they wait, and ``granted(tracker)`` must reserve the slot (``tracker.in_flight += 1``)
before returning and defer any further work. Cancelling a waiter (timeout, client gone)
is O(1): it is unmarked and skipped later; the deque is compacted when dead entries
outnumber live ones, so every operation is amortised O(1).

Pod choice, as Knative's activator does it (pkg/activator/net/lb_policy.go): every policy
takes the revision's trackers and its container concurrency ``cc`` (0 means unlimited)
and returns a tracker with a free slot, or None when every pod is full (or there is
none). Policies only read ``in_flight``; the caller reserves the slot.

- cc == 0: power of two choices by in-flight count (``random_choice_2``)
- cc 1..3: the first pod with a free slot (``first_available``), packing small pods
- cc > 3: round robin over pods with a free slot (``RoundRobin``)

With the activator out of the path (``activator_in_path=False``) every cc uses
``random_choice_2``, which still never returns a full pod when cc > 0.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from random import random
from typing import Generic, Protocol, TypeVar

DEFAULT_QUEUE_DEPTH = 10_000
DEFAULT_MAX_BUFFERED = 64 * 1024 * 1024
_COMPACT_SLACK = 64


class Tracker(Protocol):
    """A pod as the policies see it: how many requests it has in flight from us."""

    in_flight: int


T = TypeVar("T", bound=Tracker)
T_contra = TypeVar("T_contra", bound=Tracker, contravariant=True)
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


class Waiter(Protocol[T_contra]):
    """A queued request: ``granted(tracker)`` reserves the slot before returning."""

    queued: bool

    def granted(self, tracker: T_contra, /) -> None: ...


class Throttler(Generic[T]):
    """A revision's pods, their concurrency limit and the queue of waiting requests."""

    __slots__ = (
        "_queue",
        "activator_in_path",
        "buffered",
        "container_concurrency",
        "endpoints",
        "max_buffered_bytes",
        "policy",
        "queue_depth",
        "waiting",
    )

    def __init__(
        self,
        endpoints: Sequence[T] = (),
        *,
        container_concurrency: int = 0,
        activator_in_path: bool = True,
        queue_depth: int = DEFAULT_QUEUE_DEPTH,
        max_buffered_bytes: int = DEFAULT_MAX_BUFFERED,
    ) -> None:
        self.endpoints: list[T] = list(endpoints)
        self.container_concurrency = max(int(container_concurrency), 0)
        self.activator_in_path = activator_in_path
        self.queue_depth = queue_depth
        self.max_buffered_bytes = max_buffered_bytes
        self.buffered = 0  # request body bytes held by waiting requests (kept by the caller)
        self.waiting = 0  # live waiters in the queue
        self._queue: deque[Waiter[T]] = deque()
        self.policy: Policy[T] = policy_for(self.container_concurrency, activator_in_path)

    def configure(
        self,
        endpoints: Sequence[T],
        *,
        container_concurrency: int = 0,
        activator_in_path: bool = True,
        queue_depth: int = DEFAULT_QUEUE_DEPTH,
        max_buffered_bytes: int = DEFAULT_MAX_BUFFERED,
    ) -> int:
        """Update endpoints and limits in place, then grant whoever can go now."""
        cc = max(int(container_concurrency), 0)
        if cc != self.container_concurrency or activator_in_path != self.activator_in_path:
            self.container_concurrency = cc
            self.activator_in_path = activator_in_path
            self.policy = policy_for(cc, activator_in_path)
        self.endpoints = list(endpoints)
        self.queue_depth = queue_depth
        self.max_buffered_bytes = max_buffered_bytes
        return self.dispatch()

    # -- hot path ----------------------------------------------------------------
    def pick(self, avoid: T | None = None) -> T | None:
        """A pod with a free slot for a new request, or None: it must wait (FIFO).

        ``avoid``: a pod not to choose while another exists (one that refused this request).
        """
        if self.waiting:
            return None
        endpoints = self.endpoints
        if avoid is not None:
            endpoints = [e for e in endpoints if e is not avoid] or endpoints
        return self.policy(endpoints, self.container_concurrency)

    def enqueue(self, waiter: Waiter[T]) -> bool:
        """Queue a waiter; False (and not queued) when the queue is full."""
        if self.waiting >= self.queue_depth:
            return False
        waiter.queued = True
        self._queue.append(waiter)
        self.waiting += 1
        return True

    def cancel(self, waiter: Waiter[T]) -> bool:
        """Take a waiter out of the queue (lazily); False when it was not queued."""
        if not waiter.queued:
            return False
        waiter.queued = False
        self.waiting -= 1
        queue = self._queue
        if not self.waiting:
            queue.clear()
        elif len(queue) > 2 * self.waiting + _COMPACT_SLACK:
            self._queue = deque(w for w in queue if w.queued)
        return True

    def dispatch(self) -> int:
        """Grant free slots to waiters, oldest first; returns how many were granted."""
        granted = 0
        policy = self.policy
        while self.waiting:
            tracker = policy(self.endpoints, self.container_concurrency)
            if tracker is None:
                break
            queue = self._queue
            waiter = queue.popleft()
            while not waiter.queued:
                waiter = queue.popleft()
            waiter.queued = False
            self.waiting -= 1
            waiter.granted(tracker)
            granted += 1
        if not self.waiting:
            self._queue.clear()
        return granted

    def drain(self) -> list[Waiter[T]]:
        """Remove and return every live waiter, oldest first (the revision is going away)."""
        live = [w for w in self._queue if w.queued]
        for waiter in live:
            waiter.queued = False
        self._queue.clear()
        self.waiting = 0
        return live

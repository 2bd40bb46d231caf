"""Per-request time bookkeeping: time-weighted concurrency gauges and coarse deadlines.

Metering. O(1) per request: every change of a count goes through :meth:`Gauge.add`, the
one place that first adds ``count * (now - since)`` to the area under the curve, then
moves ``since`` to now. Once a second :meth:`Meter.close` turns each area into the
average over the bucket and starts the next bucket. A revision's figure
(:class:`RevisionLoad`) counts requests in flight *or* held by the activator (from arrival
to the end of the response, once); a pod's (:class:`PodLoad`) counts requests in flight
on it.

Deadlines. One sweeping timer (:class:`Deadlines`) instead of a loop timer per request:
a per-request ``call_at`` costs a few microseconds on the hot path (timer handle plus
libuv timer start/stop); an ordered-set insert and delete costs ~0.1 us. Deadlines fire
up to ``interval`` seconds late, which is fine for revision timeouts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

Clock = Callable[[], float]
POKE_INTERVAL = 0.1  # at most one poke per revision per this many seconds


class Gauge:
    """A count with its time-weighted area for the current bucket."""

    __slots__ = ("area", "in_flight", "since")

    def __init__(self, now: float = 0.0) -> None:
        self.in_flight = 0
        self.area = 0.0
        self.since = now

    def add(self, delta: int, now: float) -> None:
        """Change the count by ``delta`` at ``now`` (the only place the area grows)."""
        n = self.in_flight
        self.area += n * (now - self.since)
        self.since = now
        self.in_flight = n + delta


class PodLoad(Gauge):
    """In-flight requests on one pod (endpoint), with their area for the current bucket."""

    __slots__ = ("label", "owner")

    def __init__(self, label: str = "") -> None:
        super().__init__()
        self.label = label
        self.owner: RevisionLoad | None = None  # the revision whose endpoint list has it


class RevisionLoad(Gauge):
    """Requests of one revision from arrival to the end of the response, held ones included.

    ``in_flight`` counts them all (in flight to a pod or held by the activator).
    """

    __slots__ = ("arrivals", "detached", "key", "last_poke", "pods")

    def __init__(self, key: str, now: float = 0.0) -> None:
        super().__init__(now)
        self.key = key
        self.arrivals = 0
        self.last_poke = -1e18
        self.detached = False  # the revision was forgotten: drop once idle
        self.pods: dict[PodLoad, None] = {}


class Meter:
    """Every revision's load; closes a bucket on demand (the gateway does it each second)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.loads: dict[RevisionLoad, None] = {}
        self.bucket_start = clock()

    def load(self, key: str) -> RevisionLoad:
        load = RevisionLoad(key, self.clock())
        self.loads[load] = None
        return load

    def adopt(self, load: RevisionLoad, pods: Sequence[PodLoad]) -> None:
        """``pods`` are now ``load``'s endpoints; pods that left it stay until idle."""
        now = self.clock()
        current = set(pods)
        for pod in load.pods:
            if pod not in current and pod.owner is load:
                pod.owner = None
        for pod in pods:
            if pod.owner is not load:
                if pod.owner is not None:
                    pod.owner.pods.pop(pod, None)
                pod.owner = load
            if pod not in load.pods:
                pod.area = 0.0
                pod.since = now
                load.pods[pod] = None

    def should_poke(self, load: RevisionLoad, now: float) -> bool:
        if now - load.last_poke < POKE_INTERVAL:
            return False
        load.last_poke = now
        return True

    def close(self, now: float | None = None) -> list[dict[str, Any]]:
        """End the current bucket: per-revision averages for revisions with any load."""
        if now is None:
            now = self.clock()
        span = now - self.bucket_start
        self.bucket_start = now
        if span <= 0:
            span = 1e-9
        out: list[dict[str, Any]] = []
        for load in list(self.loads):
            area = load.area + load.in_flight * (now - load.since)
            arrivals = load.arrivals
            if area > 0 or arrivals or load.in_flight:
                pods: dict[str, float] = {}
                for pod in list(load.pods):
                    pod_area = pod.area + pod.in_flight * (now - pod.since)
                    if pod_area > 0:
                        pods[pod.label] = round(pod_area / span, 4)
                    pod.area = 0.0
                    pod.since = now
                    if pod.owner is not load and not pod.in_flight:
                        del load.pods[pod]
                out.append(
                    {
                        "revision": load.key,
                        "concurrency": round(area / span, 4),
                        "requests": arrivals,
                        "pods": pods,
                    }
                )
            load.area = 0.0
            load.since = now
            load.arrivals = 0
            if load.detached and not load.in_flight:
                del self.loads[load]
        return merge(out)


def merge(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sum entries for the same revision key (a key forgotten and set again)."""
    if len({e["revision"] for e in entries}) == len(entries):
        return entries
    merged: dict[str, dict[str, Any]] = {}
    for entry in entries:
        into = merged.get(entry["revision"])
        if into is None:
            merged[entry["revision"]] = entry
            continue
        into["concurrency"] += entry["concurrency"]
        into["requests"] += entry["requests"]
        for label, value in entry["pods"].items():
            into["pods"][label] = into["pods"].get(label, 0.0) + value
    return list(merged.values())


class Expiring(Protocol):
    deadline: float

    def expired(self) -> None: ...


class Deadlines:
    """Items whose ``expired()`` is called once ``clock() >= item.deadline``.

    ``expired()`` may add the item again (with a later deadline) to be called again.
    """

    def __init__(self, interval: float = 0.05, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._items: dict[Expiring, None] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: Expiring) -> None:
        self._items[item] = None
        if self._handle is None:
            loop = self._loop
            if loop is None:
                loop = self._loop = asyncio.get_running_loop()
            self._handle = loop.call_later(self._interval, self._sweep)

    def discard(self, item: Expiring) -> None:
        self._items.pop(item, None)

    def close(self) -> None:
        self._items.clear()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _sweep(self) -> None:
        self._handle = None
        loop = self._loop
        assert loop is not None
        now = self._clock()
        items = self._items
        expired = [item for item in items if item.deadline <= now]
        for item in expired:
            del items[item]
        for item in expired:
            item.expired()
        if items and self._handle is None:
            self._handle = loop.call_later(self._interval, self._sweep)

"""Coarse deadlines: one sweeping timer instead of a loop timer per request.

A per-request ``call_at`` costs a few microseconds on the hot path (timer handle plus
libuv timer start/stop); an ordered-set insert and delete costs ~0.1 us. Deadlines here
fire up to ``interval`` seconds late, which is fine for revision timeouts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol


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

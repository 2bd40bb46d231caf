"""Holding requests for revisions that have no ready endpoints (the activator seam).

A request routed to a revision without endpoints waits here until the control plane
reports endpoints (``release``) or its timeout passes. One future per waiter in a
per-revision deque; nothing polls. Queue limits, autoscaler pokes and concurrency
limits will live here too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque


class Holder:
    """Per-revision waiter queues."""

    def __init__(self) -> None:
        self._waiters: dict[str, deque[asyncio.Future[bool]]] = {}

    def held(self, key: str) -> int:
        """How many requests are waiting for ``key``."""
        waiters = self._waiters.get(key)
        return len(waiters) if waiters else 0

    async def wait(self, key: str, timeout: float) -> bool:  # noqa: ASYNC109 (seam API)
        """Wait until ``release(key)``; False when ``timeout`` seconds pass first."""
        if timeout <= 0:
            return False
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        queue = self._waiters.setdefault(key, deque())
        queue.append(fut)
        try:
            async with asyncio.timeout(timeout):
                return await fut
        except TimeoutError:
            return False
        finally:
            if not fut.done():
                fut.cancel()
            current = self._waiters.get(key)
            if current is not None:
                with contextlib.suppress(ValueError):
                    current.remove(fut)
                if not current:
                    del self._waiters[key]

    def release(self, key: str) -> int:
        """Wake every request waiting for ``key``; returns how many were woken."""
        queue = self._waiters.pop(key, None)
        if not queue:
            return 0
        woken = 0
        for fut in queue:
            if not fut.done():
                fut.set_result(True)
                woken += 1
        return woken

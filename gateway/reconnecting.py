"""A websocket session that comes back: connect, serve, and on loss retry with back-off."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiohttp

log = logging.getLogger(__name__)
BACKOFF_START, BACKOFF_MAX = 0.1, 5.0


async def keep_connected(
    url: str,
    serve: Callable[[aiohttp.ClientWebSocketResponse], Awaitable[None]],
    *,
    what: str,
    on_loss: Callable[[], None] = lambda: None,
) -> None:
    """Run ``serve(ws)`` on a websocket to ``url`` forever (until cancelled).

    A lost or refused connection is retried after 100 ms, doubling to 5 s; a
    connection that was established resets the back-off. ``on_loss`` runs after
    every connection attempt that ends, successful or not.
    """
    delay = BACKOFF_START
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.ws_connect(url, heartbeat=10.0) as ws:
                    delay = BACKOFF_START
                    await serve(ws)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.debug("%s %s unavailable: %s", what, url, exc)
            finally:
                on_loss()
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)

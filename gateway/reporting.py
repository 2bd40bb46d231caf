"""The metrics stream: a websocket client sending ``hello``, ``stats`` and ``poke`` frames.

Frame format: docs/seams.md ("Metrics stream"). The gateway keeps serving whatever
happens here: while the stream is away, frames are dropped (and counted), and it
reconnects with back-off (100 ms doubling to 5 s). Frames queued while connected are
bounded too (the oldest go first) should the autoscaler stop reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections import deque
from typing import Any

import aiohttp

from gateway.reconnecting import keep_connected

log = logging.getLogger(__name__)


MAX_OUTBOX = 256  # frames waiting to be written while connected


def default_worker_id() -> str:
    return f"gw-{os.getpid()}"


class Reporter:
    """Sends frames to ``url`` from a background task; never blocks the caller."""

    def __init__(self, url: str, worker_id: str | None = None) -> None:
        self.url = url
        self.worker = worker_id or default_worker_id()
        self.connected = False
        self.connects = 0  # successful connections so far
        self.sent = 0
        self.dropped = 0
        self._outbox: deque[str] = deque(maxlen=MAX_OUTBOX)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- called by the gateway (synchronous, cheap) ----------------------------
    def stats(
        self,
        when: float,
        entries: list[dict[str, Any]],
        totals: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """One second's figures (``when``: the wall-clock second the bucket ended).

        ``totals``: the gateway's cumulative request figures (``Gateway.totals``), sent
        whole each time so that the receiver keeps only the last.
        """
        if not self.connected:
            self.dropped += 1
            return
        frame = {"type": "stats", "worker": self.worker, "time": when, "stats": entries}
        if totals is not None:
            frame["totals"] = totals
        self._push(frame)

    def poke(self, key: str, concurrency: int) -> None:
        """A request arrived for a revision with no ready endpoint (rate limited by caller)."""
        if not self.connected:
            self.dropped += 1
            return
        frame = {
            "type": "poke",
            "worker": self.worker,
            "time": round(time.time(), 3),
            "revision": key,
            "concurrency": float(concurrency),
        }
        self._push(frame)

    def _push(self, frame: dict[str, Any]) -> None:
        if len(self._outbox) == MAX_OUTBOX:
            self.dropped += 1
        self._outbox.append(json.dumps(frame, separators=(",", ":")))
        self._wake.set()

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        await keep_connected(self.url, self._serve, what="metrics stream", on_loss=self._lost)

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.connects += 1
        self._outbox.clear()
        await ws.send_str(json.dumps({"type": "hello", "worker": self.worker}))
        self.connected = True
        await self._pump(ws)

    def _lost(self) -> None:
        self.connected = False
        self._outbox.clear()

    async def _pump(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Write queued frames until the stream closes (the reader notices that)."""
        reader = asyncio.ensure_future(self._read(ws))
        try:
            outbox = self._outbox
            while not reader.done():
                if outbox:
                    await ws.send_str(outbox.popleft())
                    self.sent += 1
                    continue
                self._wake.clear()
                wake = asyncio.ensure_future(self._wake.wait())
                await asyncio.wait((reader, wake), return_when=asyncio.FIRST_COMPLETED)
                wake.cancel()
        finally:
            reader.cancel()

    @staticmethod
    async def _read(ws: aiohttp.ClientWebSocketResponse) -> None:
        async for _msg in ws:  # nothing is expected from the autoscaler; keeps pings going
            pass

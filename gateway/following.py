"""Follow the control plane's data-plane feed (``serve --workers N``).

A gateway worker process has no control plane of its own: it connects to the
feed websocket, applies the routes and revisions it is sent to its local
:class:`~gateway.Gateway`, and answers drain requests. While the feed is away
the worker keeps serving on its last state and reconnects with back-off; the
first frames after a reconnect are a full snapshot (the whole route table), then
route changes come as deltas (``update_routes``). The frame format is in
docs/seams.md and coldbrew/fanning.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Coroutine
from typing import Any

import aiohttp

from gateway.heap import pause_collection, resume_collection
from gateway.reconnecting import keep_connected
from gateway.route_deltas import read_delta_args, read_targets
from gateway.settings import GatewayControl, read_revision_frame

log = logging.getLogger(__name__)


class Follower:
    def __init__(self, gateway: GatewayControl, url: str) -> None:
        self.gateway = gateway
        self.url = url
        self.synced = asyncio.Event()
        self._keys: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        # Between a snapshot's first frame and its table: collector passes paused (heap).
        self._in_snapshot = False

    async def run(self) -> None:
        await keep_connected(self.url, self._follow, what="feed")

    async def _follow(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(msg.data)
                    self.apply(frame, ws)
                except (ValueError, KeyError, TypeError) as exc:
                    log.warning("ignoring a malformed feed frame: %s", exc)
        finally:
            self._snapshot_done()  # cut short: collect as usual again

    def _snapshot_done(self) -> None:
        if self._in_snapshot:
            self._in_snapshot = False
            resume_collection()

    def _set_revision(self, args: dict[str, Any]) -> None:
        key, endpoints, settings = read_revision_frame(args)
        self._keys.add(key)
        self.gateway.set_revision(key, endpoints, settings)

    def apply(self, frame: dict[str, Any], ws: aiohttp.ClientWebSocketResponse | None) -> None:
        op, args = frame["op"], dict(frame.get("args", {}))
        if op == "sync":  # a snapshot begins: every revision, then the whole table
            keep = set(args["keys"])
            self._in_snapshot = self._in_snapshot or pause_collection(len(keep))
            for key in self._keys - keep:
                self.gateway.forget_revision(key)
            self._keys &= keep
        elif op == "set_revision":
            self._set_revision(args)
        elif op == "set_revisions":  # a snapshot's, all in one frame
            for item in args["revisions"]:
                self._set_revision(item)
        elif op == "forget_revision":
            self._keys.discard(args["key"])
            self.gateway.forget_revision(args["key"])
        elif op == "set_routes":
            routes = {host: read_targets(targets) for host, targets in args["routes"].items()}
            self.gateway.set_routes(routes, [str(h) for h in args.get("redirected", [])])
            self._snapshot_done()
            self.synced.set()
            self._applied(frame, ws)
        elif op == "update_routes":
            delta = read_delta_args(args)
            self.gateway.update_routes(delta.changed, delta.removed, delta.redirected)
            self._applied(frame, ws)
        elif op == "drain_endpoint" and ws is not None:
            host, port = args["endpoint"]
            self._spawn(
                self._drain(ws, int(frame["id"]), (host, int(port)), float(args["timeout"]))
            )
        else:
            raise KeyError(f"unknown op {op!r}")

    def _applied(self, frame: dict[str, Any], ws: aiohttp.ClientWebSocketResponse | None) -> None:
        if ws is not None and "version" in frame:
            self._spawn(self._send(ws, {"routes": int(frame["version"])}))

    async def _drain(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        ident: int,
        endpoint: tuple[str, int],
        timeout: float,  # noqa: ASYNC109
    ) -> None:
        await self.gateway.drain_endpoint(endpoint, timeout)
        await self._send(ws, {"drained": ident})

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _send(ws: aiohttp.ClientWebSocketResponse, answer: dict[str, int]) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(json.dumps(answer))

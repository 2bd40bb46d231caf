"""Fan the data-plane state out to gateway worker processes (``serve --workers N``).

The controller talks to one :class:`FanOut` as if it were a gateway. FanOut
keeps the current routes and revisions, so a worker that (re)connects first
gets a snapshot and then every change, in order, over a websocket at
``/dataplane/feed``. Draining an endpoint asks every connected worker and
waits for all of their answers: a pod is stopped only when no worker has a
request in flight on it.

Frames (JSON text), control plane -> worker::

    {"op": "set_routes", "version": N, "args": {"routes": {...}, "redirected": [host, ...]}}
    {"op": "update_routes", "version": N, "args": {"set": {host: [[key, percent]]},
                                                   "remove": [host], "redirected": [host]}}
    {"op": "set_revision", "args": {"key": ..., "endpoints": [[h, p]], "settings": {...}}}
    {"op": "set_revisions", "args": {"revisions": [set_revision's args, ...]}}
    {"op": "forget_revision", "args": {"key": ...}}
    {"op": "drain_endpoint", "id": 7, "args": {"endpoint": [h, p], "timeout": 30}}

A (re)connecting worker first gets ``{"op": "sync", "args": {"keys": [...]}}`` (forget
every revision not listed), then the current revisions (one ``set_revisions``) and the
whole route table (``set_routes``; none before the controller gave one: a worker listens
only once it has a table, see gateway/worker.py); after that only changes: a route
change is an ``update_routes`` delta of the hosts that changed (gateway/route_deltas.py),
never the table again.
worker -> control plane: ``{"drained": 7}``, and ``{"routes": N}`` once it applied
route table version N (both route frames carry ``"version": N``; a delta's version is
the table's version once applied).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from gateway.route_deltas import RouteDelta, as_list, delta_args
from gateway.settings import RevisionSettings, revision_frame

log = logging.getLogger(__name__)
FEED_PATH = "/dataplane/feed"


class FanOut:
    def __init__(self, expected: int = 1) -> None:
        self.expected = expected  # workers that must be connected to count as in step
        self.routes: dict[str, list[tuple[str, int]]] = {}
        # Whether the controller gave a table yet: until then a connecting worker gets
        # none, so it does not listen with an empty one (answering 404 to every host).
        self.has_table = False
        self.redirected: set[str] = set()
        self.revisions: dict[str, dict[str, object]] = {}
        # Each worker's outbound frames, in order; a writer task drains each queue.
        self._workers: dict[web.WebSocketResponse, asyncio.Queue[str]] = {}
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[asyncio.Future[None], set[web.WebSocketResponse]]] = {}
        self.connected = asyncio.Event()
        # Route table versions: the newest sent, and the newest each worker applied.
        self.version = 0
        self._acked: dict[web.WebSocketResponse, int] = {}
        self.on_synced: Callable[[], None] = lambda: None
        self._synced = asyncio.Event()  # set while routes_synced()

    # -- the GatewayControl interface the controller uses --------------------

    def set_routes(
        self, routes: Mapping[str, Sequence[tuple[str, int]]], redirected: Collection[str] = ()
    ) -> None:
        self.routes = {host: as_list(targets) for host, targets in routes.items()}
        self.redirected = set(redirected)
        self.has_table = True
        self.version += 1
        self._synced.clear()
        self._broadcast(self._routes_frame())

    def update_routes(
        self,
        changed: Mapping[str, Sequence[tuple[str, int]]],
        removed: Collection[str] = (),
        redirected: Collection[str] = (),
    ) -> None:
        delta = RouteDelta(
            {host: as_list(targets) for host, targets in changed.items()},
            frozenset(removed),
            frozenset(host for host in redirected if host in changed),
        )
        for host in delta.removed:
            self.routes.pop(host, None)
            self.redirected.discard(host)
        for host, targets in delta.changed.items():
            self.routes[host] = targets
            if host in delta.redirected:
                self.redirected.add(host)
            else:
                self.redirected.discard(host)
        self.version += 1
        self._synced.clear()
        self._broadcast({"op": "update_routes", "version": self.version, "args": delta_args(delta)})

    def _routes_frame(self) -> dict[str, Any]:
        args = {"routes": self.routes, "redirected": sorted(self.redirected)}
        return {"op": "set_routes", "version": self.version, "args": args}

    def routes_synced(self) -> bool:
        """All expected workers are connected and have applied the newest route table."""
        if len(self._workers) < self.expected:
            return False
        return all(self._acked.get(ws, 0) >= self.version for ws in self._workers)

    async def wait_synced(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Until :meth:`routes_synced` (or ``timeout`` seconds); whether it is."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._synced.wait(), timeout)
        return self.routes_synced()

    def set_revision(
        self, key: str, endpoints: Sequence[tuple[str, int]], settings: RevisionSettings
    ) -> None:
        args = revision_frame(key, endpoints, settings)
        self.revisions[key] = args
        self._broadcast({"op": "set_revision", "args": args})

    def forget_revision(self, key: str) -> None:
        self.revisions.pop(key, None)
        self._broadcast({"op": "forget_revision", "args": {"key": key}})

    async def drain_endpoint(self, endpoint: tuple[str, int], timeout: float = 30.0) -> bool:  # noqa: ASYNC109
        if not self._workers:
            return True
        ident = next(self._ids)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending[ident] = (done, set(self._workers))
        frame = {"op": "drain_endpoint", "id": ident, "args": {"endpoint": list(endpoint)}}
        frame["args"]["timeout"] = timeout
        self._broadcast(frame)
        try:
            await asyncio.wait_for(asyncio.shield(done), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._pending.pop(ident, None)

    # -- the websocket side ----------------------------------------------

    def _snapshot(self) -> list[dict[str, Any]]:
        frames: list[dict[str, Any]] = [{"op": "sync", "args": {"keys": list(self.revisions)}}]
        if self.revisions:  # one frame for all: 10,000 frames cost a worker ~0.5 s more
            frames.append(
                {"op": "set_revisions", "args": {"revisions": list(self.revisions.values())}}
            )
        if self.has_table:
            frames.append(self._routes_frame())
        return frames

    def _broadcast(self, frame: dict[str, Any]) -> None:
        if not self._workers:
            return  # none connected yet: each gets the snapshot when it connects
        text = json.dumps(frame)
        for queue in self._workers.values():
            queue.put_nowait(text)

    @staticmethod
    async def _write(ws: web.WebSocketResponse, queue: asyncio.Queue[str]) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while True:
                await ws.send_str(await queue.get())

    def _answered(self, ws: web.WebSocketResponse, ident: int) -> None:
        entry = self._pending.get(ident)
        if entry is None:
            return
        done, waiting = entry
        waiting.discard(ws)
        if not waiting and not done.done():
            done.set_result(None)

    def _routes_applied(self, ws: web.WebSocketResponse, version: int) -> None:
        was = self.routes_synced()
        self._acked[ws] = max(self._acked.get(ws, 0), version)
        if not was and self.routes_synced():
            self._synced.set()
            self.on_synced()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=10)
        await ws.prepare(request)
        queue: asyncio.Queue[str] = asyncio.Queue()
        for frame in self._snapshot():  # snapshot and registration in one step: no gap
            queue.put_nowait(json.dumps(frame))
        self._workers[ws] = queue
        writer = asyncio.create_task(self._write(ws, queue))
        self.connected.set()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    answer = json.loads(msg.data)
                    if "routes" in answer:
                        self._routes_applied(ws, int(answer["routes"]))
                    else:
                        self._answered(ws, int(answer["drained"]))
                except (ValueError, KeyError, TypeError):
                    log.warning("ignoring a malformed frame from a gateway worker")
        finally:
            writer.cancel()
            self._workers.pop(ws, None)
            self._acked.pop(ws, None)
            for ident in list(self._pending):
                self._answered(ws, ident)  # a gone worker has nothing in flight
        return ws

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(FEED_PATH, self.handle)
        app.on_shutdown.append(self._close_all)

    async def _close_all(self, _: web.Application) -> None:
        for ws in list(self._workers):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"control plane shutting down")

    @property
    def workers(self) -> int:
        return len(self._workers)

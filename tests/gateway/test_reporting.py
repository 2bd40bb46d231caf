"""The metrics stream against a real aiohttp websocket server."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from gateway import Gateway
from gateway.settings import RevisionSettings

from .conftest import HOST, KEY, Upstream, wait_for


class Autoscaler:
    """Collects every frame sent to /autoscaler/stream; can be stopped and restarted."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.arrived = asyncio.Condition()
        self.runner: web.AppRunner | None = None
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/autoscaler/stream"

    async def stream(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                async with self.arrived:
                    self.frames.append(json.loads(msg.data))
                    self.arrived.notify_all()
        return ws

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/autoscaler/stream", self.stream)
        self.runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def next(self, kind: str, since: int, within: float = 5.0, **match: Any) -> int:
        """Index of the first frame of ``kind`` at or after ``since`` matching ``match``."""

        def find() -> int | None:
            for i in range(since, len(self.frames)):
                f = self.frames[i]
                if f["type"] == kind and all(f.get(k) == v for k, v in match.items()):
                    return i
            return None

        async with asyncio.timeout(within), self.arrived:
            await self.arrived.wait_for(lambda: find() is not None)
        found = find()
        assert found is not None
        return found


@pytest.fixture
async def autoscaler() -> AsyncIterator[Autoscaler]:
    a = Autoscaler()
    await a.start()
    yield a
    await a.stop()


@pytest.fixture
async def gated() -> AsyncIterator[tuple[Upstream, asyncio.Event]]:
    gate = asyncio.Event()
    up = Upstream()

    async def handle(request: web.Request) -> web.Response:
        await gate.wait()
        return web.Response(text="ok")

    up.app.router.add_get("/{tail:.*}", handle)
    await up.start()
    yield up, gate
    gate.set()
    await up.stop()


async def get(session: aiohttp.ClientSession, gw: Gateway) -> int:
    async with session.get(f"http://127.0.0.1:{gw.port}/", headers={"Host": HOST}) as r:
        await r.read()
        return r.status


async def test_hello_stats_under_load_and_poke(
    autoscaler: Autoscaler, gated: tuple[Upstream, asyncio.Event]
) -> None:
    up, gate = gated
    gw = Gateway(stats_url=autoscaler.url, worker_id="gw-test")
    await gw.start()
    try:
        gw.set_routes({HOST: [(KEY, 100)], "cold.example.com": [("default/cold", 100)]})
        gw.set_revision(KEY, [up.address], RevisionSettings(30))
        gw.set_revision("default/cold", [], RevisionSettings(30))
        first = await autoscaler.next("hello", 0)
        assert autoscaler.frames[first] == {"type": "hello", "worker": "gw-test"}

        async with aiohttp.ClientSession() as session:
            tasks = [asyncio.create_task(get(session, gw)) for _ in range(4)]
            await wait_for(lambda: gw.snapshot()[KEY]["in_flight"] == 4)
            # Two ticks later the second one covers a whole second with 4 in flight.
            i = await autoscaler.next("stats", len(autoscaler.frames), within=3)
            i = await autoscaler.next("stats", i + 1, within=3)
            frame = autoscaler.frames[i]
            assert frame["worker"] == "gw-test"
            assert frame["time"] == round(frame["time"]) and abs(frame["time"] - time.time()) < 2
            (entry,) = [e for e in frame["stats"] if e["revision"] == KEY]
            assert entry["concurrency"] == pytest.approx(4.0, abs=0.05)
            assert entry["requests"] == 0
            assert entry["pods"] == {f"127.0.0.1:{up.port}": pytest.approx(4.0, abs=0.05)}

            # A request for a revision with no endpoints: a poke at once (not on the tick).
            mark = len(autoscaler.frames)
            sent = time.monotonic()
            cold = asyncio.create_task(
                session.get(f"http://127.0.0.1:{gw.port}/", headers={"Host": "cold.example.com"})
            )
            p = await autoscaler.next("poke", mark, revision="default/cold")
            assert time.monotonic() - sent < 0.5
            assert autoscaler.frames[p]["concurrency"] == 1.0
            assert gw.snapshot()["default/cold"] == {"in_flight": 0, "held": 1}
            cold.cancel()

            gate.set()
            assert await asyncio.gather(*tasks) == [200] * 4
            for _ in range(3):
                assert await get(session, gw) == 200
        # The second in which they arrived reports all arrivals.
        counts: list[int] = []
        mark = i + 1
        while sum(counts) < 3:
            mark = await autoscaler.next("stats", mark, within=3) + 1
            counts += [
                e["requests"] for e in autoscaler.frames[mark - 1]["stats"] if e["revision"] == KEY
            ]
        assert sum(counts) == 3
    finally:
        await gw.stop(grace=1.0)


async def test_reconnects_after_restart_while_serving(autoscaler: Autoscaler) -> None:
    up = Upstream()

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    up.app.router.add_get("/{tail:.*}", ok)
    await up.start()
    gw = Gateway(stats_url=autoscaler.url, worker_id="gw-r")
    await gw.start()
    try:
        gw.set_routes({HOST: [(KEY, 100)]})
        gw.set_revision(KEY, [up.address], RevisionSettings(30))
        await autoscaler.next("hello", 0)
        assert gw.reporter is not None
        await autoscaler.stop()
        await wait_for(lambda: gw.reporter is not None and not gw.reporter.connected)
        async with aiohttp.ClientSession() as session:
            for _ in range(20):  # traffic keeps flowing while the stream is away
                assert await get(session, gw) == 200
            mark = len(autoscaler.frames)
            await autoscaler.start()
            hello = await autoscaler.next("hello", mark, within=10)
            # Keep traffic flowing so that the next stats report it.
            found = False
            while not found:
                assert await get(session, gw) == 200
                async with asyncio.timeout(5):
                    i = await autoscaler.next("stats", hello + 1, within=3)
                found = any(e["revision"] == KEY for e in autoscaler.frames[i]["stats"])
                hello = i
        assert gw.reporter.connects == 2
    finally:
        await gw.stop(grace=1.0)
        await up.stop()


async def test_no_stats_url_meters_quietly(routed: Gateway) -> None:
    assert routed.reporter is None
    async with aiohttp.ClientSession() as session:
        assert await get(session, routed) == 200
    assert routed.snapshot() == {KEY: {"in_flight": 0, "held": 0}}


async def test_wake_on_request_pokes_while_served_by_a_reserve_pod(
    autoscaler: Autoscaler, gated: tuple[Upstream, asyncio.Event]
) -> None:
    up, gate = gated
    gate.set()
    gw = Gateway(stats_url=autoscaler.url, worker_id="gw-wake")
    await gw.start()
    try:
        gw.set_routes({HOST: [(KEY, 100)]})
        gw.set_revision(KEY, [up.address], RevisionSettings(30))
        await autoscaler.next("hello", 0)
        async with aiohttp.ClientSession() as session:
            assert await get(session, gw) == 200  # ordinary endpoints: no poke
            gw.set_revision(KEY, [up.address], RevisionSettings(30, wake_on_request=True))
            mark = len(autoscaler.frames)
            sent = time.monotonic()
            assert await get(session, gw) == 200  # answered at once by the reserve pod
            await autoscaler.next("poke", mark, revision=KEY)
            assert time.monotonic() - sent < 0.5
        assert not any(f["type"] == "poke" for f in autoscaler.frames[:mark])
    finally:
        await gw.stop(grace=1)

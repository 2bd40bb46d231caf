"""The worker feed: a snapshot on (re)connect, then route changes as small deltas.

A real FanOut served by aiohttp on 127.0.0.1; the workers are real websocket clients
(a raw one that records frames, and the gateway's own Follower driving a real Gateway).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from coldbrew.fanning import FEED_PATH, FanOut
from gateway import Gateway
from gateway.following import Follower
from gateway.route_deltas import RoutePublisher
from gateway.settings import RevisionSettings
from tests.gateway.conftest import wait_for

SERVICES = 1000


def host(i: int) -> str:
    return f"s{i}.default.example.com"


def table(n: int = SERVICES) -> dict[str, list[tuple[str, int]]]:
    return {host(i): [(f"default/s{i}-00001", 100)] for i in range(n)}


@pytest.fixture
async def feed() -> AsyncIterator[tuple[FanOut, str]]:
    fanout = FanOut(expected=1)
    app = web.Application()
    fanout.add_routes(app)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield fanout, f"ws://127.0.0.1:{port}{FEED_PATH}"
    await runner.cleanup()


async def frames_until(
    ws: aiohttp.ClientWebSocketResponse, op: str
) -> list[tuple[dict[str, Any], int]]:
    """Frames (decoded, with their size in bytes) up to and including the first ``op``."""
    seen: list[tuple[dict[str, Any], int]] = []
    async with asyncio.timeout(10):
        while not seen or seen[-1][0]["op"] != op:
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            seen.append((json.loads(msg.data), len(msg.data.encode())))
    return seen


async def test_after_the_snapshot_one_change_is_one_small_frame(
    feed: tuple[FanOut, str],
) -> None:
    fanout, url = feed
    publisher = RoutePublisher(fanout)
    routes = table()
    publisher.publish(routes)
    fanout.set_revision("default/s1-00002", [], RevisionSettings())
    async with aiohttp.ClientSession() as client, client.ws_connect(url) as ws:
        snapshot = await frames_until(ws, "set_routes")
        assert [f["op"] for f, _ in snapshot] == ["sync", "set_revisions", "set_routes"]
        whole, whole_size = snapshot[-1]
        assert len(whole["args"]["routes"]) == SERVICES
        await ws.send_str(json.dumps({"routes": whole["version"]}))
        await wait_for(fanout.routes_synced)

        routes = dict(routes)
        routes[host(1)] = [("default/s1-00001", 10), ("default/s1-00002", 90)]
        publisher.publish(routes)
        assert not fanout.routes_synced()  # a new version the worker has not applied
        [(delta, size)] = await frames_until(ws, "update_routes")
        assert delta["args"] == {
            "set": {host(1): [["default/s1-00001", 10], ["default/s1-00002", 90]]},
            "remove": [],
            "redirected": [],
        }
        assert size < 300 < whole_size // 100  # one host, not the table
        await ws.send_str(json.dumps({"routes": delta["version"]}))
        await wait_for(fanout.routes_synced)

        del routes[host(2)]
        publisher.publish(routes, redirected={host(3)})
        [(delta, size)] = await frames_until(ws, "update_routes")
        assert delta["args"] == {
            "set": {host(3): [["default/s3-00001", 100]]},
            "remove": [host(2)],
            "redirected": [host(3)],
        }
        assert size < 300

    # A worker that (re)connects gets the current table whole, then deltas again.
    async with aiohttp.ClientSession() as client, client.ws_connect(url) as ws:
        whole = (await frames_until(ws, "set_routes"))[-1][0]
        assert whole["args"]["routes"] == {
            h: [list(t) for t in targets] for h, targets in routes.items()
        }
        assert whole["args"]["redirected"] == [host(3)]
        routes = dict(routes)
        routes[host(4)] = [("default/s4-00002", 100)]
        publisher.publish(routes, redirected={host(3)})
        [(delta, _)] = await frames_until(ws, "update_routes")
        assert list(delta["args"]["set"]) == [host(4)]


async def test_a_following_gateway_applies_deltas_and_a_fresh_snapshot(
    feed: tuple[FanOut, str],
) -> None:
    fanout, url = feed
    publisher = RoutePublisher(fanout)
    routes = table(50)
    publisher.publish(routes)
    gateway = Gateway(host="127.0.0.1", port=0)
    follower = Follower(gateway, url)

    def lookup(h: str) -> tuple[str, ...] | None:
        route = gateway._ctx.routes.lookup(h.encode())
        return None if route is None else route.keys

    snapshots = 0
    take_snapshot = fanout._snapshot

    def counted() -> list[dict[str, Any]]:
        nonlocal snapshots
        snapshots += 1
        return take_snapshot()

    fanout._snapshot = counted  # type: ignore[method-assign]
    following = asyncio.create_task(follower.run())
    try:
        await asyncio.wait_for(follower.synced.wait(), 10)
        await wait_for(fanout.routes_synced)
        assert lookup(host(49)) == ("default/s49-00001",)
        routes = dict(routes)
        routes[host(7)] = [("default/s7-00002", 100)]
        del routes[host(8)]
        publisher.publish(routes)
        await wait_for(fanout.routes_synced)  # the worker acknowledged the delta's version
        assert lookup(host(7)) == ("default/s7-00002",)
        assert lookup(host(8)) is None
        assert lookup(host(9)) == ("default/s9-00001",)

        # Cut the feed: the worker reconnects and gets a snapshot with the newest table.
        for ws in list(fanout._workers):
            await ws.close()
        routes = dict(routes)
        routes[host(8)] = [("default/s8-00003", 100)]
        del routes[host(9)]
        publisher.publish(routes)
        await wait_for(lambda: snapshots == 2 and fanout.routes_synced(), within=15)
        assert lookup(host(8)) == ("default/s8-00003",)
        assert lookup(host(9)) is None
    finally:
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)

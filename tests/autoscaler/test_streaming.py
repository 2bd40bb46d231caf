"""The /autoscaler/stream websocket with a real aiohttp server and client."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from autoscaler.autoscaling import Autoscaler
from autoscaler.config import AutoscalerConfig
from autoscaler.spec import make_spec
from autoscaler.streaming import STREAM_PATH, STREAM_STATS, add_routes

KEY = "default/coffee-00001"
KEY2 = "default/tea-00001"


async def test_stream_records_and_skips_malformed_frames() -> None:
    loop = asyncio.get_running_loop()
    scaled: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
    now = {"t": 100.0}
    ready: dict[str, int] = {}

    def scale(key: str, count: int) -> None:
        ready[key] = count
        loop.call_soon(scaled.put_nowait, (key, count))

    autoscaler = Autoscaler(
        AutoscalerConfig(),
        scale=scale,
        ready_pods=lambda key: ready.get(key, 0),
        clock=lambda: now["t"],
    )
    cfg = AutoscalerConfig.from_mapping({"allow-zero-initial-scale": "true"})
    autoscaler.watch(KEY, make_spec(cfg, container_concurrency=10, initial_scale=0))
    assert await scaled.get() == (KEY, 0)

    app = web.Application()
    stats = add_routes(app, autoscaler)
    assert app[STREAM_STATS] is stats
    async with TestClient(TestServer(app)) as client:
        ws = await client.ws_connect(STREAM_PATH)
        await ws.send_str(json.dumps({"type": "hello", "worker": "gw-1"}))
        await ws.send_str("{not json")
        await ws.send_str(json.dumps([1, 2]))
        await ws.send_str(json.dumps({"type": "stats", "stats": [{"revision": 3}]}))
        await ws.send_bytes(b"\xff\xfe")
        await ws.send_str(json.dumps({"type": "mystery"}))
        stat = {"revision": KEY, "concurrency": 35.0, "requests": 40, "pods": {}}
        await ws.send_str(
            json.dumps({"type": "stats", "worker": "gw-1", "time": 1.0, "stats": [stat]})
        )
        # Traffic at zero scale decides at once (a poke), so the scale call arrives without
        # waiting for a tick: 35 concurrent / target 7 = 5 pods.
        assert await asyncio.wait_for(scaled.get(), 5) == (KEY, 5)
        assert stats.malformed == 5
        assert stats.frames == 7
        assert "gw-1" in autoscaler.workers

        # The connection survived the bad frames; a poke is handled on the same socket.
        now["t"] = 101.0
        autoscaler.watch(KEY2, make_spec(cfg, container_concurrency=10, initial_scale=0))
        assert await asyncio.wait_for(scaled.get(), 5) == (KEY2, 0)
        poke = {"type": "poke", "worker": "gw-1", "time": 2.0, "revision": KEY2, "concurrency": 1}
        await ws.send_str(json.dumps(poke))
        assert await asyncio.wait_for(scaled.get(), 5) == (KEY2, 1)
        assert stats.open_connections == 1 and stats.connections == 1
        await ws.close()


async def test_run_ticks_every_interval_until_cancelled() -> None:
    ticked = asyncio.Event()
    calls: list[str] = []

    def ready_pods(key: str) -> int:
        calls.append(key)
        if len(calls) >= 3:  # watch + two ticks
            ticked.set()
        return 1

    cfg = AutoscalerConfig.from_mapping({"tick-interval": "10ms"})
    autoscaler = Autoscaler(cfg, scale=lambda key, n: None, ready_pods=ready_pods)
    autoscaler.watch(KEY, make_spec(cfg, container_concurrency=0))
    task = asyncio.create_task(autoscaler.run())
    await asyncio.wait_for(ticked.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()

"""Fixtures: upstream pods that record their concurrency, a Gateway, a client session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from gateway import Gateway
from tests.gateway.conftest import Upstream

HOST = "coffee.default.example.com"
KEY = "default/coffee-00001"


class Pod(Upstream):
    """An upstream whose handler records in-flight concurrency and arrival order.

    Each request works for ``work`` seconds, or until ``gate`` is set when there is one.
    """

    def __init__(self, work: float = 0.01) -> None:
        super().__init__()
        self.work = work
        self.gate: asyncio.Event | None = None
        self.current = 0
        self.max = 0
        self.served = 0
        self.order: list[str] = []
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        self.current += 1
        self.max = max(self.max, self.current)
        self.order.append(request.path)
        try:
            await request.read()
            if self.gate is not None:
                await self.gate.wait()
            else:
                await asyncio.sleep(self.work)  # simulated work, not synchronisation
        finally:
            self.current -= 1
        self.served += 1
        return web.Response(text=f"{self.port}")


@pytest.fixture
async def pods() -> AsyncIterator[list[Pod]]:
    started = [Pod(), Pod()]
    for pod in started:
        await pod.start()
    yield started
    for pod in started:
        if pod.gate is not None:
            pod.gate.set()
        await pod.stop()


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    gw = Gateway(host="127.0.0.1", port=0)
    await gw.start()
    gw.set_routes({HOST: [(KEY, 100)]})
    yield gw
    await gw.stop(grace=1.0)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as s:
        yield s


async def fetch(
    session: aiohttp.ClientSession, gw: Gateway, path: str = "/", data: bytes | None = None
) -> tuple[int, str]:
    url = f"http://127.0.0.1:{gw.port}{path}"
    async with session.request(
        "POST" if data is not None else "GET", url, data=data, headers={"Host": HOST}
    ) as r:
        return r.status, await r.text()


def held(gw: Gateway) -> int:
    return gw.snapshot().get(KEY, {}).get("held", 0)


def in_flight(gw: Gateway) -> int:
    return gw.snapshot().get(KEY, {}).get("in_flight", 0)

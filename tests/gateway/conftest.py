"""Shared fixtures: a real aiohttp upstream and a Gateway on 127.0.0.1, port 0."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from gateway import Gateway
from gateway.settings import RevisionSettings

HOST = "coffee.default.example.com"
KEY = "default/coffee-00001"


class Upstream:
    """A tiny aiohttp app; records requests it saw."""

    def __init__(self) -> None:
        self.seen: list[web.Request] = []
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.app = web.Application()

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    async def start(self) -> None:
        self.runner = web.AppRunner(self.app, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


async def echo(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    return web.json_response(
        {
            "method": request.method,
            "path": request.path_qs,
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body_len": len(body),
            "body": body[:200].decode("latin-1"),
            "peer_port": request.transport.get_extra_info("peername")[1]
            if request.transport
            else None,
        }
    )


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    up = Upstream()
    up.app.router.add_route("*", "/{tail:.*}", echo)
    await up.start()
    yield up
    await up.stop()


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    gw = Gateway(host="127.0.0.1", port=0)
    await gw.start()
    yield gw
    await gw.stop(grace=1.0)


@pytest.fixture
async def routed(gateway: Gateway, upstream: Upstream) -> Gateway:
    gateway.set_revision(KEY, [upstream.address], RevisionSettings(timeout_seconds=30))
    gateway.set_routes({HOST: [(KEY, 100)]})
    return gateway


@pytest.fixture
async def sample(gateway: Gateway) -> AsyncIterator[Gateway]:
    """The gateway routing HOST to the sample app (HTTP/1) as a real process."""
    from tests.gateway.pods import pod

    async with pod("coldbrew.sample", TARGET="coffee") as port:
        gateway.set_revision(KEY, [("127.0.0.1", port)], RevisionSettings(timeout_seconds=30))
        gateway.set_routes({HOST: [(KEY, 100)]})
        yield gateway


async def wait_for(predicate: Callable[[], bool | Awaitable[bool]], within: float = 5.0) -> None:
    """Poll ``predicate`` with a deadline (for state we cannot await directly)."""
    deadline = time.monotonic() + within
    while True:
        result = predicate()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before deadline")
        await asyncio.sleep(0.01)


async def raw_request(port: int, data: bytes, *, read_until_close: bool = True) -> bytes:
    """Send raw bytes and read the reply (until the server closes, 5 s max)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    try:
        async with asyncio.timeout(5):
            if read_until_close:
                return await reader.read(-1)
            return await reader.readuntil(b"\r\n\r\n")
    finally:
        writer.close()

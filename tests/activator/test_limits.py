"""Queue depth and body-bytes caps (503), hold/response-start/idle timeouts (504/close)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from gateway import Gateway
from gateway.settings import RevisionSettings
from tests.gateway.conftest import raw_request, wait_for

from .conftest import HOST, KEY, Pod, fetch, held

GET = f"GET / HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()


class Stalling:
    """A raw upstream: reads the request head, sends ``reply`` (maybe nothing), stalls."""

    def __init__(self, reply: bytes = b"") -> None:
        self.reply = reply
        self.release = asyncio.Event()
        self.server: asyncio.Server | None = None
        self.address = ("127.0.0.1", 0)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            if self.reply:
                writer.write(self.reply)
            await self.release.wait()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> Stalling:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.address = ("127.0.0.1", self.server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release.set()
        assert self.server is not None
        self.server.close()


@pytest.fixture
async def stalling() -> AsyncIterator[Stalling]:
    async with Stalling() as s:
        yield s


async def assert_still_serving(gw: Gateway, session: aiohttp.ClientSession, pod: Pod) -> None:
    gw.set_revision(KEY, [pod.address], RevisionSettings(30))
    status, _ = await fetch(session, gw)
    assert status == 200


async def test_queue_full_503_at_once(
    gateway: Gateway, pods: list[Pod], session: aiohttp.ClientSession
) -> None:
    gateway.set_revision(KEY, [], RevisionSettings(30, queue_depth=3))
    tasks = [asyncio.create_task(fetch(session, gateway)) for _ in range(3)]
    await wait_for(lambda: held(gateway) == 3)
    started = time.monotonic()
    status, _ = await fetch(session, gateway)
    assert status == 503
    assert time.monotonic() - started < 1.0
    gateway.set_revision(KEY, [pods[0].address], RevisionSettings(30, queue_depth=3))
    assert [s for s, _ in await asyncio.gather(*tasks)] == [200] * 3
    await assert_still_serving(gateway, session, pods[0])


async def test_queue_full_behind_busy_pods(
    gateway: Gateway, pods: list[Pod], session: aiohttp.ClientSession
) -> None:
    pod = pods[0]
    pod.gate = asyncio.Event()
    gateway.set_revision(
        KEY, [pod.address], RevisionSettings(30, container_concurrency=1, queue_depth=1)
    )
    first = asyncio.create_task(fetch(session, gateway))
    second = asyncio.create_task(fetch(session, gateway))
    await wait_for(lambda: pod.current == 1 and held(gateway) == 1)
    assert (await fetch(session, gateway))[0] == 503
    pod.gate.set()
    assert [s for s, _ in await asyncio.gather(first, second)] == [200, 200]


async def test_buffered_body_cap_503(
    gateway: Gateway, pods: list[Pod], session: aiohttp.ClientSession
) -> None:
    gateway.set_revision(KEY, [], RevisionSettings(30, max_buffered_bytes=1000))
    started = time.monotonic()
    status, _ = await fetch(session, gateway, data=b"x" * 5000)  # alone over the cap
    assert status == 503 and time.monotonic() - started < 1.0
    small = asyncio.create_task(fetch(session, gateway, data=b"y" * 600))
    await wait_for(lambda: held(gateway) == 1)
    assert (await fetch(session, gateway, data=b"z" * 600))[0] == 503  # together over it
    gateway.set_revision(KEY, [pods[0].address], RevisionSettings(30, max_buffered_bytes=1000))
    assert (await small)[0] == 200
    await assert_still_serving(gateway, session, pods[0])


async def test_hold_timeout_504_behind_busy_pod(
    gateway: Gateway, pods: list[Pod], session: aiohttp.ClientSession
) -> None:
    pod = pods[0]
    pod.gate = asyncio.Event()
    gateway.set_revision(KEY, [pod.address], RevisionSettings(0.3, container_concurrency=1))
    first = asyncio.create_task(fetch(session, gateway))
    await wait_for(lambda: pod.current == 1)
    started = time.monotonic()
    assert (await fetch(session, gateway))[0] == 504
    assert 0.25 < time.monotonic() - started < 2.0
    assert held(gateway) == 0
    assert (await first)[0] == 504  # its response did not start within timeoutSeconds
    pod.gate.set()
    await wait_for(lambda: pod.current == 0)
    await assert_still_serving(gateway, session, pods[1])


@pytest.mark.parametrize("setting", ["response_start_timeout_seconds", "idle_timeout_seconds"])
async def test_timeouts_before_the_response_give_504(
    gateway: Gateway,
    stalling: Stalling,
    pods: list[Pod],
    session: aiohttp.ClientSession,
    setting: str,
) -> None:
    """responseStartTimeoutSeconds, and idleTimeoutSeconds before any response byte."""
    gateway.set_revision(KEY, [stalling.address], RevisionSettings(30, **{setting: 0.3}))
    started = time.monotonic()
    reply = await raw_request(gateway.port, GET)
    assert reply.startswith(b"HTTP/1.1 504")
    assert 0.25 < time.monotonic() - started < 2.0
    await assert_still_serving(gateway, session, pods[0])


async def test_idle_timeout_mid_response_closes(
    gateway: Gateway, pods: list[Pod], session: aiohttp.ClientSession
) -> None:
    head = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial"
    async with Stalling(head) as upstream:
        gateway.set_revision(
            KEY, [upstream.address], RevisionSettings(30, idle_timeout_seconds=0.3)
        )
        started = time.monotonic()
        reply = await raw_request(gateway.port, GET)  # reads until the gateway closes
        assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"partial")
        assert 0.25 < time.monotonic() - started < 2.0
    await assert_still_serving(gateway, session, pods[0])


async def test_idle_timeout_spares_a_steady_stream(
    gateway: Gateway, session: aiohttp.ClientSession
) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for _ in range(8):  # 8 x 0.1 s: longer than the idle timeout, never idle that long
            writer.write(b"1\r\nx\r\n")
            await writer.drain()
            await asyncio.sleep(0.1)
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        gateway.set_revision(
            KEY, [("127.0.0.1", port)], RevisionSettings(30, idle_timeout_seconds=0.4)
        )
        status, body = await fetch(session, gateway)
        assert status == 200 and body == "x" * 8
    finally:
        server.close()


async def test_keepalive_timeout_closes_idle_connections(pods: list[Pod]) -> None:
    gw = Gateway(keepalive_timeout=0.3)
    await gw.start()
    try:
        gw.set_routes({HOST: [(KEY, 100)]})
        gw.set_revision(KEY, [pods[0].address], RevisionSettings(30))
        reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
        writer.write(GET)
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        async with asyncio.timeout(5):
            rest = await reader.read(-1)  # the body, then EOF when the gateway closes
        assert 0.25 < time.monotonic() - started < 2.0
        assert rest == str(pods[0].port).encode()
        writer.close()
        # A connection that never sends a request is closed too.
        reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
        async with asyncio.timeout(5):
            assert await reader.read(-1) == b""
        writer.close()
        # Nor does a request head trickling in forever keep it open.
        reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: ")
        async with asyncio.timeout(5):
            assert await reader.read(-1) == b""
        writer.close()
    finally:
        await gw.stop(grace=1.0)


async def test_forget_revision_answers_queued_503(
    gateway: Gateway, session: aiohttp.ClientSession
) -> None:
    gateway.set_revision(KEY, [], RevisionSettings(30))
    tasks = [asyncio.create_task(fetch(session, gateway)) for _ in range(3)]
    await wait_for(lambda: held(gateway) == 3)
    gateway.forget_revision(KEY)
    assert [s for s, _ in await asyncio.gather(*tasks)] == [503] * 3

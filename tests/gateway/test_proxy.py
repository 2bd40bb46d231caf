"""Real sockets: aiohttp/raw upstreams behind a Gateway on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from gateway import Gateway
from gateway.settings import RevisionSettings

from .conftest import HOST, KEY, Upstream, raw_request, wait_for

RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def start_raw(handler: RawHandler) -> tuple[asyncio.Server, tuple[str, int]]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, ("127.0.0.1", server.sockets[0].getsockname()[1])


async def read_head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def url(gw: Gateway, path: str = "/") -> str:
    return f"http://127.0.0.1:{gw.port}{path}"


async def test_get_and_post(routed: Gateway, session: aiohttp.ClientSession) -> None:
    async with session.get(url(routed, "/a?b=1"), headers={"Host": HOST}) as r:
        assert r.status == 200
        data = await r.json()
    assert data["method"] == "GET" and data["path"] == "/a?b=1"
    async with session.post(url(routed, "/p"), data=b"x" * 5000, headers={"Host": HOST}) as r:
        data = await r.json()
    assert data["method"] == "POST" and data["body_len"] == 5000


async def test_forwarded_and_hop_by_hop(routed: Gateway, session: aiohttp.ClientSession) -> None:
    headers = {
        "Host": "COFFEE.default.example.com:8080",
        "X-Forwarded-For": "1.2.3.4",
        "Connection": "keep-alive, X-Private",
        "X-Private": "secret",
        "Keep-Alive": "timeout=5",
        "Proxy-Connection": "keep-alive",
        "TE": "trailers",
        "X-End": "kept",
    }
    async with session.get(url(routed), headers=headers) as r:
        assert r.status == 200
        seen = (await r.json())["headers"]
    assert seen["host"] == "COFFEE.default.example.com:8080"
    assert seen["x-forwarded-for"] == "1.2.3.4, 127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-host"] == "COFFEE.default.example.com:8080"
    assert seen["x-end"] == "kept"
    for gone in ("x-private", "keep-alive", "proxy-connection", "te"):
        assert gone not in seen
    assert seen.get("connection", "keep-alive").lower() == "keep-alive"


async def test_keep_alive_reuses_upstream_connection(
    routed: Gateway, session: aiohttp.ClientSession
) -> None:
    ports = set()
    for _ in range(5):
        async with session.get(url(routed), headers={"Host": HOST}) as r:
            ports.add((await r.json())["peer_port"])
    assert len(ports) == 1


async def test_chunked_request_body(routed: Gateway) -> None:
    data = (
        b"POST /x HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n"
    )
    reply = await raw_request(routed.port, data)
    assert reply.startswith(b"HTTP/1.1 200 ")
    assert b'"body_len": 7' in reply


async def test_chunked_response_streamed() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await writer.drain()
        await reader.read(1)  # wait for the test to see the first chunk... until closed
        writer.close()

    server, address = await start_raw(handler)
    gw = Gateway(port=0)
    await gw.start()
    gw.set_revision(KEY, [address], RevisionSettings(timeout_seconds=5))
    gw.set_routes({HOST: [(KEY, 100)]})
    reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
    writer.write(f"GET / HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
    async with asyncio.timeout(5):
        head = await read_head(reader)
        assert b"transfer-encoding: chunked" in head.lower()
        assert await reader.readexactly(10) == b"5\r\nhello\r\n"  # arrives before the end
    writer.close()
    await gw.stop(grace=1)
    server.close()


async def test_unknown_host_and_case_port(routed: Gateway, session: aiohttp.ClientSession) -> None:
    async with session.get(url(routed), headers={"Host": "tea.example.com"}) as r:
        assert r.status == 404
        assert await r.text() == 'no route for host "tea.example.com"\n'
    async with session.get(url(routed), headers={"Host": HOST.upper() + ":31380"}) as r:
        assert r.status == 200


async def test_502_when_upstream_dies_before_response() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.transport.abort()

    server, address = await start_raw(handler)
    gw = Gateway(port=0)
    await gw.start()
    gw.set_revision(KEY, [address], RevisionSettings(timeout_seconds=5))
    gw.set_routes({HOST: [(KEY, 100)]})
    reply = await raw_request(gw.port, f"GET / HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.1 502 ")
    await gw.stop(grace=1)
    server.close()


async def test_close_client_when_upstream_dies_mid_response() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await writer.drain()
        writer.transport.abort()

    server, address = await start_raw(handler)
    gw = Gateway(port=0)
    await gw.start()
    gw.set_revision(KEY, [address], RevisionSettings(timeout_seconds=5))
    gw.set_routes({HOST: [(KEY, 100)]})
    reply = await raw_request(gw.port, f"GET / HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.1 200 ") and reply.endswith(b"partial")
    await gw.stop(grace=1)
    server.close()


async def test_stale_pooled_connection_is_retried() -> None:
    served = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        first = True
        while True:
            try:
                await read_head(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            if not first:
                writer.transport.abort()  # keep-alive raced with our close: stale connection
                return
            first = False
            served += 1
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()

    server, address = await start_raw(handler)
    gw = Gateway(port=0)
    await gw.start()
    gw.set_revision(KEY, [address], RevisionSettings(timeout_seconds=5))
    gw.set_routes({HOST: [(KEY, 100)]})
    async with aiohttp.ClientSession() as s:
        for i in range(3):
            async with s.post(url(gw), data=b"body", headers={"Host": HOST}) as r:
                assert r.status == 200, i
                assert await r.read() == b"ok"
    assert served == 3
    await gw.stop(grace=1)
    server.close()


def refusing_address() -> tuple[str, int]:
    """A port nothing listens on: connecting is refused (a pod that stopped listening)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return ("127.0.0.1", int(s.getsockname()[1]))


async def test_a_refused_connection_is_retried_on_another_pod(
    upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    """A pod that stopped listening before the cluster said it is terminating: nothing
    reached it, so the request goes to another pod (Knative's activator retries a failed
    dial) instead of a 502. The body is sent whole to the pod that answers."""
    gw = Gateway(port=0)
    await gw.start()
    gw.set_revision(
        KEY, [refusing_address(), upstream.address], RevisionSettings(timeout_seconds=5)
    )
    gw.set_routes({HOST: [(KEY, 100)]})
    for i in range(20):
        async with session.post(url(gw), data=b"x" * 100, headers={"Host": HOST}) as r:
            assert r.status == 200, i
            assert (await r.json())["body_len"] == 100
    assert gw.snapshot()[KEY]["in_flight"] == 0
    await gw.stop(grace=1)


async def test_a_refused_connection_with_no_other_pod_is_a_502() -> None:
    gw = Gateway(port=0)
    await gw.start()
    gw.set_revision(KEY, [refusing_address()], RevisionSettings(timeout_seconds=5))
    gw.set_routes({HOST: [(KEY, 100)]})
    reply = await raw_request(gw.port, f"GET / HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.1 502 ")
    assert gw.snapshot()[KEY]["in_flight"] == 0
    await gw.stop(grace=1)


async def test_hold_released_by_set_revision(
    gateway: Gateway, upstream: Upstream, session: aiohttp.ClientSession
) -> None:
    gateway.set_revision(KEY, [], RevisionSettings(timeout_seconds=10))
    gateway.set_routes({HOST: [(KEY, 100)]})

    async def get() -> int:
        async with session.get(url(gateway), headers={"Host": HOST}) as r:
            await r.read()
            return r.status

    task = asyncio.create_task(get())
    await wait_for(lambda: gateway.snapshot().get(KEY, {}).get("held", 0) == 1)
    assert not task.done()
    gateway.set_revision(KEY, [upstream.address], RevisionSettings(timeout_seconds=10))
    assert await asyncio.wait_for(task, 5) == 200


async def test_hold_times_out_with_504(gateway: Gateway, session: aiohttp.ClientSession) -> None:
    gateway.set_revision(KEY, [], RevisionSettings(timeout_seconds=0.3))
    gateway.set_routes({HOST: [(KEY, 100)]})
    async with session.get(url(gateway), headers={"Host": HOST}) as r:
        assert r.status == 504
    assert gateway.snapshot().get(KEY, {}).get("held", 0) == 0


async def test_a_held_client_that_leaves_is_let_go(gateway: Gateway) -> None:
    """A client that gives up while its request waits for a pod is seen leaving: no longer
    held (nor counted as demand), and a stop does not wait for it."""
    gateway.set_revision(KEY, [], RevisionSettings(timeout_seconds=30))
    gateway.set_routes({HOST: [(KEY, 100)]})
    _, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    writer.write(f"GET / HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
    await writer.drain()
    await wait_for(lambda: gateway.snapshot().get(KEY, {}).get("held", 0) == 1)
    writer.close()  # gone before any pod
    await wait_for(lambda: gateway.snapshot().get(KEY, {}).get("held", 0) == 0)
    assert gateway.snapshot()[KEY]["in_flight"] == 0
    assert not gateway._ctx.connections  # nothing left for a stop to wait on


async def test_a_held_upload_still_pauses_reading(gateway: Gateway, upstream: Upstream) -> None:
    """Reading goes on while held only for a request read whole: a body still coming is
    not read on (nor buffered) until a pod takes the request."""
    gateway.set_revision(KEY, [], RevisionSettings(timeout_seconds=30))
    gateway.set_routes({HOST: [(KEY, 100)]})
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    head = f"POST / HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 5\r\n\r\nab"
    writer.write(head.encode())
    await writer.drain()
    await wait_for(lambda: gateway.snapshot().get(KEY, {}).get("held", 0) == 1)
    (proto,) = gateway._ctx.connections
    assert proto.gate.paused
    writer.write(b"cde")
    gateway.set_revision(KEY, [upstream.address], RevisionSettings(timeout_seconds=30))
    reply = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert reply.startswith(b"HTTP/1.1 200 ")
    writer.close()


async def test_504_when_upstream_too_slow(gateway: Gateway) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers

    server, address = await start_raw(handler)
    gateway.set_revision(KEY, [address], RevisionSettings(timeout_seconds=0.3))
    gateway.set_routes({HOST: [(KEY, 100)]})
    reply = await raw_request(gateway.port, f"GET / HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.1 504 ")
    server.close()


async def test_unannounced_revision_waits_then_503(upstream: Upstream) -> None:
    gw = Gateway(port=0, unknown_revision_hold=0.3)
    await gw.start()
    gw.set_routes({HOST: [(KEY, 100)]})
    async with aiohttp.ClientSession() as s:
        async with s.get(url(gw), headers={"Host": HOST}) as r:
            assert r.status == 503
        task = asyncio.create_task(s.get(url(gw), headers={"Host": HOST}))
        await wait_for(lambda: gw.snapshot().get(KEY, {}).get("held", 0) == 1)
        gw.set_revision(KEY, [upstream.address], RevisionSettings(timeout_seconds=5))
        async with await asyncio.wait_for(task, 5) as r:
            assert r.status == 200
    await gw.stop(grace=1)


async def test_forgotten_revision_503(routed: Gateway, session: aiohttp.ClientSession) -> None:
    routed.forget_revision(KEY)
    async with session.get(url(routed), headers={"Host": HOST}) as r:
        assert r.status == 503


async def test_websocket_echo(gateway: Gateway, session: aiohttp.ClientSession) -> None:
    async def ws_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            await ws.send_str("echo:" + msg.data)
        return ws

    up = Upstream()
    up.app.router.add_get("/ws", ws_handler)
    await up.start()
    gateway.set_revision(KEY, [up.address], RevisionSettings(timeout_seconds=5))
    gateway.set_routes({HOST: [(KEY, 100)]})
    async with session.ws_connect(url(gateway, "/ws"), headers={"Host": HOST}) as ws:
        for word in ("a", "bb", "c" * 100_000):
            await ws.send_str(word)
            msg = await asyncio.wait_for(ws.receive(), 5)
            assert msg.data == "echo:" + word
    await up.stop()


async def test_stop_finishes_in_flight_and_drain(gateway: Gateway) -> None:
    release = asyncio.Event()
    arrived = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        arrived.set()
        await release.wait()
        return web.Response(text="done")

    up = Upstream()
    up.app.router.add_get("/{tail:.*}", slow)
    await up.start()
    gateway.set_revision(KEY, [up.address], RevisionSettings(timeout_seconds=5))
    gateway.set_routes({HOST: [(KEY, 100)]})
    async with aiohttp.ClientSession() as s:
        idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", gateway.port)

        async def get() -> tuple[int, str]:
            async with s.get(url(gateway), headers={"Host": HOST}) as r:
                return r.status, await r.text()

        req = asyncio.create_task(get())
        await asyncio.wait_for(arrived.wait(), 5)
        # the endpoint leaves the revision
        gateway.set_revision(KEY, [], RevisionSettings(timeout_seconds=5))
        drain = asyncio.create_task(gateway.drain_endpoint(up.address, timeout=5))
        stop = asyncio.create_task(gateway.stop(grace=5))
        assert await asyncio.wait_for(idle_reader.read(), 5) == b""  # idle conn closed
        idle_writer.close()
        assert not drain.done() and not stop.done()
        release.set()
        assert await asyncio.wait_for(req, 5) == (200, "done")
        assert await asyncio.wait_for(drain, 5) is True
        await asyncio.wait_for(stop, 5)
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", gateway.port)
    await up.stop()

"""Client connections' limits (gateway.limits) on a real gateway: underscored headers,
header and body timeouts, and shedding of connections without a request."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway import Gateway
from gateway.limits import DROP, PASS, REJECT, ClientLimits
from gateway.settings import RevisionSettings

from .conftest import HOST, KEY, Upstream, raw_request, wait_for

GET = f"GET / HTTP/1.1\r\nHost: {HOST}\r\n".encode()
UNDERSCORED = GET + b"Transfer_Encoding: chunked\r\nX_Forwarded_For: 6.6.6.6\r\nX-Kept: 1\r\n"


async def routed_gateway(upstream: Upstream, limits: ClientLimits, **kw: float) -> Gateway:
    gw = Gateway(host="127.0.0.1", port=0, limits=limits, **kw)  # type: ignore[arg-type]
    await gw.start()
    gw.set_revision(KEY, [upstream.address], RevisionSettings(timeout_seconds=30))
    gw.set_routes({HOST: [(KEY, 100)]})
    return gw


@pytest.fixture
async def gateways() -> AsyncIterator[list[Gateway]]:
    started: list[Gateway] = []
    yield started
    for gw in started:
        await gw.stop(grace=1.0)


def echoed(reply: bytes) -> dict[str, str]:
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), reply[:200]
    return json.loads(body)["headers"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("mode", ["drop", "reject", "pass"])
async def test_underscored_headers(mode: str, upstream: Upstream, gateways: list[Gateway]) -> None:
    value = {"drop": DROP, "reject": REJECT, "pass": PASS}[mode]
    gw = await routed_gateway(upstream, ClientLimits(underscores_in_headers=value))
    gateways.append(gw)
    reply = await raw_request(gw.port, UNDERSCORED + b"Connection: close\r\n\r\n")
    if mode == "reject":
        assert reply.startswith(b"HTTP/1.1 400 "), reply[:100]
        return
    headers = echoed(reply)
    assert headers["x-kept"] == "1"
    assert headers["x-forwarded-for"] == "127.0.0.1"  # never the client's 6.6.6.6
    if mode == "drop":
        assert not any("_" in name for name in headers), headers
    else:
        assert headers["transfer_encoding"] == "chunked"
        assert headers["x_forwarded_for"] == "6.6.6.6"


@pytest.mark.parametrize("mode", ["drop", "reject", "pass"])
async def test_underscored_headers_over_http2(
    mode: str, upstream: Upstream, gateways: list[Gateway]
) -> None:
    value = {"drop": DROP, "reject": REJECT, "pass": PASS}[mode]
    gw = await routed_gateway(upstream, ClientLimits(underscores_in_headers=value))
    gateways.append(gw)
    sent = {"host": HOST, "transfer_encoding": "chunked", "x_forwarded_for": "6.6.6.6"}
    async with httpx.AsyncClient(http1=False, http2=True, timeout=10) as client:
        reply = await client.get(f"http://127.0.0.1:{gw.port}/", headers={**sent, "x-kept": "1"})
    assert reply.http_version == "HTTP/2"
    if mode == "reject":
        assert reply.status_code == 400
        return
    assert reply.status_code == 200
    headers = reply.json()["headers"]
    assert headers["x-kept"] == "1"
    assert headers["x-forwarded-for"] == "127.0.0.1"  # never the client's 6.6.6.6
    if mode == "drop":
        assert not any("_" in name for name in headers), headers
    else:
        assert headers["transfer_encoding"] == "chunked"
        assert headers["x_forwarded_for"] == "6.6.6.6"


async def test_reject_mode_forwards_nothing(gateways: list[Gateway]) -> None:
    seen: list[bytes] = []

    async def pod(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.read(65536))
        writer.close()

    server = await asyncio.start_server(pod, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    gw = Gateway(host="127.0.0.1", port=0, limits=ClientLimits(underscores_in_headers=REJECT))
    gateways.append(gw)
    await gw.start()
    gw.set_revision(KEY, [("127.0.0.1", port)], RevisionSettings(timeout_seconds=30))
    gw.set_routes({HOST: [(KEY, 100)]})
    reply = await raw_request(gw.port, GET + b"X_Real_Ip: 6.6.6.6\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400 ") and reply.count(b"HTTP/1.1") == 1
    assert seen == []
    server.close()


async def read_all(reader: asyncio.StreamReader, within: float = 10.0) -> bytes:
    async with asyncio.timeout(within):
        return await reader.read(-1)


async def test_header_timeout_closes_a_trickling_head(
    upstream: Upstream, gateways: list[Gateway]
) -> None:
    gw = await routed_gateway(upstream, ClientLimits(header_timeout=0.4), keepalive_timeout=30.0)
    gateways.append(gw)
    # A kept-alive connection: its wait for the next request is the keep-alive timeout's.
    kept_r, kept_w = await asyncio.open_connection("127.0.0.1", gw.port)
    kept_w.write(GET + b"\r\n")
    head = await kept_r.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    await kept_r.readexactly(length)
    # A head that never completes, and a connection that never sends: both cut.
    slow_r, slow_w = await asyncio.open_connection("127.0.0.1", gw.port)
    slow_w.write(GET + b"X-Slow: 1\r\n")
    mute_r, mute_w = await asyncio.open_connection("127.0.0.1", gw.port)
    assert await read_all(slow_r) == b""  # closed without an answer, as nginx does
    assert await read_all(mute_r) == b""
    # The idle kept-alive connection outlived the header timeout and still serves; then
    # a head started on it that does not complete is cut as well.
    assert not kept_r.at_eof()
    kept_w.write(GET + b"X-Slow: 1\r\n")
    assert await read_all(kept_r) == b""
    for w in (kept_w, slow_w, mute_w):
        w.close()
    reply = await raw_request(gw.port, GET + b"Connection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 ")


async def test_body_timeout(upstream: Upstream, gateways: list[Gateway]) -> None:
    gw = await routed_gateway(upstream, ClientLimits(body_timeout=0.4))
    gateways.append(gw)
    reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
    writer.write(b"POST / HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\nContent-Length: 10\r\n\r\n")
    writer.write(b"abc")
    reply = await read_all(reader)
    assert reply.startswith(b"HTTP/1.1 408 "), reply
    writer.close()
    # A body that keeps coming, slower than the timeout in total, is not cut.
    reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
    writer.write(b"POST / HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\nContent-Length: 4\r\n\r\n")
    for byte in b"abcd":
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.15)  # pacing the client (not synchronisation): 0.6 s in all
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 200 ")
    writer.close()


async def test_new_connections_shed_the_oldest_without_a_request(
    upstream: Upstream, gateways: list[Gateway]
) -> None:
    gw = await routed_gateway(upstream, ClientLimits(max_connections=20))
    gateways.append(gw)
    ctx = gw._ctx
    # A kept-alive client with a request done, then 19 heads trickling in.
    kept_r, kept_w = await asyncio.open_connection("127.0.0.1", gw.port)
    kept_w.write(GET + b"\r\n")
    assert (await kept_r.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200 ")
    slow = []
    for _ in range(19):
        r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        w.write(GET)
        slow.append((r, w))
    for shed in range(2):  # each whole request sheds the oldest trickling head
        await wait_for(lambda: len(ctx.connections) == 20 and len(ctx.heads) == 19)
        reply = await raw_request(gw.port, GET + b"Connection: close\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 200 "), reply[:100]
        assert ctx.shed_count == shed + 1
        assert await read_all(slow[shed][0]) == b""
        r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        w.write(GET)
        slow.append((r, w))
    assert not any(r.at_eof() for r, _ in slow[2:])
    assert not kept_r.at_eof()  # heads go first, idle keep-alive connections after
    for _, w in [*slow, (kept_r, kept_w)]:
        w.close()

"""Feed raw bytes to the HTTP/1 client protocol (fake transports): hostile requests never leak."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.context import GatewayContext
from gateway.handling import Handler, RouteTable
from gateway.http1.downstream import ClientProtocol
from gateway.http1.upstream import Endpoint, UpstreamConnection
from gateway.settings import RevisionSettings

HOST = b"coffee.example.com"


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.buffer = bytearray()
        self.closed = False
        self.paused = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.buffer += data

    def writelines(self, parts: Any) -> None:
        for part in parts:
            self.write(part)

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("10.0.0.7", 5555) if name == "peername" else default


class Harness:
    """A client protocol whose only upstream is a pooled connection on a fake transport."""

    def __init__(self) -> None:
        self.ctx = GatewayContext()
        self.ctx.routes = RouteTable({HOST.decode(): [("default/r", 100)]})
        self.endpoint = Endpoint(("127.0.0.1", 9))
        self.upstream_transport = FakeTransport()
        conn = UpstreamConnection(self.endpoint)
        conn.connection_made(self.upstream_transport)
        self.conn = conn
        self.endpoint.idle.append(conn)
        self.ctx.configure_revision("default/r", [self.endpoint], RevisionSettings(30.0))
        self.client = FakeTransport()
        self.proto = ClientProtocol(self.ctx, Handler(self.ctx))
        self.proto.connection_made(self.client)

    def feed(self, data: bytes) -> None:
        self.proto.data_received(data)

    @property
    def upstream(self) -> bytes:
        return bytes(self.upstream_transport.buffer)

    @property
    def reply(self) -> bytes:
        return bytes(self.client.buffer)


POST = b"POST / HTTP/1.1\r\nHost: coffee.example.com\r\n"
GET = b"GET / HTTP/1.1\r\nHost: coffee.example.com\r\n"

HOSTILE: dict[str, bytes] = {
    "cl_and_te": POST + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "te_and_cl": POST + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    "duplicate_cl_same": POST + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    "duplicate_cl_differing": POST + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "cl_list": POST + b"Content-Length: 5, 5\r\n\r\nhello",
    "cl_non_numeric": POST + b"Content-Length: 5x\r\n\r\nhello",
    "cl_negative": POST + b"Content-Length: -5\r\n\r\nhello",
    "cl_plus": POST + b"Content-Length: +5\r\n\r\nhello",
    "te_gzip": POST + b"Transfer-Encoding: gzip\r\n\r\nhello",
    "te_gzip_chunked": POST + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "te_chunked_gzip": POST + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
    "te_xchunked": POST + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
    "te_duplicate": POST + b"Transfer-Encoding: chunked\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "te_space_before_colon": POST + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    "te_http10": b"POST / HTTP/1.0\r\nHost: coffee.example.com\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "bad_chunk_size": POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    "negative_chunk_size": POST + b"Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
    "chunk_size_overflow": POST
    + b"Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
    "chunk_bare_lf": POST + b"Transfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n",
    "obs_fold_space": GET + b"X-A: b\r\n c\r\n\r\n",
    "obs_fold_tab": GET + b"X-A: b\r\n\tc\r\n\r\n",
    "obs_fold_te": GET + b"X-A: b\r\n Transfer-Encoding: chunked\r\n\r\n",
    "bare_lf": b"GET / HTTP/1.1\nHost: coffee.example.com\n\n",
    "bare_lf_in_headers": b"GET / HTTP/1.1\r\nHost: coffee.example.com\nX: y\r\n\r\n",
    "bare_cr": b"GET / HTTP/1.1\r\nHost: coffee.example.com\rX: y\r\n\r\n",
    "space_in_header_name": GET + b"X Y: z\r\n\r\n",
    "nul_in_value": GET + b"X: a\x00b\r\n\r\n",
    "leading_space_header": b"GET / HTTP/1.1\r\n Host: coffee.example.com\r\n\r\n",
    "missing_host": b"GET / HTTP/1.1\r\n\r\n",
    "duplicate_host": GET + b"Host: evil\r\n\r\n",
    "http09": b"GET /\r\n\r\n",
    "http2_version": b"GET / HTTP/2.0\r\nHost: coffee.example.com\r\n\r\n",
    "bad_method": b"G@T / HTTP/1.1\r\nHost: coffee.example.com\r\n\r\n",
    "connect": b"CONNECT coffee.example.com:443 HTTP/1.1\r\nHost: coffee.example.com\r\n\r\n",
    "too_many_headers": GET + b"" + b"".join(b"X-%d: y\r\n" % i for i in range(200)) + b"\r\n",
    "huge_header": GET + b"X: " + b"a" * 70000 + b"\r\n\r\n",
}


# Broken chunked bodies are only seen after the head was streamed upstream: the upstream
# connection must then be aborted without any of the body reaching it.
BODY_ERRORS = {"bad_chunk_size", "negative_chunk_size", "chunk_size_overflow", "chunk_bare_lf"}


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_request_never_reaches_upstream(name: str) -> None:
    h = Harness()
    h.feed(HOSTILE[name])
    if name in BODY_ERRORS:
        assert h.upstream.endswith(b"transfer-encoding: chunked\r\n\r\n"), name
        assert h.upstream_transport.closed and h.conn.closed
        assert h.endpoint.idle == [] and h.endpoint.in_flight == 0
    else:
        assert h.upstream == b"", name
    assert h.client.closed, name
    assert h.reply[9:10] == b"4" or h.reply[9:12] == b"505", h.reply[:40]


@pytest.mark.parametrize("name", ["huge_header", "too_many_headers"])
async def test_oversized_headers_get_431(name: str) -> None:
    h = Harness()
    h.feed(HOSTILE[name])
    assert h.reply.startswith(b"HTTP/1.1 431 ")


async def test_header_flood_in_small_pieces_is_cut_off() -> None:
    h = Harness()
    h.feed(GET + b"X: ")
    for _ in range(100):
        if h.client.closed:
            break
        h.feed(b"a" * 1024)
    assert h.client.closed and h.reply.startswith(b"HTTP/1.1 431 ")
    assert h.upstream == b""


async def test_endless_trailer_is_cut_off() -> None:
    h = Harness()
    h.feed(POST + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Trailer: ")
    for _ in range(100):
        if h.client.closed:
            break
        h.feed(b"t" * 1000)  # one trailer value, never ending: not buffered past the limit
    assert h.client.closed and h.reply.startswith(b"HTTP/1.1 431 ")
    assert h.upstream_transport.closed and b"ttt" not in h.upstream


async def test_unknown_host_404_and_missing_host_400() -> None:
    h = Harness()
    h.feed(b"GET / HTTP/1.1\r\nHost: Tea.example.com\r\n\r\n")
    assert h.reply.startswith(b"HTTP/1.1 404 ")
    assert h.reply.endswith(b'no route for host "Tea.example.com"\n')
    h = Harness()
    h.feed(b"GET / HTTP/1.1\r\n\r\n")
    assert h.reply.startswith(b"HTTP/1.1 400 ")


async def test_headers_rewritten_once() -> None:
    h = Harness()
    h.feed(
        b"GET /p?q=1 HTTP/1.1\r\nHost: Coffee.Example.com:8080\r\n"
        b"Connection: keep-alive, X-Secret\r\n"
        b"X-Secret: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: x\r\nTE: trailers\r\n"
        b"Trailer: X\r\nUpgrade: h2c\r\nX-Forwarded-For: 1.2.3.4\r\nX-Forwarded-Proto: https\r\n"
        b"X-Keep: yes\r\n\r\n"
    )
    up = h.upstream.lower()
    assert up.startswith(b"get /p?q=1 http/1.1\r\n")
    assert b"host: coffee.example.com:8080\r\n" in up
    for gone in (
        b"connection",
        b"x-secret",
        b"keep-alive",
        b"proxy-connection",
        b"te:",
        b"trailer",
    ):
        assert b"\r\n" + gone not in up, gone
    assert b"upgrade" not in up
    assert b"x-forwarded-for: 1.2.3.4, 10.0.0.7\r\n" in up
    assert b"x-forwarded-proto: http\r\n" in up
    assert b"x-forwarded-host: coffee.example.com:8080\r\n" in up
    assert b"x-keep: yes\r\n" in up


async def test_pipelined_requests_one_at_a_time() -> None:
    h = Harness()
    h.feed(
        b"GET /1 HTTP/1.1\r\nHost: coffee.example.com\r\n\r\n"
        b"GET /2 HTTP/1.1\r\nHost: coffee.example.com\r\n\r\n"
    )
    assert h.upstream.count(b"GET ") == 1 and h.client.paused
    h.conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert h.upstream.count(b"GET ") == 2 and b"GET /2" in h.upstream
    h.conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok2")
    assert h.reply.count(b"HTTP/1.1 200 OK") == 2 and h.reply.endswith(b"ok2")
    assert not h.client.paused and not h.client.closed


async def test_smuggling_after_good_request_is_not_forwarded() -> None:
    h = Harness()
    h.feed(
        b"GET /1 HTTP/1.1\r\nHost: coffee.example.com\r\n\r\n"
        b"POST /2 HTTP/1.1\r\nHost: coffee.example.com\r\nContent-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    )
    h.conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert b"/2" not in h.upstream
    assert h.reply.startswith(b"HTTP/1.1 200 OK") and b"HTTP/1.1 400 " in h.reply
    assert h.client.closed


async def test_chunked_request_rechunked_and_response_passed() -> None:
    h = Harness()
    h.feed(POST + b"Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\n\r\n")
    assert h.upstream.endswith(b"transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    h.conn.data_received(
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
        b"3\r\nabc\r\n0\r\n\r\n"
    )
    assert h.reply == (
        b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    )
    assert h.endpoint.idle == [h.conn] and h.endpoint.in_flight == 0


async def test_head_response_has_no_body() -> None:
    h = Harness()
    h.feed(b"HEAD / HTTP/1.1\r\nHost: coffee.example.com\r\n\r\n")
    h.conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
    assert h.reply == b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
    assert h.endpoint.idle == [h.conn]

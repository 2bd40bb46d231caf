"""Misbehaving pods: raw servers written for each case, as a revision's endpoint.

Whatever the pod does, the client gets a 502 or 504 or a closed connection (never a hang,
never a corrupted or merged response: a second request on the same client connection,
to a healthy revision, gets its own clean answer), the pod connection is discarded (the
next request opens a new one), and a healthy revision answers 200 right after.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from httptools import HttpParserError, HttpResponseParser

from gateway import Gateway
from gateway.settings import RevisionSettings

from .conftest import Upstream

BAD = "bad.default.example.com"
GOOD = "good.default.example.com"
Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def reply(data: bytes) -> Behaviour:
    async def behave(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()
        await reader.read()  # keep the connection until the gateway lets it go

    return behave


async def short_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
    await writer.drain()
    writer.close()


async def reset_mid_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
    await writer.drain()
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()  # RST


async def never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # until the gateway gives up and closes


HEADERS = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"y" * 1000) for i in range(2000))

CASES: dict[str, Behaviour] = {
    "invalid_status_line": reply(b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok"),
    "not_http": reply(b"SSH-2.0-OpenSSH_9.6\r\n"),
    "cl_and_te": reply(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n"
    ),
    "bad_chunk_size": reply(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
    ),
    "oversized_header_block": reply(b"HTTP/1.1 200 OK\r\n" + HEADERS + b"\r\n"),
    "endless_header_value": reply(b"HTTP/1.1 200 OK\r\nX-Endless: " + b"z" * 2_000_000),
    "short_body_then_close": short_body,
    "reset_mid_body": reset_mid_body,
    "never_answers": never_answers,
}


class HostilePod:
    """A raw server running ``behaviour`` after each request head; counts its accepts."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.accepts = 0
        self.gone: list[asyncio.Event] = []  # per connection: the gateway closed it
        self.server: asyncio.Server | None = None

    async def start(self) -> tuple[str, int]:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return ("127.0.0.1", self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepts += 1
        gone = asyncio.Event()
        self.gone.append(gone)
        try:
            await reader.readuntil(b"\r\n\r\n")
            await self.behaviour(reader, writer)
            await reader.read()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            gone.set()
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


class Response:
    def __init__(self) -> None:
        self.status = 0
        self.body = b""
        self.complete = False
        self.parser: HttpResponseParser | None = None

    def on_headers_complete(self) -> None:
        assert self.parser is not None
        self.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete = True


async def read_response(reader: asyncio.StreamReader) -> tuple[Response, bytes]:
    """One response, or as much as came before the gateway closed; 15 s max (a hang)."""
    resp = Response()
    parser = resp.parser = HttpResponseParser(resp)
    raw = b""
    async with asyncio.timeout(15):
        while not resp.complete:
            data = await reader.read(65536)
            if not data:
                break
            raw += data
            try:
                parser.feed_data(data)
            except HttpParserError as exc:
                raise AssertionError(
                    f"the gateway sent a corrupted response: {raw[:300]!r}"
                ) from exc
    return resp, raw


def request(host: str, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


@pytest.fixture
async def setup(
    upstream: Upstream,
) -> AsyncIterator[Callable[[Behaviour], Awaitable[tuple[Gateway, HostilePod]]]]:
    started: list[tuple[Gateway, HostilePod]] = []

    async def make(behaviour: Behaviour) -> tuple[Gateway, HostilePod]:
        pod = HostilePod(behaviour)
        address = await pod.start()
        gw = Gateway(host="127.0.0.1", port=0)
        await gw.start()
        gw.set_revision(
            "default/bad-00001",
            [address],
            RevisionSettings(timeout_seconds=30, response_start_timeout_seconds=1.0),
        )
        gw.set_revision("default/good-00001", [upstream.address], RevisionSettings(30))
        gw.set_routes({BAD: [("default/bad-00001", 100)], GOOD: [("default/good-00001", 100)]})
        started.append((gw, pod))
        return gw, pod

    yield make
    for gw, pod in started:
        await gw.stop(grace=1.0)
        await pod.stop()


@pytest.mark.parametrize("case", sorted(CASES))
async def test_hostile_pod(
    case: str, setup: Callable[[Behaviour], Awaitable[tuple[Gateway, HostilePod]]]
) -> None:
    gw, pod = await setup(CASES[case])
    reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
    writer.write(request(BAD, "/first"))
    first, raw = await read_response(reader)
    if first.complete:
        assert first.status in (502, 504), (case, raw[:300])
    else:  # cut: nothing, or a head (the pod's 200) and part of its body, then closed
        assert raw == b"" or raw.startswith(b"HTTP/1.1 200 "), raw[:300]
    # The same client connection: closed, or a clean answer of its own for a second request.
    try:
        writer.write(request(GOOD, "/second"))
        await writer.drain()
        second, raw2 = await read_response(reader)
    except (ConnectionError, BrokenPipeError):
        second, raw2 = Response(), b""
    if raw2:
        assert second.complete and second.status == 200, raw2[:300]
        assert json.loads(second.body)["path"] == "/second"
    writer.close()
    # The pod connection is discarded: the gateway closed it, the next request dials anew.
    async with asyncio.timeout(15):
        await pod.gone[0].wait()
    accepts = pod.accepts
    reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
    writer.write(request(BAD, "/again"))
    await read_response(reader)
    writer.close()
    assert pod.accepts > accepts
    # And the gateway keeps serving.
    reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
    writer.write(request(GOOD, "/after"))
    after, raw = await read_response(reader)
    assert after.complete and after.status == 200, raw[:300]
    writer.close()

"""Fuzz target: client bytes -> gateway.http1.downstream.ClientProtocol -> the forwarded heads.

:func:`check` feeds one input to a fresh client protocol on a fake transport, in pieces
(the first byte picks where the input is cut and what to do with underscored header
names), with a route to a revision whose pod is a pool of pooled upstream connections on
fake transports; each forwarded request gets a canned response so that pipelined requests
go too. Invariants (an ``AssertionError`` otherwise):

- no exception escapes ``data_received``, and the protocol logs no internal error;
- every forwarded head is one valid HTTP/1.1 head (httptools parses it again, strictly):
  every line ends in CRLF with no other CR or LF, one Host, at most one framing
  (Content-Length or Transfer-Encoding: chunked, never both, never twice), and no header
  name with ``_`` unless the mode is ``pass`` (gateway.limits);
- the client gets either nothing yet, or bytes starting with an HTTP/1.1 status line.

Used by ``fuzz/http_head.py`` (atheris) and by tests/test_fuzz_corpora.py (replay).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from httptools import HttpParserError, HttpParserUpgrade, HttpRequestParser

from gateway.context import GatewayContext
from gateway.handling import Handler, RouteTable
from gateway.http1.downstream import ClientProtocol
from gateway.http1.upstream import Endpoint, UpstreamConnection
from gateway.limits import DROP, PASS, ClientLimits
from gateway.settings import RevisionSettings

HOST = "coffee.example.com"
POOL = 6
RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.buffer = bytearray()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.buffer += data

    def writelines(self, parts: Any) -> None:
        for part in parts:
            self.buffer += part

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("10.0.0.7", 5555) if name == "peername" else default


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


_errors = _Errors()
logging.getLogger("gateway").addHandler(_errors)


class _HeadChecker:
    """httptools callbacks that check one forwarded head."""

    def __init__(self) -> None:
        self.names: list[bytes] = []
        self.complete = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.names.append(name.lower())

    def on_headers_complete(self) -> None:
        self.complete = True


def check_forwarded(data: bytes, underscores: bool = False) -> int:
    """Check every head in ``data`` (what one upstream connection got); returns how many."""
    count = 0
    while data:
        end = data.find(b"\r\n\r\n")
        assert end >= 0, f"forwarded bytes without a complete head: {data[:200]!r}"
        head = data[: end + 4]
        for line in head[:-4].split(b"\r\n"):
            assert b"\r" not in line and b"\n" not in line, f"bare CR/LF in {line!r}"
        checker = _HeadChecker()
        parser = HttpRequestParser(checker)
        try:
            parser.feed_data(head)
        except HttpParserUpgrade:
            pass  # an upgrade request, asked for again by the gateway
        except HttpParserError as exc:
            raise AssertionError(f"forwarded head does not parse: {exc}: {head!r}") from exc
        assert checker.complete, head
        names = checker.names
        assert names.count(b"host") == 1, head
        framing = names.count(b"content-length") + names.count(b"transfer-encoding")
        assert framing <= 1, f"two framings: {head!r}"
        if not underscores:
            assert not any(b"_" in n for n in names), f"underscored name forwarded: {head!r}"
        count += 1
        # The rest is this request's body then maybe the next head: only heads are checked.
        break
    return count


async def _run(data: bytes) -> None:
    mode = (data[0] >> 3) % 3 if data else DROP
    ctx = GatewayContext(limits=ClientLimits(underscores_in_headers=mode))
    ctx.routes = RouteTable({HOST: [("default/r", 100)]})
    endpoint = Endpoint(("127.0.0.1", 9))
    pool: list[tuple[UpstreamConnection, FakeTransport]] = []
    for _ in range(POOL):
        transport = FakeTransport()
        conn = UpstreamConnection(endpoint)
        conn.connection_made(transport)
        endpoint.idle.append(conn)
        pool.append((conn, transport))
    ctx.configure_revision("default/r", [endpoint], RevisionSettings(30.0))
    client = FakeTransport()
    proto = ClientProtocol(ctx, Handler(ctx))
    proto.connection_made(client)
    cut = data[0] % 8 if data else 0
    body = data[1:]
    pieces = [body] if cut == 0 else [body[i : i + cut * 7] for i in range(0, len(body), cut * 7)]
    answered: set[int] = set()
    for piece in pieces:
        if client.closed:
            break
        proto.data_received(piece)
        for i, (conn, transport) in enumerate(pool):
            if transport.buffer and i not in answered and conn.sink is not None:
                answered.add(i)
                conn.data_received(RESPONSE)
    for _conn, transport in pool:
        if transport.buffer:
            check_forwarded(bytes(transport.buffer), underscores=mode == PASS)
    reply = bytes(client.buffer)
    assert not reply or reply.startswith(b"HTTP/1.1 "), reply[:100]
    proto.connection_lost(None)
    ctx.deadlines.close()


_loop: asyncio.AbstractEventLoop | None = None


def check(data: bytes) -> None:
    """Run one input through the client protocol; AssertionError on a broken invariant."""
    global _loop
    if _loop is None:
        _loop = asyncio.new_event_loop()
    _errors.records.clear()
    _loop.run_until_complete(_run(data))
    for task in asyncio.all_tasks(_loop):
        task.cancel()
    if _errors.records:
        record = _errors.records[0]
        raise AssertionError(f"gateway logged an error: {record.getMessage()}") from (
            record.exc_info[1] if record.exc_info else None
        )

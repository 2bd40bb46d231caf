"""HTTP/1 to the pods: request heads and body framing, keep-alive pools, response parsing.

:func:`request_head` builds the head a request is forwarded with (hop-by-hop headers
dropped, x-forwarded-*, framing), once per request. An :class:`UpstreamConnection` is
bound to one request at a time (its :class:`ResponseSink`, the exchange in
gateway/handling.py), sends it (:meth:`~UpstreamConnection.send`, ``send_body``,
``send_end``: re-chunked when the client sent it chunked) and reports the response to it:
head, body, end, or loss. Idle connections wait in their :class:`Endpoint`'s pool (LIFO).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Protocol, cast

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from gateway.http1.flow_control import set_limits
from gateway.interfaces import UpstreamChannel
from gateway.timekeeping import PodLoad

if TYPE_CHECKING:
    from activator.throttler import Throttler

Address = tuple[str, int]

MAX_IDLE = 64  # idle pooled connections kept per endpoint
# A response head (status line, interim heads, header block) past this many bytes: 502 and
# the connection is dropped (nginx: "upstream sent too big header"), not buffered on.
MAX_RESPONSE_HEAD_BYTES = 64 * 1024

# Trailer fields of a chunked response not passed on (framing, routing; RFC 9110 6.5.1),
# besides RESPONSE_SPECIAL (never recorded), and at most MAX_TRAILERS fields.
TRAILERS_DROPPED = frozenset({b"content-length", b"host", b"content-type", b"content-encoding"})
MAX_TRAILERS = 100

# Response headers never copied to the client as-is.
RESPONSE_SPECIAL = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)

# Connection tokens that do not name another header.
_PLAIN_TOKENS = frozenset({b"close", b"keep-alive", b"upgrade", b""})

LAST_CHUNK = b"0\r\n\r\n"


def connection_tokens(value: bytes | None) -> frozenset[bytes]:
    """Header names listed in a Connection header (beyond close/keep-alive/upgrade)."""
    if not value:
        return frozenset()
    tokens = frozenset(t.strip().lower() for t in value.split(b","))
    return tokens - _PLAIN_TOKENS


def drop_named(lines: list[bytes], names: frozenset[bytes]) -> list[bytes]:
    """Remove ``name: value\\r\\n`` lines whose (lower-cased) name is in ``names``."""
    return [line for line in lines if line.split(b":", 1)[0].lower() not in names]


def request_head(
    method: bytes,
    url: bytes,
    host: bytes,
    lines: list[bytes],
    conn: bytes | None,
    forwarded: bytes,
    upgrade: bytes | None,
    chunked: bool,
    length: bytes | None,
) -> bytes:
    """The upstream request head (positional arguments: the per-request path).

    ``lines`` are the client's ``name: value\r\n`` lines that the client protocol did not
    keep aside (gateway.http1.downstream.REQUEST_SPECIAL); ``conn`` what Connection said
    (the headers it names are dropped); ``forwarded`` the x-forwarded-for line up to and
    including ``FORWARDED_REST``. With ``upgrade`` (the Upgrade value) it asks for that
    upgrade.
    """
    parts = [method, b" ", url, b" HTTP/1.1\r\nHost: ", host, b"\r\n"]
    if conn is not None:
        named = connection_tokens(conn)
        if named:
            lines = drop_named(lines, named)
    parts += lines
    parts += (forwarded, host)
    if upgrade is not None:
        parts += (b"\r\nconnection: upgrade\r\nupgrade: ", upgrade, b"\r\n")
    else:
        parts.append(b"\r\n")
    if chunked:
        parts.append(b"transfer-encoding: chunked\r\n\r\n")
    elif length is not None:
        parts.append(b"content-length: %s\r\n\r\n" % length.strip())
    else:
        parts.append(b"\r\n")
    return b"".join(parts)


def chunk(data: bytes) -> list[bytes]:
    """One chunk of chunked transfer coding, as parts for ``writelines``."""
    return [b"%x\r\n" % len(data), data, b"\r\n"]


def interim_head(status: int, reason: bytes, lines: list[bytes], upgrade: bytes | None) -> bytes:
    """A 1xx (or 101) head from gathered ``lines`` (see :class:`UpstreamConnection`)."""
    lines[0] = b"HTTP/1.1 %d %s\r\n" % (status, reason)
    if status == 101 and upgrade is not None:
        lines.append(b"connection: upgrade\r\nupgrade: %s\r\n" % upgrade)
    lines.append(b"\r\n")
    return b"".join(lines)


class BodySink(Protocol):
    """Where response body bytes go (the client side, gateway.handling.Downstream)."""

    def response_body(self, data: bytes) -> None: ...


class ResponseSink(Protocol):
    """What an upstream connection reports to while bound to a request."""

    head_request: bool

    @property
    def down(self) -> BodySink:
        """Gets the body bytes directly."""

    def response_head(
        self,
        status: int,
        reason: bytes,
        lines: list[bytes],
        has_length: bool,
        chunked: bool,
        conn: bytes | None,
        upgrade: bytes | None,
    ) -> None: ...

    def response_interim(self, head: bytes) -> None: ...

    def response_trailers(self, fields: list[tuple[bytes, bytes]]) -> None: ...

    def flush(self) -> None: ...

    def response_end(self, reusable: bool) -> None: ...

    def upstream_upgraded(self, rest: bytes) -> None: ...

    def upstream_lost(self, got_bytes: bool) -> None: ...

    def upstream_paused(self) -> None: ...

    def upstream_resumed(self) -> None: ...


class Endpoint(PodLoad):
    """One pod: in-flight count and load (PodLoad), idle connection pool, drain waiters."""

    __slots__ = ("_drain_waiters", "address", "idle", "retired", "throttler")

    def __init__(self, address: Address) -> None:
        super().__init__(f"{address[0]}:{address[1]}")
        self.address = address
        self.idle: list[UpstreamConnection] = []
        self.retired = False
        self.throttler: Throttler[Endpoint] | None = None  # its revision's, for freed slots
        self._drain_waiters: list[asyncio.Future[None]] = []

    def take_idle(self) -> UpstreamChannel | None:
        """The most recently used live idle connection, if any (LIFO)."""
        idle = self.idle
        while idle:
            conn = idle.pop()
            if not conn.closed:
                conn.reused = True
                return conn
        return None

    def put_idle(self, conn: UpstreamChannel) -> None:
        if self.retired or conn.closed or len(self.idle) >= MAX_IDLE:
            conn.close()
        else:
            self.idle.append(conn)  # type: ignore[arg-type]  # an HTTP/1 endpoint's own

    def forget_idle(self, conn: UpstreamConnection) -> None:
        with contextlib.suppress(ValueError):
            self.idle.remove(conn)

    def done(self, now: float) -> None:
        """A request on this endpoint finished: its slot goes to a queued request, if any."""
        self.add(-1, now)
        if self.in_flight == 0 and self._drain_waiters:
            waiters, self._drain_waiters = self._drain_waiters, []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)
        throttler = self.throttler
        if throttler is not None and throttler.waiting:
            throttler.dispatch()

    def close_idle(self) -> None:
        idle, self.idle = self.idle, []
        for conn in idle:
            conn.close()

    async def drain(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until nothing is in flight (or timeout), then close pooled connections."""
        drained = True
        if self.in_flight > 0:
            fut = asyncio.get_running_loop().create_future()
            self._drain_waiters.append(fut)
            try:
                async with asyncio.timeout(timeout):
                    await fut
            except TimeoutError:
                drained = False
        self.close_idle()
        return drained

    async def connect(self) -> UpstreamChannel:
        loop = asyncio.get_running_loop()
        host, port = self.address
        _, conn = await loop.create_connection(lambda: UpstreamConnection(self), host, port)
        return conn


class UpstreamConnection(asyncio.Protocol):
    """One HTTP/1.1 connection to a pod; parses responses with httptools."""

    __slots__ = (
        "_chunked",
        "_conn",
        "_dirty",
        "_has_length",
        "_head_done",
        "_head_size",
        "_interim",
        "_lines",
        "_reason",
        "_send_chunked",
        "_upgrade",
        "closed",
        "endpoint",
        "got_bytes",
        "parser",
        "reused",
        "sink",
        "transport",
    )

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.transport: asyncio.Transport | None = None
        self.parser = HttpResponseParser(self)
        self.sink: ResponseSink | None = None
        self.reused = False
        self.got_bytes = False
        self.closed = False
        self._reason = b""
        self._send_chunked = False  # the bound request's body is re-chunked
        self._reset_head()
        self._interim = False
        self._head_done = False
        self._head_size = 0  # bytes of the response head so far; -1 once it is complete
        self._dirty = False

    def _reset_head(self) -> None:
        # The response head being parsed: a slot for the status line, then four parts per
        # header copied through; hop-by-hop and framing headers noted on the side.
        self._lines: list[bytes] = [b""]
        self._has_length = False
        self._chunked = False
        self._conn: bytes | None = None
        self._upgrade: bytes | None = None

    # -- binding ---------------------------------------------------------------
    def bind(self, sink: ResponseSink) -> None:
        self.sink = sink
        self.got_bytes = False
        self._head_size = 0
        if len(self._lines) > 1:
            self._reset_head()

    def send(self, head: bytes, body: list[bytes], chunked: bool, end: bool) -> None:
        """Write the bound request's head, the body data so far and, with ``end``, its end.

        ``chunked``: the body goes as chunked transfer coding (as the client sent it).
        """
        self._send_chunked = chunked
        transport = self.transport
        assert transport is not None
        if chunked:
            parts = [head]
            for data in body:
                parts += chunk(data)
            if end:
                parts.append(LAST_CHUNK)
            transport.writelines(parts)
        elif body:
            transport.writelines([head, *body])
        else:
            transport.write(head)

    def send_body(self, data: bytes) -> None:
        """More request body data (after :meth:`send`)."""
        transport = self.transport
        if transport is not None:
            if self._send_chunked:
                transport.writelines(chunk(data))
            else:
                transport.write(data)

    def send_end(self) -> None:
        """The request body ended (after :meth:`send`)."""
        if self._send_chunked and self.transport is not None:
            self.transport.write(LAST_CHUNK)

    def pause_reading(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()

    def release(self, reusable: bool) -> None:
        """Unbind from the request; pool the connection or close it."""
        self.sink = None
        transport = self.transport
        if not reusable or self._dirty or transport is None or transport.is_closing():
            self.close()
            return
        transport.resume_reading()
        self.endpoint.put_idle(self)

    def close(self) -> None:
        self.closed = True
        self.sink = None
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        self.sink = None
        if self.transport is not None:
            self.transport.abort()

    # -- asyncio.Protocol ------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        set_limits(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        sink = self.sink
        if sink is not None:
            self.sink = None
            sink.upstream_lost(self.got_bytes)
        else:
            self.endpoint.forget_idle(self)

    def data_received(self, data: bytes) -> None:
        sink = self.sink
        if sink is None:  # unsolicited bytes on an idle connection
            self.close()
            return
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except HttpParserUpgrade as upgrade:
            self.sink = None
            sink.upstream_upgraded(data[upgrade.args[0] :])
            return
        except HttpParserError:
            self.sink = None
            self.close()
            sink.flush()
            sink.upstream_lost(True)
            return
        if self._head_size >= 0:  # the head is still incomplete after this read
            self._head_size += len(data)
            if self._head_size > MAX_RESPONSE_HEAD_BYTES:  # give up on it
                self.sink = None
                self.close()
                sink.upstream_lost(True)
                return
        if self.sink is sink:  # else it ended (and flushed) during feed_data
            sink.flush()
        if self._head_done:  # response to HEAD: the parser cannot know it has no body
            self._head_done = False
            self.parser = HttpResponseParser(self)
            if self.sink is sink:
                sink.response_end(not self._dirty)

    def pause_writing(self) -> None:
        if self.sink is not None:
            self.sink.upstream_paused()

    def resume_writing(self) -> None:
        if self.sink is not None:
            self.sink.upstream_resumed()

    # -- httptools callbacks ---------------------------------------------------
    def on_status(self, status: bytes) -> None:
        self._reason = status

    def on_header(self, name: bytes, value: bytes) -> None:
        lname = name.lower()
        if lname in RESPONSE_SPECIAL:
            if lname == b"transfer-encoding":
                self._chunked = True
            elif lname == b"connection":
                self._conn = value if self._conn is None else self._conn + b"," + value
            elif lname == b"upgrade":
                self._upgrade = value
            return
        if lname == b"content-length":
            self._has_length = True
        self._lines += (name, b": ", value, b"\r\n")

    def on_headers_complete(self) -> None:
        sink = self.sink
        lines = self._lines
        has_length, chunked, conn, upgrade = (
            self._has_length,
            self._chunked,
            self._conn,
            self._upgrade,
        )
        self._reset_head()
        if sink is None:
            self._dirty = True
            return
        status = self.parser.get_status_code()
        if status < 200 and status != 101:
            self._interim = True
            sink.response_interim(interim_head(status, self._reason, lines, upgrade))
            return
        self._head_size = -1
        if sink.head_request:
            self._head_done = True
        sink.response_head(status, self._reason, lines, has_length, chunked, conn, upgrade)

    def on_body(self, body: bytes) -> None:
        if self._head_done or self.sink is None:
            self._dirty = True
            return
        self.sink.down.response_body(body)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        sink = self.sink
        if self._head_done or sink is None or self.parser.should_upgrade():
            return
        if len(self._lines) > 1:  # trailer fields of a chunked body (parsed as headers)
            self._trailers(sink)
        sink.response_end(self.parser.should_keep_alive())

    def _trailers(self, sink: ResponseSink) -> None:
        lines = self._lines
        self._reset_head()
        fields = []
        for i in range(1, min(len(lines), 4 * MAX_TRAILERS), 4):
            name = lines[i].lower()
            if name not in TRAILERS_DROPPED:
                fields.append((name, lines[i + 2]))
        if fields:
            sink.response_trailers(fields)

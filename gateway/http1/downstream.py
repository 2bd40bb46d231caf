"""The client side of HTTP/1.1: one connection, its parser, its read gate, its responses.

:class:`ClientProtocol` is the asyncio protocol of an accepted connection and the
httptools callback object of its request parser. A request head is validated and routed
in ``on_headers_complete``, rewritten for the upstream
(:func:`gateway.http1.upstream.request_head`) and opened as an exchange on the
protocol-independent :class:`~gateway.interfaces.Handling`; the exchange calls back the
:class:`~gateway.interfaces.Downstream` methods here with the response, whose head for
the client :func:`response_head` builds. One request is proxied at a time; pipelined ones
wait their turn, with reading paused (:class:`ReadGate`). After a response the
connection serves the next request (keep-alive) or closes. A W3C ``traceparent`` goes to
the pod as the client sent it; a request without one gets a fresh one.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from httptools import (
    HttpParserCallbackError,
    HttpParserError,
    HttpParserUpgrade,
    HttpRequestParser,
)

from gateway import errors
from gateway.http1.flow_control import set_limits
from gateway.http1.tunnel import splice
from gateway.http1.upstream import LAST_CHUNK, connection_tokens, interim_head, request_head
from gateway.interfaces import Handling, Refused, Ticket
from gateway.limits import PASS, REJECT

if TYPE_CHECKING:
    from gateway.context import GatewayContext

logger = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024  # request line + header block
MAX_HEADERS = 100
# A request waiting behind the one in flight: its ticket, head_request, http10, keep_alive.
Queued = tuple[Ticket, bool, bool, bool]

# Request headers the client protocol handles itself instead of copying through.
REQUEST_SPECIAL = frozenset(
    {
        b"host",
        b"content-length",
        b"transfer-encoding",
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"upgrade",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"traceparent",
    }
)

# A traceparent line for a request that came without one (see TraceIds).
TRACE_TEMPLATE = b"traceparent: 00-" + b"0" * 32 + b"-" + b"0" * 16 + b"-01\r\n"
TRACE_SIZE = len(TRACE_TEMPLATE)
TRACE_COLUMNS = [16 + j if j < 32 else 17 + j for j in range(48)]  # where the hex digits go

# After the client address in x-forwarded-for, before the Host value.
FORWARDED_REST = b"\r\nx-forwarded-proto: http\r\nx-forwarded-host: "
FORWARDED_REST_TLS = b"\r\nx-forwarded-proto: https\r\nx-forwarded-host: "

# Response framing towards the client.
FRAME_NONE = 0  # no body (HEAD, 1xx, 204, 304)
FRAME_LENGTH = 1  # upstream's Content-Length passed through
FRAME_CHUNKED = 2  # body re-encoded as chunked
FRAME_CLOSE = 3  # body delimited by closing the client connection

# Reasons to pause reading (bit flags, see ReadGate).
PEER_BUSY = 1  # the transport we forward to has a full write buffer
PIPELINE = 2  # a request is waiting behind the one in flight
WAITING = 4  # the request is held or connecting
UPGRADE = 8  # an upgrade request awaits the upstream's answer


class TraceIds:
    """Fresh W3C ``traceparent`` header lines, made 1024 at a time (a slice per request).

    ``00-<trace-id>-<parent-id>-01``: version 00, sampled, ids from ``os.urandom`` (an
    all-zero id, which the spec forbids, has a chance of 2**-128). Filling the columns of a
    template with extended-slice assignments keeps the per-line work in C; a request takes
    the next :data:`TRACE_SIZE` bytes of ``buf`` (:meth:`take`).
    """

    __slots__ = ("buf", "end", "pos")

    LINES = 1024
    TEMPLATE = TRACE_TEMPLATE * LINES

    def __init__(self) -> None:
        self.buf = b""
        self.pos = self.end = 0

    def refill(self) -> None:
        hexed = os.urandom(24 * self.LINES).hex().encode()
        out = bytearray(self.TEMPLATE)
        for j, column in enumerate(TRACE_COLUMNS):
            out[column::TRACE_SIZE] = hexed[j::48]
        self.buf = bytes(out)
        self.pos, self.end = 0, len(self.buf)

    def take(self) -> bytes:
        """The next line (HTTP/2 streams; HTTP/1's ``on_headers_complete`` does it inline)."""
        if self.pos >= self.end:
            self.refill()
        pos = self.pos
        self.pos = pos + TRACE_SIZE
        return self.buf[pos : pos + TRACE_SIZE]


def response_head(
    status: int,
    reason: bytes,
    lines: list[bytes],
    has_length: bool,
    chunked: bool,
    conn: bytes | None,
    head_request: bool,
    http10: bool,
    keep_alive: bool,
) -> tuple[bytes, int, bool, bool]:
    """Build the response head for the client (positional arguments: the per-request path).

    ``lines`` is what :class:`gateway.http1.upstream.UpstreamConnection` gathered: a slot for the
    status line, then ``name, b": ", value, b"\r\n"`` for every header that is not
    hop-by-hop; ``has_length``/``chunked``/``conn`` say whether Content-Length and
    Transfer-Encoding came and what Connection said. Consumes ``lines``.

    Returns ``(head, framing, keep_alive, eof_ends)``: the bytes to write, a FRAME_*
    constant for the body, whether the client connection may stay open afterwards, and
    whether the upstream delimits the body by closing its connection.
    """
    lines[0] = b"HTTP/1.1 %d %s\r\n" % (status, reason)
    if conn is not None:
        named = connection_tokens(conn)
        if named:
            lines = drop_named_parts(lines, named)
    eof_ends = False
    if head_request or status < 200 or status == 204 or status == 304:
        framing = FRAME_NONE
    elif chunked:
        framing = FRAME_CLOSE if http10 else FRAME_CHUNKED
    elif has_length:
        framing = FRAME_LENGTH
    else:
        eof_ends = True
        framing = FRAME_CLOSE if http10 else FRAME_CHUNKED
    if framing == FRAME_CHUNKED:
        lines.append(b"transfer-encoding: chunked\r\n")
    elif framing == FRAME_CLOSE:
        keep_alive = False
    if not keep_alive:
        lines.append(b"connection: close\r\n\r\n")
    elif http10:
        lines.append(b"connection: keep-alive\r\n\r\n")
    else:
        lines.append(b"\r\n")
    return b"".join(lines), framing, keep_alive, eof_ends


def drop_named_parts(lines: list[bytes], names: frozenset[bytes]) -> list[bytes]:
    """``lines`` (status slot + 4 parts per header) without the headers named in ``names``."""
    out = [lines[0]]
    for i in range(1, len(lines), 4):
        if lines[i].lower() not in names:
            out += lines[i : i + 4]
    return out


class ReadGate:
    """Pause/resume reading on a transport, tracking independent reasons as bits.

    A client connection's reading can be paused for several reasons at once (the
    upstream's write buffer is full, a pipelined request is waiting, the request is held
    or connecting, an upgrade awaits its answer); it resumes only when the last is cleared.
    """

    __slots__ = ("_reasons", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._reasons = 0  # bits of the reasons reading is paused for; 0: reading

    @property
    def paused(self) -> bool:
        return self._reasons != 0

    def pause(self, reason: int) -> None:
        if not self._reasons and not self._transport.is_closing():
            self._transport.pause_reading()
        self._reasons |= reason

    def resume(self, reason: int) -> None:
        if self._reasons & reason:
            self._reasons &= ~reason
            if not self._reasons and not self._transport.is_closing():
                self._transport.resume_reading()

    def release_all(self) -> None:
        """Forget every reason and resume reading (used when handing over the transport)."""
        if self._reasons:
            self._reasons = 0
            if not self._transport.is_closing():
                self._transport.resume_reading()


class Stop(Exception):
    """Raised from a parser callback to stop parsing input we no longer care about."""


class ClientProtocol(asyncio.Protocol):
    """One client connection; one request proxied at a time, pipelined ones queued."""

    __slots__ = (
        "_conn",
        "_count",
        "_deferred",
        "_early",
        "_framing",
        "_head_bytes",
        "_head_request",
        "_host",
        "_http10",
        "_ignore_input",
        "_in_head",
        "_keep_alive",
        "_length",
        "_lines",
        "_out",
        "_parsing",
        "_queue",
        "_rest",
        "_size",
        "_te",
        "_trace",
        "_upgrade",
        "_upgrading",
        "_url",
        "_xff",
        "active",
        "client_ip",
        "closed",
        "ctx",
        "forwarded",
        "gate",
        "handling",
        "parser",
        "read_tick",
        "sent",
        "transport",
        "write_paused",
    )

    def __init__(self, ctx: GatewayContext, handling: Handling) -> None:
        self.ctx = ctx
        self.handling = handling
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # connection_made
        self.gate: ReadGate = None  # type: ignore[assignment]  # connection_made
        self.parser = HttpRequestParser(self)
        self.client_ip = b"unknown"
        self._rest = FORWARDED_REST
        self.forwarded = b"x-forwarded-for: unknown" + FORWARDED_REST
        self.write_paused = False
        self.sent = 0
        self.closed = False
        self.active: Ticket | None = None  # the request being proxied
        self._queue: deque[Queued] = deque()
        self._parsing: Ticket | None = None  # the request whose body is being read
        self._upgrading = False  # an upgrade request waits for the upstream's answer
        self._early: list[bytes] = []  # client bytes sent after an upgrade request
        self._deferred: bytes | None = None  # error to send once the active one is done
        self._ignore_input = False
        self._in_head = True
        self._head_bytes = 0
        self.read_tick = 0  # sweep tick of the last read while a body is being read
        # The active request's response: what the request asked, how the body is framed.
        self._head_request = self._http10 = False
        self._keep_alive = True
        self._framing = 0
        self._out: list[bytes] = []  # response bytes for the client, written in one go
        self._reset_head()

    def _reset_head(self) -> None:
        self._url = b""
        self._lines: list[bytes] = []
        self._host: bytes | None = None
        self._length: bytes | None = None
        self._te: bytes | None = None
        self._conn: bytes | None = None
        self._upgrade: bytes | None = None
        self._xff: bytes | None = None
        self._trace = False  # the client sent a traceparent
        self._count = 0
        self._size = 0

    # -- asyncio.Protocol ------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        set_limits(self.transport)
        self.gate = ReadGate(self.transport)
        if transport.get_extra_info("ssl_object") is not None:
            self._rest = FORWARDED_REST_TLS
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and peer:
            self.client_ip = str(peer[0]).encode("latin-1")
        self.forwarded = b"x-forwarded-for: " + self.client_ip + self._rest
        ctx = self.ctx
        if len(ctx.connections) >= ctx.max_connections:
            ctx.shed()  # descriptors run short: the oldest connection without a request goes
        ctx.connections.add(self)
        ctx.heads[self] = ctx.idle_tick  # the header timeout runs from accept

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        active, self.active = self.active, None
        if active is not None:
            active.abort()
        self._queue.clear()
        self.ctx.connection_closed(self)

    def data_received(self, data: bytes) -> None:
        if self._ignore_input:
            return
        if self._upgrading:
            self._early.append(data)
            return
        if self._in_head:
            self._head_bytes += len(data)
        elif self._parsing is not None:
            self.read_tick = self.ctx.idle_tick  # a body is coming: not idle
            self._head_bytes += len(data)  # chunk framing and trailers: reset by on_body
        try:
            self.parser.feed_data(data)
        except HttpParserUpgrade as upgrade:
            rest = data[upgrade.args[0] :]
            if self._upgrading and rest:
                self._early.append(rest)
        except HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, Refused):
                self.reject(cause.response)
            elif not isinstance(cause, Stop):
                logger.error("gateway: error handling a request", exc_info=cause)
                self.reject(errors.BAD_GATEWAY)
        except HttpParserError:
            if data.startswith(b"PRI * HTTP/2.0") and self.active is None and not self._queue:
                from gateway.http2.negotiation import take_over  # prior-knowledge HTTP/2

                take_over(self, data)
                return
            self.reject(errors.BAD_REQUEST)
        else:
            if self._head_bytes:  # part of a head (or of trailers) is buffered
                if self._head_bytes > MAX_HEADER_BYTES:
                    self.reject(errors.HEADERS_TOO_LARGE)
                    return
                heads = self.ctx.heads
                if self._in_head and self not in heads:  # first bytes after keep-alive:
                    self.ctx.idle.pop(self, None)  # the header timeout runs
                    heads[self] = self.ctx.idle_tick

    def pause_writing(self) -> None:
        self.write_paused = True
        if self.active is not None:
            self.active.pause_upstream()

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.active is not None:
            self.active.resume_upstream()

    # -- httptools callbacks ---------------------------------------------------
    # No on_message_begin (one call from C less per request): the head fields are reset
    # when the previous message completes (and at connection start), and on_url, the first
    # callback of every request, stops parsing input we no longer care about.
    def on_url(self, url: bytes) -> None:
        if self._ignore_input:
            raise Stop
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._in_head:
            return  # chunked trailer fields: dropped
        self._count += 1
        self._size += len(name) + len(value) + 4
        if self._count > MAX_HEADERS or self._size > MAX_HEADER_BYTES:
            raise Refused(errors.HEADERS_TOO_LARGE)
        lname = name.lower()
        if lname not in REQUEST_SPECIAL:
            if b"_" in name:  # see gateway.limits: read as "-" by many app servers
                mode = self.ctx.underscores
                if mode == REJECT:
                    raise Refused(errors.BAD_REQUEST)
                if mode != PASS:
                    return
            self._lines.append(b"%s: %s\r\n" % (name, value))
        elif lname == b"host":
            if self._host is not None:
                raise Refused(errors.BAD_REQUEST)
            self._host = value
        elif lname == b"content-length":
            self._length = value
        elif lname == b"transfer-encoding":
            self._te = value
        elif lname == b"connection":
            self._conn = value if self._conn is None else self._conn + b"," + value
        elif lname == b"upgrade":
            self._upgrade = value
        elif lname == b"x-forwarded-for":
            self._xff = value if self._xff is None else self._xff + b", " + value
        elif lname == b"traceparent":
            self._trace = True
            self._lines.append(b"%s: %s\r\n" % (name, value))  # propagated as received

    def on_headers_complete(self) -> None:
        """Validate and route the head, open its exchange and start it (or queue it)."""
        self._in_head = False
        self._head_bytes = 0
        ctx = self.ctx
        if ctx.idle.pop(self, None) is None:  # kept alive and whole at once: the usual case
            ctx.heads.pop(self, None)
        parser = self.parser
        version = parser.get_http_version()
        if version != "1.1" and version != "1.0":
            raise Refused(errors.VERSION_NOT_SUPPORTED)
        host = self._host
        if not host:
            raise Refused(errors.MISSING_HOST)
        method = parser.get_method()
        if method == b"CONNECT":
            raise Refused(errors.METHOD_NOT_ALLOWED)
        te = self._te
        if te is not None and (version != "1.1" or te.strip().lower() != b"chunked"):
            raise Refused(errors.BAD_REQUEST)
        chunked = te is not None
        upgrade = self._upgrade if self._upgrade is not None and parser.should_upgrade() else None
        if upgrade is not None and upgrade.strip().lower() == b"h2c":
            if self.active is None and te is None and not (self._length or b"0").strip(b"0 "):
                from gateway.http2.negotiation import upgrade_h2c

                if upgrade_h2c(self, method, self._url, host, self._lines, self._conn, self._xff):
                    raise Stop  # the connection is HTTP/2 now
            upgrade = None  # served as HTTP/1.1
        ex = self.handling.open(self, host, chunked, upgrade is not None, self._url)
        xff = self._xff
        forwarded = (
            b"x-forwarded-for: " + xff + b", " + self.client_ip + self._rest
            if xff
            else self.forwarded
        )
        url, lines, length = self._url, self._lines, self._length
        if chunked or length is not None:
            self.read_tick = ctx.idle_tick
            ctx.bodies.add(self)  # the body idle timeout runs (see gateway.limits)
        if not self._trace:  # the next line of the context's TraceIds
            ids = ctx.trace_ids
            pos = ids.pos
            if pos >= ids.end:
                ids.refill()
                pos = 0
            ids.pos = pos + TRACE_SIZE
            lines.append(ids.buf[pos : pos + TRACE_SIZE])
        if ctx.request_log is not None:
            ex.log_head = (host, method, url)
        ex.head = request_head(
            method, url, host, lines, self._conn, forwarded, upgrade, chunked, length
        )
        self._parsing = ex
        head_request = ex.head_request = method == b"HEAD"
        keep_alive = parser.should_keep_alive() and upgrade is None
        if upgrade is not None:
            self._upgrading = True
            self.gate.pause(UPGRADE)
        if self.active is None:
            self._activate(ex, head_request, version == "1.0", keep_alive)
        else:
            self._queue.append((ex, head_request, version == "1.0", keep_alive))
            self.gate.pause(PIPELINE)

    def on_body(self, body: bytes) -> None:
        self._head_bytes = 0
        ex = self._parsing
        if ex is not None:
            ex.request_body(body)

    def on_message_complete(self) -> None:
        ex, self._parsing = self._parsing, None
        self._in_head = True
        self._head_bytes = 0
        if self._length is not None or self._te is not None:
            self.ctx.bodies.discard(self)
        self._reset_head()  # for the next request on this connection
        if ex is not None:
            if ex is self.active:
                self.gate.resume(WAITING)  # read whole: see the client leave (hold())
            ex.request_end()

    # -- the active exchange ---------------------------------------------------
    def _activate(self, ex: Ticket, head_request: bool, http10: bool, keep_alive: bool) -> None:
        self.active = ex
        self._head_request = head_request
        self._http10 = http10
        self._keep_alive = keep_alive
        self._framing = 0
        self.sent = 0
        ex.start()

    def hold(self) -> None:
        # Only while its body is still coming (no more of it until a pod takes it). A
        # request read whole keeps the connection read: a client that gives up waiting
        # is seen leaving (EOF: aborted, 499) rather than held until the deadline and
        # counted as demand; pipelined requests still pause reading (PIPELINE).
        if self._parsing is self.active:
            self.gate.pause(WAITING)

    def unhold(self) -> None:
        self.gate.resume(WAITING)

    def peer_busy(self) -> None:
        self.gate.pause(PEER_BUSY)

    def peer_ready(self) -> None:
        self.gate.resume(PEER_BUSY)

    def response_interim(self, head: bytes) -> None:
        self.transport.write(head)

    def response_head(
        self,
        status: int,
        reason: bytes,
        lines: list[bytes],
        has_length: bool,
        chunked: bool,
        conn: bytes | None,
        upgrade: bytes | None,
    ) -> bool:
        if status == 101:
            self.transport.write(interim_head(status, reason, lines, upgrade))
            return False
        head, self._framing, self._keep_alive, eof_ends = response_head(
            status,
            reason,
            lines,
            has_length,
            chunked,
            conn,
            self._head_request,
            self._http10,
            self._keep_alive,
        )
        self._out.append(head)  # written with the first body bytes (see flush)
        return eof_ends

    def response_body(self, data: bytes) -> None:
        self.sent += len(data)
        if self._framing == FRAME_CHUNKED:
            self._out += (b"%x\r\n" % len(data), data, b"\r\n")
        else:
            self._out.append(data)

    def response_trailers(self, fields: list[tuple[bytes, bytes]]) -> None:
        """Trailers from an HTTP/2 pod: in the last chunk when the body is chunked."""
        if self._framing == FRAME_CHUNKED:
            self._out += (b"0\r\n", *(b"%s: %s\r\n" % f for f in fields), b"\r\n")
            self._framing = FRAME_NONE  # the last chunk is written

    def flush(self) -> None:
        out = self._out
        if out:
            self._out = []
            if len(out) == 1:
                self.transport.write(out[0])
            else:
                self.transport.writelines(out)

    def exchange_done(self, ex: Ticket, request_done: bool) -> None:
        if self._framing == FRAME_CHUNKED:
            self._out.append(LAST_CHUNK)
        self.flush()
        self.gate.resume(PEER_BUSY)
        self.active = None
        if self.closed:
            return
        if not (self._keep_alive and request_done) or self.ctx.stopping:
            self._send_and_close(None)
            return
        queue = self._queue
        if queue:
            nxt = queue.popleft()
            if not queue and self._deferred is None:
                self.gate.resume(PIPELINE)
            self._activate(*nxt)
        elif self._deferred is not None:
            self._send_and_close(self._deferred)
        else:
            self.gate.resume(PIPELINE)
            ctx = self.ctx
            ctx.idle[self] = ctx.idle_tick  # keep-alive: closed by the sweep if it stays idle

    def exchange_failed(self, ex: Ticket, response: bytes | None) -> None:
        if self.active is ex:
            self.active = None
        self._out = []
        self._queue.clear()
        self._send_and_close(response)

    def start_tunnel(
        self, upstream: asyncio.Transport, rest: bytes, on_close: Callable[[], None]
    ) -> None:
        """The upstream answered 101: hand both transports over to a raw tunnel."""
        self.active = None
        self._upgrading = False
        self._ignore_input = True
        self.closed = True
        ctx = self.ctx
        client = self.transport
        ctx.tunnels.add(client)
        ctx.connections.discard(self)

        def closed() -> None:
            on_close()
            ctx.tunnel_closed(client)

        self.gate.release_all()
        splice(client, upstream, b"".join(self._early), rest, closed)

    # -- bad requests and closing ----------------------------------------------
    def reject(self, response: bytes) -> None:
        """Answer a bad request and close, after any request already in flight."""
        self._ignore_input = True
        parsing, self._parsing = self._parsing, None
        if parsing is not None and not parsing.request_done:
            # Its body is broken: never let it (or anything after it) reach upstream.
            if parsing is self.active:
                parsing.fail(response)
                return
            for queued in self._queue:
                if queued[0] is parsing:
                    self._queue.remove(queued)
                    break
        if self.active is None and not self._queue:
            self._send_and_close(response)
        else:
            self._deferred = response
            self.gate.pause(PIPELINE)

    def _send_and_close(self, response: bytes | None) -> None:
        self._ignore_input = True
        if not self.closed:
            self.closed = True
            if response:
                self.transport.write(response)
            self.transport.close()

    def timed_out(self) -> None:
        """The header timeout (close) or the body timeout (408) passed: gateway.limits."""
        if self._parsing is not None:
            self.reject(errors.REQUEST_TIMEOUT)
        else:
            self._send_and_close(None)

    def shed(self) -> None:
        """Descriptors run short and this connection has no request: close it now."""
        self._ignore_input = True
        self.closed = True
        self.transport.abort()

    def no_request(self) -> bool:
        """Nothing in flight or queued (a request head may be arriving, slowly)."""
        return self.active is None and not self._queue and not self.closed

    def is_idle(self) -> bool:
        """No request in flight or partially received (safe to close on shutdown)."""
        return self.active is None and not self._queue and self._in_head and not self._head_bytes

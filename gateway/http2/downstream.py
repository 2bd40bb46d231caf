"""The client side of HTTP/2: one connection, many streams, each a request like HTTP/1's.

:class:`H2ClientProtocol` drives our own lean codec (gateway/http2/codec.py, with the
bounds of gateway/http2/guard.py) and answers its calls (``h2_request``, ``h2_data``...).
Each request stream is routed by its ``:authority`` (or Host)
through the same :class:`~gateway.interfaces.Handling` as HTTP/1, with the request head
built for the upstream by :func:`gateway.http1.upstream.request_head`; its
:class:`~gateway.http2.streams.H2Stream` is the exchange's ``Downstream``. Entered three
ways (gateway/http2/negotiation.py): prior knowledge on the plain listener (the preface),
``Upgrade: h2c`` from HTTP/1.1 (the request becomes stream 1), and ALPN ``h2`` over TLS.
Shutdown sends GOAWAY and lets the streams in flight finish.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, cast

from gateway import errors
from gateway.http1.downstream import FORWARDED_REST, FORWARDED_REST_TLS
from gateway.http1.flow_control import set_limits
from gateway.http1.upstream import request_head
from gateway.http2.codec import ServerCodec
from gateway.http2.frames import (
    CANCEL,
    ENHANCE_YOUR_CALM,
    INTERNAL_ERROR,
    NO_ERROR,
    REFUSED_STREAM,
    CodecError,
)
from gateway.http2.guard import (
    CONTROL_BUDGET,
    MAX_HEADER_LIST,
    MAX_STREAMS,
    MAX_UNREAD,
    RESET_BUDGET,
    Budget,
)
from gateway.http2.sending import send_queued
from gateway.http2.streams import H2Stream, canned_parts
from gateway.interfaces import Handling, Refused
from gateway.limits import PASS, REJECT

if TYPE_CHECKING:
    from gateway.context import GatewayContext

logger = logging.getLogger(__name__)

CONNECTION_WINDOW = MAX_STREAMS * 65535  # every stream may hold its whole window
Fields = list[tuple[bytes, bytes]]

# Request fields the protocol handles itself instead of copying through.
_SPECIAL = frozenset(
    {
        b"host",
        b"content-length",
        b"te",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"traceparent",
    }
)


class H2ClientProtocol(asyncio.Protocol):
    """One HTTP/2 client connection."""

    def __init__(self, ctx: GatewayContext, handling: Handling) -> None:
        self.ctx = ctx
        self.handling = handling
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # connection_made
        # Outbound fields come from parsed, validated heads (lower-cased, no hop-by-hop);
        # inbound ones are checked by the codec (gateway/http2/fields.py).
        self.h2 = ServerCodec(self, MAX_STREAMS, MAX_HEADER_LIST, CONNECTION_WINDOW)
        self.streams: dict[int, H2Stream] = {}
        self.closed = False
        self.write_paused: bool = False
        self.going_away = False  # GOAWAY sent: no new streams, close when the last ends
        self.resets = Budget(*RESET_BUDGET, ctx.clock)
        self.control = Budget(*CONTROL_BUDGET, ctx.clock)
        self.client_part = self.forwarded = b""
        self.flush_pending = False
        self.loop = asyncio.get_event_loop()

    # -- asyncio.Protocol ------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._setup(transport)
        self.h2.initiate_connection()
        self.flush()

    def upgraded(self, transport: asyncio.BaseTransport, request: Fields) -> None:
        """``Upgrade: h2c`` accepted (``initiate_upgrade_connection`` done): answer 101, then
        serve the request as stream 1."""
        self._setup(transport)
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n"
        )
        self._open(1, request, True)
        self.flush()

    def _setup(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        set_limits(self.transport)
        peer = transport.get_extra_info("peername")
        client_ip = str(peer[0]).encode("latin-1") if isinstance(peer, tuple) and peer else b""
        tls = transport.get_extra_info("ssl_object") is not None
        # After "x-forwarded-for: " and the client's own list, before the Host value.
        self.client_part = (client_ip or b"unknown") + (
            FORWARDED_REST_TLS if tls else FORWARDED_REST
        )
        self.forwarded = b"x-forwarded-for: " + self.client_part  # the client sent none
        ctx = self.ctx
        ctx.connections.add(self)
        ctx.idle[self] = ctx.idle_tick

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        streams, self.streams = self.streams, {}
        for stream in streams.values():
            if stream.ex is not None:
                stream.ex.abort()
        self.ctx.connection_closed(self)

    def pause_writing(self) -> None:
        self.write_paused = True
        for stream in list(self.streams.values()):
            stream.backlog(True)

    def resume_writing(self) -> None:
        self.write_paused = False
        for stream in list(self.streams.values()):
            stream.backlog(False)

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        if not self.h2.receive(data):
            self._close_now()
            return
        if not self.closed:
            self.flush()

    # -- the codec's calls (gateway/http2/codec.py Events) -----------------------
    def h2_request(self, sid: int, fields: Fields, ended: bool) -> None:
        self._open(sid, fields, ended)

    def h2_data(self, sid: int, data: bytes, size: int) -> None:
        stream = self.streams.get(sid)
        if stream is not None:
            stream.received(data, size)
        elif size:
            self.grant(sid, size)

    def h2_end(self, sid: int) -> None:
        stream = self.streams.get(sid)
        if stream is not None and not stream.request_ended:
            stream.request_ended = True
            if stream.ex is not None:
                stream.ex.request_end()
            self._maybe_done(stream)

    def h2_reset(self, sid: int) -> None:
        stream = self.streams.pop(sid, None)
        if stream is not None:
            if stream.ex is not None:
                stream.ex.abort()
            self._stream_gone()
            if not stream.response_done:
                self._reset_seen()

    def h2_refused(self) -> None:
        self._reset_seen()

    def h2_window(self) -> None:
        for stream in list(self.streams.values()):
            if stream.out or (stream.response_done and not stream.end_sent):
                self.pump(stream)

    def h2_control(self) -> None:
        self._control_seen()

    def h2_goaway(self) -> None:
        self.going_away = True
        if not self.streams:
            self._close_now()

    # -- the budgets -----------------------------------------------------------
    def _reset_seen(self) -> None:
        if not self.resets.spend():
            self._calm_down()

    def _control_seen(self) -> None:
        if not self.control.spend() or self.transport.get_write_buffer_size() > MAX_UNREAD:
            self._calm_down()

    def _calm_down(self) -> None:
        """GOAWAY(ENHANCE_YOUR_CALM) and close: the client abuses the protocol."""
        if self.closed:
            return
        self.h2.close_connection(ENHANCE_YOUR_CALM)
        self._close_now()

    def _close_now(self) -> None:
        self.flush()
        self.closed = True
        streams, self.streams = self.streams, {}
        for stream in streams.values():
            if stream.ex is not None:
                stream.ex.abort()
        self.transport.close()

    # -- streams ---------------------------------------------------------------
    def _open(self, sid: int, fields: Fields, ended: object) -> None:
        if self.going_away:
            self.h2.reset_stream(sid, REFUSED_STREAM)
            return
        stream = H2Stream(self, sid)
        method = path = authority = host = length = xff = None
        lines: list[bytes] = []
        cookies: list[bytes] = []
        underscores = self.ctx.underscores
        underscored = traced = False
        for name, value in fields:
            if name[:1] == b":":
                if name == b":method":
                    method = value
                elif name == b":path":
                    path = value
                elif name == b":authority":
                    authority = value
            elif name not in _SPECIAL:
                if b"_" in name and underscores != PASS:  # gateway.limits, as over HTTP/1
                    underscored = underscored or underscores == REJECT
                    continue
                if name == b"cookie":  # split by HTTP/2 clients, one line for HTTP/1 (8.2.3)
                    cookies.append(value)
                else:
                    lines.append(b"%s: %s\r\n" % (name, value))
            elif name == b"host":
                host = value
            elif name == b"content-length":
                length = value
            elif name == b"x-forwarded-for":
                xff = value if xff is None else xff + b", " + value
            elif name == b"traceparent":
                traced = True
                lines.append(b"traceparent: %s\r\n" % value)  # propagated as received
        if cookies:
            lines.append(b"cookie: %s\r\n" % b"; ".join(cookies))
        host = authority or host
        self.streams[sid] = stream
        self.ctx.idle.pop(self, None)
        if not host or method is None or underscored:
            self.fail_stream(stream, errors.MISSING_HOST if not host else errors.BAD_REQUEST)
            return
        if method == b"CONNECT":
            self.fail_stream(stream, errors.METHOD_NOT_ALLOWED)
            return
        chunked = not ended and length is None
        target = path or b"/"
        try:
            ex = self.handling.open(stream, host, chunked, False, target)
        except Refused as refused:
            self.fail_stream(stream, refused.response)
            return
        if not traced:
            lines.append(self.ctx.trace_ids.take())
        forwarded = b"x-forwarded-for: " + xff + b", " + self.client_part if xff else self.forwarded
        ex.head = request_head(method, target, host, lines, None, forwarded, None, chunked, length)
        ex.head_request = method == b"HEAD"
        stream.ex = ex
        if ended:
            stream.request_ended = True
            ex.request_end()
        ex.start()

    def send_head(self, stream: H2Stream, fields: Fields) -> None:
        try:
            self.h2.send_headers(stream.sid, fields)
        except CodecError:
            self.fail_stream(stream, None)

    def pump(self, stream: H2Stream) -> None:
        """Send what the client's window allows of the stream's response (and its end)."""
        if stream.end_sent or stream.sid not in self.streams:
            return
        h2, sid = self.h2, stream.sid
        try:
            # The end goes in the last DATA frame unless trailers follow.
            if send_queued(h2, sid, stream, stream.response_done and not stream.trailers):
                stream.end_sent = True
            if not stream.out and stream.response_done and not stream.end_sent:
                stream.end_sent = True
                if stream.trailers:
                    h2.send_headers(sid, stream.trailers, end_stream=True)
                else:
                    h2.end_stream(sid)
                if not stream.request_ended:  # answered before the body ended (RFC 9113 8.1)
                    h2.reset_stream(sid, NO_ERROR)
                    stream.request_ended = True
        except CodecError:
            self.fail_stream(stream, None)
            return
        stream.backlog(self.write_paused)
        self._maybe_done(stream)

    def fail_stream(self, stream: H2Stream, response: bytes | None) -> None:
        """Answer with a canned error if nothing was sent yet, else reset the stream."""
        if stream.end_sent:
            return
        stream.end_sent = True
        stream.response_done = True
        stream.out.clear()
        if response is not None and not stream.head_sent:
            _, fields, body = canned_parts(response)
            try:
                self.h2.send_headers(stream.sid, fields, end_stream=not body)
                if body:
                    self.h2.send_data(stream.sid, body, end_stream=True)
                if not stream.request_ended:
                    self.h2.reset_stream(stream.sid, NO_ERROR)
            except CodecError:
                self.h2.reset_stream(stream.sid, INTERNAL_ERROR)
        else:
            self.h2.reset_stream(stream.sid, CANCEL)
        stream.request_ended = True
        self._maybe_done(stream)
        self.flush()

    def _maybe_done(self, stream: H2Stream) -> None:
        done = stream.end_sent and stream.request_ended and not stream.out
        if done and self.streams.pop(stream.sid, None) is not None:
            self._stream_gone()

    def _stream_gone(self) -> None:
        if not self.streams:
            if self.going_away or self.ctx.stopping:
                self.flush()
                self.closed = True
                self.transport.close()
            else:
                self.ctx.idle[self] = self.ctx.idle_tick

    def grant(self, sid: int, size: int) -> None:
        self.h2.acknowledge_received_data(size, sid)

    def flush_soon(self) -> None:
        if not self.flush_pending:
            self.flush_pending = True
            self.loop.call_soon(self._flush_now)

    def _flush_now(self) -> None:
        self.flush_pending = False
        self.flush()

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data and not self.transport.is_closing():
            self.transport.write(data)

    # -- shutdown and the idle sweep (gateway/server.py) -------------------------
    def go_away(self) -> None:
        """Graceful GOAWAY: no new streams; the connection closes after the last one."""
        if self.closed or self.going_away:
            return
        self.going_away = True
        self.h2.close_connection(NO_ERROR)
        self.flush()
        if not self.streams:
            self.closed = True
            self.transport.close()

    def no_request(self) -> bool:
        return not self.streams and not self.closed

    def shed(self) -> None:
        """Descriptors run short and no stream is open: GOAWAY and close now."""
        self.h2.close_connection(NO_ERROR)
        self._close_now()

    def is_idle(self) -> bool:
        return not self.streams

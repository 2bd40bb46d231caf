"""HTTP/2 to the pods (h2c with prior knowledge), for revisions whose port is named ``h2c``.

An :class:`H2Endpoint` is an :class:`~gateway.http1.upstream.Endpoint` whose requests go
as streams multiplexed on a few shared :class:`H2UpstreamConnection` s (one while its
streams fit the pod's SETTINGS_MAX_CONCURRENT_STREAMS). Each request gets an
:class:`H2UpstreamStream`, the exchange's ``UpstreamChannel`` (gateway/interfaces.py): it
turns the HTTP/1 request head the client protocol built into HTTP/2 fields, sends the
body within the pod's flow-control window (beyond ``HIGH_WATER`` buffered the client is
paused), and reports the response (head, body, trailers, end) to its exchange as an
HTTP/1 connection would. Back-pressure towards the pod: a paused stream stops granting
window (WINDOW_UPDATE) until the client side drains.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from http import HTTPStatus
from typing import Any, cast

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    RemoteSettingsChanged,
    ResponseReceived,
    StreamEnded,
    StreamReset,
    TrailersReceived,
    WindowUpdated,
)
from h2.exceptions import H2Error

from gateway.http1.flow_control import set_limits
from gateway.http1.upstream import Address, Endpoint, ResponseSink
from gateway.http2.sending import send_queued
from gateway.interfaces import UpstreamChannel

CONNECTION_WINDOW = 16 * 1024 * 1024  # per connection; each stream keeps its 64 KiB window
HIGH_WATER = 64 * 1024  # request body bytes waiting for window: pause the client
MAX_STREAMS = 250  # per upstream connection, whatever the pod allows

# Request head lines HTTP/2 does not carry (RFC 9113 8.2.2); Host becomes :authority.
_DROP = frozenset(
    {
        b"host",
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"transfer-encoding",
        b"upgrade",
        b"http2-settings",
        b"te",
    }
)
_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}


def h2_request_fields(head: bytes) -> list[tuple[bytes, bytes]]:
    """HTTP/2 request fields from an HTTP/1 request head (``te: trailers`` always: gRPC)."""
    lines = head.split(b"\r\n")
    method, _, rest = lines[0].partition(b" ")
    path = rest.rpartition(b" ")[0]
    authority = b""
    fields: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name in _DROP:
            if name == b"host":
                authority = value.strip()
            continue
        fields.append((name, value.strip()))
    return [
        (b":method", method),
        (b":scheme", b"http"),
        (b":authority", authority),
        (b":path", path),
        (b"te", b"trailers"),
        *fields,
    ]


def response_lines(headers: list[tuple[bytes, bytes]]) -> tuple[int, list[bytes], bool]:
    """``(status, lines, has_length)`` in the shape the HTTP/1 upstream gathers them."""
    status = 0
    lines: list[bytes] = [b""]
    has_length = False
    for name, value in headers:
        if name == b":status":
            status = int(value)
        elif not name.startswith(b":"):
            if name == b"content-length":
                has_length = True
            lines += (name, b": ", value, b"\r\n")
    return status, lines, has_length


class H2UpstreamStream:
    """One request on a shared h2c connection (an ``UpstreamChannel``)."""

    __slots__ = (
        "busy",
        "closed",
        "conn",
        "counted",
        "end_pending",
        "end_sent",
        "got_bytes",
        "out",
        "out_size",
        "paused",
        "reused",
        "sink",
        "stream_id",
        "transport",
        "unacked",
    )

    def __init__(self, conn: H2UpstreamConnection, reused: bool) -> None:
        self.conn = conn
        self.reused = reused
        self.counted = True  # in its connection's ``assigned``
        self.closed = False
        self.transport: asyncio.Transport | None = None  # no 101 tunnels over HTTP/2
        self.sink: ResponseSink | None = None
        self.stream_id = 0
        self.got_bytes = False
        self.out: deque[bytes] = deque()
        self.out_size = 0
        self.end_pending = False
        self.end_sent = False
        self.busy = False  # told the sink to pause the client
        self.paused = False  # the client cannot take more: grant the pod no window
        self.unacked = 0

    def bind(self, sink: Any) -> None:
        self.sink = sink

    def send(self, head: bytes, body: list[bytes], chunked: bool, end: bool) -> None:
        conn = self.conn
        if not conn.open_stream(self, h2_request_fields(head), end and not body):
            asyncio.get_running_loop().call_soon(self._lost)
            return
        for data in body:
            self._queue(data)
        self.end_pending = end
        conn.pump(self)
        conn.flush()

    def _lost(self) -> None:
        self.conn.lose(self)

    def _queue(self, data: bytes) -> None:
        if data:
            self.out.append(data)
            self.out_size += len(data)

    def send_body(self, data: bytes) -> None:
        if self.stream_id and not self.closed:
            self._queue(data)
            self.conn.pump(self)
            self.conn.flush()

    def send_end(self) -> None:
        if self.stream_id and not self.closed:
            self.end_pending = True
            self.conn.pump(self)
            self.conn.flush()

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False
        if self.unacked and not self.closed:
            unacked, self.unacked = self.unacked, 0
            self.conn.grant(self, unacked)
            self.conn.flush()

    def release(self, reusable: bool) -> None:
        self.sink = None
        if not self.closed:
            self.closed = True
            self.conn.forget(self, reset=True)

    def close(self) -> None:
        self.release(False)

    abort = close


class H2UpstreamConnection(asyncio.Protocol):
    """One h2c connection to a pod, shared by the streams of many requests."""

    def __init__(self, endpoint: H2Endpoint) -> None:
        self.endpoint = endpoint
        config = H2Configuration(
            client_side=True,
            header_encoding=None,
            validate_outbound_headers=False,  # fields built from a parsed HTTP/1 head
            normalize_outbound_headers=False,
        )
        self.h2 = H2Connection(config)
        self.transport: asyncio.Transport | None = None
        self.streams: dict[int, H2UpstreamStream] = {}
        self.assigned = 0  # streams handed out and not yet forgotten
        self.completed = 0
        self.closed = False
        self.going_away = False
        self.write_paused = False

    def capacity(self) -> bool:
        limit = min(self.h2.remote_settings.max_concurrent_streams, MAX_STREAMS)
        return not (self.closed or self.going_away) and self.assigned < limit

    def take(self) -> H2UpstreamStream:
        self.assigned += 1
        return H2UpstreamStream(self, reused=self.completed > 0)

    def open_stream(
        self, stream: H2UpstreamStream, fields: list[tuple[bytes, bytes]], end: bool
    ) -> bool:
        if self.closed or self.transport is None:
            return False
        try:
            sid = self.h2.get_next_available_stream_id()
            self.h2.send_headers(sid, fields, end_stream=end)
        except H2Error:
            return False
        stream.stream_id = sid
        stream.end_sent = end
        self.streams[sid] = stream
        return True

    def pump(self, stream: H2UpstreamStream) -> None:
        """Send what the pod's window allows of the stream's body (and its end)."""
        h2, sid = self.h2, stream.stream_id
        try:
            send_queued(h2, sid, stream, False)
            if not stream.out and stream.end_pending and not stream.end_sent:
                stream.end_sent = True
                h2.end_stream(sid)
        except H2Error:
            stream.out.clear()
            stream.out_size = 0
        self._busy(stream)

    def _busy(self, stream: H2UpstreamStream) -> None:
        busy = self.write_paused or stream.out_size > HIGH_WATER
        if busy != stream.busy and stream.sink is not None:
            stream.busy = busy
            if busy:
                stream.sink.upstream_paused()
            else:
                stream.sink.upstream_resumed()

    def grant(self, stream: H2UpstreamStream, size: int) -> None:
        with contextlib.suppress(H2Error):
            self.h2.acknowledge_received_data(size, stream.stream_id)

    def forget(self, stream: H2UpstreamStream, *, reset: bool) -> None:
        if stream.counted:
            stream.counted = False
            self.assigned -= 1
        sid = stream.stream_id
        if self.streams.pop(sid, None) is not None and reset and not self.closed:
            with contextlib.suppress(H2Error):
                self.h2.reset_stream(sid, ErrorCodes.CANCEL)
            self.flush()
        if not self.assigned and (self.going_away or self.endpoint.retired):
            self.close()

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data and self.transport is not None and not self.closed:
            self.transport.write(data)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.endpoint.forget_conn(self)
            if self.transport is not None:
                self.transport.close()

    # -- asyncio.Protocol ------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        set_limits(self.transport)
        self.h2.initiate_connection()
        self.h2.increment_flow_control_window(CONNECTION_WINDOW - 65535)
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.endpoint.forget_conn(self)
        for stream in list(self.streams.values()):
            self.lose(stream)

    def pause_writing(self) -> None:
        self.write_paused = True
        for stream in list(self.streams.values()):
            self._busy(stream)

    def resume_writing(self) -> None:
        self.write_paused = False
        for stream in list(self.streams.values()):
            self._busy(stream)

    def lose(self, stream: H2UpstreamStream) -> None:
        """The stream died (reset, GOAWAY, connection lost): tell its exchange."""
        stream.closed = True
        self.forget(stream, reset=False)
        sink, stream.sink = stream.sink, None
        if sink is not None:
            sink.upstream_lost(stream.got_bytes)

    def data_received(self, data: bytes) -> None:
        try:
            events = self.h2.receive_data(data)
        except H2Error:
            self.flush()
            if self.transport is not None:
                self.transport.close()
            return
        touched: list[H2UpstreamStream] = []
        for event in events:
            if isinstance(event, DataReceived):
                stream = self.streams.get(event.stream_id or 0)
                size = event.flow_controlled_length or 0
                if stream is None or stream.sink is None:
                    if size:
                        with contextlib.suppress(H2Error):
                            self.h2.acknowledge_received_data(size, event.stream_id or 0)
                    continue
                if size:
                    if stream.paused:
                        stream.unacked += size
                    else:
                        self.grant(stream, size)
                if event.data:
                    stream.sink.down.response_body(event.data)
                    if not touched or touched[-1] is not stream:
                        touched.append(stream)
            elif isinstance(event, ResponseReceived):
                stream = self.streams.get(event.stream_id or 0)
                if stream is not None and stream.sink is not None:
                    stream.got_bytes = True
                    status, lines, has_length = response_lines(list(event.headers or []))
                    reason = _REASONS.get(status, b"Unknown")
                    chunked = not has_length
                    stream.sink.response_head(
                        status, reason, lines, has_length, chunked, None, None
                    )
            elif isinstance(event, TrailersReceived):
                stream = self.streams.get(event.stream_id or 0)
                if stream is not None and stream.sink is not None:
                    stream.sink.response_trailers(list(event.headers or []))
            elif isinstance(event, StreamEnded):
                stream = self.streams.get(event.stream_id or 0)
                if stream is not None:
                    self.completed += 1
                    sink, stream.sink = stream.sink, None
                    stream.closed = True
                    self.forget(stream, reset=not stream.end_sent)
                    if sink is not None:
                        sink.flush()
                        sink.response_end(True)
            elif isinstance(event, StreamReset):
                stream = self.streams.get(event.stream_id or 0)
                if stream is not None:
                    self.lose(stream)
            elif isinstance(event, WindowUpdated | RemoteSettingsChanged):
                for stream in list(self.streams.values()):
                    if stream.out or (stream.end_pending and not stream.end_sent):
                        self.pump(stream)
            elif isinstance(event, ConnectionTerminated):
                self.going_away = True
                last = event.last_stream_id or 0
                for sid in [sid for sid in self.streams if sid > last]:
                    self.lose(self.streams[sid])
        self.flush()
        for stream in touched:
            if stream.sink is not None:
                stream.sink.flush()


class H2Endpoint(Endpoint):
    """A pod spoken to over h2c: streams on shared connections instead of a pool."""

    __slots__ = ("_dialing", "conns")

    def __init__(self, address: Address) -> None:
        super().__init__(address)
        self.conns: list[H2UpstreamConnection] = []
        self._dialing: asyncio.Task[H2UpstreamConnection] | None = None

    def take_idle(self) -> UpstreamChannel | None:
        for conn in self.conns:
            if conn.capacity():
                return conn.take()
        return None

    def put_idle(self, conn: UpstreamChannel) -> None:
        conn.close()

    def close_idle(self) -> None:
        for conn in list(self.conns):
            if conn.assigned == 0:
                conn.close()
            else:
                conn.going_away = True

    def forget_conn(self, conn: H2UpstreamConnection) -> None:
        with contextlib.suppress(ValueError):
            self.conns.remove(conn)

    async def connect(self) -> UpstreamChannel:
        while True:
            for conn in self.conns:
                if conn.capacity():
                    return conn.take()
            dialing = self._dialing
            if dialing is None:
                dialing = self._dialing = asyncio.get_running_loop().create_task(self._dial())
                dialing.add_done_callback(_retrieve)
            conn = await asyncio.shield(dialing)
            if conn.capacity():
                return conn.take()

    async def _dial(self) -> H2UpstreamConnection:
        try:
            host, port = self.address
            loop = asyncio.get_running_loop()
            _, conn = await loop.create_connection(lambda: H2UpstreamConnection(self), host, port)
            self.conns.append(conn)
            return conn
        finally:
            self._dialing = None


def _retrieve(task: asyncio.Task[H2UpstreamConnection]) -> None:
    if not task.cancelled():
        task.exception()  # awaited through shield; mark retrieved either way

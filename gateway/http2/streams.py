"""One client HTTP/2 stream: the ``Downstream`` of its exchange (gateway/interfaces.py).

Handling calls a stream back as it would an HTTP/1 connection; the stream turns the
response head's gathered lines into HTTP/2 fields, queues body bytes and lets its
connection (:class:`gateway.http2.downstream.H2ClientProtocol`) send them within the
client's flow-control window. Back-pressure both ways, per stream:

- the request body: while the exchange is held (no pod slot yet) or the upstream is busy,
  the stream stops granting the client window (WINDOW_UPDATE), so the client stops
  sending on this stream only;
- the response body: past ``HIGH_WATER`` bytes waiting for the client's window (or while
  the client connection's write buffer is full) the exchange stops reading the pod.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from gateway.http1.upstream import connection_tokens
from gateway.interfaces import Ticket

if TYPE_CHECKING:
    from gateway.http2.downstream import H2ClientProtocol

HIGH_WATER = 64 * 1024  # response bytes queued per stream beyond the client's window
HELD = 1  # why the stream grants the client no window (bits)
BUSY = 2


def canned_parts(response: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, fields and body of a canned HTTP/1 error (gateway/errors.py)."""
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    fields = [(b":status", b"%d" % status)]
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name != b"connection":
            fields.append((name, value.strip()))
    return status, fields, body


class H2Stream:
    """A request on a client connection, from its HEADERS to the end of the response."""

    __slots__ = (
        "blocked",
        "end_sent",
        "ex",
        "head_sent",
        "out",
        "out_size",
        "proto",
        "request_ended",
        "response_done",
        "sent",
        "sid",
        "trailers",
        "unacked",
        "up_paused",
        "write_paused",
    )

    def __init__(self, proto: H2ClientProtocol, sid: int) -> None:
        self.proto = proto
        self.sid = sid
        self.ex: Ticket | None = None
        self.blocked = 0
        self.unacked = 0  # request bytes received while blocked: window not yet granted
        self.out: deque[bytes] = deque()
        self.out_size = 0
        self.sent = 0  # response body bytes passed on (the request log)
        self.head_sent = False
        self.response_done = False
        self.request_ended = False
        self.end_sent = False
        self.trailers: list[tuple[bytes, bytes]] | None = None
        self.up_paused = False
        self.write_paused = proto.write_paused

    # -- the request (from the connection) -------------------------------------
    def received(self, data: bytes, size: int) -> None:
        if size:
            if self.blocked:
                self.unacked += size
            else:
                self.proto.grant(self.sid, size)
        if data and self.ex is not None:
            self.ex.request_body(data)

    def _block(self, bit: int) -> None:
        self.blocked |= bit

    def _unblock(self, bit: int) -> None:
        if self.blocked & bit:
            self.blocked &= ~bit
            if not self.blocked and self.unacked:
                unacked, self.unacked = self.unacked, 0
                self.proto.grant(self.sid, unacked)
                self.proto.flush()

    # -- Downstream ------------------------------------------------------------
    def hold(self) -> None:
        self._block(HELD)

    def unhold(self) -> None:
        self._unblock(HELD)

    def peer_busy(self) -> None:
        self._block(BUSY)

    def peer_ready(self) -> None:
        self._unblock(BUSY)

    def response_interim(self, head: bytes) -> None:
        pass  # 1xx: nothing an HTTP/2 client needs from the pod

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
        fields = [(b":status", b"%d" % status)]
        named = connection_tokens(conn)
        for i in range(1, len(lines), 4):
            name = lines[i].lower()
            if name not in named:
                fields.append((name, lines[i + 2]))
        self.head_sent = True
        self.proto.send_head(self, fields)
        return not has_length and not chunked  # HTTP/1 pod: the body ends when it closes

    def response_body(self, data: bytes) -> None:
        if data:
            self.sent += len(data)
            self.out.append(data)
            self.out_size += len(data)

    def response_trailers(self, fields: list[tuple[bytes, bytes]]) -> None:
        self.trailers = fields

    def flush(self) -> None:
        self.proto.pump(self)
        self.proto.flush_soon()  # the responses of one loop iteration go in one write

    def exchange_done(self, ex: Ticket, request_done: bool) -> None:
        self.response_done = True
        self.flush()

    def exchange_failed(self, ex: Ticket, response: bytes | None) -> None:
        self.proto.fail_stream(self, response)

    def start_tunnel(
        self, upstream: asyncio.Transport, rest: bytes, on_close: Callable[[], None]
    ) -> None:
        upstream.close()  # never asked for over HTTP/2 (no Upgrade)
        on_close()
        self.proto.fail_stream(self, None)

    # -- response back-pressure (from the connection) ---------------------------
    def backlog(self, write_paused: bool) -> None:
        """Pause or resume reading the pod as the queued bytes and the transport say."""
        pause = write_paused or self.out_size > HIGH_WATER
        self.write_paused = pause
        if pause != self.up_paused and self.ex is not None:
            self.up_paused = pause
            if pause:
                self.ex.pause_upstream()
            else:
                self.ex.resume_upstream()

"""The response side of an exchange: what its upstream connection reports to it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from gateway import errors
from gateway.flow_control import PEER_BUSY
from gateway.headers import FRAME_CHUNKED, LAST_CHUNK, chunk, interim_head, response_head

if TYPE_CHECKING:
    from gateway.context import Revision
    from gateway.proxying import ProxyProtocol
    from gateway.upstream import Endpoint, UpstreamConnection


class Responding:
    """Mixin of :class:`gateway.exchange.Exchange` (which holds the state)."""

    __slots__ = ()

    if TYPE_CHECKING:
        proto: ProxyProtocol
        rev: Revision | None
        conn: UpstreamConnection | None
        endpoint: Endpoint | None
        started: bool
        finished: bool
        framing: int
        keep_alive: bool
        eof_ends: bool
        head_request: bool
        http10: bool
        upgrade: bool
        request_done: bool
        retried: bool
        replay: list[bytes] | None
        replay_size: int
        pending: list[bytes]
        pending_size: int
        out: list[bytes]
        timing: bool
        idle: float
        last_io: float
        task: asyncio.Task[None] | None

        def fail(self, response: bytes) -> None: ...
        def start(self) -> None: ...
        def _end(self) -> float: ...
        def _release(self, reusable: bool, now: float, *, hard: bool = False) -> None: ...

    def response_interim(self, head: bytes) -> None:
        self.proto.transport.write(head)

    def response_head(
        self,
        status: int,
        reason: bytes,
        lines: list[bytes],
        has_length: bool,
        chunked: bool,
        conn: bytes | None,
        upgrade: bytes | None,
    ) -> None:
        if self.timing and not self.idle:  # with an idle timeout the sweeper keeps watching
            self.timing = False
            self.proto.ctx.deadlines.discard(self)  # type: ignore[arg-type]
        if status == 101:
            if not self.upgrade:
                self.fail(errors.BAD_GATEWAY)
                return
            self.started = True
            self.proto.transport.write(interim_head(status, reason, lines, upgrade))
            return
        head, self.framing, self.keep_alive, self.eof_ends = response_head(
            status,
            reason,
            lines,
            has_length,
            chunked,
            conn,
            self.head_request,
            self.http10,
            self.keep_alive,
        )
        self.started = True
        self.out.append(head)  # written with the first body bytes (see flush)

    def response_body(self, data: bytes) -> None:
        if self.framing == FRAME_CHUNKED:
            self.out += chunk(data)
        else:
            self.out.append(data)

    def flush(self) -> None:
        """Write the response bytes gathered from one upstream read in one call."""
        if self.idle:
            self.last_io = self.proto.ctx.clock()
        out = self.out
        if out:
            self.out = []
            if len(out) == 1:
                self.proto.transport.write(out[0])
            else:
                self.proto.transport.writelines(out)

    def response_end(self, reusable: bool) -> None:
        if self.finished:
            return
        if self.framing == FRAME_CHUNKED:
            self.out.append(LAST_CHUNK)
        self.flush()
        request_done = self.request_done
        self._release(reusable and request_done, self._end())
        self.proto.gate.resume(PEER_BUSY)
        self.proto.exchange_done(self, self.keep_alive and request_done)  # type: ignore[arg-type]

    def upstream_lost(self, got_bytes: bool) -> None:
        conn, self.conn = self.conn, None
        if self.finished:
            return
        self.flush()
        if self.started:
            if self.eof_ends:
                self.response_end(False)
            else:
                self.fail(errors.BAD_GATEWAY)
            return
        if (
            not got_bytes
            and conn is not None
            and conn.reused
            and not self.retried
            and self.replay is not None
        ):
            self.retried = True
            self._release(False, self.proto.ctx.clock())
            self.pending = list(self.replay)
            self.pending_size = self.replay_size
            self.start()
            return
        self.fail(errors.BAD_GATEWAY)

    def upstream_upgraded(self, rest: bytes) -> None:
        conn, self.conn = self.conn, None
        if self.finished or conn is None:
            return
        self.finished = True
        if self.timing:
            self.timing = False
            self.proto.ctx.deadlines.discard(self)  # type: ignore[arg-type]
        endpoint, self.endpoint = self.endpoint, None
        self.proto.start_tunnel(self, conn, rest, endpoint)  # type: ignore[arg-type]

    def upstream_paused(self) -> None:
        self.proto.gate.pause(PEER_BUSY)

    def upstream_resumed(self) -> None:
        self.proto.gate.resume(PEER_BUSY)

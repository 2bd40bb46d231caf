"""One proxied request: choose an endpoint, hold or connect, stream both ways, retry."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from gateway import errors
from gateway.balancing import pick_endpoint
from gateway.flow_control import PEER_BUSY, WAITING
from gateway.headers import (
    FRAME_CHUNKED,
    LAST_CHUNK,
    chunk,
    interim_head,
    response_head,
)

if TYPE_CHECKING:
    from gateway.proxying import ProxyProtocol
    from gateway.upstream import Endpoint, UpstreamConnection

REPLAY_LIMIT = 64 * 1024  # request body bytes kept to retry on a fresh connection


class Exchange:
    """Request/response state for one request; the response sink of its upstream conn."""

    __slots__ = (
        "chunked",
        "conn",
        "deadline",
        "early",
        "endpoint",
        "eof_ends",
        "finished",
        "framing",
        "head",
        "head_request",
        "http10",
        "keep_alive",
        "key",
        "out",
        "pending",
        "proto",
        "replay",
        "replay_size",
        "request_done",
        "retried",
        "started",
        "task",
        "timing",
        "upgrade",
    )

    def __init__(
        self,
        proto: ProxyProtocol,
        key: str,
        head: bytes,
        *,
        chunked: bool,
        head_request: bool,
        http10: bool,
        keep_alive: bool,
        upgrade: bool,
    ) -> None:
        self.proto = proto
        self.key = key
        self.head = head
        self.chunked = chunked
        self.head_request = head_request
        self.http10 = http10
        self.keep_alive = keep_alive and not upgrade
        self.upgrade = upgrade
        self.pending: list[bytes] = []  # body parts not yet written upstream
        self.replay: list[bytes] | None = []  # every body part so far, while small
        self.replay_size = 0
        self.request_done = False
        self.conn: UpstreamConnection | None = None
        self.endpoint: Endpoint | None = None
        self.started = False  # response head sent to the client
        self.finished = False
        self.framing = 0
        self.eof_ends = False
        self.retried = False
        self.deadline = 0.0
        self.timing = False  # registered with the context's response-start deadlines
        self.out: list[bytes] = []  # response bytes for the client, written in one go
        self.task: asyncio.Task[None] | None = None
        self.early: list[bytes] = []  # client bytes sent after an upgrade request

    # -- request side (driven by the client protocol) --------------------------
    def request_body(self, data: bytes) -> None:
        if self.finished:
            return
        parts = chunk(data) if self.chunked else [data]
        self._forward(parts, len(data))

    def request_end(self) -> None:
        if self.finished:
            return
        self.request_done = True
        if self.chunked:
            self._forward([LAST_CHUNK], 0)

    def _forward(self, parts: list[bytes], size: int) -> None:
        replay = self.replay
        if replay is not None:
            self.replay_size += size
            if self.replay_size > REPLAY_LIMIT:
                self.replay = None
            else:
                replay.extend(parts)
        conn = self.conn
        if conn is not None and conn.transport is not None:
            conn.transport.writelines(parts)
        else:
            self.pending.extend(parts)

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        """Route to an endpoint: send now on a pooled connection, else hold or connect."""
        proto = self.proto
        revision = proto.ctx.revisions.get(self.key)
        loop = proto.loop
        if revision is None:
            # Routed but never announced: wait briefly for set_revision, then 503. Once
            # held or tried (deadline set), a missing revision was forgotten: 503 at once.
            ctx = proto.ctx
            if self.deadline or ctx.unknown_hold <= 0 or self.key in ctx.forgotten:
                self.fail(errors.UNAVAILABLE)
                return
            self.deadline = loop.time() + ctx.unknown_hold
            proto.gate.pause(WAITING)
            self.task = loop.create_task(self._hold(errors.UNAVAILABLE))
            return
        if not self.deadline:
            self.deadline = loop.time() + revision.timeout
        endpoints = revision.endpoints
        if not endpoints:
            proto.gate.pause(WAITING)
            self.task = loop.create_task(self._hold(errors.GATEWAY_TIMEOUT))
            return
        endpoint = pick_endpoint(endpoints)
        endpoint.in_flight += 1
        self.endpoint = endpoint
        conn = None if self.retried else endpoint.take_idle()
        if conn is not None:
            self._send(conn)
        else:
            proto.gate.pause(WAITING)
            self.task = loop.create_task(self._connect(endpoint))

    async def _hold(self, on_timeout: bytes) -> None:
        remaining = self.deadline - self.proto.loop.time()
        released = await self.proto.ctx.holder.wait(self.key, remaining)
        self.task = None
        if self.finished:
            return
        if not released:
            self.fail(on_timeout)
            return
        self.proto.gate.resume(WAITING)
        self.start()

    async def _connect(self, endpoint: Endpoint) -> None:
        try:
            async with asyncio.timeout(max(self.deadline - self.proto.loop.time(), 0.0)):
                conn = await endpoint.connect()
        except TimeoutError:
            self.task = None
            self.fail(errors.GATEWAY_TIMEOUT)
            return
        except OSError:
            self.task = None
            self.fail(errors.BAD_GATEWAY)
            return
        self.task = None
        if self.finished:
            endpoint.put_idle(conn)
            return
        self.proto.gate.resume(WAITING)
        self._send(conn)

    def _send(self, conn: UpstreamConnection) -> None:
        self.conn = conn
        conn.bind(self)
        transport = conn.transport
        assert transport is not None
        if self.pending:
            transport.writelines([self.head, *self.pending])
            self.pending = []
        else:
            transport.write(self.head)
        if self.proto.write_paused:
            transport.pause_reading()
        self.timing = True
        self.proto.ctx.deadlines.add(self)

    def expired(self) -> None:
        """The revision's timeout passed before the response started."""
        self.timing = False
        if not self.started and not self.finished:
            self.fail(errors.GATEWAY_TIMEOUT)

    def _release(self, reusable: bool, *, hard: bool = False) -> None:
        """Let go of the upstream connection and the endpoint's in-flight slot.

        ``hard`` aborts the upstream connection, discarding anything not yet sent.
        """
        if self.timing:
            self.timing = False
            self.proto.ctx.deadlines.discard(self)
        conn = self.conn
        if conn is not None:
            self.conn = None
            if hard:
                conn.abort()
            else:
                conn.release(reusable)
        endpoint = self.endpoint
        if endpoint is not None:
            self.endpoint = None
            endpoint.done()

    def fail(self, response: bytes) -> None:
        """Give up: send ``response`` if the client got nothing yet, close the client."""
        if self.finished:
            return
        self.finished = True
        if self.task is not None:
            self.task.cancel()
            self.task = None
        self._release(False, hard=True)
        self.proto.exchange_failed(self, None if self.started else response)

    def abort(self) -> None:
        """The client went away."""
        if self.finished:
            return
        self.finished = True
        if self.task is not None:
            self.task.cancel()
            self.task = None
        self._release(False, hard=True)

    # -- response side (ResponseSink, driven by the upstream connection) ------
    def response_interim(
        self, status: int, reason: bytes, headers: list[tuple[bytes, bytes]]
    ) -> None:
        self.proto.transport.write(interim_head(status, reason, headers))

    def response_head(self, status: int, reason: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        if self.timing:
            self.timing = False
            self.proto.ctx.deadlines.discard(self)
        if status == 101:
            if not self.upgrade:
                self.fail(errors.BAD_GATEWAY)
                return
            self.started = True
            self.proto.transport.write(interim_head(status, reason, headers))
            return
        head, self.framing, self.keep_alive, self.eof_ends = response_head(
            status,
            reason,
            headers,
            head_request=self.head_request,
            http10=self.http10,
            keep_alive=self.keep_alive,
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
        self.finished = True
        request_done = self.request_done
        self._release(reusable and request_done)
        self.proto.gate.resume(PEER_BUSY)
        self.proto.exchange_done(self, self.keep_alive and request_done)

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
            self._release(False)
            self.pending = list(self.replay)
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
            self.proto.ctx.deadlines.discard(self)
        endpoint, self.endpoint = self.endpoint, None
        self.proto.start_tunnel(self, conn, rest, endpoint)

    def upstream_paused(self) -> None:
        self.proto.gate.pause(PEER_BUSY)

    def upstream_resumed(self) -> None:
        self.proto.gate.resume(PEER_BUSY)

"""Admission of an exchange: a pod slot now or a place in the revision queue, then send.

Also the deadlines of an exchange: the revision's timeout (arrival -> response start),
response-start timeout (forwarding -> response head) and idle timeout (no bytes either
way once forwarded). One coarse sweeper checks them all (gateway/deadlines.py); the
exchange's ``deadline`` is only when to look next, the limits are recomputed there.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from gateway import errors
from gateway.flow_control import WAITING

if TYPE_CHECKING:
    from gateway.context import Revision
    from gateway.proxying import ProxyProtocol
    from gateway.upstream import Endpoint, UpstreamConnection


class Admission:
    """Mixin of :class:`gateway.exchange.Exchange` (which holds the state)."""

    __slots__ = ()

    if TYPE_CHECKING:
        proto: ProxyProtocol
        key: str
        rev: Revision | None
        head: bytes
        conn: UpstreamConnection | None
        endpoint: Endpoint | None
        pending: list[bytes]
        pending_size: int
        started: bool
        finished: bool
        retried: bool
        arrived: float
        deadline: float
        sent_at: float
        last_io: float
        idle: float
        timing: bool
        task: asyncio.Task[None] | None

        def fail(self, response: bytes) -> None: ...

    # -- getting a pod ---------------------------------------------------------
    def start(self) -> None:
        """Take a pod slot and send (pooled connection) or connect; else wait in queue."""
        proto = self.proto
        ctx = proto.ctx
        now = ctx.clock()
        rev = self.rev
        if rev is None:
            rev = ctx.revisions.get(self.key) or ctx.revision(self.key)
            if rev is None:
                self.fail(errors.UNAVAILABLE)
                return
            self.rev = rev
            self.arrived = now
            load = rev.load  # load.arrive(now), inlined: this is the per-request path
            load.area += load.active * (now - load.since)
            load.since = now
            load.active += 1
            load.arrivals += 1
            if rev.wake and ctx.poke is not None and ctx.meter.should_poke(load, now):
                ctx.poke(rev.key, load.active)
            self.deadline = now + rev.timeout
            self.timing = True
            ctx.deadlines.add(self)  # type: ignore[arg-type]
        elif rev.forgotten:
            self.fail(errors.UNAVAILABLE)
            return
        throttler = rev.throttler  # throttler.pick(), inlined
        endpoint = (
            None if throttler.waiting else throttler.policy(throttler.endpoints, throttler.cc)
        )
        if endpoint is None:
            self._wait(rev, now)
            return
        n = endpoint.in_flight  # endpoint.acquire(now), inlined
        endpoint.area += n * (now - endpoint.since)
        endpoint.since = now
        endpoint.in_flight = n + 1
        self.endpoint = endpoint
        conn = None if self.retried else endpoint.take_idle()
        if conn is not None:
            self._send(conn)
        else:
            proto.gate.pause(WAITING)
            self.task = proto.loop.create_task(self._connect(endpoint))

    def _wait(self, rev: Revision, now: float) -> None:
        ctx = self.proto.ctx
        throttler = rev.throttler
        poke = ctx.poke
        if poke is not None and not throttler.endpoints and ctx.meter.should_poke(rev.load, now):
            poke(rev.key, rev.load.active)
        if not throttler.enqueue(self):
            self.fail(errors.UNAVAILABLE)  # queue full
            return
        self.proto.gate.pause(WAITING)
        size = self.pending_size
        if size:
            throttler.buffered += size
            if throttler.buffered > throttler.max_buffered:
                self.fail(errors.UNAVAILABLE)

    def granted(self, endpoint: Endpoint) -> None:
        """The throttler gives this queued request a slot on ``endpoint`` (reserve now)."""
        if self.pending_size:
            self.rev.throttler.buffered -= self.pending_size  # type: ignore[union-attr]
        endpoint.acquire(self.proto.ctx.clock())
        self.endpoint = endpoint
        self.proto.loop.call_soon(self._proceed, endpoint)

    def _proceed(self, endpoint: Endpoint) -> None:
        if self.finished or self.endpoint is not endpoint:
            return
        conn = None if self.retried else endpoint.take_idle()
        if conn is not None:
            self.proto.gate.resume(WAITING)
            self._send(conn)
        else:
            self.task = self.proto.loop.create_task(self._connect(endpoint))

    async def _connect(self, endpoint: Endpoint) -> None:
        try:
            conn = await endpoint.connect()  # bounded by the deadline sweep (fail cancels)
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
        conn.bind(self)  # type: ignore[arg-type]
        transport = conn.transport
        assert transport is not None
        if self.pending:
            transport.writelines([self.head, *self.pending])
            self.pending = []
            self.pending_size = 0
        else:
            transport.write(self.head)
        if self.proto.write_paused:
            transport.pause_reading()
        rev = self.rev
        assert rev is not None
        if rev.response_start_timeout or rev.idle_timeout:
            now = self.proto.ctx.clock()
            self.sent_at = self.last_io = now
            self.idle = rev.idle_timeout
            first = now + (rev.response_start_timeout or rev.idle_timeout)
            if rev.idle_timeout and now + rev.idle_timeout < first:
                first = now + rev.idle_timeout
            if first < self.deadline:
                self.deadline = first

    # -- deadlines ---------------------------------------------------------------
    def expired(self) -> None:
        """The sweeper's deadline passed: time out, or look again at the next limit."""
        self.timing = False
        rev = self.rev
        if self.finished or rev is None:
            return
        ctx = self.proto.ctx
        now = ctx.clock()
        limit = float("inf")
        if not self.started:
            limit = self.arrived + rev.timeout
            if self.sent_at and rev.response_start_timeout:
                limit = min(limit, self.sent_at + rev.response_start_timeout)
        if self.idle and self.sent_at:
            limit = min(limit, self.last_io + self.idle)
        if now < limit:
            self.deadline = limit
            self.timing = True
            ctx.deadlines.add(self)  # type: ignore[arg-type]
            return
        self.fail(errors.GATEWAY_TIMEOUT if rev.announced else errors.UNAVAILABLE)

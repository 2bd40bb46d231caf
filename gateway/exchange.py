"""One proxied request: its state, the request body side and how it ends.

Getting a pod slot, connecting and timeouts are in gateway/admission.py; the response
side (what the upstream connection reports) is in gateway/responding.py.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from gateway import errors
from gateway.admission import Admission
from gateway.headers import LAST_CHUNK, chunk
from gateway.responding import Responding

if TYPE_CHECKING:
    from gateway.context import Revision
    from gateway.proxying import ProxyProtocol
    from gateway.upstream import Endpoint, UpstreamConnection

REPLAY_LIMIT = 64 * 1024  # request body bytes kept to retry on a fresh connection


class Exchange(Admission, Responding):
    """Request/response state for one request; the response sink of its upstream conn.

    Also the activator's waiter: while ``queued`` it sits in its revision's throttler
    queue and ``granted`` hands it a pod slot. ``deadline`` is when the sweeper next
    looks at it (``expired``); the real limits are recomputed there.
    """

    __slots__ = (
        "arrived",
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
        "idle",
        "keep_alive",
        "key",
        "last_io",
        "out",
        "pending",
        "pending_size",
        "proto",
        "queued",
        "replay",
        "replay_size",
        "request_done",
        "retried",
        "rev",
        "sent_at",
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
        self.pending_size = 0
        self.replay: list[bytes] | None = []  # every body part so far, while small
        self.replay_size = 0
        self.request_done = False
        self.rev: Revision | None = None  # set (and counted in its load) on first start
        self.queued = False  # waiting in the revision's throttler queue
        self.conn: UpstreamConnection | None = None
        self.endpoint: Endpoint | None = None  # holds a slot on it while set
        self.started = False  # response head sent to the client
        self.finished = False
        self.framing = 0
        self.eof_ends = False
        self.retried = False
        self.arrived = 0.0
        self.deadline = 0.0
        self.sent_at = 0.0  # set when forwarded, if the revision has start/idle timeouts
        self.last_io = 0.0  # last byte either way, if the revision has an idle timeout
        self.idle = 0.0
        self.timing = False  # registered with the context's deadlines
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
            if self.idle:
                self.last_io = self.proto.ctx.clock()
            return
        self.pending.extend(parts)
        self.pending_size += size
        if self.queued:
            throttler = self.rev.throttler  # type: ignore[union-attr]
            throttler.buffered += size
            if throttler.buffered > throttler.max_buffered:
                self.fail(errors.UNAVAILABLE)

    # -- ending ----------------------------------------------------------------
    def _end(self) -> float:
        """Mark finished, stop waiting or timing, leave the revision's load; returns now."""
        self.finished = True
        ctx = self.proto.ctx
        if self.timing:
            self.timing = False
            ctx.deadlines.discard(self)
        if self.task is not None:
            self.task.cancel()
            self.task = None
        now = ctx.clock()
        rev = self.rev
        if rev is not None:
            if self.queued:
                throttler = rev.throttler
                throttler.cancel(self)
                throttler.buffered -= self.pending_size
            load = rev.load  # load.leave(now), inlined
            load.area += load.active * (now - load.since)
            load.since = now
            load.active -= 1
        return now

    def _release(self, reusable: bool, now: float, *, hard: bool = False) -> None:
        """Let go of the upstream connection and the endpoint slot.

        ``hard`` aborts the upstream connection, discarding anything not yet sent.
        """
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
            endpoint.done(now)

    def fail(self, response: bytes) -> None:
        """Give up: send ``response`` if the client got nothing yet, close the client."""
        if self.finished:
            return
        self._release(False, self._end(), hard=True)
        self.proto.exchange_failed(self, None if self.started else response)

    def abort(self) -> None:
        """The client went away."""
        if self.finished:
            return
        self._release(False, self._end(), hard=True)

"""Request handling, whatever the client's protocol: route, admit, hold, pick, meter, time.

A client protocol (gateway/http1/downstream.py) parses a request head and opens it with
:meth:`Handler.open`, which routes it by Host to a revision (:class:`RouteTable`, replaced
as a whole by ``Gateway.set_routes``, changed in place by ``update_routes``; weighted
:class:`Route`) and returns an
:class:`Exchange`; from then on the protocol drives the exchange through the ``Ticket``
methods and is called back through ``Downstream`` (both in gateway/interfaces.py). An
HTTP/2 protocol would sit beside HTTP/1 on the same two interfaces (one exchange per
stream).

:meth:`Exchange.start` counts the request in its revision's load, registers its
deadline (both gateway/timekeeping.py), asks the revision's throttler for a pod
(activator/throttler.py) and forwards on a pooled or new connection
(gateway/http1/upstream.py), or waits in the queue until :meth:`Exchange.granted`. The
exchange never builds wire bytes: the request head comes built from the client protocol,
body parts go to :meth:`UpstreamConnection.send_body`, which frames them. The upstream
connection reports the response to the exchange (it is the connection's
``ResponseSink``), which passes it on to its downstream; body bytes go from the
connection to the downstream directly. Deadlines: the revision's timeout (arrival ->
response start), response-start timeout (forwarded -> response head) and idle timeout
(no bytes either way once forwarded); one coarse sweeper checks them all,
``deadline`` is only when to look next.

Metrics: at its end an exchange adds its status and latency to the revision's tally
(gateway/tally.py), with the cause when the gateway answered 5xx itself; a request that
found no ready pod is a cold one (its wait to the response start observed, optionally
named in an ``X-Coldbrew-Cold-Start`` response header), a queued one's wait is observed
when it leaves the queue. With a request log (gateway/requestlog.py) it adds one line.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections.abc import Collection, Mapping, Sequence
from random import random
from typing import TYPE_CHECKING

from gateway import errors
from gateway.interfaces import Downstream, Refused, UpstreamChannel
from gateway.tally import (
    FIRST_LATENCY_BOUND_MS,
    LATENCY_BOUNDS_MS,
    LATENCY_ROW,
    WAIT_BOUNDS_S,
    observe,
)

if TYPE_CHECKING:
    from gateway.context import GatewayContext, Revision
    from gateway.http1.upstream import Endpoint

REPLAY_LIMIT = 64 * 1024  # request body bytes kept to retry on a fresh connection


def normalize_host(raw: bytes) -> bytes:
    """Lower-case a Host header value and strip any ``:port`` and trailing dot."""
    host = raw.strip().lower()
    if host.startswith(b"["):  # IPv6 literal: [::1]:8080
        end = host.find(b"]")
        return host[: end + 1] if end >= 0 else host
    colon = host.rfind(b":")
    if colon >= 0:
        host = host[:colon]
    if host.endswith(b"."):
        host = host[:-1]
    return host


def _encode_host(host: str) -> bytes:
    try:
        return host.encode("idna")
    except UnicodeError:
        return host.encode("utf-8")


class Route:
    """The revisions serving one host, with a precomputed cumulative weight table.

    ``redirect``: plain HTTP requests get a 301 to https (``http-protocol: Redirected``).
    """

    __slots__ = ("_cumulative", "_keys", "_single", "redirect")

    def __init__(self, targets: Sequence[tuple[str, int]], redirect: bool = False) -> None:
        self.redirect = redirect
        live = [(key, float(weight)) for key, weight in targets if weight > 0]
        total = sum(weight for _, weight in live)
        self._keys = tuple(key for key, _ in live)
        running = 0.0
        cumulative = []
        for _, weight in live:
            running += weight / total
            cumulative.append(running)
        if cumulative:
            cumulative[-1] = 1.0  # guard against float drift
        self._cumulative = tuple(cumulative)
        self._single = self._keys[0] if len(self._keys) == 1 else None

    @property
    def keys(self) -> tuple[str, ...]:
        return self._keys

    def pick(self) -> str | None:
        """Pick a revision key by weight; None when every weight is 0."""
        if self._single is not None:
            return self._single
        if not self._keys:
            return None
        r = random()
        for key, bound in zip(self._keys, self._cumulative, strict=True):
            if r < bound:
                return key
        return self._keys[-1]


class RouteTable:
    """Host -> Route map; replaced as a whole by ``Gateway.set_routes``, changed in place
    by :meth:`update` (one synchronous call: a request sees the table before or after)."""

    __slots__ = ("_routes",)

    def __init__(
        self,
        routes: Mapping[str, Sequence[tuple[str, int]]] | None = None,
        redirected: Collection[str] = (),
    ) -> None:
        self._routes: dict[bytes, Route] = {}
        self.update(routes or {}, (), redirected)

    def update(
        self,
        changed: Mapping[str, Sequence[tuple[str, int]]],
        removed: Collection[str] = (),
        redirected: Collection[str] = (),
    ) -> None:
        """Remove ``removed`` hosts, then add or replace the ``changed`` ones whole."""
        for host in removed:
            self._routes.pop(normalize_host(_encode_host(host)), None)
        for host, targets in changed.items():
            self._routes[normalize_host(_encode_host(host))] = Route(targets, host in redirected)

    def lookup(self, raw_host: bytes) -> Route | None:
        """The route for a raw Host header value (case and port insensitive)."""
        route = self._routes.get(raw_host)  # already normalized: the usual case, no copies
        if route is None:
            route = self._routes.get(normalize_host(raw_host))
        return route

    def hosts(self) -> list[bytes]:
        return list(self._routes)


class Handler:
    """:class:`Handling` for one gateway's context (one per listener).

    ``redirect_port``: on a plain listener while HTTPS listens there, redirected routes
    answer 301 to ``https://{host}[:port]{target}``.
    """

    __slots__ = ("ctx", "redirect_port")

    def __init__(self, ctx: GatewayContext, redirect_port: int | None = None) -> None:
        self.ctx = ctx
        self.redirect_port = redirect_port

    def open(
        self, down: Downstream, host: bytes, chunked: bool, upgrade: bool, target: bytes = b"/"
    ) -> Exchange:
        """Route a request head by its raw Host value to an exchange (``head`` still to set).

        Raises :class:`Refused` with 404 (no route), 503 (every weight 0) or 301 (a
        redirected route on the plain listener; ``target`` is the request's path and
        query). The exchange does nothing until ``start``.
        """
        route = self.ctx.routes.lookup(host)
        if route is None:
            raise Refused(errors.not_found(host))
        if route.redirect and self.redirect_port is not None:
            raise Refused(errors.to_https(normalize_host(host), self.redirect_port, target))
        key = route.pick()
        if key is None:
            raise Refused(errors.UNAVAILABLE)
        return Exchange(self.ctx, down, key, chunked, upgrade)


class Exchange:
    """One request from admission to the end of its response.

    Also the activator's waiter (``queued``, ``granted``), the deadlines' item
    (``deadline``, ``expired``) and its upstream connection's ``ResponseSink``.
    """

    __slots__ = (
        "arrived",
        "chunked",
        "cold",
        "conn",
        "ctx",
        "deadline",
        "down",
        "endpoint",
        "eof_ends",
        "finished",
        "head",
        "head_request",
        "held_at",
        "idle",
        "key",
        "last_io",
        "log_head",
        "pending",
        "pending_size",
        "pod",
        "queued",
        "refused",
        "replay",
        "replay_size",
        "request_done",
        "retried",
        "rev",
        "sent_at",
        "started",
        "status",
        "task",
        "timing",
        "upgrade",
        "waited",
    )

    def __init__(
        self,
        ctx: GatewayContext,
        down: Downstream,
        key: str,
        chunked: bool,
        upgrade: bool,
    ) -> None:
        self.ctx = ctx
        self.down = down
        self.key = key
        self.head = b""
        self.chunked = chunked
        self.upgrade = upgrade
        self.head_request = False  # the upstream parser must know: a HEAD has no body
        self.pending: list[bytes] = []  # body data not yet sent upstream
        self.pending_size = 0
        self.replay: list[bytes] | None = []  # all body data so far, while small
        self.replay_size = 0
        self.request_done = False
        self.rev: Revision | None = None  # set (and counted in its load) on first start
        self.queued = False  # waiting in the revision's throttler queue
        self.conn: UpstreamChannel | None = None
        self.endpoint: Endpoint | None = None  # holds a slot on it while set
        self.started = False  # response head sent to the client
        self.finished = False
        self.eof_ends = False
        self.retried = False
        self.refused: Endpoint | None = None  # the pod that refused this request's connection
        self.arrived = 0.0
        self.deadline = 0.0
        self.sent_at = 0.0  # set when forwarded, if the revision has start/idle timeouts
        self.last_io = 0.0  # last byte either way, if the revision has an idle timeout
        self.idle = 0.0
        self.timing = False  # registered with the context's deadlines
        self.task: asyncio.Task[None] | None = None
        self.cold = False  # arrived to no ready pod: its wait is a cold start
        self.held_at = 0.0  # when it entered the queue
        self.waited = 0.0  # seconds it waited there
        self.status = 0  # the response's status, once its head came
        self.pod: Endpoint | None = None  # the pod it was last sent to
        self.log_head: tuple[bytes, bytes, bytes] | None = None  # host, method, path (log)

    # -- admission: a pod slot now or a place in the queue ---------------------
    def start(self) -> None:
        """Take a pod slot and send (pooled connection) or connect; else wait in queue."""
        ctx = self.ctx
        now = ctx.clock()
        rev = self.rev
        if rev is None:
            rev = ctx.revisions.get(self.key) or ctx.revision(self.key)
            if rev is None:
                self.fail(errors.UNAVAILABLE, "forgotten")
                return
            self.rev = rev
            self.arrived = now
            load = rev.load
            load.add(1, now)
            load.arrivals += 1
            if rev.settings.wake_on_request:
                poke = ctx.poke
                if poke and ctx.meter.should_poke(load, now):
                    poke(rev.key, load.in_flight)
                if load.in_flight == 1 and rev.tally is not None:
                    rev.tally.wakeups += 1  # the reserve was idle
            if not rev.throttler.endpoints:
                self.cold = True
                if rev.tally is not None and not rev.throttler.waiting:
                    rev.tally.cold_starts += 1
            self.deadline = now + rev.settings.timeout_seconds
            self.timing = True
            ctx.deadlines.add(self)
        elif rev.forgotten:
            self.fail(errors.UNAVAILABLE, "forgotten")
            return
        endpoint = rev.throttler.pick(self.refused)
        if endpoint is None:
            self._wait(rev, now)
            return
        endpoint.add(1, now)
        self.endpoint = endpoint
        conn = None if self.retried else endpoint.take_idle()
        if conn is not None:
            self._send(conn)
        else:
            self.down.hold()
            self.task = asyncio.get_running_loop().create_task(self._connect(endpoint))

    def _wait(self, rev: Revision, now: float) -> None:
        ctx = self.ctx
        throttler = rev.throttler
        poke = ctx.poke
        if poke is not None and not throttler.endpoints and ctx.meter.should_poke(rev.load, now):
            poke(rev.key, rev.load.in_flight)
        if not throttler.enqueue(self):
            self.fail(errors.UNAVAILABLE, "queue_full")
            return
        self.held_at = now
        self.down.hold()
        size = self.pending_size
        if size:
            throttler.buffered += size
            if throttler.buffered > throttler.max_buffered_bytes:
                self.fail(errors.UNAVAILABLE, "buffer_full")

    def granted(self, endpoint: Endpoint, /) -> None:
        """The throttler gives this queued request a slot on ``endpoint`` (reserve now)."""
        rev = self.rev
        now = self.ctx.clock()
        if rev is not None:
            if self.pending_size:
                rev.throttler.buffered -= self.pending_size
            self.waited = now - self.held_at
            if rev.tally is not None:
                observe(rev.tally.held, WAIT_BOUNDS_S, self.waited)
        endpoint.add(1, now)
        self.endpoint = endpoint
        asyncio.get_running_loop().call_soon(self._proceed, endpoint)

    def _proceed(self, endpoint: Endpoint) -> None:
        if self.finished or self.endpoint is not endpoint:
            return
        conn = None if self.retried else endpoint.take_idle()
        if conn is not None:
            self.down.unhold()
            self._send(conn)
        else:
            self.task = asyncio.get_running_loop().create_task(self._connect(endpoint))

    async def _connect(self, endpoint: Endpoint) -> None:
        try:
            conn = await endpoint.connect()  # bounded by the deadline sweep (fail cancels)
        except OSError:
            self.task = None
            if self.retried or self.finished:
                self.fail(errors.BAD_GATEWAY, "connect_failed")
            else:
                # Nothing reached the pod (refused: it stopped listening before the gateway
                # saw it terminating); as Knative's activator retries a failed dial, go once
                # more, to another pod if there is one. The body is still pending.
                self._retry(refused=endpoint)
            return
        self.task = None
        if self.finished:
            endpoint.put_idle(conn)
            return
        self.down.unhold()
        self._send(conn)

    def _send(self, conn: UpstreamChannel) -> None:
        self.conn = conn
        self.pod = self.endpoint
        conn.bind(self)
        pending = self.pending
        if pending:
            self.pending = []
            self.pending_size = 0
        conn.send(self.head, pending, self.chunked, self.request_done)
        if self.down.write_paused:
            conn.pause_reading()
        rev = self.rev
        assert rev is not None
        settings = rev.settings
        start_timeout = settings.response_start_timeout_seconds
        idle = settings.idle_timeout_seconds
        if start_timeout or idle:
            now = self.ctx.clock()
            self.sent_at = self.last_io = now
            self.idle = idle or 0.0
            first = now + (start_timeout or self.idle)
            if idle and now + idle < first:
                first = now + idle
            if first < self.deadline:
                self.deadline = first

    def expired(self) -> None:
        """The sweeper's deadline passed: time out, or look again at the next limit."""
        self.timing = False
        rev = self.rev
        if self.finished or rev is None:
            return
        settings = rev.settings
        now = self.ctx.clock()
        limit = float("inf")
        cause = "timeout"
        if not self.started:
            limit = self.arrived + settings.timeout_seconds
            if self.queued:
                cause = "timeout_held"
            elif self.conn is None:
                cause = "timeout_connecting"
            start_timeout = settings.response_start_timeout_seconds
            if self.sent_at and start_timeout and self.sent_at + start_timeout < limit:
                limit = self.sent_at + start_timeout
                cause = "response_start_timeout"
        if self.idle and self.sent_at and self.last_io + self.idle < limit:
            limit = self.last_io + self.idle
            cause = "idle_timeout"
        if now < limit:
            self.deadline = limit
            self.timing = True
            self.ctx.deadlines.add(self)
            return
        if rev.announced:
            self.fail(errors.GATEWAY_TIMEOUT, cause)
        else:
            self.fail(errors.UNAVAILABLE, "unknown_revision")

    # -- request body (driven by the client protocol) --------------------------
    def request_body(self, data: bytes) -> None:
        if self.finished:
            return
        size = len(data)
        replay = self.replay
        if replay is not None:
            self.replay_size += size
            if self.replay_size > REPLAY_LIMIT:
                self.replay = None
            else:
                replay.append(data)
        conn = self.conn
        if conn is not None:
            conn.send_body(data)
            if self.idle:
                self.last_io = self.ctx.clock()
            return
        self.pending.append(data)
        self.pending_size += size
        if self.queued and self.rev is not None:
            throttler = self.rev.throttler
            throttler.buffered += size
            if throttler.buffered > throttler.max_buffered_bytes:
                self.fail(errors.UNAVAILABLE, "buffer_full")

    def request_end(self) -> None:
        if self.finished:
            return
        self.request_done = True
        conn = self.conn
        if conn is not None:
            conn.send_end()
            if self.idle:
                self.last_io = self.ctx.clock()

    def pause_upstream(self) -> None:
        """The client cannot take more: stop reading the response."""
        if self.conn is not None:
            self.conn.pause_reading()

    def resume_upstream(self) -> None:
        if self.conn is not None:
            self.conn.resume_reading()

    # -- the response (ResponseSink: what the upstream connection reports) ------
    def response_interim(self, head: bytes) -> None:
        self.down.response_interim(head)

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
            self.ctx.deadlines.discard(self)
        if status == 101 and not self.upgrade:
            self.fail(errors.BAD_GATEWAY, "bad_upgrade")
            return
        self.status = status
        if self.cold:
            self._cold_start(lines)
        self.started = True
        self.eof_ends = self.down.response_head(
            status, reason, lines, has_length, chunked, conn, upgrade
        )

    def response_trailers(self, fields: list[tuple[bytes, bytes]]) -> None:
        if not self.finished:
            self.down.response_trailers(fields)

    def _cold_start(self, lines: list[bytes]) -> None:
        """The first response head of a request that found no ready pod at arrival."""
        self.cold = False
        ctx, rev = self.ctx, self.rev
        wait = ctx.clock() - self.arrived
        if rev is not None and rev.tally is not None:
            observe(rev.tally.cold, WAIT_BOUNDS_S, wait)
        if ctx.cold_start_header:
            lines += (b"X-Coldbrew-Cold-Start", b": ", b"wait=%.3fs" % wait, b"\r\n")

    def flush(self) -> None:
        if self.idle:
            self.last_io = self.ctx.clock()
        self.down.flush()

    def response_end(self, reusable: bool) -> None:
        if self.finished:
            return
        request_done = self.request_done
        now = self._end()
        self._release(reusable and request_done, now)
        rev = self.rev
        if rev is not None and (tally := rev.tally) is not None:
            # RevisionTally.done, inline: the keep-alive path stays lean (a subscript, not a
            # .get() call: a status already seen is the common case)
            try:
                row = tally.latency[self.status]
            except KeyError:
                row = tally.latency[self.status] = LATENCY_ROW.copy()
            ms = (now - self.arrived) * 1000.0
            row[0] += 1
            row[1] += ms
            if ms <= FIRST_LATENCY_BOUND_MS:  # most proxied requests: no bisect call
                row[2] += 1
            else:
                row[2 + bisect_left(LATENCY_BOUNDS_MS, ms)] += 1
        if self.ctx.request_log is not None:
            self.ctx.request_log.add(self, self.status, now)
        self.down.exchange_done(self, request_done)

    def upstream_lost(self, got_bytes: bool) -> None:
        conn, self.conn = self.conn, None
        if self.finished:
            return
        self.down.flush()
        if self.started:
            if self.eof_ends:
                self.response_end(False)
            else:
                self.fail(errors.BAD_GATEWAY, "upstream_lost")
            return
        if (
            not got_bytes
            and conn is not None
            and conn.reused
            and not self.retried
            and self.replay is not None
        ):
            self.pending = list(self.replay)  # sent on the stale connection: send it again
            self.pending_size = self.replay_size
            self._retry(refused=None)
            return
        self.fail(errors.BAD_GATEWAY, "upstream_lost")

    def upstream_upgraded(self, rest: bytes) -> None:
        conn, self.conn = self.conn, None
        if self.finished or conn is None or conn.transport is None:
            return
        self.finished = True
        if self.timing:
            self.timing = False
            self.ctx.deadlines.discard(self)
        endpoint, self.endpoint = self.endpoint, None
        ctx, rev = self.ctx, self.rev
        self._record(101, "", ctx.clock())

        def closed() -> None:  # the tunnel keeps the pod slot and the load until it closes
            now = ctx.clock()
            if endpoint is not None:
                endpoint.done(now)
            if rev is not None:
                rev.load.add(-1, now)

        self.down.start_tunnel(conn.transport, rest, closed)

    def upstream_paused(self) -> None:
        self.down.peer_busy()

    def upstream_resumed(self) -> None:
        self.down.peer_ready()

    # -- ending ----------------------------------------------------------------
    def _end(self) -> float:
        """Mark finished, stop waiting or timing, leave the revision's load; returns now."""
        self.finished = True
        ctx = self.ctx
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
                self.waited = now - self.held_at
                if rev.tally is not None:
                    observe(rev.tally.held, WAIT_BOUNDS_S, self.waited)
            rev.load.add(-1, now)
        return now

    def _record(self, status: int, cause: str, now: float) -> None:
        """Count the ending in the revision's tally and the request log (off the hot path)."""
        ctx, rev = self.ctx, self.rev
        tally = rev.tally if rev is not None else ctx.tally(self.key)
        elapsed = now - self.arrived if rev is not None else 0.0
        if tally is not None:
            if cause:
                tally.failed(status, cause, elapsed)
            else:
                tally.done(status, elapsed)
        if ctx.request_log is not None:
            ctx.request_log.add(self, status, now)

    def _retry(self, *, refused: Endpoint | None) -> None:
        """Forward the request once more on a fresh connection (the arrival is not recounted)."""
        self.retried = True
        self.refused = refused
        self._release(False, self.ctx.clock())
        self.start()

    def _release(self, reusable: bool, now: float, *, hard: bool = False) -> None:
        """Let go of the upstream connection (``hard``: abort it) and the endpoint slot."""
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

    def fail(self, response: bytes, cause: str = "rejected") -> None:
        """Give up: send ``response`` if the client got nothing yet, close the client.

        ``cause`` names why in the error counters (``queue_full``, ``timeout_held``, ...).
        """
        if self.finished:
            return
        now = self._end()
        self._release(False, now, hard=True)
        if self.started:
            self._record(self.status, "", now)
        else:
            self._record(int(response[9:12]), cause, now)
        self.down.exchange_failed(self, None if self.started else response)

    def abort(self) -> None:
        """The client went away (counted as 499, nginx's "client closed request")."""
        if self.finished:
            return
        now = self._end()
        self._release(False, now, hard=True)
        self._record(self.status if self.started else 499, "", now)

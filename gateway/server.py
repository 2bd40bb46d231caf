"""The Gateway: listening socket plus the control-plane API (routes, revisions, drain)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar, cast

from gateway import accept_log, errors
from gateway.context import GatewayContext
from gateway.handling import Exchange, Handler, RouteTable
from gateway.http1.downstream import ClientProtocol
from gateway.http1.upstream import Address, Endpoint
from gateway.http2.downstream import H2ClientProtocol
from gateway.http2.negotiation import protocol_factory
from gateway.http2.upstream import H2Endpoint
from gateway.limits import DEFAULT_LIMITS, ClientLimits
from gateway.reporting import Reporter
from gateway.requestlog import RequestLog
from gateway.settings import RevisionSettings
from gateway.tls import Certificates, TlsFiles

DEFAULT_SETTINGS = RevisionSettings()

T = TypeVar("T")


def _expired(pool: dict[T, int], before: int) -> Iterator[T]:
    """Take out of ``pool`` (oldest first) and yield the entries whose tick is <= ``before``."""
    while pool:
        item = next(iter(pool))
        if pool[item] > before:
            return
        del pool[item]
        yield item


class Gateway:
    """Host-routing HTTP/1.1 reverse proxy for revisions' endpoints, with the activator.

    ``sock``: serve on a pre-bound listening socket (multi-worker setups) instead of
    ``host``/``port``. ``reuse_port``: set SO_REUSEPORT when binding. A request routed to a
    revision that was never passed to ``set_revision`` waits up to
    ``unknown_revision_hold`` seconds for it, then gets 503. A client connection with no
    request for ``keepalive_timeout`` seconds is closed; ``limits`` bound what a client
    connection may cost (header and body timeouts, underscored headers, connection count:
    gateway.limits). With ``stats_url`` the gateway
    streams per-second concurrency stats and scale-from-zero pokes to the autoscaler
    (docs/seams.md) as ``worker_id`` (default ``gw-<pid>``), with its cumulative request
    figures (:meth:`totals`) in every stats frame.

    ``https_port`` (0 = pick a free one; None = no HTTPS) serves the same requests over
    TLS with the certificates of ``tls`` (gateway/tls.py: chosen by SNI, reloaded when
    their files change), offering ``alpn``; hosts set ``redirected`` in ``set_routes``
    then get a 301 to https on the plain port.

    ``metrics=False``: the hot path updates no request figures (benchmarks compare).
    ``cold_start_header``: a response to a request that found no ready pod names its wait
    (``X-Coldbrew-Cold-Start: wait=0.812s``). ``request_log``: a path, or ``-`` for
    stdout, for the JSON-lines request log (gateway/requestlog.py).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        sock: socket.socket | None = None,
        reuse_port: bool = False,
        backlog: int = 1024,
        unknown_revision_hold: float = 10.0,
        keepalive_timeout: float = 75.0,
        limits: ClientLimits = DEFAULT_LIMITS,
        stats_url: str | None = None,
        worker_id: str | None = None,
        https_port: int | None = None,
        tls: TlsFiles | None = None,
        alpn: Sequence[str] = ("h2", "http/1.1"),
        metrics: bool = True,
        cold_start_header: bool = False,
        request_log: str | None = None,
    ) -> None:
        if https_port is not None and tls is None:
            raise ValueError("https_port needs tls (the certificate files)")
        self.host = host
        self._port = port
        self._https_port = https_port
        self._tls = tls
        self._alpn = tuple(alpn)
        self.certificates: Certificates | None = None
        self._https: asyncio.Server | None = None
        self._sock = sock
        self._reuse_port = reuse_port
        self._backlog = backlog
        self._ctx = GatewayContext(
            unknown_revision_hold,
            keepalive_timeout=keepalive_timeout,
            limits=limits,
            metrics=metrics,
        )
        self._ctx.cold_start_header = cold_start_header
        self._request_log = RequestLog(request_log) if request_log else None
        self._ctx.request_log = self._request_log
        self._server: asyncio.Server | None = None
        self.reporter = Reporter(stats_url, worker_id) if stats_url else None
        self.last_stats: list[dict[str, Any]] = []  # the last closed one-second bucket
        self._timers: list[asyncio.Task[None]] = []

    # -- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        """Start listening; ``port`` is the bound port when this returns."""
        loop = asyncio.get_running_loop()
        ctx = self._ctx
        accept_log.install()
        if self._https_port is not None and self._tls is not None:
            self.certificates = Certificates(self._tls, self._alpn)  # ValueError: bad files
            # HTTP/2 or HTTP/1.1 by ALPN; over TLS nothing is redirected.
            secure_factory = protocol_factory(ctx, Handler(ctx), tls=True)
            self._https = await loop.create_server(
                secure_factory,
                self.host,
                self._https_port,
                ssl=self.certificates.context,
                reuse_port=self._reuse_port or None,
                backlog=self._backlog,
            )
            self._https_port = self._https.sockets[0].getsockname()[1]
        handling = Handler(ctx, redirect_port=self._https_port)

        def factory() -> ClientProtocol:
            return ClientProtocol(ctx, handling)

        if self._sock is not None:
            self._server = await loop.create_server(factory, sock=self._sock, backlog=self._backlog)
        else:
            self._server = await loop.create_server(
                factory,
                self.host,
                self._port,
                reuse_port=self._reuse_port or None,
                backlog=self._backlog,
            )
        self._port = self._server.sockets[0].getsockname()[1]
        ctx.meter.bucket_start = ctx.clock()
        if self._request_log is not None:
            self._request_log.start()
        if self.reporter is not None:
            ctx.poke = self.reporter.poke
            self.reporter.start()
        self._timers = [loop.create_task(self._tick()), loop.create_task(self._sweep_idle())]
        if self.certificates is not None:
            self._timers.append(loop.create_task(self.certificates.watch()))

    @property
    def port(self) -> int:
        return self._port

    @property
    def https_port(self) -> int | None:
        """The bound HTTPS port once started (None: no HTTPS listener)."""
        return self._https_port

    async def stop(self, grace: float = 30.0) -> None:
        """Stop accepting, let in-flight requests finish (up to ``grace``), close all."""
        ctx = self._ctx
        ctx.stopping = True
        for server in (self._server, self._https):
            if server is not None:
                server.close()
        ctx.all_closed = asyncio.Event()
        for proto in list(ctx.connections):
            if isinstance(proto, H2ClientProtocol):
                proto.go_away()  # GOAWAY; closes once its streams are done
            elif proto.is_idle():
                proto.transport.close()
        if ctx.connections or ctx.tunnels:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await ctx.all_closed.wait()
        for proto in list(ctx.connections):
            proto.transport.abort()
        for transport in list(ctx.tunnels):
            transport.abort()
        for endpoint in ctx.endpoints.values():
            endpoint.close_idle()
        ctx.deadlines.close()
        timers, self._timers = self._timers, []
        for task in timers:
            task.cancel()
        for task in timers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.reporter is not None:
            await self.reporter.stop()
        if self._request_log is not None:
            await self._request_log.stop()
        for server in (self._server, self._https):
            if server is not None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await server.wait_closed()

    async def _tick(self) -> None:
        """Close the metering bucket on every wall-clock second; send it if streaming."""
        meter = self._ctx.meter
        while True:
            await asyncio.sleep(1.0 - time.time() % 1.0 + 0.001)
            self.last_stats = stats = meter.close()
            if self.reporter is not None:
                self.reporter.stats(float(round(time.time())), stats, self.totals())

    async def _sweep_idle(self) -> None:
        """Close client connections idle for ``keepalive_timeout``, or whose head or body
        is late (``limits.header_timeout``, ``limits.body_timeout``)."""
        ctx = self._ctx
        limits = ctx.limits
        # A head is never given longer than an idle connection: min(header, keep-alive).
        head_timeout = min(limits.header_timeout, ctx.keepalive_timeout)
        timeouts = (ctx.keepalive_timeout, head_timeout, limits.body_timeout)
        interval = min(1.0, *(t / 4 for t in timeouts))
        ticks, head_ticks, body_ticks = (math.ceil(t / interval) for t in timeouts)
        idle, heads, bodies = ctx.idle, ctx.heads, ctx.bodies
        while True:
            await asyncio.sleep(interval)
            ctx.idle_tick = tick = ctx.idle_tick + 1
            for proto in _expired(idle, tick - ticks):
                if proto.no_request():
                    proto.transport.close()
            for head in _expired(heads, tick - head_ticks):
                if head.no_request():
                    head.timed_out()
            for proto in list(bodies):
                if proto.gate.paused:  # the gateway stopped reading: not the client's delay
                    proto.read_tick = tick
                elif tick - proto.read_tick >= body_ticks:
                    bodies.discard(proto)
                    proto.timed_out()
            if ctx.shedding and len(ctx.connections) < ctx.max_connections * 0.9:
                ctx.shedding = False

    # -- control plane ---------------------------------------------------------
    def routes_synced(self) -> bool:
        """Routes apply in place, at once: always in step with the last set_routes or update."""
        return True

    def set_routes(
        self,
        routes: Mapping[str, Sequence[tuple[str, int]]],
        redirected: Collection[str] = (),
    ) -> None:
        """Replace the whole host -> [(revision key, percent)] table atomically.

        ``redirected`` hosts answer plain HTTP with a 301 to https when HTTPS is on.
        """
        self._ctx.routes = RouteTable(routes, redirected)

    def update_routes(
        self,
        changed: Mapping[str, Sequence[tuple[str, int]]],
        removed: Collection[str] = (),
        redirected: Collection[str] = (),
    ) -> None:
        """Add or replace ``changed`` hosts, drop ``removed`` ones, in place (see
        ``GatewayControl.update_routes``); the other hosts keep their routes."""
        self._ctx.routes.update(changed, removed, redirected)

    def set_revision(
        self,
        key: str,
        endpoints: Iterable[Address],
        settings: RevisionSettings = DEFAULT_SETTINGS,
    ) -> None:
        """Set a revision's ready endpoints (replacing the list) and its settings.

        Updates the revision in place; queued requests that can go now are released.
        """
        ctx = self._ctx
        old = ctx.revisions.get(key)
        before = {ep.address for ep in old.endpoints} if old is not None else set()
        states: list[Endpoint] = []
        kind = H2Endpoint if settings.protocol == "h2c" else Endpoint
        for address in endpoints:
            address = (address[0], int(address[1]))
            state = ctx.endpoints.get(address)
            if state is not None and type(state) is not kind:  # the pod's protocol changed
                state.retired = True
                state.close_idle()
                state = None
            if state is None:
                state = ctx.endpoints[address] = kind(address)
            state.retired = False
            states.append(state)
        ctx.configure_revision(key, states, settings)
        self._retire_unused(before.difference(state.address for state in states))

    def forget_revision(self, key: str) -> None:
        """Drop a revision; requests for it get 503 (queued ones at once)."""
        ctx = self._ctx
        ctx.forgotten.add(key)
        rev = ctx.revisions.pop(key, None)
        if rev is None:
            return
        dropped = {ep.address for ep in rev.endpoints}
        rev.forgotten = True
        rev.load.detached = True
        ctx.meter.adopt(rev.load, [])
        throttler = rev.throttler
        for waiter in throttler.drain():
            cast(Exchange, waiter).fail(errors.UNAVAILABLE, "forgotten")  # the only waiters
        throttler.configure(
            [],
            container_concurrency=throttler.container_concurrency,
            activator_in_path=throttler.activator_in_path,
        )
        self._retire_unused(dropped)

    def totals(self) -> dict[str, dict[str, Any]]:
        """Per revision key: its cumulative figures (gateway/tally.py) and its gauges now.

        Gauges: ``in_flight`` (to pods), ``queued`` (held by the activator) and
        ``concurrency`` (the last closed second's time-weighted average, held included).
        Revisions no request reached yet are left out (a thousand idle services cost
        nothing per second).
        """
        ctx = self._ctx
        averages = {entry["revision"]: entry["concurrency"] for entry in self.last_stats}
        out: dict[str, dict[str, Any]] = {}
        for key, tally in ctx.tallies.items():
            rev = ctx.revisions.get(key)
            if tally.empty() and (rev is None or not rev.load.in_flight):
                continue
            entry = out[key] = tally.frame()
            entry["in_flight"] = rev.in_flight if rev is not None else 0
            entry["queued"] = rev.held if rev is not None else 0
            entry["concurrency"] = averages.get(key, 0.0)
        return out

    def snapshot(self) -> dict[str, dict[str, int]]:
        """Per revision: requests in flight to pods (or connecting) and held in its queue."""
        return {
            key: {"in_flight": rev.in_flight, "held": rev.held}
            for key, rev in self._ctx.revisions.items()
            if rev.announced or rev.load.in_flight
        }

    async def drain_endpoint(self, endpoint: Address, timeout: float = 30.0) -> bool:  # noqa: ASYNC109
        """Wait until no request is in flight on ``endpoint`` (or timeout); close its pool.

        Returns False on timeout.
        """
        address = (endpoint[0], int(endpoint[1]))
        state = self._ctx.endpoints.get(address)
        if state is None:
            return True
        drained = await state.drain(timeout)
        if state.retired and state.in_flight == 0:
            self._ctx.endpoints.pop(address, None)
        return drained

    def _retire_unused(self, dropped: set[Address]) -> None:
        """Retire the endpoints of ``dropped`` (left a revision) that no revision uses.

        Only a change that dropped an endpoint looks at every revision: programming
        10,000 revisions with no pod stays linear."""
        if not dropped:
            return
        ctx = self._ctx
        used = {ep.address for rev in ctx.revisions.values() for ep in rev.endpoints}
        for address in dropped - used:
            state = ctx.endpoints.get(address)
            if state is not None and not state.retired:
                state.retired = True
                state.close_idle()
                if state.in_flight == 0:
                    del ctx.endpoints[address]

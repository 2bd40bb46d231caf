"""State shared by every connection of one Gateway: routes, revisions, endpoints, meter."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, cast

from activator.throttler import Throttler
from gateway.handling import RouteTable
from gateway.http1.downstream import TraceIds
from gateway.http1.upstream import Endpoint
from gateway.limits import DEFAULT_LIMITS, ClientLimits, connection_budget
from gateway.settings import RevisionSettings
from gateway.tally import RevisionTally
from gateway.timekeeping import Deadlines, Meter, RevisionLoad

if TYPE_CHECKING:
    from gateway.http1.downstream import ClientProtocol
    from gateway.requestlog import RequestLog


class ClientConnection(Protocol):
    """An open client connection, HTTP/1 (gateway/http1/downstream.py) or HTTP/2."""

    @property
    def transport(self) -> asyncio.Transport: ...

    def no_request(self) -> bool:
        """Nothing in flight (the idle sweep may close it)."""

    def is_idle(self) -> bool:
        """Safe to close on shutdown."""

    def shed(self) -> None:
        """Close it to free its descriptor (no request is in flight on it)."""


log = logging.getLogger(__name__)
Poke = Callable[[str, int], None]  # (revision key, its concurrency now)


class Revision:
    """A revision's settings, its request queue (throttler) and its load.

    ``settings`` is the :class:`RevisionSettings` last passed to ``set_revision``, under
    the same names. ``announced`` is False for a placeholder created when a request is
    routed to a key that ``set_revision`` has not named (yet); its settings then only
    carry the hold (``timeout_seconds`` = the gateway's ``unknown_revision_hold``).
    ``tally``: its cumulative request figures (gateway/tally.py), None with metrics off.
    """

    __slots__ = ("announced", "forgotten", "key", "load", "settings", "tally", "throttler")

    def __init__(
        self,
        key: str,
        load: RevisionLoad,
        settings: RevisionSettings,
        tally: RevisionTally | None = None,
    ) -> None:
        self.key = key
        self.settings = settings
        self.load = load
        self.tally = tally
        self.announced = False
        self.forgotten = False
        self.throttler: Throttler[Endpoint] = Throttler()

    @property
    def endpoints(self) -> list[Endpoint]:
        return self.throttler.endpoints

    @property
    def held(self) -> int:
        return self.throttler.waiting

    @property
    def in_flight(self) -> int:
        """Requests in flight to pods (or connecting): the load's count less the held."""
        return self.load.in_flight - self.throttler.waiting


class GatewayContext:
    """Routes, revisions, endpoints, meter and the set of open client connections."""

    def __init__(
        self,
        unknown_hold: float = 10.0,
        *,
        keepalive_timeout: float = 75.0,
        limits: ClientLimits = DEFAULT_LIMITS,
        clock: Callable[[], float] = time.monotonic,
        metrics: bool = True,
    ) -> None:
        self.clock = clock
        # Per revision key, for the life of the process (counters never go down); with
        # metrics off the hot path updates nothing.
        self.metrics = metrics
        self.tallies: dict[str, RevisionTally] = {}
        self.cold_start_header = False  # X-Coldbrew-Cold-Start on responses that waited
        self.request_log: RequestLog | None = None
        self.trace_ids = TraceIds()  # fresh traceparent lines
        self.routes = RouteTable()
        self.revisions: dict[str, Revision] = {}
        self.endpoints: dict[tuple[str, int], Endpoint] = {}
        self.meter = Meter(clock)
        self.deadlines = Deadlines(clock=clock)
        self.forgotten: set[str] = set()  # keys passed to forget_revision (503 at once)
        self.unknown_hold = unknown_hold  # seconds to wait for a routed, unannounced revision
        self._hold_settings = RevisionSettings(timeout_seconds=unknown_hold or 1.0)
        self.poke: Poke | None = None  # set when a metrics stream is configured
        self.connections: set[ClientConnection] = set()
        self.tunnels: set[asyncio.Transport] = set()
        # Client connections with no request, in the order they became idle, with the
        # sweep tick at which they did (see Gateway._sweep_idle).
        self.idle: dict[ClientConnection, int] = {}
        # Connections reading a request head: since accept, or since the first byte of a
        # head after keep-alive; oldest first, with the tick it began (header timeout).
        self.heads: dict[ClientProtocol, int] = {}
        # Connections reading a request body (body idle timeout, see ClientProtocol).
        self.bodies: set[ClientProtocol] = set()
        self.idle_tick = 0
        self.keepalive_timeout = keepalive_timeout
        self.limits = limits
        self.underscores = limits.underscores_in_headers
        self.max_connections = limits.max_connections or connection_budget()
        self.shedding = False  # logged once per episode (see Gateway._sweep_idle)
        self.shed_count = 0
        self.stopping = False
        self.all_closed: asyncio.Event | None = None

    def revision(self, key: str) -> Revision | None:
        """The revision for ``key``; a placeholder when unannounced and holding is allowed."""
        rev = self.revisions.get(key)
        if rev is None and self.unknown_hold > 0 and key not in self.forgotten:
            load = self.meter.load(key)
            rev = Revision(key, load, self._hold_settings, self.tally(key))
            self.revisions[key] = rev
        return rev

    def tally(self, key: str) -> RevisionTally | None:
        """The cumulative figures of revision ``key`` (None with metrics off)."""
        if not self.metrics:
            return None
        tally = self.tallies.get(key)
        if tally is None:
            tally = self.tallies[key] = RevisionTally()
        return tally

    def configure_revision(
        self, key: str, endpoints: list[Endpoint], settings: RevisionSettings
    ) -> Revision:
        """Create or update (in place) an announced revision; release what can go now."""
        rev = self.revisions.get(key)
        if rev is None:
            rev = Revision(key, self.meter.load(key), settings, self.tally(key))
            self.revisions[key] = rev
        rev.announced = True
        rev.settings = settings
        self.forgotten.discard(key)
        for endpoint in endpoints:
            endpoint.throttler = rev.throttler
        self.meter.adopt(rev.load, endpoints)
        rev.throttler.configure(
            endpoints,
            container_concurrency=settings.container_concurrency,
            activator_in_path=settings.activator_in_path,
            queue_depth=settings.queue_depth,
            max_buffered_bytes=settings.max_buffered_bytes,
        )
        return rev

    def shed(self) -> None:
        """Close the oldest connection with no request: a head trickling in, else idle."""
        heads = cast("dict[ClientConnection, int]", self.heads)  # HTTP/1 connections only
        for pool in (heads, self.idle):
            while pool:
                proto = next(iter(pool))
                del pool[proto]
                if proto.no_request():
                    if not self.shedding:
                        self.shedding = True
                        log.warning(
                            "gateway: %d client connections (limit %d): shedding the oldest "
                            "without a request",
                            len(self.connections),
                            self.max_connections,
                        )
                    self.shed_count += 1
                    proto.shed()
                    return

    def connection_closed(self, proto: ClientConnection) -> None:
        self.connections.discard(proto)
        self.idle.pop(proto, None)
        # Only HTTP/1 connections read heads and bodies this way.
        cast("dict[ClientConnection, int]", self.heads).pop(proto, None)
        cast("set[ClientConnection]", self.bodies).discard(proto)
        self._check_empty()

    def tunnel_closed(self, transport: asyncio.Transport) -> None:
        self.tunnels.discard(transport)
        self._check_empty()

    def _check_empty(self) -> None:
        if self.all_closed is not None and not self.connections and not self.tunnels:
            self.all_closed.set()

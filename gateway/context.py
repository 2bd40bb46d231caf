"""State shared by every connection of one Gateway."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from activator.holding import DEFAULT_MAX_BUFFERED, DEFAULT_QUEUE_DEPTH, Throttler
from gateway.deadlines import Deadlines
from gateway.metering import Meter, RevisionLoad
from gateway.routing import RouteTable
from gateway.upstream import Endpoint

if TYPE_CHECKING:
    from gateway.proxying import ProxyProtocol

Poke = Callable[[str, int], None]  # (revision key, its concurrency now)


class Revision:
    """A revision's configuration, its request queue (throttler) and its load.

    Timeouts of 0.0 are disabled. ``announced`` is False for a placeholder created when a
    request is routed to a key that ``set_revision`` has not named (yet).
    """

    __slots__ = (
        "announced",
        "forgotten",
        "idle_timeout",
        "key",
        "load",
        "response_start_timeout",
        "throttler",
        "timeout",
        "wake",
    )

    def __init__(self, key: str, load: RevisionLoad, timeout: float) -> None:
        self.key = key
        # Serving from a reserve pod: every arrival pokes the autoscaler (rate limited),
        # so standard pods start at once instead of after the next stats second.
        self.wake = False
        self.load = load
        self.timeout = timeout
        self.response_start_timeout = 0.0
        self.idle_timeout = 0.0
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
        return self.load.active - self.throttler.waiting


class GatewayContext:
    """Routes, revisions, endpoints, meter and the set of open client connections."""

    def __init__(
        self,
        unknown_hold: float = 10.0,
        *,
        keepalive_timeout: float = 75.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.routes = RouteTable()
        self.revisions: dict[str, Revision] = {}
        self.endpoints: dict[tuple[str, int], Endpoint] = {}
        self.meter = Meter(clock)
        self.deadlines = Deadlines(clock=clock)
        self.forgotten: set[str] = set()  # keys passed to forget_revision (503 at once)
        self.unknown_hold = unknown_hold  # seconds to wait for a routed, unannounced revision
        self.poke: Poke | None = None  # set when a metrics stream is configured
        self.connections: set[ProxyProtocol] = set()
        self.tunnels: set[asyncio.Transport] = set()
        # Client connections with no request, in the order they became idle, with the
        # sweep tick at which they did (see Gateway._sweep_idle).
        self.idle: dict[ProxyProtocol, int] = {}
        self.idle_tick = 0
        self.keepalive_timeout = keepalive_timeout
        self.stopping = False
        self.all_closed: asyncio.Event | None = None

    def revision(self, key: str) -> Revision | None:
        """The revision for ``key``; a placeholder when unannounced and holding is allowed."""
        rev = self.revisions.get(key)
        if rev is None and self.unknown_hold > 0 and key not in self.forgotten:
            rev = self.revisions[key] = Revision(key, self.meter.load(key), self.unknown_hold)
        return rev

    def configure_revision(
        self,
        key: str,
        endpoints: list[Endpoint],
        timeout: float,
        *,
        response_start_timeout: float = 0.0,
        idle_timeout: float = 0.0,
        cc: int = 0,
        in_path: bool = True,
        queue_depth: int = DEFAULT_QUEUE_DEPTH,
        max_buffered: int = DEFAULT_MAX_BUFFERED,
        wake: bool = False,
    ) -> Revision:
        """Create or update (in place) an announced revision; release what can go now."""
        rev = self.revisions.get(key)
        if rev is None:
            rev = self.revisions[key] = Revision(key, self.meter.load(key), timeout)
        rev.announced = True
        rev.timeout = timeout
        rev.response_start_timeout = response_start_timeout
        rev.idle_timeout = idle_timeout
        rev.wake = wake
        self.forgotten.discard(key)
        for endpoint in endpoints:
            endpoint.throttler = rev.throttler
        self.meter.adopt(rev.load, endpoints)
        rev.throttler.configure(
            endpoints, cc=cc, in_path=in_path, queue_depth=queue_depth, max_buffered=max_buffered
        )
        return rev

    def connection_closed(self, proto: ProxyProtocol) -> None:
        self.connections.discard(proto)
        self.idle.pop(proto, None)
        self._check_empty()

    def tunnel_closed(self, transport: asyncio.Transport) -> None:
        self.tunnels.discard(transport)
        self._check_empty()

    def _check_empty(self) -> None:
        if self.all_closed is not None and not self.connections and not self.tunnels:
            self.all_closed.set()

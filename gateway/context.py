"""State shared by every connection of one Gateway."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from activator.holding import Holder
from gateway.deadlines import Deadlines
from gateway.routing import RouteTable
from gateway.upstream import Endpoint

if TYPE_CHECKING:
    from gateway.proxying import ProxyProtocol


class Revision:
    """A revision's ready endpoints and its request timeout."""

    __slots__ = ("endpoints", "key", "timeout")

    def __init__(self, key: str, endpoints: list[Endpoint], timeout: float) -> None:
        self.key = key
        self.endpoints = endpoints
        self.timeout = timeout


class GatewayContext:
    """Routes, revisions, the holder and the set of open client connections."""

    def __init__(self, holder: Holder, unknown_hold: float = 10.0) -> None:
        self.routes = RouteTable()
        self.revisions: dict[str, Revision] = {}
        self.endpoints: dict[tuple[str, int], Endpoint] = {}
        self.holder = holder
        self.deadlines = Deadlines()
        self.forgotten: set[str] = set()  # keys passed to forget_revision (503 at once)
        self.unknown_hold = unknown_hold  # seconds to wait for a routed, unannounced revision
        self.connections: set[ProxyProtocol] = set()
        self.tunnels: set[asyncio.Transport] = set()
        self.stopping = False
        self.all_closed: asyncio.Event | None = None

    def connection_closed(self, proto: ProxyProtocol) -> None:
        self.connections.discard(proto)
        self._check_empty()

    def tunnel_closed(self, transport: asyncio.Transport) -> None:
        self.tunnels.discard(transport)
        self._check_empty()

    def _check_empty(self) -> None:
        if self.all_closed is not None and not self.connections and not self.tunnels:
            self.all_closed.set()

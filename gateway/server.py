"""The Gateway: listening socket plus the control-plane API (routes, revisions, drain)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterable, Mapping, Sequence

from activator.holding import Holder
from gateway.context import GatewayContext, Revision
from gateway.proxying import ProxyProtocol
from gateway.routing import RouteTable
from gateway.upstream import Address, Endpoint

DEFAULT_TIMEOUT = 300.0


class Gateway:
    """Host-routing HTTP/1.1 reverse proxy for revisions' endpoints.

    ``sock``: serve on a pre-bound listening socket (multi-worker setups) instead of
    ``host``/``port``. ``reuse_port``: set SO_REUSEPORT when binding. A request routed to a
    revision that was never passed to ``set_revision`` waits up to
    ``unknown_revision_hold`` seconds for it, then gets 503.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        sock: socket.socket | None = None,
        reuse_port: bool = False,
        holder: Holder | None = None,
        backlog: int = 1024,
        unknown_revision_hold: float = 10.0,
    ) -> None:
        self.host = host
        self._port = port
        self._sock = sock
        self._reuse_port = reuse_port
        self._backlog = backlog
        self.holder = holder if holder is not None else Holder()
        self._ctx = GatewayContext(self.holder, unknown_revision_hold)
        self._server: asyncio.Server | None = None

    # -- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        """Start listening; ``port`` is the bound port when this returns."""
        loop = asyncio.get_running_loop()
        ctx = self._ctx

        def factory() -> ProxyProtocol:
            return ProxyProtocol(ctx, loop)

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

    @property
    def port(self) -> int:
        return self._port

    async def stop(self, grace: float = 30.0) -> None:
        """Stop accepting, let in-flight requests finish (up to ``grace``), close all."""
        ctx = self._ctx
        ctx.stopping = True
        if self._server is not None:
            self._server.close()
        ctx.all_closed = asyncio.Event()
        for proto in list(ctx.connections):
            if proto.is_idle():
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
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._server.wait_closed()

    # -- control plane ---------------------------------------------------------
    def set_routes(self, routes: Mapping[str, Sequence[tuple[str, int]]]) -> None:
        """Replace the whole host -> [(revision key, percent)] table atomically."""
        self._ctx.routes = RouteTable(routes)

    def set_revision(
        self, key: str, endpoints: Iterable[Address], timeout_seconds: float = DEFAULT_TIMEOUT
    ) -> None:
        """Set a revision's ready endpoints (replacing the list) and its timeout."""
        ctx = self._ctx
        states = []
        for address in endpoints:
            address = (address[0], int(address[1]))
            state = ctx.endpoints.get(address)
            if state is None:
                state = ctx.endpoints[address] = Endpoint(address)
            state.retired = False
            states.append(state)
        ctx.revisions[key] = Revision(key, states, float(timeout_seconds))
        ctx.forgotten.discard(key)
        self._retire_unused()
        if states:
            self.holder.release(key)

    def forget_revision(self, key: str) -> None:
        """Drop a revision; requests for it get 503 (held ones are woken)."""
        self._ctx.forgotten.add(key)
        if self._ctx.revisions.pop(key, None) is not None:
            self._retire_unused()
        self.holder.release(key)

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

    def _retire_unused(self) -> None:
        ctx = self._ctx
        used = {ep.address for rev in ctx.revisions.values() for ep in rev.endpoints}
        for address, state in list(ctx.endpoints.items()):
            if address not in used and not state.retired:
                state.retired = True
                state.close_idle()
                if state.in_flight == 0:
                    del ctx.endpoints[address]

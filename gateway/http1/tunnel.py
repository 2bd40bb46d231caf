"""Raw byte tunnel between client and upstream after a 101 Switching Protocols."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from gateway.http1.flow_control import set_limits


class TunnelEnd(asyncio.Protocol):
    """Receives on one transport and writes to its peer, with back-pressure."""

    __slots__ = ("_on_close", "peer", "transport")

    def __init__(
        self, transport: asyncio.Transport, peer: asyncio.Transport, on_close: Callable[[], None]
    ) -> None:
        self.transport = transport
        self.peer = peer
        self._on_close = on_close

    def data_received(self, data: bytes) -> None:
        self.peer.write(data)

    def eof_received(self) -> bool:
        self.peer.close()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.peer.close()
        on_close, self._on_close = self._on_close, _noop
        on_close()

    def pause_writing(self) -> None:
        if not self.peer.is_closing():
            self.peer.pause_reading()

    def resume_writing(self) -> None:
        if not self.peer.is_closing():
            self.peer.resume_reading()


def _noop() -> None:
    return None


def splice(
    client: asyncio.Transport,
    upstream: asyncio.Transport,
    client_early: bytes,
    upstream_early: bytes,
    on_close: Callable[[], None],
) -> None:
    """Tunnel bytes both ways until either side closes; ``on_close`` runs once."""
    done = False

    def closed() -> None:
        nonlocal done
        if not done:
            done = True
            on_close()

    client.set_protocol(TunnelEnd(client, upstream, closed))
    upstream.set_protocol(TunnelEnd(upstream, client, closed))
    set_limits(client)
    set_limits(upstream)
    if upstream_early:
        client.write(upstream_early)
    if client_early:
        upstream.write(client_early)
    for transport in (client, upstream):
        if not transport.is_closing():
            transport.resume_reading()

"""Read-side flow control: a transport's reading is paused while any reason holds.

A client connection's reading can be paused for several independent reasons at once
(the upstream's write buffer is full, a pipelined request is waiting, the request is
held or connecting). Reading resumes only when the last reason is cleared.
"""

from __future__ import annotations

import asyncio

# Write buffer watermarks applied to every transport the gateway owns.
HIGH_WATER = 64 * 1024
LOW_WATER = 16 * 1024

# Reasons to pause reading (bit flags).
PEER_BUSY = 1  # the transport we forward to has a full write buffer
PIPELINE = 2  # a request is waiting behind the one in flight
WAITING = 4  # the request is held or connecting
UPGRADE = 8  # an upgrade request awaits the upstream's answer


def set_limits(transport: asyncio.WriteTransport) -> None:
    """Apply the gateway's write buffer watermarks to a transport."""
    transport.set_write_buffer_limits(high=HIGH_WATER, low=LOW_WATER)


class ReadGate:
    """Pause/resume reading on a transport, tracking independent reasons as bits."""

    __slots__ = ("_reasons", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._reasons = 0  # bits of the reasons reading is paused for; 0: reading

    @property
    def paused(self) -> bool:
        return self._reasons != 0

    def pause(self, reason: int) -> None:
        if not self._reasons and not self._transport.is_closing():
            self._transport.pause_reading()
        self._reasons |= reason

    def resume(self, reason: int) -> None:
        if self._reasons & reason:
            self._reasons &= ~reason
            if not self._reasons and not self._transport.is_closing():
                self._transport.resume_reading()

    def release_all(self) -> None:
        """Forget every reason and resume reading (used when handing over the transport)."""
        if self._reasons:
            self._reasons = 0
            if not self._transport.is_closing():
                self._transport.resume_reading()

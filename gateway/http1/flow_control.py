"""Write-side flow control: the write buffer watermarks of every transport the gateway owns.

A transport whose buffer passes ``HIGH_WATER`` calls its protocol's ``pause_writing``
(the other side of the proxy then stops reading) and ``resume_writing`` below
``LOW_WATER``. Applied once per connection, when it opens. The read side, pausing a
client connection's reading for several reasons at once, is
:class:`gateway.http1.downstream.ReadGate`.
"""

from __future__ import annotations

import asyncio

HIGH_WATER = 64 * 1024
LOW_WATER = 16 * 1024


def set_limits(transport: asyncio.WriteTransport) -> None:
    """Apply the gateway's write buffer watermarks to a transport."""
    transport.set_write_buffer_limits(high=HIGH_WATER, low=LOW_WATER)

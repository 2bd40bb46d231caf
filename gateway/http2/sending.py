"""Queued DATA out within a stream's flow-control window, for both HTTP/2 sides.

The client side (gateway/http2/downstream.py) sends response bodies this way, the pod side
(gateway/http2/upstream.py) request bodies; each keeps its stream's bytes in ``out`` (no
empty chunks) with their total in ``out_size``.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from h2.connection import H2Connection


class Outbox(Protocol):
    out: deque[bytes]
    out_size: int


def send_queued(h2: H2Connection, sid: int, stream: Outbox, end: bool) -> bool:
    """Send what stream ``sid``'s window allows of ``stream.out`` as DATA frames.

    With ``end``, the frame that empties ``out`` carries END_STREAM; True when it went.
    Raises what ``h2`` raises (``H2Error``).
    """
    out = stream.out
    while out:
        window = min(h2.local_flow_control_window(sid), h2.max_outbound_frame_size)
        if window <= 0:
            return False
        data = out[0]
        if len(data) <= window:
            out.popleft()
        else:
            data, out[0] = data[:window], data[window:]
        stream.out_size -= len(data)
        if end and not out:
            h2.send_data(sid, data, end_stream=True)
            return True
        h2.send_data(sid, data)
    return False

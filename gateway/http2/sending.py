"""Queued DATA out within a stream's flow-control window, for both HTTP/2 sides.

The client side (gateway/http2/downstream.py) sends response bodies this way, the pod side
(gateway/http2/upstream.py) request bodies; each keeps its stream's bytes in ``out`` (no
empty chunks) with their total in ``out_size``.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol


class Outbox(Protocol):
    out: deque[bytes]
    out_size: int


class Sender(Protocol):
    """What both sides' connections offer: h2's H2Connection and our ServerCodec."""

    @property
    def max_outbound_frame_size(self) -> int: ...
    def local_flow_control_window(self, stream_id: int) -> int: ...
    def send_data(self, stream_id: int, data: bytes, end_stream: bool = False) -> None: ...


def send_queued(h2: Sender, sid: int, stream: Outbox, end: bool) -> bool:
    """Send what stream ``sid``'s window allows of ``stream.out`` as DATA frames.

    With ``end``, the frame that empties ``out`` carries END_STREAM; True when it went.
    Raises what the connection raises (``H2Error``, ``CodecError``).
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

"""One client stream's protocol state in the codec (RFC 9113 5.1), kept explicitly.

A stream the codec knows is ``OPEN``, ``HALF_CLOSED_REMOTE`` (the client sent
END_STREAM) or ``HALF_CLOSED_LOCAL`` (we did); once both ends are closed, or either side
reset it, the codec forgets it: any id at or below the highest one opened that it does
not know is closed, any id above idle.
"""

from __future__ import annotations

from gateway.http2.frames import DEFAULT_WINDOW

OPEN, HALF_CLOSED_REMOTE, HALF_CLOSED_LOCAL = "open", "half-closed (remote)", "half-closed (local)"


class StreamState:
    """Windows, state and body accounting of one stream."""

    __slots__ = ("expected", "pending", "received", "recv_window", "send_window", "state")

    def __init__(self, send_window: int, ended: bool, expected: int) -> None:
        self.state = HALF_CLOSED_REMOTE if ended else OPEN
        self.send_window = send_window  # what we may send (the client's window)
        self.recv_window = DEFAULT_WINDOW  # what the client may still send
        self.pending = 0  # bytes consumed but not yet granted back (WINDOW_UPDATE)
        self.expected = expected  # the request's content-length, -1 without one
        self.received = 0

    @property
    def remote_open(self) -> bool:
        return self.state != HALF_CLOSED_REMOTE

    def close_remote(self) -> bool:
        """The client ended its side; True when the stream is now closed."""
        if self.state == HALF_CLOSED_LOCAL:
            return True
        self.state = HALF_CLOSED_REMOTE
        return False

    def close_local(self) -> bool:
        """We ended our side; True when the stream is now closed."""
        if self.state == HALF_CLOSED_REMOTE:
            return True
        self.state = HALF_CLOSED_LOCAL
        return False

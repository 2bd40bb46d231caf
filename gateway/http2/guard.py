"""Bounds against hostile HTTP/2 clients: the codec's limits plus per-connection budgets.

- Stream flood: past SETTINGS_MAX_CONCURRENT_STREAMS a new stream is refused with
  RST_STREAM(REFUSED_STREAM) (gateway/http2/codec.py), and refused streams count as
  resets, as do malformed requests (RST_STREAM(PROTOCOL_ERROR)).
- Rapid reset (CVE-2023-44487): streams the client resets (or that are refused) count in
  a sliding :class:`Budget`; past it the connection gets GOAWAY(ENHANCE_YOUR_CALM).
- SETTINGS / PING floods: each frame the codec acknowledges counts in another budget; past it,
  or when the client does not read what the acknowledgements queue up
  (``MAX_UNREAD``), GOAWAY(ENHANCE_YOUR_CALM).
- Oversized header blocks: the HPACK decoder refuses a header list past
  ``MAX_HEADER_LIST`` (advertised as SETTINGS_MAX_HEADER_LIST_SIZE) and the codec bounds
  the CONTINUATION frames of one block (64) and its encoded size: past any of them,
  GOAWAY(ENHANCE_YOUR_CALM) and close.
"""

from __future__ import annotations

from collections.abc import Callable

MAX_STREAMS = 100  # SETTINGS_MAX_CONCURRENT_STREAMS
MAX_HEADER_LIST = 64 * 1024  # SETTINGS_MAX_HEADER_LIST_SIZE, and the decoder's bound
RESET_BUDGET = (200, 10.0)  # resets (and refused streams) per 10 s
CONTROL_BUDGET = (1000, 10.0)  # PING and SETTINGS frames per 10 s
MAX_UNREAD = 1024 * 1024  # bytes queued for a client that does not read


class Budget:
    """At most ``limit`` events in any ``window`` seconds (two half-overlapping buckets)."""

    __slots__ = ("_clock", "_count", "_limit", "_previous", "_start", "_window")

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._start = clock()
        self._count = 0
        self._previous = 0

    def spend(self) -> bool:
        """Count one event; False once the budget is exceeded."""
        now = self._clock()
        if now - self._start >= self._window:
            elapsed = (now - self._start) // self._window
            self._previous = self._count if elapsed == 1 else 0
            self._start += elapsed * self._window
            self._count = 0
        self._count += 1
        weight = 1.0 - (now - self._start) / self._window
        return self._count + self._previous * weight <= self._limit

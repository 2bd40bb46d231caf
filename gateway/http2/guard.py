"""Bounds against hostile HTTP/2 clients: the h2 state machine plus per-connection budgets.

- Stream flood: past SETTINGS_MAX_CONCURRENT_STREAMS a new stream is refused with
  RST_STREAM(REFUSED_STREAM) (:class:`GuardedConnection`; h2 alone would end the whole
  connection), and refused streams count as resets.
- Rapid reset (CVE-2023-44487): streams the client resets (or that are refused) count in
  a sliding :class:`Budget`; past it the connection gets GOAWAY(ENHANCE_YOUR_CALM).
- SETTINGS / PING floods: each frame h2 acknowledges counts in another budget; past it,
  or when the client does not read what the acknowledgements queue up
  (``MAX_UNREAD``), GOAWAY(ENHANCE_YOUR_CALM).
- Oversized header blocks: h2's HPACK decoder refuses a header list past
  ``MAX_HEADER_LIST`` (advertised as SETTINGS_MAX_HEADER_LIST_SIZE) and h2 bounds the
  CONTINUATION frames of one block (64): both end the connection with GOAWAY.
"""

from __future__ import annotations

from collections.abc import Callable

from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.exceptions import ProtocolError, TooManyStreamsError
from h2.stream import StreamClosedBy
from hpack.exceptions import HPACKError
from hyperframe.frame import Frame, HeadersFrame, RstStreamFrame

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


class GuardedConnection(H2Connection):
    """h2's server connection, refusing streams past the limit instead of failing."""

    refused: Callable[[], None] | None = None  # called for every refused stream

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.decoder.max_header_list_size = MAX_HEADER_LIST

    def _receive_headers_frame(self, frame: HeadersFrame) -> tuple[list[Frame], list[object]]:  # type: ignore[override]
        try:
            return super()._receive_headers_frame(frame)  # type: ignore[return-value]
        except TooManyStreamsError:
            pass
        try:  # keep the HPACK decoder in step with the client, then refuse the stream
            self.decoder.decode(frame.data, raw=True)
        except HPACKError as exc:
            raise ProtocolError(f"bad header block: {exc}") from exc
        sid = frame.stream_id
        self.highest_inbound_stream_id = max(self.highest_inbound_stream_id, sid)
        self._closed_streams[sid] = StreamClosedBy.SEND_RST_STREAM
        rst = RstStreamFrame(sid)
        rst.error_code = ErrorCodes.REFUSED_STREAM
        if self.refused is not None:
            self.refused()
        return [rst], []

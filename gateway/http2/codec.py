"""The server side of HTTP/2 for client connections: frames in, calls out, frames queued.

:class:`ServerCodec` replaces h2's state machine on the hot path (h2 costs about 200 us
of CPU per request in event objects and per-frame Python). Bytes go in through
:meth:`ServerCodec.receive`; what the client did comes out as calls on an
:class:`Events` (the connection protocol, gateway/http2/downstream.py); what to send
accumulates until :meth:`ServerCodec.data_to_send`. Streams are
:class:`~gateway.http2.state.StreamState`. HPACK is the ``hpack`` library's, with the
memo and the static-only encoder of gateway/http2/fields.py and frames.py.

Errors (RFC 9113 5.4): a connection error queues GOAWAY with its code and makes
``receive`` return False (the caller closes); a stream error queues RST_STREAM and tells
``Events.h2_reset``; a malformed request, or one past ``max_streams``, is reset
(PROTOCOL_ERROR, REFUSED_STREAM) and counted by ``Events.h2_refused``. Header blocks are
bounded (``MAX_CONTINUATIONS`` frames, ``max_header_list`` bytes decoded and a little more
encoded): past either, GOAWAY(ENHANCE_YOUR_CALM).
"""

from __future__ import annotations

import base64
import struct
from typing import Protocol

from gateway.http2 import frames as f
from gateway.http2.fields import BlockDecoder, Fields, check_request, check_trailers
from gateway.http2.frames import CodecError, ConnectionFault, StreamGone
from gateway.http2.state import HALF_CLOSED_LOCAL, StreamState

MAX_CONTINUATIONS = 64
GRANT_AT = f.DEFAULT_WINDOW // 2  # consumed bytes that make a WINDOW_UPDATE worth sending
_U32 = struct.Struct(">L")
_SETTING = struct.Struct(">HL")
_unpack_header = f.HEADER.unpack_from


class Events(Protocol):
    closed: bool

    def h2_request(self, sid: int, fields: Fields, ended: bool) -> None: ...
    def h2_data(self, sid: int, data: bytes, size: int) -> None: ...
    def h2_end(self, sid: int) -> None: ...
    def h2_reset(self, sid: int) -> None: ...
    def h2_refused(self) -> None: ...
    def h2_window(self) -> None: ...
    def h2_control(self) -> None: ...
    def h2_goaway(self) -> None: ...


class ServerCodec:
    """One client connection's HTTP/2 framing, flow control and stream states."""

    def __init__(self, events: Events, max_streams: int, max_header_list: int, window: int):
        self.events = events
        self.max_streams = max_streams
        self.max_header_list = max_header_list
        self.window = window  # the connection receive window we keep open
        self.out: list[bytes] = []
        self.buf = b""
        self.preface = True  # the client's preface still to come
        self.settings_seen = False
        self.streams: dict[int, StreamState] = {}
        self.highest_inbound_stream_id = 0
        self.send_window = f.DEFAULT_WINDOW
        self.recv_window = f.DEFAULT_WINDOW
        self.pending = 0
        self.initial_window = f.DEFAULT_WINDOW
        self.max_outbound_frame_size = f.DEFAULT_FRAME_SIZE
        self.table_update = True  # our HPACK table size (0) still to announce
        self.block: list[bytes] | None = None  # a header block awaiting CONTINUATION
        self.block_sid = self.block_frames = self.block_size = 0
        self.block_ended = False
        self.decoder = BlockDecoder(max_header_list)
        self._handlers = {
            f.DATA: self._data, f.HEADERS: self._headers, f.PRIORITY: self._priority,
            f.RST_STREAM: self._rst, f.SETTINGS: self._settings, f.PING: self._ping,
            f.GOAWAY: self._goaway, f.WINDOW_UPDATE: self._window_update,
            f.CONTINUATION: self._continuation, f.PUSH_PROMISE: self._push_promise,
        }  # fmt: skip

    # -- setting up ------------------------------------------------------------
    def initiate_connection(self) -> None:
        limits = {f.MAX_CONCURRENT_STREAMS: self.max_streams}
        self.out.append(f.settings({**limits, f.MAX_HEADER_LIST_SIZE: self.max_header_list}))
        if self.window > f.DEFAULT_WINDOW:
            self.out.append(f.window_update(0, self.window - f.DEFAULT_WINDOW))
            self.recv_window = self.window

    def initiate_upgrade_connection(self, header: bytes) -> None:
        """``Upgrade: h2c`` with this HTTP2-Settings: stream 1 is the request, half closed."""
        payload = base64.urlsafe_b64decode(header + b"=" * (-len(header) % 4))
        self._apply_settings(payload)
        self.initiate_connection()
        self.highest_inbound_stream_id = 1
        self.streams[1] = StreamState(self.initial_window, True, -1)

    # -- receiving -------------------------------------------------------------
    def receive(self, data: bytes) -> bool:
        """Process bytes from the client; False after a connection error (GOAWAY queued)."""
        buf = self.buf + data if self.buf else data
        try:
            if self.preface:
                if len(buf) < len(f.PREFACE):
                    if not f.PREFACE.startswith(buf):
                        raise ConnectionFault(f.PROTOCOL_ERROR, "bad connection preface")
                    self.buf = buf
                    return True
                if not buf.startswith(f.PREFACE):
                    raise ConnectionFault(f.PROTOCOL_ERROR, "bad connection preface")
                buf = buf[len(f.PREFACE) :]
                self.preface = False
            pos, end, events, handlers = 0, len(buf), self.events, self._handlers
            while end - pos >= f.HEADER_SIZE:
                high, low, kind, flags, sid = _unpack_header(buf, pos)
                length = (high << 8) | low
                if length > f.DEFAULT_FRAME_SIZE:
                    raise ConnectionFault(f.FRAME_SIZE_ERROR, "frame larger than allowed")
                start = pos + f.HEADER_SIZE
                if end - start < length:
                    break
                pos = start + length
                sid &= 0x7FFFFFFF
                if self.block is not None and (kind != f.CONTINUATION or sid != self.block_sid):
                    raise ConnectionFault(f.PROTOCOL_ERROR, "header block interrupted")
                if not self.settings_seen and (kind != f.SETTINGS or flags & f.ACK):
                    raise ConnectionFault(f.PROTOCOL_ERROR, "first frame is not SETTINGS")
                handler = handlers.get(kind)
                if handler is not None:  # unknown types are ignored (RFC 9113 5.5)
                    handler(flags, sid, buf[start:pos])
                if events.closed:
                    self.buf = b""
                    return True
            self.buf = buf[pos:]
        except ConnectionFault as fault:
            self.buf = b""
            self.close_connection(fault.code)
            return False
        return True

    def _unpad(self, payload: bytes) -> bytes:
        if not payload or payload[0] >= len(payload):
            raise ConnectionFault(f.PROTOCOL_ERROR, "padding as long as the frame")
        return payload[1 : len(payload) - payload[0]]

    def _data(self, flags: int, sid: int, payload: bytes) -> None:
        if sid == 0:
            raise ConnectionFault(f.PROTOCOL_ERROR, "DATA on stream 0")
        size = len(payload)
        self.recv_window -= size
        if self.recv_window < 0:
            raise ConnectionFault(f.FLOW_CONTROL_ERROR, "connection window exceeded")
        data = self._unpad(payload) if flags & f.PADDED else payload
        stream = self.streams.get(sid)
        if stream is None or not stream.remote_open:
            if sid > self.highest_inbound_stream_id:
                raise ConnectionFault(f.PROTOCOL_ERROR, "DATA on an idle stream")
            self.acknowledge_received_data(size, 0)
            if stream is not None:
                self.stream_error(sid, f.STREAM_CLOSED)
            return
        stream.recv_window -= size
        stream.received += len(data)
        ended = flags & f.END_STREAM
        expected = stream.expected
        if stream.recv_window < 0:
            self.acknowledge_received_data(size, 0)
            self.stream_error(sid, f.FLOW_CONTROL_ERROR)
            return
        if expected >= 0 and (
            stream.received > expected or (ended and stream.received != expected)
        ):  # a body longer or shorter than its content-length (RFC 9113 8.1.1)
            self.acknowledge_received_data(size, 0)
            self.stream_error(sid, f.PROTOCOL_ERROR)
            return
        self.events.h2_data(sid, data, size)
        if ended and sid in self.streams:
            self._end_remote(sid, stream)

    def _headers(self, flags: int, sid: int, payload: bytes) -> None:
        if sid == 0 or not sid & 1:
            raise ConnectionFault(f.PROTOCOL_ERROR, "HEADERS on a stream id a client cannot use")
        data = self._unpad(payload) if flags & f.PADDED else payload
        if flags & f.PRIORITY_FLAG:
            data = data[5:]
        if flags & f.END_HEADERS:
            self._block(sid, bool(flags & f.END_STREAM), data)
        else:
            self.block, self.block_sid, self.block_ended = [data], sid, bool(flags & f.END_STREAM)
            self.block_frames, self.block_size = 0, len(data)

    def _continuation(self, flags: int, sid: int, payload: bytes) -> None:
        block = self.block
        if block is None:
            raise ConnectionFault(f.PROTOCOL_ERROR, "CONTINUATION without HEADERS")
        self.block_frames += 1
        self.block_size += len(payload)
        if self.block_frames > MAX_CONTINUATIONS or self.block_size > self.max_header_list + 16384:
            raise ConnectionFault(f.ENHANCE_YOUR_CALM, "header block too long")
        block.append(payload)
        if flags & f.END_HEADERS:
            self.block = None
            self._block(sid, self.block_ended, b"".join(block))

    def _block(self, sid: int, ended: bool, block: bytes) -> None:
        stream = self.streams.get(sid)
        if stream is not None or sid <= self.highest_inbound_stream_id:
            self._trailers(sid, stream, ended, block)
            return
        self.highest_inbound_stream_id = sid
        decoder = self.decoder
        checked = decoder.memo.get(block)
        if checked is None:
            fields = decoder.decode(block)
            why, expected = check_request(fields)
            if why is None and decoder.cacheable:
                decoder.remember(block, (fields, expected))
        else:
            why, (fields, expected) = None, checked
        if why is not None or (ended and expected > 0):
            self.out.append(f.rst_stream(sid, f.PROTOCOL_ERROR))
            self.events.h2_refused()
            return
        if len(self.streams) >= self.max_streams:
            self.out.append(f.rst_stream(sid, f.REFUSED_STREAM))
            self.events.h2_refused()
            return
        self.streams[sid] = StreamState(self.initial_window, ended, expected)
        self.events.h2_request(sid, fields, ended)

    def _trailers(self, sid: int, stream: StreamState | None, ended: bool, block: bytes) -> None:
        fields = self.decoder.decode(block)  # decoded even if ignored: HPACK stays in step
        if stream is None:
            return  # a stream already closed (we may have reset it): ignored
        if not stream.remote_open:
            self.stream_error(sid, f.STREAM_CLOSED)
        elif (
            not ended
            or check_trailers(fields) is not None
            or 0 <= stream.expected != stream.received
        ):
            self.stream_error(sid, f.PROTOCOL_ERROR)
        else:
            self._end_remote(sid, stream)

    def _end_remote(self, sid: int, stream: StreamState) -> None:
        if stream.close_remote():
            del self.streams[sid]
        self.events.h2_end(sid)

    def _priority(self, flags: int, sid: int, payload: bytes) -> None:
        if sid == 0:
            raise ConnectionFault(f.PROTOCOL_ERROR, "PRIORITY on stream 0")
        if len(payload) != 5:
            self.stream_error(sid, f.FRAME_SIZE_ERROR)

    def _rst(self, flags: int, sid: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise ConnectionFault(f.FRAME_SIZE_ERROR, "RST_STREAM of a wrong size")
        if sid == 0 or sid > self.highest_inbound_stream_id:
            raise ConnectionFault(f.PROTOCOL_ERROR, "RST_STREAM on stream 0 or an idle stream")
        if self.streams.pop(sid, None) is not None:
            self.events.h2_reset(sid)

    def _settings(self, flags: int, sid: int, payload: bytes) -> None:
        if sid != 0:
            raise ConnectionFault(f.PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & f.ACK:
            if payload:
                raise ConnectionFault(f.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload")
            return
        self._apply_settings(payload)
        self.settings_seen = True
        self.out.append(f.SETTINGS_ACK)
        self.events.h2_control()
        self.events.h2_window()

    def _apply_settings(self, payload: bytes) -> None:
        if len(payload) % 6:
            raise ConnectionFault(f.FRAME_SIZE_ERROR, "SETTINGS of a wrong size")
        for i in range(0, len(payload), 6):
            key, value = _SETTING.unpack_from(payload, i)
            if key == f.HEADER_TABLE_SIZE:
                self.table_update = True
            elif key == f.ENABLE_PUSH and value > 1:
                raise ConnectionFault(f.PROTOCOL_ERROR, "ENABLE_PUSH neither 0 nor 1")
            elif key == f.INITIAL_WINDOW_SIZE:
                if value > f.MAX_WINDOW:
                    raise ConnectionFault(f.FLOW_CONTROL_ERROR, "INITIAL_WINDOW_SIZE too large")
                delta, self.initial_window = value - self.initial_window, value
                for stream in self.streams.values():
                    stream.send_window += delta
                    if stream.send_window > f.MAX_WINDOW:
                        raise ConnectionFault(f.FLOW_CONTROL_ERROR, "a stream window overflows")
            elif key == f.MAX_FRAME_SIZE:
                if not f.DEFAULT_FRAME_SIZE <= value <= 2**24 - 1:
                    raise ConnectionFault(f.PROTOCOL_ERROR, "MAX_FRAME_SIZE out of range")
                self.max_outbound_frame_size = value

    def _ping(self, flags: int, sid: int, payload: bytes) -> None:
        if len(payload) != 8:
            raise ConnectionFault(f.FRAME_SIZE_ERROR, "PING of a wrong size")
        if sid != 0:
            raise ConnectionFault(f.PROTOCOL_ERROR, "PING on a stream")
        if not flags & f.ACK:
            self.out.append(f.frame(f.PING, f.ACK, 0, payload))
            self.events.h2_control()

    def _goaway(self, flags: int, sid: int, payload: bytes) -> None:
        if sid != 0 or len(payload) < 8:
            raise ConnectionFault(f.PROTOCOL_ERROR, "GOAWAY on a stream or too short")
        self.events.h2_goaway()

    def _window_update(self, flags: int, sid: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise ConnectionFault(f.FRAME_SIZE_ERROR, "WINDOW_UPDATE of a wrong size")
        increment = _U32.unpack(payload)[0] & 0x7FFFFFFF
        if sid == 0:
            if increment == 0:
                raise ConnectionFault(f.PROTOCOL_ERROR, "WINDOW_UPDATE of 0")
            self.send_window += increment
            if self.send_window > f.MAX_WINDOW:
                raise ConnectionFault(f.FLOW_CONTROL_ERROR, "connection window overflows")
        else:
            stream = self.streams.get(sid)
            if stream is None:
                if sid > self.highest_inbound_stream_id:
                    raise ConnectionFault(f.PROTOCOL_ERROR, "WINDOW_UPDATE on an idle stream")
                return
            stream.send_window += increment
            if increment == 0 or stream.send_window > f.MAX_WINDOW:
                self.stream_error(sid, f.FLOW_CONTROL_ERROR if increment else f.PROTOCOL_ERROR)
                return
        self.events.h2_window()

    def _push_promise(self, flags: int, sid: int, payload: bytes) -> None:
        raise ConnectionFault(f.PROTOCOL_ERROR, "PUSH_PROMISE from a client")

    # -- sending ---------------------------------------------------------------
    def _sending(self, sid: int) -> StreamState:
        stream = self.streams.get(sid)
        if stream is None or stream.state == HALF_CLOSED_LOCAL:
            raise StreamGone(f"stream {sid} is closed")
        return stream

    def _end_local(self, sid: int, stream: StreamState) -> None:
        if stream.close_local():
            del self.streams[sid]

    def send_headers(self, sid: int, fields: Fields, end_stream: bool = False) -> None:
        stream = self._sending(sid)
        block = f.encode_fields(fields)
        if self.table_update:
            block, self.table_update = f.TABLE_SIZE_ZERO + block, False
        flags = f.END_STREAM if end_stream else 0
        size = self.max_outbound_frame_size
        if len(block) <= size:
            self.out.append(f.frame(f.HEADERS, flags | f.END_HEADERS, sid, block))
        else:
            chunks = [block[i : i + size] for i in range(0, len(block), size)]
            self.out.append(f.frame(f.HEADERS, flags, sid, chunks[0]))
            for chunk in chunks[1:-1]:
                self.out.append(f.frame(f.CONTINUATION, 0, sid, chunk))
            self.out.append(f.frame(f.CONTINUATION, f.END_HEADERS, sid, chunks[-1]))
        if end_stream:
            self._end_local(sid, stream)

    def local_flow_control_window(self, sid: int) -> int:
        return min(self.send_window, self._sending(sid).send_window)

    def send_data(self, sid: int, data: bytes, end_stream: bool = False) -> None:
        stream = self._sending(sid)
        size = len(data)
        if size > min(self.send_window, stream.send_window, self.max_outbound_frame_size):
            raise CodecError(f"{size} bytes exceed stream {sid}'s window")
        stream.send_window -= size
        self.send_window -= size
        self.out.append(f.HEADER.pack(size >> 8, size & 0xFF, f.DATA, end_stream, sid))
        self.out.append(data)
        if end_stream:
            self._end_local(sid, stream)

    def end_stream(self, sid: int) -> None:
        self.send_data(sid, b"", end_stream=True)

    def reset_stream(self, sid: int, code: int) -> None:
        """RST_STREAM on a stream still known (our side of it)."""
        if self.streams.pop(sid, None) is not None:
            self.out.append(f.rst_stream(sid, code))

    def stream_error(self, sid: int, code: int) -> None:
        self.out.append(f.rst_stream(sid, code))
        if self.streams.pop(sid, None) is not None:
            self.events.h2_reset(sid)

    def acknowledge_received_data(self, size: int, sid: int) -> None:
        """The bytes of stream ``sid`` are consumed: grant them again (in batches)."""
        self.pending += size
        if self.pending >= GRANT_AT:
            self.out.append(f.window_update(0, self.pending))
            self.recv_window += self.pending
            self.pending = 0
        stream = self.streams.get(sid) if sid else None
        if stream is not None and stream.remote_open:
            stream.pending += size
            if stream.pending >= GRANT_AT:
                self.out.append(f.window_update(sid, stream.pending))
                stream.recv_window += stream.pending
                stream.pending = 0

    def close_connection(self, code: int) -> None:
        self.out.append(f.goaway(self.highest_inbound_stream_id, code))

    def data_to_send(self) -> bytes:
        out = self.out
        if not out:
            return b""
        data = b"".join(out)
        out.clear()
        return data

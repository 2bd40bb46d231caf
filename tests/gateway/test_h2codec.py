"""The client-side HTTP/2 codec (gateway/http2/codec.py) fed bytes, as a socket would.

Frames are built with hyperframe and hpack (the client's view); what the codec queues is
parsed back with hyperframe. Each test names the RFC 9113 rule it checks.
"""

from __future__ import annotations

import base64
import struct

import pytest
from hpack import Decoder, Encoder
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)

from gateway.http2 import frames as f
from gateway.http2.codec import MAX_CONTINUATIONS, ServerCodec
from gateway.http2.frames import StreamGone

REQUEST = [(b":method", b"GET"), (b":scheme", b"http"), (b":authority", b"a.example.com"),
           (b":path", b"/")]  # fmt: skip


class Recorder:
    """The codec's Events: every call, in order."""

    def __init__(self) -> None:
        self.closed = False
        self.calls: list[tuple[object, ...]] = []

    def h2_request(self, sid: int, fields: list[tuple[bytes, bytes]], ended: bool) -> None:
        self.calls.append(("request", sid, fields, ended))

    def h2_data(self, sid: int, data: bytes, size: int) -> None:
        self.calls.append(("data", sid, data, size))

    def h2_end(self, sid: int) -> None:
        self.calls.append(("end", sid))

    def h2_reset(self, sid: int) -> None:
        self.calls.append(("reset", sid))

    def h2_refused(self) -> None:
        self.calls.append(("refused",))

    def h2_window(self) -> None:
        self.calls.append(("window",))

    def h2_control(self) -> None:
        self.calls.append(("control",))

    def h2_goaway(self) -> None:
        self.calls.append(("goaway",))

    def kinds(self) -> list[object]:
        return [c[0] for c in self.calls if c[0] not in ("window", "control")]


def parse(data: bytes) -> list[Frame]:
    out = []
    while data:
        frame, length = Frame.parse_frame_header(memoryview(data[:9]))
        frame.parse_body(memoryview(data[9 : 9 + length]))
        out.append(frame)
        data = data[9 + length :]
    return out


class Client:
    def __init__(self, window: int = 65535) -> None:
        self.events = Recorder()
        self.codec = ServerCodec(self.events, 100, 65536, window)
        self.codec.initiate_connection()
        self.encoder = Encoder()
        self.ok = True
        self.sent = parse(self.codec.data_to_send())

    def feed(self, *frames: Frame | bytes) -> list[Frame]:
        data = b"".join(x if isinstance(x, bytes) else x.serialize() for x in frames)
        self.ok = self.codec.receive(data)
        return parse(self.codec.data_to_send())

    def start(self) -> None:
        assert self.feed(f.PREFACE, SettingsFrame(0)) and self.ok

    def headers(self, sid: int, fields: list[tuple[bytes, bytes]], *flags: str) -> HeadersFrame:
        frame = HeadersFrame(sid, flags=["END_HEADERS", *flags])
        frame.data = self.encoder.encode(fields)
        return frame


def goaway_code(frames: list[Frame]) -> int:
    goaways = [x for x in frames if isinstance(x, GoAwayFrame)]
    assert goaways, frames
    return goaways[-1].error_code


def rst_code(frames: list[Frame], sid: int) -> int:
    rsts = [x for x in frames if isinstance(x, RstStreamFrame) and x.stream_id == sid]
    assert rsts, frames
    return rsts[-1].error_code


def test_the_server_preface_announces_the_limits_and_the_connection_window() -> None:
    client = Client(window=100 * 65535)
    settings, update = client.sent
    assert isinstance(settings, SettingsFrame)
    assert settings.settings == {SettingsFrame.MAX_CONCURRENT_STREAMS: 100,
                                 SettingsFrame.MAX_HEADER_LIST_SIZE: 65536}  # fmt: skip
    assert isinstance(update, WindowUpdateFrame) and update.window_increment == 99 * 65535


def test_a_bad_preface_is_a_protocol_error() -> None:
    client = Client()
    assert client.feed(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n") and not client.ok
    client = Client()
    frames = client.feed(b"GET / HTTP/1.1\r\n")
    assert not client.ok and goaway_code(frames) == f.PROTOCOL_ERROR


def test_a_preface_split_anywhere_is_waited_for() -> None:
    client = Client()
    data = (
        f.PREFACE
        + SettingsFrame(0).serialize()
        + client.headers(1, REQUEST, "END_STREAM").serialize()
    )
    for i in range(len(data)):
        client.feed(data[i : i + 1])
        assert client.ok
    assert client.events.kinds() == ["request"]
    assert client.events.calls[-1] == ("request", 1, REQUEST, True)


def test_the_first_frame_must_be_settings() -> None:
    client = Client()
    frames = client.feed(f.PREFACE, PingFrame(0, opaque_data=b"12345678"))
    assert not client.ok and goaway_code(frames) == f.PROTOCOL_ERROR


def test_settings_are_acknowledged_and_a_bad_one_is_refused() -> None:
    client = Client()
    frames = client.feed(
        f.PREFACE, SettingsFrame(0, settings={SettingsFrame.MAX_FRAME_SIZE: 32768})
    )
    assert isinstance(frames[0], SettingsFrame) and "ACK" in frames[0].flags
    assert client.codec.max_outbound_frame_size == 32768
    bad = SettingsFrame(0, settings={SettingsFrame.ENABLE_PUSH: 2})
    assert goaway_code(client.feed(bad)) == f.PROTOCOL_ERROR and not client.ok
    client = Client()
    client.start()
    raw = f.frame(f.SETTINGS, 0, 0, b"\x00\x04\x00\x00")  # not a multiple of 6
    assert goaway_code(client.feed(raw)) == f.FRAME_SIZE_ERROR


def test_a_frame_past_max_frame_size_is_a_frame_size_error() -> None:
    client = Client()
    client.start()
    big = DataFrame(1, data=b"x" * 16385)
    assert goaway_code(client.feed(big)) == f.FRAME_SIZE_ERROR and not client.ok


def test_ping_is_answered_and_a_short_ping_refused() -> None:
    client = Client()
    client.start()
    (pong,) = client.feed(PingFrame(0, opaque_data=b"abcdefgh"))
    assert isinstance(pong, PingFrame) and "ACK" in pong.flags and pong.opaque_data == b"abcdefgh"
    assert goaway_code(client.feed(f.frame(f.PING, 0, 0, b"1234"))) == f.FRAME_SIZE_ERROR


def test_a_request_with_a_body_and_its_window_updates() -> None:
    client = Client()
    client.start()
    client.feed(client.headers(1, [*REQUEST, (b"content-length", b"40000")]))
    client.feed(DataFrame(1, data=b"a" * 16000), DataFrame(1, data=b"b" * 16000))
    assert client.codec.data_to_send() == b""
    client.codec.acknowledge_received_data(32000, 1)  # below GRANT_AT: nothing yet
    assert client.codec.data_to_send() == b""
    frames = client.feed(DataFrame(1, data=b"c" * 8000, flags=["END_STREAM"]))
    assert client.events.kinds() == ["request", "data", "data", "data", "end"]
    client.codec.acknowledge_received_data(8000, 1)
    updates = parse(client.codec.data_to_send())
    assert frames == []
    assert [(u.stream_id, u.window_increment) for u in updates] == [(0, 40000)]  # stream ended


def test_padding_is_stripped_and_counted_in_the_window() -> None:
    client = Client()
    client.start()
    client.feed(client.headers(1, REQUEST))
    data = DataFrame(1, data=b"hello", flags=["PADDED", "END_STREAM"])
    data.pad_length = 10
    client.feed(data)
    assert ("data", 1, b"hello", 16) in client.events.calls
    bad = f.frame(f.DATA, f.PADDED, 3, b"\x09abc")  # pad length past the payload
    client.feed(client.headers(3, REQUEST))
    assert goaway_code(client.feed(bad)) == f.PROTOCOL_ERROR


def test_padded_headers_with_priority_are_read() -> None:
    client = Client()
    client.start()
    block = client.encoder.encode(REQUEST)
    payload = b"\x03" + b"\x00\x00\x00\x00\x10" + block + b"\x00\x00\x00"
    client.feed(
        f.frame(f.HEADERS, f.END_HEADERS | f.END_STREAM | f.PADDED | f.PRIORITY_FLAG, 1, payload)
    )
    assert client.events.calls[-1] == ("request", 1, REQUEST, True)


def test_the_connection_window_overflowing_is_a_flow_control_error() -> None:
    client = Client()
    client.start()
    client.feed(client.headers(1, REQUEST))
    frames = client.feed(*(DataFrame(1, data=b"x" * 16384) for _ in range(5)))  # > 65535
    assert goaway_code(frames) == f.FLOW_CONTROL_ERROR and not client.ok


def test_a_stream_window_overflowing_resets_that_stream() -> None:
    client = Client(window=10 * 65535)
    client.start()
    client.feed(client.headers(1, REQUEST), client.headers(3, REQUEST))
    frames = client.feed(*(DataFrame(1, data=b"x" * 16384) for _ in range(5)))
    assert rst_code(frames, 1) == f.FLOW_CONTROL_ERROR and client.ok
    assert ("reset", 1) in client.events.calls


def test_window_update_rules() -> None:
    client = Client()
    client.start()
    client.feed(client.headers(1, REQUEST, "END_STREAM"))
    assert client.codec.local_flow_control_window(1) == 65535
    client.feed(WindowUpdateFrame(1, window_increment=1000))
    assert client.codec.local_flow_control_window(1) == 65535  # the connection's is smaller
    client.feed(WindowUpdateFrame(0, window_increment=5000))
    assert client.codec.local_flow_control_window(1) == 66535
    frames = client.feed(WindowUpdateFrame(1, window_increment=2**31 - 1))
    assert rst_code(frames, 1) == f.FLOW_CONTROL_ERROR and client.ok
    frames = client.feed(f.frame(f.WINDOW_UPDATE, 0, 0, b"\x00\x00\x00\x00"))
    assert goaway_code(frames) == f.PROTOCOL_ERROR


def test_initial_window_size_changes_move_open_stream_windows() -> None:
    client = Client()
    client.start()
    client.feed(client.headers(1, REQUEST, "END_STREAM"))
    client.feed(WindowUpdateFrame(0, window_increment=100000))
    client.feed(SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 1000}))
    assert client.codec.local_flow_control_window(1) == 1000
    frames = client.feed(SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 2**31}))
    assert goaway_code(frames) == f.FLOW_CONTROL_ERROR


def test_stream_id_rules() -> None:
    client = Client()
    client.start()
    assert goaway_code(client.feed(client.headers(2, REQUEST))) == f.PROTOCOL_ERROR  # even
    client = Client()
    client.start()
    assert goaway_code(client.feed(DataFrame(5, data=b"x"))) == f.PROTOCOL_ERROR  # idle
    client = Client()
    client.start()
    frames = client.feed(RstStreamFrame(7))
    assert goaway_code(frames) == f.PROTOCOL_ERROR  # RST_STREAM on an idle stream
    client = Client()
    client.start()
    client.feed(client.headers(5, REQUEST, "END_STREAM"))
    client.feed(client.headers(3, REQUEST, "END_STREAM"))  # lower than the highest: closed
    assert [c[1] for c in client.events.calls if c[0] == "request"] == [5]


def test_data_after_end_stream_is_stream_closed() -> None:
    client = Client()
    client.start()
    client.feed(client.headers(1, REQUEST, "END_STREAM"))
    frames = client.feed(DataFrame(1, data=b"late"))
    assert rst_code(frames, 1) == f.STREAM_CLOSED and client.ok


def test_continuation_rules() -> None:
    client = Client()
    client.start()
    block = client.encoder.encode(REQUEST)
    head = HeadersFrame(1, data=block[:5], flags=["END_STREAM"])
    client.feed(head, ContinuationFrame(1, data=block[5:10]))
    assert client.events.kinds() == []
    client.feed(ContinuationFrame(1, data=block[10:], flags=["END_HEADERS"]))
    assert client.events.calls[-1] == ("request", 1, REQUEST, True)
    # Another frame in the middle of a block, a CONTINUATION on another stream, or alone.
    for intruder in (PingFrame(0, opaque_data=b"12345678"), ContinuationFrame(5, data=b"")):
        client = Client()
        client.start()
        frames = client.feed(HeadersFrame(1, data=block[:5]), intruder)
        assert goaway_code(frames) == f.PROTOCOL_ERROR
    client = Client()
    client.start()
    assert goaway_code(client.feed(ContinuationFrame(1, data=b""))) == f.PROTOCOL_ERROR


def test_a_continuation_flood_is_enhance_your_calm() -> None:
    client = Client()
    client.start()
    more = [ContinuationFrame(1, data=b"") for _ in range(MAX_CONTINUATIONS + 1)]
    frames = client.feed(HeadersFrame(1, data=b"\x82"), *more)
    assert goaway_code(frames) == f.ENHANCE_YOUR_CALM and not client.ok


def test_a_bad_header_block_is_a_compression_error() -> None:
    client = Client()
    client.start()
    frames = client.feed(HeadersFrame(1, data=b"\xff\xff\xff\xff", flags=["END_HEADERS"]))
    assert goaway_code(frames) == f.COMPRESSION_ERROR


@pytest.mark.parametrize(
    "fields",
    [
        [*REQUEST, (b"X-Upper", b"1")],
        [*REQUEST, (b"x-inject", b"a\r\nhost: evil")],
        [*REQUEST, (b"connection", b"close")],
        [*REQUEST, (b"te", b"gzip")],
        [*REQUEST, (b"content-length", b"ten")],
        [(b"x-first", b"1"), *REQUEST],
        [*REQUEST, (b":path", b"/again")],
        REQUEST[1:],
        [*REQUEST, (b"content-length", b"3")],  # with END_STREAM and no body
    ],
)
def test_malformed_requests_are_reset_and_counted(fields: list[tuple[bytes, bytes]]) -> None:
    client = Client()
    client.start()
    frames = client.feed(client.headers(1, fields, "END_STREAM"))
    assert rst_code(frames, 1) == f.PROTOCOL_ERROR and client.ok
    assert client.events.kinds() == ["refused"]


def test_a_body_longer_than_its_content_length_is_reset() -> None:
    client = Client()
    client.start()
    client.feed(client.headers(1, [*REQUEST, (b"content-length", b"3")]))
    frames = client.feed(DataFrame(1, data=b"four"))
    assert rst_code(frames, 1) == f.PROTOCOL_ERROR and ("reset", 1) in client.events.calls


def test_trailers_end_the_request() -> None:
    client = Client()
    client.start()
    client.feed(client.headers(1, REQUEST), DataFrame(1, data=b"x"))
    client.feed(client.headers(1, [(b"grpc-status", b"0")], "END_STREAM"))
    assert client.events.kinds() == ["request", "data", "end"]
    frames = client.feed(client.headers(1, [(b"x", b"y")], "END_STREAM"))
    assert frames == [] or rst_code(frames, 1) == f.STREAM_CLOSED


def test_streams_past_the_limit_are_refused() -> None:
    client = Client()
    client.start()
    client.feed(*(client.headers(2 * i + 1, REQUEST, "END_STREAM") for i in range(101)))
    assert client.events.kinds() == ["request"] * 100 + ["refused"]
    assert client.codec.streams.keys() == {2 * i + 1 for i in range(100)}


def test_priority_is_ignored_and_a_client_reset_is_reported() -> None:
    client = Client()
    client.start()
    client.feed(client.headers(1, REQUEST, "END_STREAM"))
    assert client.feed(PriorityFrame(1, depends_on=0, stream_weight=10)) == []
    client.feed(RstStreamFrame(1))
    assert client.events.kinds() == ["request", "reset"]
    with pytest.raises(StreamGone):
        client.codec.send_headers(1, [(b":status", b"200")])


def test_a_repeated_fully_indexed_block_is_decoded_once() -> None:
    client = Client()
    client.start()
    first = client.headers(1, REQUEST, "END_STREAM")  # inserts :authority in the table
    second = client.headers(3, REQUEST, "END_STREAM")  # all indexed now
    third = client.headers(5, REQUEST, "END_STREAM")
    assert second.data == third.data != first.data
    client.feed(first, second)
    memo = client.codec.decoder.memo
    assert list(memo) == [second.data]
    client.feed(third)
    assert [c[1:] for c in client.events.calls if c[0] == "request"] == [
        (1, REQUEST, True), (3, REQUEST, True), (5, REQUEST, True)]  # fmt: skip
    # A block that changes the table empties the memo (indexes may now mean other fields).
    client.feed(client.headers(7, [*REQUEST, (b"x-new", b"1")], "END_STREAM"))
    assert memo == {}


def test_responses_decode_with_a_standard_decoder_and_frames_split_at_max_frame_size() -> None:
    client = Client()
    client.start()
    client.feed(client.headers(1, REQUEST, "END_STREAM"), WindowUpdateFrame(0, window_increment=1))
    fields = [(b":status", b"200"), (b"content-type", b"text/plain"), (b"x-big", b"v" * 20000)]
    client.codec.send_headers(1, fields)
    client.codec.send_data(1, b"hello", end_stream=True)
    frames = parse(client.codec.data_to_send())
    assert [type(x).__name__ for x in frames] == ["HeadersFrame", "ContinuationFrame", "DataFrame"]
    block = b"".join(x.data for x in frames[:2])
    assert [(bytes(n), bytes(v)) for n, v in Decoder().decode(block, raw=True)] == fields
    assert frames[2].data == b"hello" and "END_STREAM" in frames[2].flags
    assert 1 not in client.codec.streams  # both ends closed: forgotten
    with pytest.raises(StreamGone):
        client.codec.send_data(1, b"more")


def test_data_past_the_window_is_refused_by_the_sender() -> None:
    client = Client()
    client.start()
    client.feed(SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 10}))
    client.feed(client.headers(1, REQUEST, "END_STREAM"))
    assert client.codec.local_flow_control_window(1) == 10
    with pytest.raises(f.CodecError):
        client.codec.send_data(1, b"x" * 11)


def test_upgrade_makes_stream_1_half_closed_and_applies_the_settings() -> None:
    client = Client()
    codec = ServerCodec(client.events, 100, 65536, 65535)
    payload = struct.pack(">HL", SettingsFrame.INITIAL_WINDOW_SIZE, 1234)
    codec.initiate_upgrade_connection(base64.urlsafe_b64encode(payload).rstrip(b"="))
    assert codec.local_flow_control_window(1) == 1234
    assert codec.receive(f.PREFACE + SettingsFrame(0).serialize())
    frames = parse(codec.data_to_send())
    assert [type(x).__name__ for x in frames] == ["SettingsFrame", "SettingsFrame"]
    codec.send_headers(1, [(b":status", b"200")], end_stream=True)
    assert 1 not in codec.streams


def test_a_client_goaway_is_reported_and_one_on_a_stream_refused() -> None:
    client = Client()
    client.start()
    assert client.feed(GoAwayFrame(0)) == [] and client.events.kinds() == ["goaway"]
    on_a_stream = f.frame(f.GOAWAY, 0, 1, bytes(8))
    assert goaway_code(client.feed(on_a_stream)) == f.PROTOCOL_ERROR

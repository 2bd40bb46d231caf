"""HTTP/2 frames on the wire (RFC 9113 4 and 6): constants, errors, and the frames we send.

The client-side codec (gateway/http2/codec.py) parses frame headers itself with
``struct`` on a ``memoryview``; this module names the numbers and builds the outbound
frames as ``bytes`` in one ``struct.pack`` each. Response header blocks are HPACK-encoded
by :func:`encode_fields` without a dynamic table: a field matching the static table is one
byte, any other a literal without indexing (name indexed when the static table has it),
each field's bytes cached per process, so a repeated response head costs a few dict
lookups and a join.
"""

from __future__ import annotations

import struct

from hpack.hpack import encode_integer
from hpack.table import HeaderTable

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HEADER = struct.Struct(">HBBBL")  # length (24 bits as 16 + 8), type, flags, stream id
HEADER_SIZE = 9
MAX_WINDOW = 2**31 - 1
DEFAULT_WINDOW = 65535
DEFAULT_FRAME_SIZE = 16384

# Frame types (RFC 9113 6).
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY = range(8)
WINDOW_UPDATE, CONTINUATION = 8, 9

# Flags.
END_STREAM = ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20

# Settings (RFC 9113 6.5.2).
HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS = 1, 2, 3
INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, MAX_HEADER_LIST_SIZE = 4, 5, 6

# Error codes (RFC 9113 7).
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR = 0, 1, 2, 3
STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM, CANCEL = 5, 6, 7, 8
COMPRESSION_ERROR, ENHANCE_YOUR_CALM = 9, 11

_U32 = struct.Struct(">L")
_SETTING = struct.Struct(">HL")


class CodecError(Exception):
    """Base of the codec's errors (the protocol catches this one)."""


class ConnectionFault(CodecError):
    """A connection error: GOAWAY with ``code``, then close."""

    def __init__(self, code: int, why: str) -> None:
        super().__init__(why)
        self.code = code


class StreamGone(CodecError):
    """Sending on a stream that is closed (reset by the client, or already ended)."""


def frame(kind: int, flags: int, sid: int, payload: bytes = b"") -> bytes:
    size = len(payload)
    return HEADER.pack(size >> 8, size & 0xFF, kind, flags, sid) + payload


def settings(values: dict[int, int]) -> bytes:
    return frame(SETTINGS, 0, 0, b"".join(_SETTING.pack(k, v) for k, v in values.items()))


def window_update(sid: int, increment: int) -> bytes:
    return frame(WINDOW_UPDATE, 0, sid, _U32.pack(increment))


def rst_stream(sid: int, code: int) -> bytes:
    return frame(RST_STREAM, 0, sid, _U32.pack(code))


def goaway(last_sid: int, code: int) -> bytes:
    return frame(GOAWAY, 0, 0, _U32.pack(last_sid) + _U32.pack(code))


SETTINGS_ACK = frame(SETTINGS, ACK, 0)
TABLE_SIZE_ZERO = b"\x20"  # HPACK dynamic table size update to 0: our encoder uses none

# -- HPACK encoding without a dynamic table ------------------------------------------
_STATIC_FULL: dict[tuple[bytes, bytes], int] = {}
_STATIC_NAME: dict[bytes, int] = {}
for _i, (_name, _value) in enumerate(HeaderTable.STATIC_TABLE, 1):
    _STATIC_FULL.setdefault((_name, _value), _i)
    _STATIC_NAME.setdefault(_name, _i)
_encoded: dict[tuple[bytes, bytes], bytes] = {}
_CACHE_MAX = 4096


def _literal(name: bytes, value: bytes) -> bytes:
    index = _STATIC_NAME.get(name)
    if index is not None:
        head = bytes(encode_integer(index, 4))  # 0000xxxx: literal, not indexed
    else:
        head = b"\x00" + bytes(encode_integer(len(name), 7)) + name
    return head + bytes(encode_integer(len(value), 7)) + value


def encode_field(name: bytes, value: bytes) -> bytes:
    key = (name, value)
    data = _encoded.get(key)
    if data is None:
        index = _STATIC_FULL.get(key)
        data = bytes((0x80 | index,)) if index is not None else _literal(name, value)
        if len(_encoded) >= _CACHE_MAX:
            _encoded.clear()
        _encoded[key] = data
    return data


def encode_fields(fields: list[tuple[bytes, bytes]]) -> bytes:
    """One header block for ``fields`` (lower-case names), leaving no HPACK state behind."""
    get = _encoded.get
    parts = []
    for field in fields:
        data = get(field)
        parts.append(data if data is not None else encode_field(*field))
    return b"".join(parts)

"""Request header blocks from HTTP/2 clients: HPACK decoding (the ``hpack`` library) with a
memo, and the checks that make a request well-formed (RFC 9113 8.1-8.3).

:class:`BlockDecoder` remembers a decoded block when decoding it left the dynamic table
as it was (every field indexed or a literal without indexing: the common case once a
client such as h2load or grpc has sent its first request), so the same bytes again cost
one dict lookup. Any block that changes the table empties the memo, since indexed fields
may name the entries that moved.

:func:`check_request` refuses what would be malformed, or unsafe to turn into an
HTTP/1 head for the pod: upper-case or empty names, CR, LF, NUL or a colon where they
cannot be, pseudo-fields after regular ones, unknown or repeated pseudo-fields, a missing
``:method``/``:scheme``/``:path``, connection-specific fields, ``te`` other than
``trailers``, a ``content-length`` that is not a number.
"""

from __future__ import annotations

import re

from hpack import Decoder
from hpack.exceptions import HPACKError, OversizedHeaderListError

from gateway.http2.frames import COMPRESSION_ERROR, ENHANCE_YOUR_CALM, ConnectionFault

Fields = list[tuple[bytes, bytes]]
MEMO_MAX = 64

_BAD_NAME = re.compile(rb"[^!#$%&'*+\-.^_`|~0-9a-z]")  # token chars, lower case only
_BAD_VALUE = re.compile(rb"[\x00\r\n]|^[ \t]|[ \t]$")
_PSEUDO = frozenset({b":method", b":scheme", b":authority", b":path"})
_CONNECTION_SPECIFIC = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"}
)


class BlockDecoder:
    """The connection's HPACK decoder and its memo of blocks that left the table alone."""

    def __init__(self, max_header_list: int) -> None:
        self.decoder = Decoder(max_header_list_size=max_header_list)
        self.memo: dict[bytes, tuple[Fields, int]] = {}
        self.cacheable = False  # the last block decoded left the table alone

    def decode(self, block: bytes) -> Fields:
        """The block's fields (decoding raises :class:`ConnectionFault`)."""
        table = self.decoder.header_table
        entries = table.dynamic_entries
        first = entries[0] if entries else None  # held: its id cannot be reused meanwhile
        count, maxsize = len(entries), table.maxsize  # any insertion changes ``first``
        try:
            fields = [(bytes(n), bytes(v)) for n, v in self.decoder.decode(block, raw=True)]
        except OversizedHeaderListError as exc:
            raise ConnectionFault(ENHANCE_YOUR_CALM, f"header list too large: {exc}") from exc
        except (HPACKError, ValueError, IndexError) as exc:
            raise ConnectionFault(COMPRESSION_ERROR, f"bad header block: {exc}") from exc
        unchanged = (
            len(entries) == count
            and table.maxsize == maxsize
            and (entries[0] if entries else None) is first
        )
        self.cacheable = unchanged
        if not unchanged:
            self.memo.clear()
        return fields

    def remember(self, block: bytes, checked: tuple[Fields, int]) -> None:
        """Keep a checked block (fields, content-length) that left the table alone."""
        if len(self.memo) >= MEMO_MAX:
            self.memo.clear()
        self.memo[block] = checked


def check_request(fields: Fields) -> tuple[str | None, int]:
    """Why a request's fields are malformed (or None), and its content-length (-1: none)."""
    seen: set[bytes] = set()
    regular = False
    length = -1
    for name, value in fields:
        if name[:1] == b":":
            if regular:
                return "pseudo-field after a regular field", length
            if name not in _PSEUDO or name in seen:
                return f"unknown or repeated pseudo-field {name!r}", length
            seen.add(name)
            if name == b":path" and not value:
                return "empty :path", length
        else:
            regular = True
            if not name or _BAD_NAME.search(name):
                return f"bad field name {name!r}", length
            if name in _CONNECTION_SPECIFIC:
                return f"connection-specific field {name!r}", length
            if name == b"te" and value.lower() != b"trailers":
                return "te other than trailers", length
            if name == b"content-length":
                if not value.isdigit() or (length >= 0 and int(value) != length):
                    return "bad content-length", length
                length = int(value)
        if _BAD_VALUE.search(value):
            return f"bad value of {name!r}", length
    if b":method" not in seen:
        return "no :method", length
    connect = next(v for n, v in fields if n == b":method") == b"CONNECT"
    if not connect and (b":scheme" not in seen or b":path" not in seen):
        return "no :scheme or :path", length
    return None, length


def check_trailers(fields: Fields) -> str | None:
    """Why a request's trailer fields are malformed, or None."""
    for name, value in fields:
        if not name or _BAD_NAME.search(name):
            return f"bad trailer name {name!r}"
        if _BAD_VALUE.search(value):
            return f"bad value of {name!r}"
    return None

"""Header handling: hop-by-hop removal and head building, done once per message."""

from __future__ import annotations

# Request headers the client protocol handles itself instead of copying through.
REQUEST_SPECIAL = frozenset(
    {
        b"host",
        b"content-length",
        b"transfer-encoding",
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"upgrade",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
    }
)

# Response headers never copied to the client as-is.
RESPONSE_SPECIAL = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)

# Connection tokens that do not name another header.
_PLAIN_TOKENS = frozenset({b"close", b"keep-alive", b"upgrade", b""})

# Response framing towards the client.
FRAME_NONE = 0  # no body (HEAD, 1xx, 204, 304)
FRAME_LENGTH = 1  # upstream's Content-Length passed through
FRAME_CHUNKED = 2  # body re-encoded as chunked
FRAME_CLOSE = 3  # body delimited by closing the client connection


def connection_tokens(value: bytes | None) -> frozenset[bytes]:
    """Header names listed in a Connection header (beyond close/keep-alive/upgrade)."""
    if not value:
        return frozenset()
    tokens = frozenset(t.strip().lower() for t in value.split(b","))
    return tokens - _PLAIN_TOKENS


def drop_named(lines: list[bytes], names: frozenset[bytes]) -> list[bytes]:
    """Remove ``name: value\\r\\n`` lines whose (lower-cased) name is in ``names``."""
    return [line for line in lines if line.split(b":", 1)[0].lower() not in names]


def chunk(data: bytes) -> list[bytes]:
    """One chunk of chunked transfer coding, as parts for ``writelines``."""
    return [b"%x\r\n" % len(data), data, b"\r\n"]


LAST_CHUNK = b"0\r\n\r\n"


def response_head(
    status: int,
    reason: bytes,
    headers: list[tuple[bytes, bytes]],
    *,
    head_request: bool,
    http10: bool,
    keep_alive: bool,
) -> tuple[bytes, int, bool, bool]:
    """Build the response head for the client.

    Returns ``(head, framing, keep_alive, eof_ends)``: the bytes to write, a FRAME_*
    constant for the body, whether the client connection may stay open afterwards, and
    whether the upstream delimits the body by closing its connection.
    """
    parts = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
    length: bytes | None = None
    chunked = False
    conn: bytes | None = None
    for name, value in headers:
        lname = name.lower()
        if lname in RESPONSE_SPECIAL:
            if lname == b"transfer-encoding":
                chunked = True
            elif lname == b"connection":
                conn = value if conn is None else conn + b"," + value
            continue
        if lname == b"content-length":
            length = value
        parts.append(b"%s: %s\r\n" % (name, value))
    if conn is not None:
        named = connection_tokens(conn)
        if named:
            parts = parts[:1] + drop_named(parts[1:], named)
    eof_ends = False
    if head_request or status < 200 or status in (204, 304):
        framing = FRAME_NONE
    elif chunked:
        framing = FRAME_CLOSE if http10 else FRAME_CHUNKED
    elif length is not None:
        framing = FRAME_LENGTH
    else:
        eof_ends = True
        framing = FRAME_CLOSE if http10 else FRAME_CHUNKED
    if framing == FRAME_CHUNKED:
        parts.append(b"transfer-encoding: chunked\r\n")
    elif framing == FRAME_CLOSE:
        keep_alive = False
    if not keep_alive:
        parts.append(b"connection: close\r\n\r\n")
    elif http10:
        parts.append(b"connection: keep-alive\r\n\r\n")
    else:
        parts.append(b"\r\n")
    return b"".join(parts), framing, keep_alive, eof_ends


def interim_head(status: int, reason: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    """A 1xx (or 101) head, copying headers except hop-by-hop ones."""
    parts = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
    upgrade: bytes | None = None
    for name, value in headers:
        lname = name.lower()
        if lname == b"upgrade":
            upgrade = value
        elif lname not in RESPONSE_SPECIAL:
            parts.append(b"%s: %s\r\n" % (name, value))
    if status == 101 and upgrade is not None:
        parts.append(b"connection: upgrade\r\nupgrade: %s\r\n" % upgrade)
    parts.append(b"\r\n")
    return b"".join(parts)

"""HTTP/1 heads on the wire: hop-by-hop removal and head building, once per message.

:func:`request_head` is the head a request is forwarded upstream with; :func:`response_head`
the head the client gets. Both are pure functions of what the parsers gathered.
"""

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

# After the client address in x-forwarded-for, before the Host value.
FORWARDED_REST = b"\r\nx-forwarded-proto: http\r\nx-forwarded-host: "

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


def request_head(
    method: bytes,
    url: bytes,
    host: bytes,
    lines: list[bytes],
    conn: bytes | None,
    forwarded: bytes,
    upgrade: bytes | None,
    chunked: bool,
    length: bytes | None,
) -> bytes:
    """The upstream request head (positional arguments: the per-request path).

    ``lines`` are the client's ``name: value\r\n`` lines that are not in
    ``REQUEST_SPECIAL``; ``conn`` what Connection said (the headers it names are
    dropped); ``forwarded`` the x-forwarded-for line up to and including
    ``FORWARDED_REST``. With ``upgrade`` (the Upgrade value) it asks for that upgrade.
    """
    parts = [method, b" ", url, b" HTTP/1.1\r\nHost: ", host, b"\r\n"]
    if conn is not None:
        named = connection_tokens(conn)
        if named:
            lines = drop_named(lines, named)
    parts += lines
    parts += (forwarded, host)
    if upgrade is not None:
        parts += (b"\r\nconnection: upgrade\r\nupgrade: ", upgrade, b"\r\n")
    else:
        parts.append(b"\r\n")
    if chunked:
        parts.append(b"transfer-encoding: chunked\r\n\r\n")
    elif length is not None:
        parts.append(b"content-length: %s\r\n\r\n" % length.strip())
    else:
        parts.append(b"\r\n")
    return b"".join(parts)


def chunk(data: bytes) -> list[bytes]:
    """One chunk of chunked transfer coding, as parts for ``writelines``."""
    return [b"%x\r\n" % len(data), data, b"\r\n"]


LAST_CHUNK = b"0\r\n\r\n"


def response_head(
    status: int,
    reason: bytes,
    lines: list[bytes],
    has_length: bool,
    chunked: bool,
    conn: bytes | None,
    head_request: bool,
    http10: bool,
    keep_alive: bool,
) -> tuple[bytes, int, bool, bool]:
    """Build the response head for the client (positional arguments: the per-request path).

    ``lines`` is what :class:`gateway.http1.upstream.UpstreamConnection` gathered: a slot for the
    status line, then ``name, b": ", value, b"\r\n"`` for every header that is not
    hop-by-hop; ``has_length``/``chunked``/``conn`` say whether Content-Length and
    Transfer-Encoding came and what Connection said. Consumes ``lines``.

    Returns ``(head, framing, keep_alive, eof_ends)``: the bytes to write, a FRAME_*
    constant for the body, whether the client connection may stay open afterwards, and
    whether the upstream delimits the body by closing its connection.
    """
    lines[0] = b"HTTP/1.1 %d %s\r\n" % (status, reason)
    if conn is not None:
        named = connection_tokens(conn)
        if named:
            lines = drop_named_parts(lines, named)
    eof_ends = False
    if head_request or status < 200 or status == 204 or status == 304:
        framing = FRAME_NONE
    elif chunked:
        framing = FRAME_CLOSE if http10 else FRAME_CHUNKED
    elif has_length:
        framing = FRAME_LENGTH
    else:
        eof_ends = True
        framing = FRAME_CLOSE if http10 else FRAME_CHUNKED
    if framing == FRAME_CHUNKED:
        lines.append(b"transfer-encoding: chunked\r\n")
    elif framing == FRAME_CLOSE:
        keep_alive = False
    if not keep_alive:
        lines.append(b"connection: close\r\n\r\n")
    elif http10:
        lines.append(b"connection: keep-alive\r\n\r\n")
    else:
        lines.append(b"\r\n")
    return b"".join(lines), framing, keep_alive, eof_ends


def drop_named_parts(lines: list[bytes], names: frozenset[bytes]) -> list[bytes]:
    """``lines`` (status slot + 4 parts per header) without the headers named in ``names``."""
    out = [lines[0]]
    for i in range(1, len(lines), 4):
        if lines[i].lower() not in names:
            out += lines[i : i + 4]
    return out


def interim_head(status: int, reason: bytes, lines: list[bytes], upgrade: bytes | None) -> bytes:
    """A 1xx (or 101) head from gathered ``lines`` (see :func:`response_head`)."""
    lines[0] = b"HTTP/1.1 %d %s\r\n" % (status, reason)
    if status == 101 and upgrade is not None:
        lines.append(b"connection: upgrade\r\nupgrade: %s\r\n" % upgrade)
    lines.append(b"\r\n")
    return b"".join(lines)

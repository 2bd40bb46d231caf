"""Request parsing: httptools callbacks that validate a request and build its upstream head.

A mixin of :class:`gateway.proxying.ProxyProtocol` (which holds the connection state).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from httptools import HttpRequestParser

from gateway import errors
from gateway.exchange import Exchange
from gateway.flow_control import PIPELINE, UPGRADE, ReadGate
from gateway.headers import REQUEST_SPECIAL, connection_tokens, drop_named

if TYPE_CHECKING:
    from gateway.context import GatewayContext

MAX_HEADER_BYTES = 64 * 1024  # request line + header block
MAX_HEADERS = 100
# After the client address in x-forwarded-for, before the Host value.
FORWARDED_REST = b"\r\nx-forwarded-proto: http\r\nx-forwarded-host: "


class Reject(Exception):
    """Raised from a parser callback to answer with a canned response and close."""

    def __init__(self, response: bytes) -> None:
        super().__init__()
        self.response = response


class Stop(Exception):
    """Raised from a parser callback to stop parsing input we no longer care about."""


class RequestParsing:
    """httptools request callbacks; the head being parsed lives in ``_``-prefixed fields."""

    __slots__ = ()

    if TYPE_CHECKING:
        ctx: GatewayContext
        parser: HttpRequestParser
        gate: ReadGate
        client_ip: bytes
        forwarded: bytes  # b"x-forwarded-for: {client_ip}" + FORWARDED_REST, per connection
        active: Exchange | None
        _queue: deque[Exchange]
        _parsing: Exchange | None
        _upgrading: Exchange | None
        _ignore_input: bool
        _in_head: bool
        _head_bytes: int

    def _reset_head(self) -> None:
        self._url = b""
        self._lines: list[bytes] = []
        self._host: bytes | None = None
        self._length: bytes | None = None
        self._te: bytes | None = None
        self._conn: bytes | None = None
        self._upgrade: bytes | None = None
        self._xff: bytes | None = None
        self._count = 0
        self._size = 0

    # -- httptools callbacks ---------------------------------------------------
    # No on_message_begin (one call from C less per request): the head fields are reset
    # when the previous message completes (and at connection start), and on_url, the first
    # callback of every request, stops parsing input we no longer care about.
    def on_url(self, url: bytes) -> None:
        if self._ignore_input:
            raise Stop
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._in_head:
            return  # chunked trailer fields: dropped
        self._count += 1
        self._size += len(name) + len(value) + 4
        if self._count > MAX_HEADERS or self._size > MAX_HEADER_BYTES:
            raise Reject(errors.HEADERS_TOO_LARGE)
        lname = name.lower()
        if lname not in REQUEST_SPECIAL:
            self._lines.append(b"%s: %s\r\n" % (name, value))
        elif lname == b"host":
            if self._host is not None:
                raise Reject(errors.BAD_REQUEST)
            self._host = value
        elif lname == b"content-length":
            self._length = value
        elif lname == b"transfer-encoding":
            self._te = value
        elif lname == b"connection":
            self._conn = value if self._conn is None else self._conn + b"," + value
        elif lname == b"upgrade":
            self._upgrade = value
        elif lname == b"x-forwarded-for":
            self._xff = value if self._xff is None else self._xff + b", " + value

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self.ctx.idle.pop(self, None)  # type: ignore[call-overload]
        parser = self.parser
        version = parser.get_http_version()
        if version != "1.1" and version != "1.0":
            raise Reject(errors.VERSION_NOT_SUPPORTED)
        host = self._host
        if not host:
            raise Reject(errors.MISSING_HOST)
        method = parser.get_method()
        if method == b"CONNECT":
            raise Reject(errors.METHOD_NOT_ALLOWED)
        chunked = self._te is not None
        if chunked and (version != "1.1" or self._te.strip().lower() != b"chunked"):  # type: ignore[union-attr]
            raise Reject(errors.BAD_REQUEST)
        route = self.ctx.routes.lookup(host)
        if route is None:
            raise Reject(errors.not_found(host))
        key = route.pick()
        if key is None:
            raise Reject(errors.UNAVAILABLE)
        upgrade = self._upgrade is not None and parser.should_upgrade()

        parts = [method, b" ", self._url, b" HTTP/1.1\r\nHost: ", host, b"\r\n"]
        lines = self._lines
        if self._conn is not None:
            named = connection_tokens(self._conn)
            if named:
                lines = drop_named(lines, named)
        parts += lines
        xff = self._xff
        if xff:
            parts += (b"x-forwarded-for: ", xff, b", ", self.client_ip, FORWARDED_REST, host)
        else:
            parts += (self.forwarded, host)
        if upgrade:
            parts += (b"\r\nconnection: upgrade\r\nupgrade: ", self._upgrade, b"\r\n")  # type: ignore[arg-type]
        else:
            parts.append(b"\r\n")
        if chunked:
            parts.append(b"transfer-encoding: chunked\r\n\r\n")
        elif self._length is not None:
            parts.append(b"content-length: %s\r\n\r\n" % self._length.strip())
        else:
            parts.append(b"\r\n")
        ex = Exchange(
            self,  # type: ignore[arg-type]
            key,
            b"".join(parts),
            chunked,
            method == b"HEAD",
            version == "1.0",
            parser.should_keep_alive(),
            upgrade,
        )
        self._parsing = ex
        if upgrade:
            self._upgrading = ex
            self.gate.pause(UPGRADE)
        if self.active is None:
            self.active = ex
            ex.start()
        else:
            self._queue.append(ex)
            self.gate.pause(PIPELINE)

    def on_body(self, body: bytes) -> None:
        ex = self._parsing
        if ex is not None:
            ex.request_body(body)

    def on_message_complete(self) -> None:
        ex, self._parsing = self._parsing, None
        self._in_head = True
        self._reset_head()  # for the next request on this connection
        if ex is not None:
            ex.request_end()

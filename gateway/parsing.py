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
    def on_message_begin(self) -> None:
        if self._ignore_input:
            raise Stop
        self._in_head = True
        self._reset_head()

    def on_url(self, url: bytes) -> None:
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
        upgrade = parser.should_upgrade() and self._upgrade is not None

        lines = self._lines
        if self._conn is not None:
            named = connection_tokens(self._conn)
            if named:
                lines = drop_named(lines, named)
        xff = self._xff
        tail = [
            b"x-forwarded-for: ",
            xff + b", " + self.client_ip if xff else self.client_ip,
            b"\r\nx-forwarded-proto: http\r\nx-forwarded-host: ",
            host,
            b"\r\n",
        ]
        if upgrade:
            tail += (b"connection: upgrade\r\nupgrade: ", self._upgrade, b"\r\n")  # type: ignore[arg-type]
        if chunked:
            tail.append(b"transfer-encoding: chunked\r\n\r\n")
        elif self._length is not None:
            tail.append(b"content-length: %s\r\n\r\n" % self._length.strip())
        else:
            tail.append(b"\r\n")
        head = b"".join(
            [method, b" ", self._url, b" HTTP/1.1\r\nHost: ", host, b"\r\n", *lines, *tail]
        )
        ex = Exchange(
            self,
            key,
            head,
            chunked=chunked,
            head_request=method == b"HEAD",
            http10=version == "1.0",
            keep_alive=parser.should_keep_alive(),
            upgrade=upgrade,
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
        if ex is not None:
            ex.request_end()

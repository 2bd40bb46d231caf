"""Client-side protocol: parse requests with httptools, validate, and drive exchanges."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from httptools import (
    HttpParserCallbackError,
    HttpParserError,
    HttpParserUpgrade,
    HttpRequestParser,
)

from gateway import errors
from gateway.context import GatewayContext
from gateway.exchange import Exchange
from gateway.flow_control import PIPELINE, UPGRADE, ReadGate, set_limits
from gateway.headers import REQUEST_SPECIAL, connection_tokens, drop_named
from gateway.tunnel import splice
from gateway.upstream import Endpoint, UpstreamConnection

logger = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024  # request line + header block
MAX_HEADERS = 100


class Reject(Exception):
    """Raised from a parser callback to answer with a canned response and close."""

    def __init__(self, response: bytes) -> None:
        super().__init__()
        self.response = response


class _Stop(Exception):
    """Raised from a parser callback to stop parsing input we no longer care about."""


class ProxyProtocol(asyncio.Protocol):
    """One client connection; one request proxied at a time, pipelined ones queued."""

    def __init__(self, ctx: GatewayContext, loop: asyncio.AbstractEventLoop) -> None:
        self.ctx = ctx
        self.loop = loop
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.gate: ReadGate = None  # type: ignore[assignment]
        self.parser = HttpRequestParser(self)
        self.client_ip = b"unknown"
        self.write_paused = False
        self.closed = False
        self.active: Exchange | None = None
        self._queue: deque[Exchange] = deque()
        self._parsing: Exchange | None = None  # the exchange whose body is being read
        self._upgrading: Exchange | None = None
        self._deferred: bytes | None = None  # error to send once the active one is done
        self._ignore_input = False
        self._in_head = True
        self._head_bytes = 0
        self._reset_head()

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

    # -- asyncio.Protocol ------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        set_limits(transport)
        self.gate = ReadGate(self.transport)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and peer:
            self.client_ip = str(peer[0]).encode("latin-1")
        self.ctx.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        active, self.active = self.active, None
        if active is not None:
            active.abort()
        self._queue.clear()
        self.ctx.connection_closed(self)

    def data_received(self, data: bytes) -> None:
        if self._ignore_input:
            return
        if self._upgrading is not None:
            self._upgrading.early.append(data)
            return
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except HttpParserUpgrade as upgrade:
            ex = self._upgrading
            rest = data[upgrade.args[0] :]
            if ex is not None and rest:
                ex.early.append(rest)
        except HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, Reject):
                self.reject(cause.response)
            elif not isinstance(cause, _Stop):
                logger.error("gateway: error handling a request", exc_info=cause)
                self.reject(errors.BAD_GATEWAY)
        except HttpParserError:
            self.reject(errors.BAD_REQUEST)
        else:
            if self._in_head and self._head_bytes > MAX_HEADER_BYTES:
                self.reject(errors.HEADERS_TOO_LARGE)

    def pause_writing(self) -> None:
        self.write_paused = True
        active = self.active
        if active is not None and active.conn is not None and active.conn.transport is not None:
            active.conn.transport.pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        active = self.active
        if active is not None and active.conn is not None and active.conn.transport is not None:
            active.conn.transport.resume_reading()

    # -- httptools callbacks ---------------------------------------------------
    def on_message_begin(self) -> None:
        if self._ignore_input:
            raise _Stop
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

    # -- exchange outcomes -----------------------------------------------------
    def reject(self, response: bytes) -> None:
        """Answer a bad request and close, after any request already in flight."""
        self._ignore_input = True
        parsing, self._parsing = self._parsing, None
        if parsing is not None and not parsing.request_done:
            # Its body is broken: never let it (or anything after it) reach upstream.
            if parsing is self.active:
                parsing.fail(response)
                return
            with contextlib.suppress(ValueError):
                self._queue.remove(parsing)
        if self.active is None and not self._queue:
            self._send_and_close(response)
        else:
            self._deferred = response
            self.gate.pause(PIPELINE)

    def _send_and_close(self, response: bytes | None) -> None:
        self._ignore_input = True
        if not self.closed:
            self.closed = True
            if response:
                self.transport.write(response)
            self.transport.close()

    def exchange_failed(self, ex: Exchange, response: bytes | None) -> None:
        if self.active is ex:
            self.active = None
        self._queue.clear()
        self._send_and_close(response)

    def exchange_done(self, ex: Exchange, keep_alive: bool) -> None:
        self.active = None
        if self.closed:
            return
        if not keep_alive or self.ctx.stopping:
            self._send_and_close(None)
            return
        queue = self._queue
        if queue:
            nxt = queue.popleft()
            if not queue and self._deferred is None:
                self.gate.resume(PIPELINE)
            self.active = nxt
            nxt.start()
        elif self._deferred is not None:
            self._send_and_close(self._deferred)
        else:
            self.gate.resume(PIPELINE)

    def start_tunnel(
        self, ex: Exchange, conn: UpstreamConnection, rest: bytes, endpoint: Endpoint | None
    ) -> None:
        """The upstream answered 101: hand both transports over to a raw tunnel."""
        self.active = None
        self._upgrading = None
        self._ignore_input = True
        self.closed = True
        upstream = conn.transport
        assert upstream is not None
        ctx = self.ctx
        client = self.transport
        ctx.tunnels.add(client)
        ctx.connections.discard(self)

        def closed() -> None:
            if endpoint is not None:
                endpoint.done()
            ctx.tunnel_closed(client)

        self.gate.release_all()
        splice(client, upstream, b"".join(ex.early), rest, closed)

    def is_idle(self) -> bool:
        """No request in flight or partially received (safe to close on shutdown)."""
        return self.active is None and not self._queue and self._in_head and not self._head_bytes

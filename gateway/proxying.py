"""Client-side protocol: one client connection, its exchanges and their outcomes.

Parsing and validating requests is in gateway/parsing.py.
"""

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
from gateway.flow_control import PIPELINE, ReadGate, set_limits
from gateway.parsing import FORWARDED_REST, MAX_HEADER_BYTES, Reject, RequestParsing, Stop
from gateway.tunnel import splice
from gateway.upstream import Endpoint, UpstreamConnection

logger = logging.getLogger(__name__)


class ProxyProtocol(RequestParsing, asyncio.Protocol):
    """One client connection; one request proxied at a time, pipelined ones queued."""

    __slots__ = (
        "_conn",
        "_count",
        "_deferred",
        "_head_bytes",
        "_host",
        "_ignore_input",
        "_in_head",
        "_length",
        "_lines",
        "_parsing",
        "_queue",
        "_size",
        "_te",
        "_upgrade",
        "_upgrading",
        "_url",
        "_xff",
        "active",
        "client_ip",
        "closed",
        "ctx",
        "forwarded",
        "gate",
        "loop",
        "parser",
        "transport",
        "write_paused",
    )

    def __init__(self, ctx: GatewayContext, loop: asyncio.AbstractEventLoop) -> None:
        self.ctx = ctx
        self.loop = loop
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.gate: ReadGate = None  # type: ignore[assignment]
        self.parser = HttpRequestParser(self)
        self.client_ip = b"unknown"
        self.forwarded = b"x-forwarded-for: unknown" + FORWARDED_REST
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

    # -- asyncio.Protocol ------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        set_limits(transport)
        self.gate = ReadGate(self.transport)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and peer:
            self.client_ip = str(peer[0]).encode("latin-1")
            self.forwarded = b"x-forwarded-for: " + self.client_ip + FORWARDED_REST
        ctx = self.ctx
        ctx.connections.add(self)
        ctx.idle[self] = ctx.idle_tick

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
            elif not isinstance(cause, Stop):
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
            ctx = self.ctx
            ctx.idle[self] = ctx.idle_tick  # keep-alive: closed by the sweep if it stays idle

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

        rev = ex.rev

        def closed() -> None:
            now = ctx.clock()
            if endpoint is not None:
                endpoint.done(now)
            if rev is not None:
                rev.load.leave(now)
            ctx.tunnel_closed(client)

        self.gate.release_all()
        splice(client, upstream, b"".join(ex.early), rest, closed)

    def no_request(self) -> bool:
        """Nothing in flight or queued (a request head may be arriving, slowly)."""
        return self.active is None and not self._queue and not self.closed

    def is_idle(self) -> bool:
        """No request in flight or partially received (safe to close on shutdown)."""
        return self.active is None and not self._queue and self._in_head and not self._head_bytes

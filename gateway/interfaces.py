"""The typed interface between a client protocol and protocol-independent request handling.

A client protocol (HTTP/1: gateway/http1/downstream.py; an HTTP/2 one would sit beside it)
calls :class:`Handling` with each request head it parsed and drives the :class:`Ticket` it
gets back; request handling (gateway/handling.py) calls it back as the request's
:class:`Downstream` with the response.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol


class Refused(Exception):
    """A request is answered with ``response`` (a canned error) and the client closed."""

    def __init__(self, response: bytes) -> None:
        super().__init__()
        self.response = response


class Downstream(Protocol):
    """The client side of one exchange, as handling calls it back (HTTP/1: the connection)."""

    write_paused: bool  # the client's write buffer is full
    sent: int  # response body bytes passed on for the active request (the request log)

    def hold(self) -> None:
        """The request waits for a pod slot or a connection: stop reading from the client."""

    def unhold(self) -> None: ...

    def peer_busy(self) -> None:
        """The upstream's write buffer is full: stop reading from the client."""

    def peer_ready(self) -> None: ...

    def response_interim(self, head: bytes) -> None: ...

    def response_head(
        self,
        status: int,
        reason: bytes,
        lines: list[bytes],
        has_length: bool,
        chunked: bool,
        conn: bytes | None,
        upgrade: bytes | None,
    ) -> bool:
        """Start the response (or the 101); True when the upstream ends the body by closing."""

    def response_body(self, data: bytes) -> None: ...

    def response_trailers(self, fields: list[tuple[bytes, bytes]]) -> None:
        """Trailer fields (lower-case names) that end the body (gRPC's grpc-status)."""

    def flush(self) -> None:
        """Write what one upstream read produced, in one call."""

    def exchange_done(self, ex: Ticket, request_done: bool) -> None:
        """The response is complete (write its end): the next request may go."""

    def exchange_failed(self, ex: Ticket, response: bytes | None) -> None:
        """``ex`` failed: send ``response`` (if any) and close."""

    def start_tunnel(
        self, upstream: asyncio.Transport, rest: bytes, on_close: Callable[[], None]
    ) -> None:
        """The upstream answered 101: splice the two transports; ``on_close`` at the end."""


class UpstreamChannel(Protocol):
    """One request's way to a pod, bound to one exchange at a time.

    HTTP/1: a pooled connection (gateway/http1/upstream.py); HTTP/2: a stream on a shared
    h2c connection (gateway/http2/upstream.py). ``send`` takes the request head as built
    for HTTP/1 (:func:`gateway.http1.upstream.request_head`).
    """

    reused: bool  # not the first request on its connection (a loss may be retried)
    closed: bool
    transport: asyncio.Transport | None  # HTTP/1: spliced after a 101

    def bind(self, sink: Any) -> None: ...
    def send(self, head: bytes, body: list[bytes], chunked: bool, end: bool) -> None: ...
    def send_body(self, data: bytes) -> None: ...
    def send_end(self) -> None: ...
    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...
    def release(self, reusable: bool) -> None: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...


class Ticket(Protocol):
    """An open request, as the client protocol drives it (gateway.handling.Exchange)."""

    head: bytes  # the request head as forwarded upstream (set before ``start``)
    head_request: bool  # a HEAD: the response has no body whatever its head says
    request_done: bool
    log_head: tuple[bytes, bytes, bytes] | None  # host, method, path: set for the request log

    def start(self) -> None: ...
    def request_body(self, data: bytes) -> None: ...
    def request_end(self) -> None: ...
    def fail(self, response: bytes, cause: str = ...) -> None: ...
    def abort(self) -> None: ...
    def pause_upstream(self) -> None: ...
    def resume_upstream(self) -> None: ...


class Handling(Protocol):
    """What a client protocol calls for each request head it parsed."""

    def open(
        self, down: Downstream, host: bytes, chunked: bool, upgrade: bool, target: bytes = b"/"
    ) -> Ticket:
        """Route by the raw Host value; :class:`Refused` when there is no way there.

        ``target``: the request's path and query (a redirect to https keeps it).
        """

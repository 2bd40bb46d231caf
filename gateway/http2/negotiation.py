"""How a client connection becomes HTTP/2: prior knowledge, ``Upgrade: h2c``, ALPN ``h2``.

- Prior knowledge, on the plain listener: the HTTP/1 parser stops at the connection
  preface (``PRI * HTTP/2.0``) and :func:`take_over` hands the transport, and the bytes
  read so far, to an :class:`~gateway.http2.downstream.H2ClientProtocol`.
- ``Upgrade: h2c`` (RFC 7540 3.2) on an HTTP/1.1 request without a body:
  :func:`upgrade_h2c` answers 101 and the request becomes stream 1.
- TLS: :func:`protocol_factory` with ``tls=True`` makes a protocol that picks HTTP/2 when
  ALPN selected ``h2`` (the listener's context offers ``["h2", "http/1.1"]``), HTTP/1.1
  otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from gateway.http1.upstream import connection_tokens
from gateway.http2.downstream import H2ClientProtocol
from gateway.http2.frames import CodecError
from gateway.interfaces import Handling

if TYPE_CHECKING:
    from gateway.context import GatewayContext
    from gateway.http1.downstream import ClientProtocol

PREFACE_START = b"PRI * HTTP/2.0"
ALPN = ["h2", "http/1.1"]  # what a TLS listener's SSLContext offers


def _leave(old: ClientProtocol) -> asyncio.Transport:
    """Detach an HTTP/1 connection from the gateway's books before its transport moves."""
    old.closed = True
    old._ignore_input = True
    ctx = old.ctx
    ctx.connections.discard(old)
    ctx.idle.pop(old, None)
    return old.transport


def take_over(old: ClientProtocol, data: bytes) -> None:
    """The client sent the HTTP/2 preface: serve the connection as HTTP/2 from here."""
    transport = _leave(old)
    new = H2ClientProtocol(old.ctx, old.handling)
    transport.set_protocol(new)
    new.connection_made(transport)
    new.data_received(data)


def upgrade_h2c(
    old: ClientProtocol,
    method: bytes,
    url: bytes,
    host: bytes,
    lines: list[bytes],
    conn: bytes | None,
    xff: bytes | None,
) -> bool:
    """Accept ``Upgrade: h2c`` for this request; False (serve HTTP/1.1) without settings."""
    settings: list[bytes] = []
    named = connection_tokens(conn)
    fields = [(b":method", method), (b":scheme", b"http"), (b":authority", host), (b":path", url)]
    for line in lines:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        value = value.strip()
        if name == b"http2-settings":
            settings.append(value)
        elif name not in named:
            fields.append((name, value))
    if len(settings) != 1:
        return False
    if xff:
        fields.append((b"x-forwarded-for", xff))
    new = H2ClientProtocol(old.ctx, old.handling)
    try:
        new.h2.initiate_upgrade_connection(settings[0])
    except (CodecError, ValueError):  # a malformed HTTP2-Settings (base64, settings)
        return False
    transport = _leave(old)
    transport.set_protocol(new)
    new.upgraded(transport, fields)
    return True


class Negotiating(asyncio.Protocol):
    """A TLS connection's first protocol: hands over to HTTP/2 or HTTP/1.1 by ALPN."""

    def __init__(self, ctx: GatewayContext, handling: Handling) -> None:
        self.ctx = ctx
        self.handling = handling

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        from gateway.http1.downstream import ClientProtocol

        ssl = transport.get_extra_info("ssl_object")
        chosen: asyncio.Protocol
        if ssl is not None and ssl.selected_alpn_protocol() == "h2":
            chosen = H2ClientProtocol(self.ctx, self.handling)
        else:
            chosen = ClientProtocol(self.ctx, self.handling)
        transport.set_protocol(chosen)
        chosen.connection_made(transport)


def protocol_factory(
    ctx: GatewayContext, handling: Handling, *, tls: bool = False
) -> Callable[[], asyncio.Protocol]:
    """The listener's protocol factory: HTTP/1.1 (preface and h2c detected), or by ALPN."""
    if tls:
        return lambda: Negotiating(ctx, handling)
    from gateway.http1.downstream import ClientProtocol

    return lambda: cast(asyncio.Protocol, ClientProtocol(ctx, handling))

"""An HTTP/1 pod's chunked trailer section reaches the client: a trailing HEADERS frame over
HTTP/2 (gRPC-web style apps need them), the last chunk over HTTP/1; framing fields dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from h2.events import DataReceived, ResponseReceived, StreamEnded, TrailersReceived

from gateway import Gateway
from gateway.settings import RevisionSettings
from tests.gateway.conftest import HOST, KEY
from tests.gateway.h2client import RawH2, request_fields

RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
    b"Trailer: X-Checksum\r\n\r\n5\r\nhello\r\n0\r\nX-Checksum: abc123\r\nGrpc-Status: 0\r\n"
    b"Content-Type: text/html\r\n\r\n"
)


@pytest.fixture
async def trailing(gateway: Gateway) -> AsyncIterator[Gateway]:
    """A raw HTTP/1.1 pod answering every request with a chunked body and trailers."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(RESPONSE)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    gateway.set_revision(KEY, [("127.0.0.1", port)], RevisionSettings(timeout_seconds=30))
    gateway.set_routes({HOST: [(KEY, 100)]})
    yield gateway
    server.close()
    await server.wait_closed()


async def test_an_h2_client_gets_the_pods_trailers_as_trailing_headers(trailing: Gateway) -> None:
    client = await RawH2.open(trailing.port)
    for sid in (1, 3):  # twice on one pod connection: the parser state is reset between
        client.h2.send_headers(sid, request_fields(), end_stream=True)
        client.flush()
        await client.read_until(
            lambda evs, sid=sid: any(isinstance(e, StreamEnded) and e.stream_id == sid for e in evs)
        )
        mine = [e for e in client.events if getattr(e, "stream_id", None) == sid]
        assert [type(e) for e in mine] == [ResponseReceived, DataReceived, TrailersReceived,
                                           StreamEnded]  # fmt: skip
        assert b"".join(e.data for e in mine if isinstance(e, DataReceived)) == b"hello"
        trailers = next(e for e in mine if isinstance(e, TrailersReceived)).headers
        assert trailers == [("x-checksum", "abc123"), ("grpc-status", "0")]
    client.close()


async def test_an_http1_client_gets_them_in_the_last_chunk(trailing: Gateway) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", trailing.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: %s\r\nTE: trailers\r\n\r\n" % HOST.encode())
    head = await reader.readuntil(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    body = await reader.readuntil(b"0\r\n")
    rest = await reader.readuntil(b"\r\n\r\n")
    writer.close()
    assert body == b"5\r\nhello\r\n0\r\n"
    assert rest == b"x-checksum: abc123\r\ngrpc-status: 0\r\n\r\n"

"""gRPC through the gateway: a grpcio server as the pod (port named h2c), grpcio clients.

The pod (tests/apps/grpc_app.py) has no generated code: generic handlers on bytes. The
revision's ``protocol`` is ``h2c``, so the gateway speaks HTTP/2 to it; the client side
is HTTP/2 with prior knowledge. gRPC's status travels in trailers, so every call passing
also shows trailers kept end to end.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator

import grpc
import pytest

from gateway import Gateway
from gateway.settings import RevisionSettings
from tests.gateway.conftest import HOST, KEY, wait_for
from tests.gateway.pods import pod

H2C = RevisionSettings(timeout_seconds=30, protocol="h2c")


@pytest.fixture
async def grpc_port() -> AsyncIterator[int]:
    async with pod("tests.apps.grpc_app") as port:
        yield port


@pytest.fixture
async def served(gateway: Gateway, grpc_port: int) -> Gateway:
    gateway.set_revision(KEY, [("127.0.0.1", grpc_port)], H2C)
    gateway.set_routes({HOST: [(KEY, 100)]})
    return gateway


def channel(gateway: Gateway) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(
        f"127.0.0.1:{gateway.port}", options=[("grpc.default_authority", HOST)]
    )


async def test_unary_server_streaming_client_streaming_and_bidi(served: Gateway) -> None:
    async with channel(served) as ch:
        unary = ch.unary_unary("/demo.Echo/Unary")
        assert await unary(b"hi", timeout=10) == b"echo:hi"
        count = ch.unary_stream("/demo.Echo/Count")
        assert [m async for m in count(b"5", timeout=10)] == [b"0", b"1", b"2", b"3", b"4"]
        total = ch.stream_unary("/demo.Echo/Sum")

        async def many() -> AsyncIterator[bytes]:
            for _ in range(50):
                yield b"x" * 10_000

        assert await total(many(), timeout=10) == b"500000"
        chat = ch.stream_stream("/demo.Echo/Chat")
        call = chat(timeout=10)
        for word in (b"espresso", b"latte", b"mocha"):  # one at a time: really interactive
            await call.write(word)
            assert await call.read() == word.upper()
        await call.done_writing()
        assert await call.read() == grpc.aio.EOF
        assert await call.code() == grpc.StatusCode.OK


async def test_many_calls_share_one_connection(served: Gateway) -> None:
    async with channel(served) as ch:
        unary = ch.unary_unary("/demo.Echo/Unary")
        replies = await asyncio.gather(*(unary(b"%d" % i, timeout=10) for i in range(50)))
    assert replies == [b"echo:%d" % i for i in range(50)]


async def test_an_expiring_deadline_gives_deadline_exceeded_and_serving_goes_on(
    served: Gateway,
) -> None:
    async with channel(served) as ch:
        unary = ch.unary_unary("/demo.Echo/Unary")
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await unary(b"sleep:3000", timeout=0.3)
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        await wait_for(lambda: served.snapshot()[KEY]["in_flight"] == 0)  # the stream let go
        assert await unary(b"after", timeout=10) == b"echo:after"


async def test_from_zero_the_first_call_is_held_then_answered(gateway: Gateway) -> None:
    gateway.set_revision(KEY, [], H2C)  # scaled to zero
    gateway.set_routes({HOST: [(KEY, 100)]})
    async with channel(gateway) as ch:
        unary = ch.unary_unary("/demo.Echo/Unary")
        call = asyncio.ensure_future(unary(b"wake", timeout=20))
        await wait_for(lambda: gateway.snapshot()[KEY]["held"] == 1)
        async with pod("tests.apps.grpc_app") as port:
            gateway.set_revision(KEY, [("127.0.0.1", port)], H2C)
            assert await call == b"echo:wake"


def grpc_frame(message: bytes) -> bytes:
    return b"\x00" + struct.pack(">I", len(message)) + message


async def test_an_http1_client_reaches_an_h2c_pod_with_trailers(served: Gateway) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    body = grpc_frame(b"plain")
    writer.write(
        b"POST /demo.Echo/Unary HTTP/1.1\r\nHost: %s\r\ncontent-type: application/grpc\r\n"
        b"te: trailers\r\ncontent-length: %d\r\n\r\n%s" % (HOST.encode(), len(body), body)
    )
    async with asyncio.timeout(10):
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert b"transfer-encoding: chunked" in head.lower()
        rest = await reader.readuntil(b"\r\n0\r\n")
        trailers = await reader.readuntil(b"\r\n\r\n")
    writer.close()
    assert grpc_frame(b"echo:plain") in rest
    assert b"grpc-status: 0\r\n" in trailers

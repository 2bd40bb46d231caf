"""A gRPC pod without generated code: bytes in, bytes out (``PORT`` from the environment).

- ``/demo.Echo/Unary``: the request back, prefixed ``echo:``; a request ``sleep:MS``
  sleeps first (for deadlines);
- ``/demo.Echo/Count``: server streaming, ``N`` messages ``0`` .. ``N-1``;
- ``/demo.Echo/Chat``: bidirectional, every message back upper-cased;
- ``/demo.Echo/Sum``: client streaming, the total length of what was sent.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import grpc


async def unary(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    if request.startswith(b"sleep:"):
        await asyncio.sleep(int(request[6:]) / 1000)
    return b"echo:" + request


async def count(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    for i in range(int(request)):
        yield b"%d" % i


async def chat(
    requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext
) -> AsyncIterator[bytes]:
    async for message in requests:
        yield message.upper()


async def total(requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> bytes:
    size = 0
    async for message in requests:
        size += len(message)
    return b"%d" % size


def handler() -> grpc.GenericRpcHandler:
    same = {"request_deserializer": None, "response_serializer": None}
    return grpc.method_handlers_generic_handler(
        "demo.Echo",
        {
            "Unary": grpc.unary_unary_rpc_method_handler(unary, **same),
            "Count": grpc.unary_stream_rpc_method_handler(count, **same),
            "Chat": grpc.stream_stream_rpc_method_handler(chat, **same),
            "Sum": grpc.stream_unary_rpc_method_handler(total, **same),
        },
    )


async def main() -> None:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler(),))
    server.add_insecure_port(f"127.0.0.1:{os.environ['PORT']}")
    await server.start()
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main())

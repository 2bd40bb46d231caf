"""The standard gRPC health check (``grpc.health.v1.Health/Check``), one unary call over h2c.

Kubernetes' ``grpc`` probe makes this call and counts ``SERVING`` as success. It is spoken
here with the ``h2`` protocol library rather than grpcio: one request and one response need
no channel machinery, and grpcio would bring its C core and threads into the control plane.
The protobuf messages are tiny and hand-encoded: ``HealthCheckRequest{string service = 1}``,
``HealthCheckResponse{ServingStatus status = 1}`` with ``SERVING = 1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct

import h2.config
import h2.connection
import h2.events
import h2.exceptions

PATH = "/grpc.health.v1.Health/Check"
SERVING = 1


def encode_request(service: str) -> bytes:
    """The length-prefixed gRPC message holding ``HealthCheckRequest``."""
    raw = service.encode()
    body = b"" if not raw else b"\x0a" + _varint(len(raw)) + raw
    return struct.pack(">BI", 0, len(body)) + body


def decode_status(message: bytes) -> int | None:
    """``status`` of a length-prefixed ``HealthCheckResponse`` (0, UNKNOWN, when absent)."""
    if len(message) < 5 or message[0] != 0:
        return None
    (size,) = struct.unpack(">I", message[1:5])
    body, i = message[5 : 5 + size], 0
    status = 0
    while i < len(body):
        key, i = _read_varint(body, i)
        if key & 7 == 0:
            value, i = _read_varint(body, i)
            if key >> 3 == 1:
                status = value
        elif key & 7 == 2:
            length, i = _read_varint(body, i)
            i += length
        else:
            return None
    return status


async def check(host: str, port: int, service: str, limit: float) -> bool:
    """True when the server answers ``SERVING`` within ``limit`` seconds."""
    try:
        async with asyncio.timeout(limit):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                return await _call(reader, writer, f"{host}:{port}", service)
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
    except (OSError, TimeoutError, ValueError, h2.exceptions.H2Error):
        return False


async def _call(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, authority: str, service: str
) -> bool:
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    stream = conn.get_next_available_stream_id()
    headers = [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", PATH),
        (":authority", authority),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
        ("user-agent", "kube-probe/coldbrew"),
    ]
    conn.send_headers(stream, headers)
    conn.send_data(stream, encode_request(service), end_stream=True)
    writer.write(conn.data_to_send())
    data, grpc_status = b"", None
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            return False
        for event in conn.receive_data(chunk):
            if isinstance(event, h2.events.DataReceived) and event.stream_id == stream:
                data += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, stream)
            elif isinstance(event, h2.events.ResponseReceived | h2.events.TrailersReceived):
                for name, value in event.headers:
                    if name in (b"grpc-status", "grpc-status"):
                        grpc_status = int(value)
            elif isinstance(event, h2.events.StreamReset | h2.events.ConnectionTerminated):
                return False
            elif isinstance(event, h2.events.StreamEnded) and event.stream_id == stream:
                return grpc_status == 0 and decode_status(data) == SERVING
        writer.write(conn.data_to_send())


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while i < len(data):
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i
        shift += 7
    raise ValueError("truncated varint")

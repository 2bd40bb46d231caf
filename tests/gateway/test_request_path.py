"""Which data-plane modules one keep-alive request runs code in (docs/architecture.md).

A real Gateway and a real upstream: one request opens the client connection and the
pooled upstream connection, then a second request on the same connection is traced with
``sys.setprofile``. Every Python function that runs from a file under gateway/ or
activator/ names its module; the set must be exactly the five the architecture document
walks through. The gateway's own once-a-second timers (``Gateway._tick`` and
``Gateway._sweep_idle`` in gateway/server.py) may fire while tracing: calls made under them
are not part of the request and are left out.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from gateway import Gateway
from tests.gateway.conftest import HOST

ROOT = Path(__file__).resolve().parents[2]
DATA_PLANE = (ROOT / "gateway", ROOT / "activator")
TIMERS = str(ROOT / "gateway" / "server.py")

EXPECTED = {
    "gateway/http1/downstream.py",
    "gateway/handling.py",
    "activator/throttler.py",
    "gateway/http1/upstream.py",
    "gateway/timekeeping.py",
}

REQUEST = b"GET /path?q=1 HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\nUser-Agent: t\r\n\r\n"


def data_plane_module(filename: str) -> str | None:
    path = Path(filename)
    for top in DATA_PLANE:
        if path.is_relative_to(top):
            return path.relative_to(ROOT).as_posix()
    return None


def under_timer(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_filename == TIMERS:
            return True
        frame = frame.f_back
    return False


async def read_response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + await reader.readexactly(length)


def peer_port(response: bytes) -> int:
    port = json.loads(response.split(b"\r\n\r\n", 1)[1])["peer_port"]
    assert isinstance(port, int)
    return port


async def test_keepalive_request_runs_in_five_modules(routed: Gateway) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", routed.port)
    try:
        async with asyncio.timeout(10):
            writer.write(REQUEST)
            first = await read_response(reader)
            assert first.startswith(b"HTTP/1.1 200 ")

            seen: set[str] = set()

            def profile(frame: FrameType, event: str, arg: Any) -> None:
                if event != "call":
                    return
                module = data_plane_module(frame.f_code.co_filename)
                if module is not None and module not in seen and not under_timer(frame):
                    seen.add(module)

            sys.setprofile(profile)
            try:
                writer.write(REQUEST)
                second = await read_response(reader)
            finally:
                sys.setprofile(None)
        assert second.startswith(b"HTTP/1.1 200 ")
        assert b"connection: close" not in second.lower()
        # Both went over one pooled upstream connection (the pod saw the same peer port).
        assert peer_port(first) == peer_port(second)
    finally:
        writer.close()
    assert seen == EXPECTED, sorted(seen)
    assert len(seen) <= 5

"""100 MB up and down through a gateway subprocess: RSS must stay flat (streaming)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from .conftest import HOST, Upstream

SIZE = 100 * 1024 * 1024
BLOCK = 256 * 1024
ROOT = Path(__file__).resolve().parents[2]


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} missing")


async def upload(request: web.Request) -> web.Response:
    total = 0
    async for data in request.content.iter_any():
        total += len(data)
    return web.Response(text=str(total))


async def download(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse()
    resp.content_length = SIZE
    await resp.prepare(request)
    block = b"x" * BLOCK
    for _ in range(SIZE // BLOCK):
        await resp.write(block)
    await resp.write_eof()
    return resp


@pytest.fixture
async def gateway_process() -> AsyncIterator[tuple[int, int]]:
    up = Upstream()
    up.app.router.add_post("/up", upload)
    up.app.router.add_get("/down", download)
    await up.start()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "--route",
        f"{HOST}=127.0.0.1:{up.port}",
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 10)
        yield proc.pid, int(line)
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)
        await up.stop()


async def _request(port: int, head: bytes, body_size: int = 0) -> tuple[bytes, bytes, int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head)
    block = b"y" * BLOCK
    sent = 0
    while sent < body_size:
        writer.write(block)
        sent += BLOCK
        await writer.drain()
    status = await reader.readuntil(b"\r\n\r\n")
    received = 0
    first = b""
    while data := await reader.read(BLOCK):
        first = first or data[:100]
        received += len(data)
    writer.close()
    return status, first, received


async def test_100mb_up_and_down_keep_rss_flat(gateway_process: tuple[int, int]) -> None:
    pid, port = gateway_process
    # warm up code paths, then take the baseline
    await _request(
        port,
        f"POST /up HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 10\r\n"
        "Connection: close\r\n\r\n0123456789".encode(),
    )
    base = rss_kib(pid)
    head = (
        f"POST /up HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {SIZE}\r\nConnection: close\r\n\r\n"
    ).encode()
    status, body, _ = await asyncio.wait_for(_request(port, head, SIZE), 60)
    assert status.startswith(b"HTTP/1.1 200 ")
    assert body == str(SIZE).encode()
    head = f"GET /down HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
    status, _, received = await asyncio.wait_for(_request(port, head), 60)
    assert status.startswith(b"HTTP/1.1 200 ")
    assert received == SIZE
    peak = rss_kib(pid, "VmHWM")
    print(f"gateway RSS baseline {base} KiB, peak {peak} KiB")
    assert peak - base < 10 * 1024, f"RSS grew {peak - base} KiB"

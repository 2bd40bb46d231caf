"""The bundled sample app (``python -m coldbrew.sample``) over real sockets."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator

import pytest

from coldbrew.runtime.launch import COLDBREW_ROOT
from coldbrew.runtime.naming import free_port

from .conftest import alive, get, read_response


class App:
    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc, self.port = proc, port

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)


async def start_app(**env: str) -> App:
    port = free_port()
    full_env = {**os.environ, "PORT": str(port), "PYTHONPATH": COLDBREW_ROOT, **env}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "coldbrew.sample", env=full_env, start_new_session=True
    )

    async def listening() -> bool:
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        w.close()
        return True

    async with asyncio.timeout(10):
        while not await listening():
            assert proc.returncode is None, "sample app exited"
            await asyncio.sleep(0.01)
    return App(proc, port)


@pytest.fixture
async def app() -> AsyncIterator[App]:
    a = await start_app(TARGET="coffee")
    try:
        yield a
    finally:
        if a.proc.returncode is None:
            a.proc.kill()
            await a.proc.wait()


async def test_hello(app: App) -> None:
    reader, writer = await app.connect()
    writer.write(b"GET / HTTP/1.1\r\nHost: coffee\r\n\r\n")
    status, headers, body = await read_response(reader)
    writer.close()
    assert (status, body) == (200, b"Hello coffee!\n")
    assert headers["content-type"].startswith("text/plain")
    assert headers["content-length"] == "14"


async def test_default_target() -> None:
    a = await start_app(TARGET="")
    try:
        assert await get(a.port) == (200, b"Hello World!\n")
    finally:
        a.proc.kill()
        await a.proc.wait()


async def test_sleep_prime_bloat(app: App) -> None:
    status, body = await get(app.port, "/?sleep=100")
    assert status == 200
    m = re.fullmatch(rb"Slept for (\d+\.\d\d) milliseconds\.\n", body)
    assert m and float(m.group(1)) >= 99
    assert await get(app.port, "/?prime=10000") == (
        200,
        b"The largest prime less than 10000 is 9973.\n",
    )
    assert await get(app.port, "/?prime=1") == (200, b"There are no primes smaller than 1.\n")
    assert await get(app.port, "/?bloat=5") == (200, b"Allocated 5 Mb of memory.\n")
    status, body = await get(app.port, "/?sleep=10&prime=100&bloat=1")
    lines = body.decode().splitlines()
    assert lines[0].startswith("Slept for ")
    assert lines[1:] == ["The largest prime less than 100 is 97.", "Allocated 1 Mb of memory."]
    assert (await get(app.port, "/?sleep=abc"))[0] == 400


async def test_keep_alive_and_pipelining(app: App) -> None:
    reader, writer = await app.connect()
    for _ in range(3):
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await read_response(reader))[2] == b"Hello coffee!\n"
    # pipelined: order is kept even when an earlier request sleeps
    writer.write(b"GET /?sleep=50 HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await read_response(reader))[2].startswith(b"Slept for")
    assert (await read_response(reader))[2] == b"Hello coffee!\n"
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    _, headers, _ = await read_response(reader)
    assert headers.get("connection") == "close"
    assert await reader.read() == b""  # server closed
    writer.close()


async def test_request_bodies(app: App) -> None:
    reader, writer = await app.connect()
    body = b"x" * 100_000
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    assert (await read_response(reader))[:1] == (200,)
    chunked = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    writer.write(b"POST /?prime=10 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    writer.write(chunked)
    assert (await read_response(reader))[2] == b"The largest prime less than 10 is 7.\n"
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # the connection is still in sync
    assert (await read_response(reader))[2] == b"Hello coffee!\n"
    writer.close()


async def test_bad_request_gets_400_and_close(app: App) -> None:
    reader, writer = await app.connect()
    writer.write(b"NOT HTTP AT ALL\r\n\r\n")
    status, headers, _ = await read_response(reader)
    assert status == 400 and headers["connection"] == "close"
    assert await reader.read() == b""
    writer.close()


async def test_sigterm_finishes_in_flight_request(app: App) -> None:
    reader, writer = await app.connect()
    writer.write(b"GET /?sleep=400 HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    idle_reader, idle_writer = await app.connect()  # an idle keep-alive connection
    # barrier: a later request on another connection was answered, so the first one was read
    assert (await get(app.port, "/?sleep=1"))[0] == 200
    app.proc.send_signal(signal.SIGTERM)
    status, headers, body = await read_response(reader)
    assert status == 200 and body.startswith(b"Slept for")
    assert headers.get("connection") == "close"
    assert await idle_reader.read() == b""  # idle connections are closed
    assert await asyncio.wait_for(app.proc.wait(), 10) == 0
    assert not alive(app.proc.pid)
    with pytest.raises(OSError):
        await app.connect()
    writer.close()
    idle_writer.close()


async def test_many_concurrent_requests(app: App) -> None:
    results = await asyncio.gather(*(get(app.port, "/?sleep=100") for _ in range(50)))
    assert all(status == 200 for status, _ in results)

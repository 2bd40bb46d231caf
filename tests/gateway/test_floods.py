"""Slowloris and descriptor floods against a gateway process (``python -m gateway``).

Trickling connections (a request head that never completes) come from a thread of this
process with plain sockets; ordinary requests (whole heads) from the test's loop. The
descriptor floods lower the gateway's RLIMIT_NOFILE so that ~1100 connections exhaust it.
"""

from __future__ import annotations

import asyncio
import os
import resource
import select
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from .conftest import HOST, Upstream

ROOT = Path(__file__).resolve().parents[2]
HEAD_START = f"GET / HTTP/1.1\r\nHost: {HOST}\r\nX-Slow: ".encode()
WHOLE = f"GET / HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()


def raise_own_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"needs {needed} descriptors, hard limit {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


class Gateway:
    """``python -m gateway`` routed to ``upstream``, optionally with fewer descriptors."""

    def __init__(self, upstream: Upstream, nofile: int | None, *args: str) -> None:
        def limit() -> None:
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        route = f"{HOST}=127.0.0.1:{upstream.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "--port", "0", "--route", route, *args],
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=limit,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def stop(self) -> str:
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=30)
        return err


class Flood:
    """``count`` connections trickling a head; those the gateway closes are opened again."""

    def __init__(self, port: int, count: int) -> None:
        self.port = port
        self.count = count
        self.socks: dict[int, socket.socket] = {}
        self.reopened = 0
        self.full = threading.Event()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _open(self) -> socket.socket | None:
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", self.port))
            s.sendall(HEAD_START)
        except OSError:
            s.close()
            return None
        s.setblocking(False)
        self.socks[s.fileno()] = s
        return s

    def _run(self) -> None:
        poller = select.poll()
        while not self.done.is_set():
            while len(self.socks) < self.count and not self.done.is_set():
                sock = self._open()
                if sock is not None:
                    poller.register(sock, select.POLLIN)
            self.full.set()
            for fd, _ in poller.poll(100):
                sock = self.socks.pop(fd, None)
                if sock is not None:
                    poller.unregister(fd)
                    sock.close()
                    self.reopened += 1
        for sock in self.socks.values():
            sock.close()

    def __enter__(self) -> Flood:
        self.thread.start()
        assert self.full.wait(120), "flood could not open its connections"
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(30)


async def ordinary(port: int) -> bytes:
    """One whole request on a new connection: its status line, or why it failed."""
    try:
        async with asyncio.timeout(10):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(WHOLE)
            reply = await reader.read(-1)
            writer.close()
            return reply.split(b"\r\n", 1)[0]
    except (OSError, TimeoutError) as exc:
        return repr(exc).encode()


@pytest.fixture
def descriptors() -> Iterator[None]:
    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, before)


@pytest.fixture
async def gateway_procs() -> AsyncIterator[list[Gateway]]:
    procs: list[Gateway] = []
    yield procs
    for gw in procs:
        if gw.proc.poll() is None:
            gw.stop()


async def test_slowloris_3000_connections(
    upstream: Upstream, gateway_procs: list[Gateway], descriptors: None
) -> None:
    raise_own_limit(3000 + 200)
    gw = Gateway(upstream, None)
    gateway_procs.append(gw)
    with Flood(gw.port, 3000) as flood:
        replies = [await ordinary(gw.port) for _ in range(10)]
        assert replies == [b"HTTP/1.1 200 OK"] * 10
        assert flood.reopened == 0  # under the budget nothing is shed
    assert gw.proc.poll() is None


async def test_descriptor_flood_sheds_trickling_heads(
    upstream: Upstream, gateway_procs: list[Gateway], descriptors: None
) -> None:
    raise_own_limit(1100 + 200)
    gw = Gateway(upstream, 1024)
    gateway_procs.append(gw)
    with Flood(gw.port, 1100) as flood:
        replies = [await ordinary(gw.port) for _ in range(10)]
        reopened = flood.reopened
    ok = replies.count(b"HTTP/1.1 200 OK")
    assert ok >= 8, replies
    assert reopened > 0  # the gateway shed trickling heads to make room
    assert await ordinary(gw.port) == b"HTTP/1.1 200 OK"
    err = gw.stop()
    assert err.count("shedding the oldest") == 1, err[-2000:]


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
async def test_accept_out_of_descriptors_is_survived(
    loop: str, upstream: Upstream, gateway_procs: list[Gateway], descriptors: None
) -> None:
    raise_own_limit(600 + 200)
    # A budget above the limit: accept() itself runs out of descriptors.
    args = ["--max-connections", "100000"] + (["--no-uvloop"] if loop == "asyncio" else [])
    gw = Gateway(upstream, 256, *args)
    gateway_procs.append(gw)
    with Flood(gw.port, 600):
        await ordinary(gw.port)  # may fail: no descriptor for it
    async with asyncio.timeout(30):
        while (reply := await ordinary(gw.port)) != b"HTTP/1.1 200 OK":
            assert gw.proc.poll() is None, reply
            await asyncio.sleep(0.2)  # poll with a deadline: the gateway retries accept()
    assert gw.proc.poll() is None
    err = gw.stop()
    assert err.count("socket.accept() out of system resource") <= 1, err[-3000:]

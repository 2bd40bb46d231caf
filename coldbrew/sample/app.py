"""HTTP/1.1 sample server on asyncio Protocols + httptools (+ uvloop when available).

``GET /`` answers ``Hello {TARGET}!``. Query parameters follow Knative's autoscale-go sample:
``?sleep=<ms>``, ``?prime=<n>``, ``?bloat=<mb>``; each answers one line. SIGTERM stops accepting,
finishes in-flight requests, and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import time
from collections import deque
from typing import cast
from urllib.parse import parse_qs

import httptools

MAX_PRIME = 100_000_000
MAX_BLOAT_MB = 2048
_CT = b"Content-Type: text/plain; charset=utf-8\r\n"


def largest_prime(n: int) -> int | None:
    """The biggest prime <= n (sieve of Eratosthenes), or None."""
    if n < 2:
        return None
    sieve = bytearray([1]) * (n + 1)
    sieve[0:2] = b"\x00\x00"
    for i in range(2, math.isqrt(n) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytes(len(range(i * i, n + 1, i)))
    return sieve.rindex(1)


def _bloat(mb: int) -> None:
    block = bytearray(mb * 1024 * 1024)
    block[::4096] = b"\x01" * len(range(0, len(block), 4096))  # touch every page
    del block


def _int_param(query: dict[str, list[str]], name: str, limit: float) -> float:
    raw = query.get(name, ["0"])[-1]
    value = float(raw)  # ValueError -> 400
    if not 0 <= value <= limit or math.isnan(value):
        raise ValueError(f"{name} out of range")
    return value


async def handle(target: str, url: bytes) -> tuple[bytes, bytes]:
    """Return (status, body) for the request URL."""
    _, _, qs = url.partition(b"?")
    try:
        query = parse_qs(qs.decode("latin-1"))
        sleep_ms = _int_param(query, "sleep", 3_600_000)
        prime_n = int(_int_param(query, "prime", MAX_PRIME))
        bloat_mb = int(_int_param(query, "bloat", MAX_BLOAT_MB))
    except ValueError as exc:
        return b"400 Bad Request", f"Bad request: {exc}\n".encode()
    lines: list[str] = []
    if sleep_ms > 0:
        start = time.perf_counter()
        await asyncio.sleep(sleep_ms / 1000)
        lines.append(f"Slept for {(time.perf_counter() - start) * 1000:.2f} milliseconds.\n")
    if prime_n > 0:
        p = largest_prime(prime_n)
        if p is None:
            lines.append(f"There are no primes smaller than {prime_n}.\n")
        else:
            lines.append(f"The largest prime less than {prime_n} is {p}.\n")
    if bloat_mb > 0:
        _bloat(bloat_mb)
        lines.append(f"Allocated {bloat_mb} Mb of memory.\n")
    if not lines:
        lines.append(f"Hello {target}!\n")
    return b"200 OK", "".join(lines).encode()


class Server:
    def __init__(self, target: str) -> None:
        self.target = target
        self.hello = f"Hello {target}!\n".encode()
        self.hello_response = self.hello_headers(True) + self.hello
        self.conns: set[HttpProtocol] = set()
        self.stopping = False
        self.idle = asyncio.Event()

    def hello_headers(self, keep: bool) -> bytes:
        extra = b"" if keep else b"Connection: close\r\n"
        return b"HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n%s\r\n" % (_CT, len(self.hello), extra)

    def forget(self, conn: HttpProtocol) -> None:
        self.conns.discard(conn)
        if self.stopping and not self.conns:
            self.idle.set()


class HttpProtocol(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.expect_continue = False
        self.in_message = False
        self.queue: deque[tuple[bytes, bool, bool, bool]] = deque()  # url, keep, http10, head
        self.worker: asyncio.Task[None] | None = None

    # -- transport callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.server.conns.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.worker is not None:
            self.worker.cancel()
        self.server.forget(self)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.queue.clear()
            self.respond(b"400 Bad Request", b"Bad request\n", False, False, False)

    # -- parser callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.expect_continue = False
        self.in_message = True

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"expect" and value.lower() == b"100-continue":
            self.expect_continue = True

    def on_headers_complete(self) -> None:
        if self.expect_continue and self.transport is not None:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_message_complete(self) -> None:
        self.in_message = False
        keep = self.parser.should_keep_alive() and not self.server.stopping
        http10 = self.parser.get_http_version() == "1.0"
        head = self.parser.get_method() == b"HEAD"
        if self.worker is None and b"?" not in self.url and not http10 and not head:
            if keep:  # fast path: plain hello on a keep-alive connection
                self.transport.write(self.server.hello_response)  # type: ignore[union-attr]
            else:
                self.respond(b"200 OK", self.server.hello, False, False, False)
            return
        self.queue.append((self.url, keep, http10, head))
        if self.worker is None:
            self.worker = asyncio.get_running_loop().create_task(self.work())

    # -- responses
    async def work(self) -> None:
        try:
            while self.queue and self.transport is not None and not self.transport.is_closing():
                url, keep, http10, head = self.queue.popleft()
                status, body = await handle(self.server.target, url)
                keep = keep and not self.server.stopping
                self.respond(status, body, keep, http10, head)
        finally:
            self.worker = None
            self.close_if_stopping()

    def respond(self, status: bytes, body: bytes, keep: bool, http10: bool, head: bool) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        conn = b"Connection: close\r\n" if not keep else b""
        if keep and http10:
            conn = b"Connection: keep-alive\r\n"
        size = len(body)
        head_bytes = b"HTTP/1.1 %s\r\n%sContent-Length: %d\r\n%s\r\n" % (status, _CT, size, conn)
        transport.write(head_bytes if head else head_bytes + body)
        if not keep:
            transport.close()

    def close_if_stopping(self) -> None:
        busy = self.in_message or self.worker is not None or self.queue
        if self.server.stopping and not busy and self.transport is not None:
            self.transport.close()


async def serve(host: str, port: int, target: str) -> None:
    loop = asyncio.get_running_loop()
    state = Server(target)
    server = await loop.create_server(
        lambda: HttpProtocol(state), host, port, reuse_address=True, backlog=1024
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()  # stop accepting
    state.stopping = True
    if not state.conns:
        state.idle.set()
    for conn in list(state.conns):
        conn.close_if_stopping()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(state.idle.wait(), timeout=float(os.environ.get("DRAIN", "30")))


def main() -> None:
    host = os.environ.get("HOST") or "127.0.0.1"
    port = int(os.environ.get("PORT") or "8080")
    target = os.environ.get("TARGET") or "World"
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is a dependency, but stay usable without it
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(serve(host, port, target))

"""A fixed-rate, open-loop HTTP/1.1 load generator with latency percentiles.

``hey -q`` is a per-worker rate in a closed loop: a worker whose response is late sends
its next request late, so the offered rate drops exactly when the system is slow. Here
request ``i`` is due at ``start + i / rate`` whatever happened before, sent on an idle
keep-alive connection (or a new one), and its latency runs from when it was *due*, so a
stall is charged to every request it delayed (no coordinated omission). uvloop, raw
protocols, 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field

import uvloop

_CL = b"\r\ncontent-length:"


@dataclass
class OpenLoopResult:
    rate: float
    duration: float
    sent: int = 0
    ok: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        values = sorted(self.latencies_ms)
        if not values:
            return math.nan
        return values[min(len(values) - 1, max(0, math.ceil(p / 100 * len(values)) - 1))]

    def summary(self) -> dict[str, float]:
        return {
            "rate": self.rate,
            "achieved_rps": self.ok / self.duration if self.duration else 0.0,
            "sent": self.sent,
            "ok": self.ok,
            "errors": self.errors,
            "p50_ms": self.percentile(50),
            "p95_ms": self.percentile(95),
            "p99_ms": self.percentile(99),
        }


class _Conn(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self, pool: list[_Conn], result: OpenLoopResult) -> None:
        self.pool = pool
        self.result = result
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.due = 0.0
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: bytes, due: float) -> None:
        assert self.transport is not None
        self.busy = True
        self.due = due
        self.buf = b""
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buf[:end].lower()
        at = head.find(_CL)
        length = int(head[at + len(_CL) :].split(b"\r\n", 1)[0]) if at >= 0 else 0
        if len(self.buf) < end + 4 + length:
            return
        took = (time.perf_counter() - self.due) * 1e3
        if head.startswith(b"http/1.1 200"):
            self.result.ok += 1
            self.result.latencies_ms.append(took)
        else:
            self.result.errors += 1
        self.busy = False
        self.pool.append(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.busy:
            self.result.errors += 1
        self.busy = False
        if self in self.pool:
            self.pool.remove(self)


async def _run(port: int, host: str, path: str, rate: float, duration: float) -> OpenLoopResult:
    loop = asyncio.get_running_loop()
    result = OpenLoopResult(rate, duration)
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    idle: list[_Conn] = []
    opening: set[asyncio.Task[None]] = set()

    async def fresh(due: float) -> None:
        try:
            _, conn = await loop.create_connection(lambda: _Conn(idle, result), "127.0.0.1", port)
        except OSError:
            result.errors += 1
            return
        conn.send(request, due)

    total = int(rate * duration)
    start = time.perf_counter()
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        result.sent += 1
        if idle:
            idle.pop().send(request, due)
        else:
            task = loop.create_task(fresh(due))
            opening.add(task)
            task.add_done_callback(opening.discard)
    end = time.perf_counter() + 30.0  # let the last requests finish
    while result.ok + result.errors < result.sent and time.perf_counter() < end:  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # responses are counted by protocol callbacks
    result.errors += result.sent - result.ok - result.errors
    for conn in idle:
        if conn.transport is not None:
            conn.transport.close()
    return result


def fixed_rate(
    port: int, host: str, path: str = "/", rate: float = 1000.0, duration: float = 60.0
) -> OpenLoopResult:
    """Send ``rate`` requests/s for ``duration`` seconds; latencies from each due time."""
    return uvloop.run(_run(port, host, path, rate, duration))

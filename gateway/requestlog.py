"""The optional structured request log: one JSON object per line, off by default.

Fields: ``time`` (the request's arrival, RFC 3339 UTC), ``host``, ``method``, ``path``,
``status`` (499: the client went away first), ``bytes`` (response body bytes),
``latency`` and ``held`` (seconds: arrival to the end, and time waiting in the activator's
queue), ``revision`` (its key) and ``pod`` (``host:port``, or null when never sent).

The exchange hands its fields over as a tuple (:meth:`RequestLog.add`, no formatting on the
request path); a timer formats and writes what gathered every ``interval`` seconds in one
``write`` call (``O_APPEND``: several worker processes may share one file, their batches
never interleave mid-line), so the event loop never waits on a line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.handling import Exchange

Entry = tuple[float, bytes, bytes, bytes, int, int, float, float, str, str | None]
MAX_PENDING = 100_000  # lines kept between flushes; beyond, new ones are counted as dropped


class RequestLog:
    """Buffers entries and writes them to ``target`` (a path, or ``-`` for stdout)."""

    def __init__(self, target: str, interval: float = 0.5) -> None:
        self.target = target
        self.interval = interval
        self.dropped = 0
        self._pending: list[Entry] = []
        self._fd: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._clock_offset = time.time() - time.monotonic()

    def add(self, ex: Exchange, status: int, now: float) -> None:
        """Take one finished exchange's fields (``now``: the gateway's monotonic clock)."""
        if len(self._pending) >= MAX_PENDING:
            self.dropped += 1
            return
        host, method, path = ex.log_head or (b"", b"", b"")
        pod = ex.pod.label if ex.pod is not None else None
        arrived = ex.arrived or now
        sent = ex.down.sent if ex.started else 0
        self._pending.append(
            (arrived, host, method, path, status, sent, now - arrived, ex.waited, ex.key, pod)
        )

    def start(self) -> None:
        if self.target == "-":
            self._fd = sys.stdout.fileno()
        else:
            self._fd = os.open(self.target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.flush()
        if self._fd is not None and self.target != "-":
            os.close(self._fd)
        self._fd = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.flush()

    def flush(self) -> None:
        """Format and write everything gathered so far, in one write."""
        pending, self._pending = self._pending, []
        if not pending or self._fd is None:
            return
        offset = self._clock_offset
        lines = [json.dumps(_fields(entry, offset), separators=(",", ":")) for entry in pending]
        data = ("\n".join(lines) + "\n").encode()
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError:
            self.dropped += len(pending)


def _fields(entry: Entry, offset: float) -> dict[str, object]:
    arrived, host, method, path, status, sent, latency, held, key, pod = entry
    stamp = datetime.fromtimestamp(arrived + offset, UTC).isoformat(timespec="milliseconds")
    return {
        "time": stamp.replace("+00:00", "Z"),
        "host": host.decode("latin-1"),
        "method": method.decode("latin-1"),
        "path": path.decode("latin-1"),
        "status": status,
        "bytes": sent,
        "latency": round(latency, 6),
        "held": round(held, 6),
        "revision": key,
        "pod": pod,
    }

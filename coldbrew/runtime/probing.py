"""Readiness probes: one attempt each; the pod decides how often and what the results mean."""

from __future__ import annotations

import asyncio
import contextlib

from coldbrew.runtime.specs import ProbeSpec

HOST = "127.0.0.1"
FAST_PERIOD = 0.005  # probe every 5 ms while a new process starts up ...
FAST_WINDOW = 5.0  # ... for this long, then
SLOW_STARTUP_PERIOD = 0.05  # every 50 ms until first ready
DEFAULT_PERIOD = 1.0  # once ready, unless the probe's periodSeconds says otherwise


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def probe_tcp(port: int, limit: float, hold: float = 0.0) -> bool:
    """A connection is accepted; with ``hold``, and not closed by the peer within ``hold`` s.

    ``hold`` is for ports behind a userland proxy (Docker's docker-proxy, rootless engines'
    port forwarders): they accept at once, then close when the app behind is not listening yet.
    """
    try:
        async with asyncio.timeout(limit):
            reader, writer = await asyncio.open_connection(HOST, port)
            try:
                if hold > 0:
                    try:
                        data = await asyncio.wait_for(reader.read(1), hold)
                    except TimeoutError:
                        return True  # still open: someone listens
                    if not data:
                        return False  # closed at once: a proxy with nothing behind it
            finally:
                await _close(writer)
    except (OSError, TimeoutError, ValueError):
        return False
    return True


async def probe_http(port: int, path: str, limit: float) -> bool:
    """GET ``path``; 2xx and 3xx mean ready (as in Kubernetes)."""
    if not path.startswith("/"):
        path = "/" + path
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUser-Agent: kube-probe/coldbrew\r\n"
        "Accept: */*\r\nConnection: close\r\n\r\n"
    ).encode()
    try:
        async with asyncio.timeout(limit):
            reader, writer = await asyncio.open_connection(HOST, port)
            try:
                writer.write(request)
                line = await reader.readline()
            finally:
                await _close(writer)
    except (OSError, TimeoutError, ValueError):
        return False
    parts = line.split()
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return False
    return 200 <= int(parts[1]) < 400


async def probe_once(spec: ProbeSpec | None, port: int, hold: float = 0.0) -> bool:
    """One probe attempt. No spec = Knative's default, a TCP connect to the pod's port.

    ``hold``: for TCP probes, see :func:`probe_tcp`.
    """
    if spec is None:
        return await probe_tcp(port, 1.0, hold)
    if spec.kind == "http":
        return await probe_http(port, spec.path, spec.timeout_seconds or 1.0)
    return await probe_tcp(port, spec.timeout_seconds or 1.0, hold)


def startup_period(elapsed: float) -> float:
    """How long to wait between probes of a process not yet ready, ``elapsed`` s after start."""
    return FAST_PERIOD if elapsed < FAST_WINDOW else SLOW_STARTUP_PERIOD


def ready_period(spec: ProbeSpec | None) -> float:
    if spec is None or not spec.period_seconds or spec.period_seconds <= 0:
        return DEFAULT_PERIOD
    return spec.period_seconds

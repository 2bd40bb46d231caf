"""Probes: one attempt each; the pod decides how often and what the results mean.

The one prober of both runtimes: ``httpGet`` (HTTP or HTTPS, host, headers), ``tcpSocket``,
``grpc`` (:mod:`coldbrew.runtime.grpc_health`) and ``exec``, which the pod runs its own way
(a process, or the engine's exec API) through the ``run_exec`` callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable

from coldbrew.runtime import grpc_health
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


RunExec = Callable[[tuple[str, ...], float], Awaitable[bool]]


def _insecure() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # as the kubelet: HTTPS probes do not verify
    return context


async def probe_http(
    port: int,
    path: str,
    limit: float,
    *,
    host: str | None = None,
    scheme: str = "HTTP",
    headers: tuple[tuple[str, str], ...] = (),
) -> bool:
    """GET ``path``; 2xx and 3xx mean ready (as in Kubernetes). A ``Host`` header wins."""
    if not path.startswith("/"):
        path = "/" + path
    target = host or HOST
    lines = {"Host": f"{target}:{port}", "User-Agent": "kube-probe/coldbrew", "Accept": "*/*"}
    for name, value in headers:
        lines[next((k for k in lines if k.lower() == name.lower()), name)] = value
    head = "".join(f"{k}: {v}\r\n" for k, v in lines.items())
    request = f"GET {path} HTTP/1.1\r\n{head}Connection: close\r\n\r\n".encode()
    tls = _insecure() if scheme == "HTTPS" else None
    try:
        async with asyncio.timeout(limit):
            reader, writer = await asyncio.open_connection(target, port, ssl=tls)
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


async def probe_once(
    spec: ProbeSpec | None, port: int, hold: float = 0.0, run_exec: RunExec | None = None
) -> bool:
    """One probe attempt. No spec = Knative's default, a TCP connect to the pod's port.

    ``hold``: for TCP probes, see :func:`probe_tcp`. ``run_exec(command, limit)``: how the
    pod runs an exec probe (True: exit status 0); without it exec probes fail.
    """
    if spec is None:
        return await probe_tcp(port, 1.0, hold)
    limit = spec.timeout_seconds or 1.0
    if spec.kind == "http":
        return await probe_http(
            port, spec.path, limit, host=spec.host, scheme=spec.scheme, headers=spec.headers
        )
    if spec.kind == "grpc":
        return await grpc_health.check(HOST, port, spec.service, limit)
    if spec.kind == "exec":
        return run_exec is not None and await run_exec(spec.command, limit)
    return await probe_tcp(port, limit, hold)


EXEC_STARTUP_PERIOD = 0.1  # an exec probe starts a process: not every 5 ms


def startup_period(elapsed: float, spec: ProbeSpec | None = None) -> float:
    """How long to wait between probes of a process not yet ready, ``elapsed`` s after start."""
    if spec is not None and spec.kind == "exec":
        return EXEC_STARTUP_PERIOD
    return FAST_PERIOD if elapsed < FAST_WINDOW else SLOW_STARTUP_PERIOD


def ready_period(spec: ProbeSpec | None) -> float:
    if spec is None or not spec.period_seconds or spec.period_seconds <= 0:
        return DEFAULT_PERIOD
    return spec.period_seconds

"""Ports for the servers the tests start, chosen below the kernel's ephemeral range.

A port the kernel picks (``bind(0)``) is in the ephemeral range, the same range every
outgoing connection takes its local port from: between the test closing its probe socket
and the server binding the port, any client connection on the machine may take it
(``EADDRINUSE``). Below that range only an explicit bind can, so a port from here that was
free a moment ago stays free. Each port is handed out once per test process.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_handed: set[int] = set()
_random = random.SystemRandom()  # not the tests' seeded generator


def _span() -> tuple[int, int]:
    try:
        ephemeral_low = int(_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    high = max(ephemeral_low - 1, 2048)
    return max(1024, high - 15000), high


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` free right now, outside the ephemeral range when it can be."""
    low, high = _span()
    for _ in range(500):
        port = _random.randint(low, high)
        if port in _handed:
            continue
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        _handed.add(port)
        return port
    with socket.socket() as s:  # that whole span busy: what the kernel gives
        s.bind((host, 0))
        return int(s.getsockname()[1])

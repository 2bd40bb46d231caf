"""Pod names (Kubernetes-style) and free local ports."""

from __future__ import annotations

import errno
import hashlib
import secrets
import socket
from collections.abc import Collection

# Kubernetes' "safe" alphabet for generated names (no vowels, no confusable digits).
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def _encode(digest: bytes, length: int) -> str:
    n = int.from_bytes(digest, "big")
    out = []
    for _ in range(length):
        n, r = divmod(n, len(ALPHABET))
        out.append(ALPHABET[r])
    return "".join(out)


def template_hash_part(template_hash: str, fallback: str) -> str:
    """~10 characters derived from the template hash (or ``fallback``), stable per revision."""
    return _encode(hashlib.sha256((template_hash or fallback).encode()).digest(), 10)


def random_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def pod_name(
    revision: str, hash_part: str, taken: set[str] | None = None, *, reserve: bool = False
) -> str:
    """``{revision}-deployment-{hash}-{5 random}``, unique among ``taken``.

    Reserve pods: ``{revision}-deployment-reserve-{hash}-{5 random}``.
    """
    deployment = f"{revision}-deployment-reserve" if reserve else f"{revision}-deployment"
    while True:
        name = f"{deployment}-{hash_part}-{random_suffix()}"
        if not taken or name not in taken:
            return name


def free_port(
    host: str = "127.0.0.1",
    prefer: int | None = None,
    attempts: int = 20,
    avoid: Collection[int] = (),
) -> int:
    """A port that is free right now: ``prefer`` if it can be bound, else one the kernel picks.

    The socket is closed before the pod binds it, so there is a small race with other
    processes; a pod that then fails to bind crashes and is restarted on a fresh port.
    """
    candidates = ([prefer] if prefer and prefer not in avoid else []) + [0] * attempts
    last: OSError | None = None
    for port in candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                last = exc
                continue
            port = int(sock.getsockname()[1])
            if port in avoid:
                continue
            return port
    raise last or OSError(errno.EADDRINUSE, "no free port")


class Ports:
    """Ports handed to pods of one runtime: never the same port to two live pods."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.taken: set[int] = set()

    def allocate(self, prefer: int | None = None) -> int:
        """A free port; ``prefer`` (a pod's previous port) if it is still free."""
        if prefer is not None:
            self.taken.discard(prefer)
        port = free_port(self.host, prefer, avoid=self.taken)
        self.taken.add(port)
        return port

    def release(self, port: int) -> None:
        self.taken.discard(port)

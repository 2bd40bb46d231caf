"""Per-pod log files: a container's stdout+stderr, appended across restarts, capped."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import BinaryIO

DEFAULT_CAP = 1024 * 1024  # keep the last 1 MB of output


class LogFile:
    def __init__(self, path: Path, cap: int = DEFAULT_CAP) -> None:
        self.path = path
        self.cap = cap
        self._file: BinaryIO | None = None
        self._size = 0

    def write(self, data: bytes) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._file = os.fdopen(fd, "ab")  # kept open across writes
            self._size = self._file.tell()
        self._file.write(data)
        self._file.flush()
        self._size += len(data)
        if self._size > self.cap + self.cap // 2:  # trim rarely: amortised cost stays small
            self._trim()

    def _trim(self) -> None:
        self.close()
        with open(self.path, "rb") as f:
            f.seek(-self.cap, 2)
            tail = f.read()
        cut = tail.find(b"\n")
        if 0 <= cut < len(tail) - 1:
            tail = tail[cut + 1 :]  # start at a line boundary
        self.path.write_bytes(tail)

    def read(self) -> str:
        try:
            return self.path.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def read_from(self, offset: int, limit: int = 65536) -> tuple[bytes, int]:
        """Up to ``limit`` bytes from ``offset`` and the next offset (0 after a trim)."""
        try:
            with open(self.path, "rb") as f:
                size = f.seek(0, 2)
                if size < offset:  # trimmed: start again at the new beginning
                    offset = 0
                f.seek(offset)
                data = f.read(limit)
        except FileNotFoundError:
            return b"", offset
        return data, offset + len(data)

    def tail(self, size: int = 4096) -> str:
        """The last ``size`` bytes of output."""
        try:
            with open(self.path, "rb") as f:
                f.seek(max(0, self.path.stat().st_size - size))
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def delete(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


async def pump(stream: asyncio.StreamReader | None, log: LogFile) -> None:
    """Copy a process's output into its log until EOF."""
    if stream is None:
        return
    with contextlib.suppress(OSError):
        while chunk := await stream.read(65536):
            log.write(chunk)

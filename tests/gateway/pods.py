"""Pods as real processes for the gateway tests: the sample app and a gRPC server."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from coldbrew.runtime.naming import free_port

ROOT = str(Path(__file__).resolve().parents[2])


async def _listening(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


@asynccontextmanager
async def pod(module: str, **env: str) -> AsyncIterator[int]:
    """Run ``python -m module`` with ``PORT`` set; yields the port once it listens."""
    port = free_port()
    full = {**os.environ, "PORT": str(port), "PYTHONPATH": ROOT, **env}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, env=full, start_new_session=True
    )
    try:
        async with asyncio.timeout(20):
            while not await _listening(port):
                assert proc.returncode is None, f"{module} exited"
                await asyncio.sleep(0.02)
        yield port
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()

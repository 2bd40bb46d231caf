"""The engine's own cold start of a container, the baseline of ``coldstart.py --runtime docker``.

Create, start, then connect to the published port every millisecond until it accepts; the
container is created from coldbrew's own create body (same image, env, limits, ulimits,
loopback publishing), so the difference to coldbrew's first response is coldbrew's alone.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections.abc import Callable

from coldbrew.runtime import ContainerSpec, PodTemplate
from coldbrew.runtime.containers import EngineError, detect
from coldbrew.runtime.containers.creating import create_body
from coldbrew.runtime.naming import free_port
from tests.containers.images import HELLO_IMAGE, import_image

TEMPLATE = PodTemplate(
    "default",
    "coffee",
    "coffee",
    "coffee-00001",
    ContainerSpec(image=HELLO_IMAGE, env=(("TARGET", "coffee"),), image_pull_policy="Never"),
)


async def _import() -> None:
    engine = await detect()
    try:
        await import_image(engine.docker)
    finally:
        await engine.close()


async def _engine_start() -> float:
    engine = await detect()
    port = free_port()
    body = create_body(TEMPLATE, pod="coldstart-baseline", instance="coldstart", host_port=port)
    try:
        start = time.perf_counter()
        container = await engine.docker.containers.create(body, name=f"coldstart-{port}")
        try:
            await container.start()
            while True:
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        return time.perf_counter() - start
                if time.perf_counter() - start > 30:
                    raise RuntimeError("the container did not start listening")
                await asyncio.sleep(0.001)
        finally:
            await container.delete(force=True)
    finally:
        await engine.close()


def prepare_engine() -> tuple[str, Callable[[], float]]:
    """Import the test image; (image, a function timing one engine-only cold start)."""
    try:
        asyncio.run(_import())
    except EngineError as exc:
        sys.exit(f"coldstart --runtime docker: {exc} (start one: podman system service)")
    return HELLO_IMAGE, lambda: asyncio.run(_engine_start())

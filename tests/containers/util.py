"""Asking the engine directly (not through coldbrew) what runs, for the tests' checks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiodocker

from coldbrew.runtime.containers.engine import (
    INSTANCE_LABEL,
    MANAGED_LABEL,
    client,
    close_client,
    labelled,
    remove_labelled,
)

T = TypeVar("T")


def engine_call(url: str, fn: Callable[[aiodocker.Docker], Awaitable[T]]) -> T:
    """Run ``fn(docker)`` with a fresh client on a fresh loop (tests are sync)."""

    async def run() -> T:
        docker = client(url)
        try:
            return await fn(docker)
        finally:
            await close_client(docker)

    return asyncio.run(run())


def containers_of(url: str, state_dir: Path) -> list[dict[str, Any]]:
    """The engine's containers labelled with the coldbrew instance of ``state_dir``."""

    instance = str(state_dir.resolve())

    async def fn(docker: aiodocker.Docker) -> list[dict[str, Any]]:
        found = await labelled(docker, **{INSTANCE_LABEL: instance})
        return [await _inspect(docker, c["Id"]) for c in found]

    return engine_call(url, fn)


async def _inspect(docker: aiodocker.Docker, cid: str) -> dict[str, Any]:
    try:
        return await docker.containers.container(cid).show()
    except aiodocker.DockerError:
        return {"Id": cid, "State": {"Status": "gone"}}


def remove_leftovers(url: str, root: Path) -> list[str]:
    """Force-remove coldbrew's containers of every instance (state dir) under ``root``: what
    a failed or killed test left behind. Their names."""
    prefix = str(root.resolve()) + "/"

    async def fn(docker: aiodocker.Docker) -> list[str]:
        instances = {
            c.get("Labels", {}).get(INSTANCE_LABEL, "")
            for c in await labelled(docker, **{MANAGED_LABEL: "coldbrew"})
        }
        removed: list[str] = []
        for instance in sorted(i for i in instances if i.startswith(prefix)):
            removed += await remove_labelled(docker, instance)
        return removed

    return engine_call(url, fn)

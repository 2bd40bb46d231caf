"""The project's own Dockerfile, built for real on a local base and run as its non-root user."""

from __future__ import annotations

import asyncio
import contextlib
import io
import tarfile
import time
from pathlib import Path
from typing import Any

import aiodocker
import aiohttp
import httpx
import pytest

from coldbrew import __version__
from coldbrew.runtime.containers.creating import ulimits
from coldbrew.runtime.naming import free_port
from tests.containers.baseimage import import_base
from tests.containers.util import engine_call

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "localhost/coldbrew:test"


def copied_sources() -> list[str]:
    """The paths the Dockerfile's COPY instructions take from the build context."""
    sources: list[str] = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        words = line.split()
        if not words or words[0].upper() != "COPY" or any(w.startswith("--from") for w in words):
            continue
        sources += [w for w in words[1:-1] if not w.startswith("--")]
    return sources


def context_tar() -> io.BytesIO:
    """What the Dockerfile needs of the tree (no caches), as a tar."""
    buf = io.BytesIO()

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        return None if "__pycache__" in info.name or info.name.endswith(".pyc") else info

    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in ("Dockerfile", ".dockerignore", *copied_sources()):
            if (ROOT / name).exists():
                tar.add(ROOT / name, arcname=name, filter=keep)
    buf.seek(0)
    return buf


async def build(docker: aiodocker.Docker) -> dict[str, Any]:
    base = await import_base(docker)
    try:
        before = (await docker.images.inspect(IMAGE))["Id"]
    except aiodocker.DockerError:
        before = None
    log = await docker.images.build(
        fileobj=context_tar(),
        encoding="application/x-tar",
        tag=IMAGE,
        buildargs={"BASE": base},
        rm=True,
        timeout=aiohttp.ClientTimeout(total=900),
    )
    errors = [e for e in log if isinstance(e, dict) and e.get("error")]
    assert not errors, log[-20:]
    image = await docker.images.inspect(IMAGE)
    if before is not None and before != image["Id"]:  # the previous build, now untagged
        with contextlib.suppress(aiodocker.DockerError):
            await docker.images.delete(before)
    return image


async def run_to_end(docker: aiodocker.Docker, *cmd: str) -> tuple[int, str]:
    body = {"Image": IMAGE, "Cmd": list(cmd), "HostConfig": {"Ulimits": ulimits()}}
    container = await docker.containers.create(body)
    try:
        await container.start()
        code = (await container.wait(timeout=aiohttp.ClientTimeout(total=60)))["StatusCode"]
        return code, "".join(await container.log(stdout=True, stderr=True))
    finally:
        await container.delete(force=True)


async def gateway_health(docker: aiodocker.Docker) -> tuple[str, str]:
    port = free_port()
    feed = "ws://127.0.0.1:9/dataplane/feed"  # nothing there: the gateway serves regardless
    body = {
        "Image": IMAGE,
        "Cmd": ["gateway", "--host", "0.0.0.0", "--admin-port", "8081", "--feed", feed],
        "ExposedPorts": {"8081/tcp": {}},
        "HostConfig": {
            "PortBindings": {"8081/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]},
            "Ulimits": ulimits(),
        },
    }
    container = await docker.containers.create(body)
    try:
        await container.start()
        user = (await container.show())["Config"]["User"]
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient() as http:
            while True:
                try:
                    r = await http.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    if r.status_code == 200:
                        return user, r.text
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    logs = "".join(await container.log(stdout=True, stderr=True))
                    pytest.fail(f"coldbrew gateway did not answer /healthz: {logs[-2000:]}")
                await asyncio.sleep(0.1)
    finally:
        await container.delete(force=True)


@pytest.mark.timeout(1200)
def test_the_dockerfile_builds_and_runs_as_non_root(engine_url: str) -> None:
    image = engine_call(engine_url, build)
    assert image["Config"]["User"] == "10001:10001"
    assert image["Config"]["Entrypoint"] == ["coldbrew"]
    code, out = engine_call(engine_url, lambda d: run_to_end(d, "--version"))
    assert code == 0 and out.strip() == f"coldbrew {__version__}", out
    user, health = engine_call(engine_url, gateway_health)
    assert user == "10001:10001" and health == "ok\n"

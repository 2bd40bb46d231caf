"""Finding a container engine (Docker or Podman) behind the Docker Engine API, and talking to it.

The same client serves both: ``podman system service`` serves the Docker-compatible API. Only
Unix sockets are used: ``$DOCKER_HOST`` (``unix://...``) if set, else ``/var/run/docker.sock``,
else ``/run/podman/podman.sock``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiodocker
import aiohttp

log = logging.getLogger(__name__)
DEFAULT_SOCKETS = ("unix:///var/run/docker.sock", "unix:///run/podman/podman.sock")
PING_TIMEOUT = 5.0
# Pinned: "auto" would ask /version first, which Podman answers in ~2 s (it runs conmon and
# the OCI runtime to report their versions). 1.41 is Podman 4's; Docker still serves it.
API_VERSION = "v1.41"

# Labels on every container coldbrew makes: whose it is (the state dir) and which pod.
MANAGED_LABEL = "dev.coldbrew.managed-by"
INSTANCE_LABEL = "dev.coldbrew.instance"
POD_LABEL = "dev.coldbrew.pod"


class EngineError(RuntimeError):
    """No engine answers, or the one asked for cannot be used."""


def candidates(env: Mapping[str, str] | None = None) -> list[str]:
    """The sockets to try, in order."""
    env = os.environ if env is None else env
    host = env.get("DOCKER_HOST", "").strip()
    if host:
        return [host]
    return list(DEFAULT_SOCKETS)


@dataclass
class Engine:
    """A connected engine: its socket URL, its name and version, and the API client."""

    url: str
    name: str
    version: str
    docker: aiodocker.Docker

    def describe(self) -> str:
        return f"{self.name} {self.version} at {self.url}"

    async def close(self) -> None:
        await close_client(self.docker)


def client(url: str) -> aiodocker.Docker:
    """An API client on the Unix socket ``url`` (``unix:///path``)."""
    if not url.startswith("unix://"):
        raise EngineError(f"DOCKER_HOST={url!r}: only unix:// sockets are supported")
    path = url.removeprefix("unix://")
    # No pool limit: every running container holds two long requests (wait, log stream).
    connector = aiohttp.UnixConnector(path=path, limit=0)
    # the host is a placeholder for URLs; the connector knows the socket
    return aiodocker.Docker(url="unix://localhost", connector=connector, api_version=API_VERSION)


async def close_client(docker: aiodocker.Docker) -> None:
    await docker.close()
    await docker.connector.close()  # ours, not the client's: it leaves it open


def _name(server: str) -> tuple[str, str]:
    """``Libpod/4.3.1 (linux)`` -> (Podman, 4.3.1); ``Docker/27.1.1 (linux)`` -> (Docker, ...)."""
    product, _, rest = server.partition("/")
    version = rest.split(" ", 1)[0] or "?"
    return ("Podman" if product.lower() == "libpod" else product or "Docker", version)


async def connect(url: str, timeout: float = PING_TIMEOUT) -> Engine:  # noqa: ASYNC109
    """An engine at ``url`` that answered ``/version``; EngineError if it does not."""
    path = url.removeprefix("unix://")
    if url.startswith("unix://") and not os.path.exists(path):  # noqa: ASYNC240 - a stat
        raise EngineError(f"{url}: no such socket")
    docker = client(url)
    try:
        async with asyncio.timeout(timeout):
            async with docker._query("_ping", versioned_api=False) as response:
                await response.read()
                server = response.headers.get("Server", "")
    except (OSError, TimeoutError, aiodocker.DockerError, aiohttp.ClientError) as exc:
        await close_client(docker)
        why = str(exc) or type(exc).__name__
        raise EngineError(f"{url}: the engine does not answer: {why}") from exc
    name, version = _name(server)
    return Engine(url, name, version, docker)


async def detect(env: Mapping[str, str] | None = None) -> Engine:
    """The first engine that answers among :func:`candidates`; EngineError naming each tried."""
    problems = []
    for url in candidates(env):
        try:
            return await connect(url)
        except EngineError as exc:
            problems.append(str(exc))
    raise EngineError("no container engine answers: " + "; ".join(problems))


async def labelled(docker: aiodocker.Docker, **labels: str) -> list[dict[str, Any]]:
    """Every container (running or not) carrying all of ``labels`` (keys: label names)."""
    wanted = [f"{k}={v}" for k, v in labels.items()]
    found = await docker.containers.list(all=True, filters={"label": wanted})
    return [c._container for c in found]


async def remove_labelled(docker: aiodocker.Docker, instance: str) -> list[str]:
    """Force-remove every container of coldbrew instance ``instance``; their names."""
    removed = []
    for info in await labelled(docker, **{INSTANCE_LABEL: instance}):
        cid = info.get("Id") or info.get("ID") or ""
        names = info.get("Names") or [cid[:12]]
        try:
            await docker.containers.container(cid).delete(force=True)
        except aiodocker.DockerError as exc:
            if exc.status != 404:
                log.warning("cannot remove container %s: %s", names[0], exc)
                continue
        removed.append(str(names[0]).lstrip("/"))
    return removed

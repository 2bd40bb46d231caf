"""Images: Kubernetes' pull policies, one pull per image, the engine's own credentials.

Defaults as Kubernetes: ``Always`` for ``:latest`` or no tag, else ``IfNotPresent`` (an image
by digest is ``IfNotPresent``). ``Never`` runs only an image already present. ``Always`` pulls
once per image while this runtime runs (Kubernetes compares digests on every start; a local
runtime need not ask the registry for each pod). An image known present is not looked up
again for each pod (a cold start should not wait for it) until a create says it is gone.

Credentials: Podman uses its own auth file when the request carries none. Docker expects the
client to send them, so the ``auths`` entry of ``~/.docker/config.json`` (``$DOCKER_CONFIG``)
for the image's registry is passed along, as the docker CLI does.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiodocker

log = logging.getLogger(__name__)
DOCKER_HUB = "https://index.docker.io/v1/"


class PullError(Exception):
    """The image cannot be had; ``str()`` is the engine's message, naming the image."""


def split_reference(image: str) -> tuple[str, str]:
    """(registry host, rest).

    ``registry.example.com/acme/orders:1.4`` -> (``registry.example.com``, ``acme/orders:1.4``).
    """
    first, sep, rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return "docker.io", image


def tag_of(image: str) -> str | None:
    """The tag, ``None`` without one (``@sha256:...`` references have none either)."""
    if "@" in image:
        return None
    _, rest = split_reference(image)
    name = rest.rsplit("/", 1)[-1]
    return name.partition(":")[2] or None


def default_policy(image: str) -> str:
    if "@" in image:
        return "IfNotPresent"
    return "Always" if tag_of(image) in (None, "latest") else "IfNotPresent"


def registry_auth(image: str, env: dict[str, str] | None = None) -> dict[str, str] | None:
    """The docker CLI's stored credentials for ``image``'s registry, if there are any."""
    env = dict(os.environ) if env is None else env
    folder = Path(env.get("DOCKER_CONFIG") or Path.home() / ".docker")
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return None
    auths: dict[str, Any] = config.get("auths") or {}
    host, _ = split_reference(image)
    keys = [DOCKER_HUB, "docker.io", "index.docker.io"] if host == "docker.io" else [host]
    for key in keys:
        for name in (key, f"https://{key}"):
            entry = auths.get(name)
            if isinstance(entry, dict) and entry.get("auth"):
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
                return {"username": user, "password": password, "serveraddress": key}
    return None


class Puller:
    """Makes images present; concurrent requests for one image share a single pull."""

    def __init__(self, docker: aiodocker.Docker) -> None:
        self.docker = docker
        self.pulls = 0  # pulls started (for tests and logs)
        self._pulled: set[str] = set()
        self._running: dict[str, asyncio.Task[None]] = {}

    async def present(self, image: str) -> bool:
        try:
            await self.docker.images.inspect(image)
        except aiodocker.DockerError as exc:
            if exc.status == 404:
                return False
            raise PullError(f'cannot inspect image "{image}": {exc.message}') from exc
        return True

    async def ensure(
        self,
        image: str,
        policy: str | None,
        auth: dict[str, str] | None = None,
        on_pull: Callable[[], None] | None = None,
    ) -> None:
        """Return once ``image`` is present per ``policy``; PullError if it cannot be.

        ``auth``: credentials from the pod's imagePullSecrets (else the docker CLI's).
        ``on_pull``: called when the image has to come from its registry (a pull starts, or
        one under way is joined), not when it is already present.
        """
        policy = policy or default_policy(image)
        if image in self._pulled:
            return
        if policy == "Never":
            if not await self.present(image):
                raise PullError(
                    f'Container image "{image}" is not present with pull policy of Never'
                )
            self._pulled.add(image)
            return
        if policy == "IfNotPresent" and await self.present(image):
            self._pulled.add(image)
            return
        if on_pull is not None:
            on_pull()
        task = self._running.get(image)
        if task is None:
            pulling = self._pull(image, auth)
            task = self._running[image] = asyncio.get_running_loop().create_task(pulling)
            task.add_done_callback(lambda _t: self._running.pop(image, None))
        await asyncio.shield(task)

    def forget(self, image: str) -> None:
        """The engine no longer has ``image``: look it up (or pull it) for the next pod."""
        self._pulled.discard(image)

    async def _pull(self, image: str, auth: dict[str, str] | None = None) -> None:
        self.pulls += 1
        log.info("pulling image %s", image)
        try:
            progress = await self.docker.images.pull(image, auth=auth or registry_auth(image))
        except aiodocker.DockerError as exc:
            raise PullError(f'failed to pull image "{image}": {exc.message}') from exc
        for item in progress or []:
            if isinstance(item, dict) and item.get("error"):
                raise PullError(f'failed to pull image "{image}": {item["error"]}')
        if not await self.present(image):
            raise PullError(f'failed to pull image "{image}": not present after the pull')
        self._pulled.add(image)
        log.info("pulled image %s", image)

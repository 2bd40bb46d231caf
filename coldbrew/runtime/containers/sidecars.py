"""A container pod's sidecars: created after the serving container, in its network namespace.

Knative's multi-container pods share one network: here every sidecar is created with
``NetworkMode: container:<serving container>``, so the serving container reaches a sidecar on
127.0.0.1 and the other way round. Their probes' ports are published by the serving container
(it owns the namespace) on host ports of their own, so the one prober reaches them from here.

A run is all the pod's containers together: when the serving container or a sidecar ends, or
a probe of either asks for a restart, every container of the run is stopped and a new run
starts (the pod's restart count and back-off; Kubernetes would restart only that container).
Each sidecar's output goes to its own log (``coldbrew logs POD -c NAME``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import aiodocker

from coldbrew.runtime.checking import Checks
from coldbrew.runtime.containers import securing
from coldbrew.runtime.containers.creating import create_body
from coldbrew.runtime.containers.pulling import Puller
from coldbrew.runtime.hooks import run_pre_stop
from coldbrew.runtime.logs import LogFile
from coldbrew.runtime.specs import ContainerSpec, PodTemplate, ProbeSpec

log = logging.getLogger(__name__)
ExecIn = Callable[[str, tuple[str, ...], float], Awaitable[bool]]  # (container id, command, limit)


def probe_ports(spec: ContainerSpec) -> set[int]:
    """The ports a sidecar's probes and preStop hook connect to."""
    out = set()
    for probe in (spec.readiness_probe, spec.liveness_probe, spec.startup_probe):
        if probe is not None and probe.kind != "exec" and probe.port:
            out.add(probe.port)
    if spec.pre_stop is not None and spec.pre_stop.kind == "http" and spec.pre_stop.port:
        out.add(spec.pre_stop.port)
    return out


def published_ports(template: PodTemplate) -> set[int]:
    """Every sidecar probe port, to publish on the serving container."""
    ports: set[int] = set()
    for spec in template.sidecars:
        ports |= probe_ports(spec)
    return ports


class Sidecar:
    """One sidecar container of one run."""

    def __init__(self, spec: ContainerSpec, container: aiodocker.containers.DockerContainer,
                 log_file: LogFile) -> None:  # fmt: skip
        self.spec, self.container, self.log_file = spec, container, log_file
        self.exited: asyncio.Task[dict[str, object]] | None = None
        self._pumping: asyncio.Task[None] | None = None

    @property
    def id(self) -> str:
        return str(self.container.id)

    async def start(self) -> None:
        await self.container.start()
        loop = asyncio.get_running_loop()
        self.exited = loop.create_task(self.container.wait())
        self._pumping = loop.create_task(self._pump())

    async def _pump(self) -> None:
        with contextlib.suppress(aiodocker.DockerError, OSError):
            async for chunk in self.container.log(stdout=True, stderr=True, follow=True):
                self.log_file.write(chunk.encode() if isinstance(chunk, str) else chunk)

    def checks(
        self,
        host_ports: dict[int, int],
        changed: Callable[[], None],
        unhealthy: Callable[[str], None],
        run_exec: ExecIn,
    ) -> Checks:
        def port_of(spec: ProbeSpec | None) -> int:
            return host_ports.get(spec.port or 0, 0) if spec is not None else 0

        async def exec_here(command: tuple[str, ...], limit: float) -> bool:
            return await run_exec(self.id, command, limit)

        return Checks(
            self.spec,
            port_of=port_of,
            changed=changed,
            unhealthy=lambda why: unhealthy(f"{why} (container {self.spec.name})"),
            run_exec=exec_here,
            default_readiness=False,  # no readiness probe: ready once it runs
        )

    async def pre_stop(self, host_ports: dict[int, int], run_exec: ExecIn, limit: float) -> None:
        hook = self.spec.pre_stop
        if hook is None:
            return

        async def exec_here(command: tuple[str, ...], within: float) -> bool:
            return await run_exec(self.id, command, within)

        await run_pre_stop(hook, host_ports.get(hook.port or 0, 0), exec_here, limit)

    async def finish(self) -> None:
        """After the container was told to stop: wait a little for its last output."""
        if self._pumping is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._pumping), 1.0)
            self._pumping.cancel()
        if self.exited is not None and not self.exited.done():
            self.exited.cancel()


async def create_sidecars(
    docker: aiodocker.Docker,
    template: PodTemplate,
    *,
    pod: str,
    instance: str,
    run: int,
    network_of: str,
    logs: dict[str, LogFile],
) -> list[Sidecar]:
    """Create (not start) the run's sidecars; DockerError if one cannot be created."""
    out = []
    for spec in template.sidecars:
        body = create_body(
            template, pod=pod, instance=instance, host_port=0, container=spec,
            network_of=network_of,
        )  # fmt: skip
        container = await docker.containers.create(body, name=f"{pod}-{spec.name}-{run}")
        out.append(Sidecar(spec, container, logs[spec.name]))
    return out


async def exec_in(
    docker: aiodocker.Docker, cid: str, command: tuple[str, ...], limit: float
) -> bool:
    """Run ``command`` in container ``cid``; True when it exits 0 within ``limit`` s."""
    try:
        async with asyncio.timeout(limit):
            execution = await docker.containers.container(cid).exec(list(command))
            async with execution.start(detach=False) as stream:
                while await stream.read_out() is not None:
                    pass
            return (await execution.inspect()).get("ExitCode") == 0
    except (aiodocker.DockerError, TimeoutError, OSError):
        return False


async def sidecar_non_root_refusal(
    docker: aiodocker.Docker, puller: Puller, spec: ContainerSpec, auth: dict[str, str] | None
) -> str | None:
    """runAsNonRoot of a sidecar over its image's user (its image pulled first)."""
    try:
        await puller.ensure(spec.image, spec.image_pull_policy, auth)
        info = await docker.images.inspect(spec.image)
    except Exception as exc:  # the pull error shows when the run creates the sidecar
        log.warning("cannot inspect image %s: %s", spec.image, exc)
        return None
    user = str((info.get("Config") or {}).get("User") or "")
    return securing.non_root_refusal(spec.security, user, spec.name)

"""What a pod does besides running its container: probes, restarts asked by probes, hooks.

:class:`PodHealth` is the part of :class:`coldbrew.runtime.pods.Pod` that the container pod
also inherits and adapts: the probes of every container of a run (:mod:`.checking`), a
liveness or startup failure turned into a restart, the preStop hook before SIGTERM, exec
probes and hooks (processes here; the engine's exec API in ``containers.pod``), and the
configuration checks that keep a container from being created (CreateContainerConfigError).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal

from coldbrew.runtime.checking import Checks
from coldbrew.runtime.environment import Prepared
from coldbrew.runtime.hooks import run_pre_stop
from coldbrew.runtime.identity import Identity
from coldbrew.runtime.launch import expand, pod_env
from coldbrew.runtime.logs import LogFile
from coldbrew.runtime.specs import ContainerSpec, PodTemplate, ProbeSpec, Status

log = logging.getLogger(__name__)


class PodHealth:
    """Mixed into :class:`Pod`, whose attributes these are."""

    name: str
    template: PodTemplate
    port: int
    grace: float
    cwd: Path | None
    identity: Identity  # the pod's user, and what its processes see
    probe_hold: float
    log_file: LogFile
    checks: list[Checks]
    prepared: Prepared  # the current run's resolved env (None: the template's) and mounts
    _stop: asyncio.Event
    _unhealthy: asyncio.Event

    def _set(self, *, ready: bool | None = None, status: Status | None = None) -> None:
        raise NotImplementedError  # Pod's

    def _sidecar_states(self) -> tuple[tuple[str, str, bool], ...]:
        """(name, image, ready) of each sidecar, as the current run's probes see them."""
        ready = {c.container.name: c.ready for c in self.checks[1:]}
        return tuple((c.name, c.image, ready.get(c.name, False)) for c in self.template.sidecars)

    async def _config_error(self) -> str | None:
        """Why the container cannot be created as configured (CreateContainerConfigError)."""
        c = self.template.container
        for spec in self.template.sidecars:
            problem = self._sidecar_refusal(spec)
            if problem is not None:
                return problem
        if c.working_dir is not None and not Path(c.working_dir).is_dir():  # noqa: ASYNC240
            return f"workingDir {c.working_dir}: no such directory"
        return self.identity.refusal(c.security, c.name)

    def _unhealthy_or_stop(self) -> asyncio.Task[Literal[True]]:
        """Done when the pod is stopped or a probe asks for a restart (cleared for the run)."""
        self._unhealthy.clear()

        async def wait() -> Literal[True]:
            stop = asyncio.ensure_future(self._stop.wait())
            sick = asyncio.ensure_future(self._unhealthy.wait())
            try:
                await asyncio.wait({stop, sick}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop.cancel()
                sick.cancel()
            return True

        return asyncio.get_running_loop().create_task(wait())

    def _restart_for(self, why: str) -> None:
        """A liveness or startup probe failed: log it, restart the container."""
        name = self.template.container.name
        self.log_file.write(f"coldbrew: {why}: container {name} will be restarted\n".encode())
        log.info("pod %s: %s; restarting", self.name, why)
        self._unhealthy.set()

    async def _before_sigterm(self) -> None:
        """The container's preStop hook, within the grace period."""
        hook = self.template.container.pre_stop
        if hook is not None:
            port = self.port if hook.port in (None, self.template.container.port) else hook.port
            await run_pre_stop(hook, port, self._run_exec, self.grace)

    async def _run_exec(self, command: tuple[str, ...], limit: float) -> bool:
        """An exec probe or hook: the command as a process of the pod (its env, dir, user)."""
        c = self.template.container
        env = pod_env(self.template, self.port, self.prepared.env)  # as the run's: refs resolved
        env = self.identity.env(c.security, env)
        cwd = c.working_dir or self.cwd
        return await run_command(command, env, cwd, self.identity.preexec(c.security, [cwd]), limit)

    def _probe_port(self, spec: ProbeSpec | None) -> int:
        """Where a probe connects: the pod's port unless it names another one."""
        if spec and spec.port and spec.port != self.template.container.port:
            return spec.port
        return self.port

    async def _probe_loop(self) -> None:
        """Probe every container of the run; the pod is ready when all of them are."""
        checks: list[Checks] = []

        def changed() -> None:
            self._set(ready=all(c.ready for c in checks))

        checks.append(
            Checks(
                self.template.container,
                port_of=self._probe_port,
                changed=changed,
                unhealthy=self._restart_for,
                hold=self.probe_hold,
                run_exec=self._run_exec,
            )
        )
        checks += self._sidecar_checks(changed)
        self.checks = checks
        try:
            await asyncio.gather(*(c.run() for c in checks))
        finally:
            for check in checks:
                check.ready = False

    def _sidecar_refusal(self, spec: ContainerSpec) -> str | None:
        """Why a sidecar cannot run (None: it can)."""
        return None

    def _sidecar_checks(self, changed: Callable[[], None]) -> list[Checks]:
        """The sidecars' probes (containers only)."""
        return []


def signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def run_command(
    command: tuple[str, ...],
    env: Mapping[str, str],
    cwd: str | Path | None,
    preexec: Callable[[], None] | None,
    limit: float,
) -> bool:
    """An exec probe or hook run as a process (``$(VAR)`` expanded from ``env``, ``preexec``
    making it the pod's user): True if it exits 0 within ``limit`` seconds; killed, with its
    group, when it does not."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *expand(command, env), env=dict(env), cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL, start_new_session=True,
            preexec_fn=preexec,
        )  # fmt: skip
    except OSError:
        return False
    try:
        async with asyncio.timeout(limit):
            return await proc.wait() == 0
    except TimeoutError:
        signal_group(proc.pid, signal.SIGKILL)
        await proc.wait()
        return False

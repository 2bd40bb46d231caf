"""A process pod's sidecars: more processes of the same run, on the same loopback.

Processes share 127.0.0.1 already, so a sidecar needs no network of its own: it listens on
the port it chooses (the serving process keeps the ``$PORT`` coldbrew picks), and its probes
connect to the ports they name. Those ports are fixed, so two pods of one revision would
clash: a revision with process sidecars runs at most one pod at a time per port; a second
pod's sidecar fails to bind, which its log shows (the README says so). As for containers, a
run is all the pod's processes: when one ends or fails its liveness probe, all restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from pathlib import Path

from coldbrew.runtime import identity
from coldbrew.runtime.checking import Checks
from coldbrew.runtime.hooks import run_pre_stop
from coldbrew.runtime.identity import Identity
from coldbrew.runtime.images import ImageMap
from coldbrew.runtime.launch import expand, image_missing_message, pod_env
from coldbrew.runtime.logs import LogFile, pump
from coldbrew.runtime.pod_health import PodHealth, run_command, signal_group
from coldbrew.runtime.specs import ContainerSpec, PodTemplate, ProbeSpec
from gateway.lifeline import dies_with_parent

log = logging.getLogger(__name__)


def sidecar_argv(spec: ContainerSpec, images: ImageMap | None, python: str) -> tuple[str, ...]:
    """What a sidecar process runs; ValueError (the refusal) when nothing says."""
    if spec.command:
        argv: tuple[str, ...] = spec.command + spec.args
    else:
        mapped = images.resolve(spec.image) if images is not None else None
        if mapped is None:
            raise ValueError(f"sidecar {spec.name}: {image_missing_message(spec.image)}")
        argv = mapped + spec.args
    return (python, *argv[1:]) if argv[0] in ("python", "python3") else argv


def sidecar_env(template: PodTemplate, spec: ContainerSpec, port: int) -> dict[str, str]:
    """The pod's base environment with the sidecar's own env (no ``$PORT``: not its port)."""
    env = pod_env(template, port)
    env.pop("PORT", None)
    for name, _ in template.container.env:
        env.pop(name, None)
    env.update(spec.env)
    return env


class ProcessSidecar:
    def __init__(self, spec: ContainerSpec, argv: tuple[str, ...], env: dict[str, str],
                 log_file: LogFile, cwd: Path | None, identity: Identity) -> None:  # fmt: skip
        self.spec, self.argv, self.log_file = spec, argv, log_file
        self.identity, self.env = identity, identity.env(spec.security, env)
        self.cwd = Path(spec.working_dir) if spec.working_dir else cwd
        self.proc: asyncio.subprocess.Process | None = None
        self.exited: asyncio.Task[int] | None = None
        self._pumping: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """OSError if it cannot be started."""
        self.proc = await asyncio.create_subprocess_exec(
            *(cmd := expand(self.argv, self.env)),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
            preexec_fn=identity.chain(
                self.identity.preexec(self.spec.security, [self.cwd, *cmd]), dies_with_parent()
            ),
        )
        loop = asyncio.get_running_loop()
        self.exited = loop.create_task(self.proc.wait())
        self._pumping = loop.create_task(pump(self.proc.stdout, self.log_file))

    async def run_exec(self, command: tuple[str, ...], limit: float) -> bool:
        preexec = self.identity.preexec(self.spec.security, [self.cwd])
        return await run_command(command, self.env, self.cwd, preexec, limit)

    def checks(self, changed: Callable[[], None], unhealthy: Callable[[str], None]) -> Checks:
        def port_of(spec: ProbeSpec | None) -> int:
            return (spec.port or 0) if spec is not None else 0

        return Checks(
            self.spec,
            port_of=port_of,
            changed=changed,
            unhealthy=lambda why: unhealthy(f"{why} (container {self.spec.name})"),
            run_exec=self.run_exec,
            default_readiness=False,
        )

    async def pre_stop(self, limit: float) -> None:
        hook = self.spec.pre_stop
        if hook is not None:
            await run_pre_stop(hook, hook.port or 0, self.run_exec, limit)

    def signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.returncode is None:
            signal_group(self.proc.pid, sig)

    async def finish(self, grace: float) -> None:
        """After SIGTERM: wait ``grace`` for the exit, then SIGKILL the group."""
        if self.exited is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.exited), grace)
        if self.proc is not None:
            signal_group(self.proc.pid, signal.SIGKILL)
        if self.exited is not None and not self.exited.done():
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self.exited, 5)
        if self._pumping is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._pumping), 1.0)
            self._pumping.cancel()


class ProcessSidecars(PodHealth):
    """The process pod's handling of its sidecars (mixed into :class:`Pod`)."""

    images: ImageMap | None
    python: str
    sidecar_logs: dict[str, LogFile]
    proc_sidecars: list[ProcessSidecar]

    def _sidecar_refusal(self, spec: ContainerSpec) -> str | None:
        try:
            sidecar_argv(spec, self.images, self.python)
        except ValueError as exc:
            return str(exc)
        if spec.working_dir is not None and not Path(spec.working_dir).is_dir():
            return f"sidecar {spec.name}: workingDir {spec.working_dir}: no such directory"
        return self.identity.refusal(spec.security, spec.name)

    async def _start_sidecars(self) -> None:
        """The run's sidecar processes, after the serving one (a failed start: its log says)."""
        for spec in self.template.sidecars:
            argv = sidecar_argv(spec, self.images, self.python)  # checked before the first run
            lf = self.sidecar_logs.get(spec.name) or self.log_file
            env = sidecar_env(self.template, spec, self.port)
            sidecar = ProcessSidecar(spec, argv, env, lf, self.cwd, self.identity)
            try:
                await sidecar.start()
            except OSError as exc:
                lf.write(f"coldbrew: cannot start sidecar {spec.name}: {exc}\n".encode())
                continue
            self.proc_sidecars.append(sidecar)

    def _sidecar_checks(self, changed: Callable[[], None]) -> list[Checks]:
        return [s.checks(changed, self._restart_for) for s in self.proc_sidecars]

    async def _before_sigterm(self) -> None:
        """The serving process's preStop hook and its sidecars', side by side."""
        hooks = [s.pre_stop(self.grace) for s in self.proc_sidecars]
        await asyncio.gather(super()._before_sigterm(), *hooks)

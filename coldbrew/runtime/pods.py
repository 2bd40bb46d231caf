"""One pod: a local process in its own process group, probed, restarted with back-off."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from coldbrew.runtime import identity
from coldbrew.runtime.backoff import Backoff as Backoff  # where pods' users find it
from coldbrew.runtime.environment import (
    CONFIG_ERROR,
    ConfigError,
    PodConfigurer,
    PodFacts,
    Prepared,
)
from coldbrew.runtime.identity import Identity
from coldbrew.runtime.images import ImageMap
from coldbrew.runtime.launch import expand, pod_env
from coldbrew.runtime.logs import LogFile, pump
from coldbrew.runtime.naming import Ports
from coldbrew.runtime.pod_health import PodHealth, signal_group
from coldbrew.runtime.process_sidecars import ProcessSidecar, ProcessSidecars
from coldbrew.runtime.resources import Enforcement, ResourceEnforcer
from coldbrew.runtime.specs import Phase, PodInfo, PodTemplate, Status
from gateway.lifeline import dies_with_parent

log = logging.getLogger(__name__)
HEALTHY_RESET = 10.0  # a run this long resets the back-off
CONFIG_RETRY = 10.0  # a pod waiting on its configuration tries again this often (or on a change)


class Pod(ProcessSidecars, PodHealth):
    def __init__(
        self,
        *,
        name: str,
        template: PodTemplate,
        argv: tuple[str, ...] | None,
        waiting_message: str,
        labels: dict[str, str],
        log_file: LogFile,
        notify: Callable[[], None],
        cwd: Path | None = None,
        backoff: Backoff | None = None,
        ports: Ports | None = None,
        enforcer: ResourceEnforcer | None = None,
        sidecar_logs: dict[str, LogFile] | None = None,
        images: ImageMap | None = None,
        python: str = sys.executable,
        configurer: PodConfigurer | None = None,
        volume_dir: Path | None = None,
        identity: Identity | None = None,
    ) -> None:
        self.name, self.template, self.argv = name, template, argv
        self.identity = identity or Identity()
        self.configurer, self.volume_dir = configurer, volume_dir
        self.prepared = Prepared()  # the current run's resolved env and mounts
        self._config_changed = asyncio.Event()
        self.labels, self.log_file, self._notify, self.cwd = labels, log_file, notify, cwd
        self.backoff = backoff or Backoff()
        self.uid = str(uuid.uuid4())
        self.created = time.time()
        self.ports = ports or Ports()
        self.port = self.ports.allocate()
        self.phase: Phase = "Pending"
        self.status: Status = "ContainerCreating" if argv else "ImagePullBackOff"
        self.message = "" if argv else waiting_message
        self.progress: tuple[str, str] | None = None  # (reason, message) before the first run
        self.probe_hold = 0.0  # TCP probes: see probing.probe_tcp
        self.ready = False
        self.ever_ready = False  # in the current run
        self.restarts = 0
        self.pid: int | None = None
        self.started: float | None = None
        self.exit_code: int | None = None
        self.deleting: float | None = None
        self.grace = 30.0
        self.enforcer = enforcer
        self.enforced = ""  # what the last run got (see resources.Enforcement.describe)
        self._enforcement: Enforcement | None = None
        self._stop = asyncio.Event()
        self._unhealthy = asyncio.Event()  # a liveness/startup probe asks for a restart
        self.checks = []  # the current run's probes: the serving container's first
        self._task: asyncio.Task[None] | None = None
        self.sidecar_logs = sidecar_logs or {}  # name -> the sidecar's log
        self.images, self.python = images, python
        self.proc_sidecars: list[ProcessSidecar] = []  # of the current run

    # -- views
    def info(self) -> PodInfo:
        return PodInfo(
            name=self.name,
            namespace=self.template.namespace,
            revision_key=self.template.key,
            labels=dict(self.labels),
            annotations=dict(self.template.annotations),
            phase=self.phase,
            ready=self.ready,
            status=self.status,
            restarts=self.restarts,
            created=self.created,
            port=self.port,
            pid=self.pid,
            image=self.template.container.image,
            uid=self.uid,
            started=self.started,
            exit_code=self.exit_code,
            message=self.message,
            deleting=self.deleting,
            role=self.template.role,
            revision=self.template.revision,
            resources=self.template.resources,
            enforced=self.enforced,
            container_name=self.template.container.name,
            sidecars=self._sidecar_states(),
        )

    can_mount = False  # processes share the host's mount namespace

    def facts(self) -> PodFacts:
        volume_dir = self.volume_dir or Path(self.log_file.path).parent / "volumes" / self.name
        return PodFacts(self.name, self.template.namespace, self.uid, dict(self.labels),
                        dict(self.template.annotations), volume_dir)  # fmt: skip

    def config_changed(self) -> None:
        """A ConfigMap or Secret changed: retry a waiting start, refresh mounted files."""
        self._config_changed.set()
        if self.configurer is None or self.template.config is None or self.deleting:
            return
        if self.prepared.binds and self.status == "Running":
            try:
                self.configurer.refresh(self.template, self.facts())
            except Exception:
                log.exception("refreshing the volumes of pod %s failed", self.name)

    # -- control
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._supervise(), name=self.name)

    def mark_terminating(self) -> bool:
        """Take the pod out of service (not ready, notified). True if it ever served."""
        served = self.ever_ready
        if self.deleting is None:
            self.deleting = time.time()
            self.status = "Terminating"
            self.ready = False
            self._notify()
        return served

    def termination_grace(self, default: float) -> float:
        """SIGTERM to SIGKILL: terminationGracePeriodSeconds if written, else the runtime's."""
        own = self.template.grace_period_seconds
        return default if own is None else own

    async def stop(self, grace: float | None = None) -> None:
        """SIGTERM the process group, SIGKILL after ``grace``; returns when the pod is gone."""
        if grace is not None:
            self.grace = grace
        self.mark_terminating()
        self._stop.set()
        if self._task is not None:
            await asyncio.shield(self._task)

    def kill(self) -> None:
        if self.pid is not None:
            signal_group(self.pid, signal.SIGKILL)

    # -- internals
    def _set(self, *, ready: bool | None = None, status: Status | None = None) -> None:
        changed = False
        if ready is not None and ready != self.ready and not (ready and self.deleting):
            self.ready = ready
            self.ever_ready = self.ever_ready or ready
            changed = True
        if status is not None and status != self.status and self.deleting is None:
            self.status = status
            changed = True
        if changed:
            self._notify()

    async def _supervise(self) -> None:
        try:
            if self.argv is None:  # nothing to run: ImagePullBackOff until deleted
                await self._stop.wait()
                return
            if not await self._prepare():
                return
            problem = await self._config_error()
            if problem is not None:  # as the kubelet: the container is never created
                self.message = problem
                self.log_file.write(f"coldbrew: {problem}\n".encode())
                self._set(status=CONFIG_ERROR)
                await self._stop.wait()
                return
            while not self._stop.is_set():
                if not await self._configure():
                    break
                began = time.monotonic()
                self.exit_code = await self._run_once(self.argv)
                if self._stop.is_set():
                    break
                if time.monotonic() - began >= HEALTHY_RESET:
                    self.backoff.reset()
                delay = self.backoff.next()
                if delay > 0:
                    self.message = (
                        f"back-off {delay:g}s restarting failed "
                        f"container={self.template.container.name} "
                        f"pod={self.name}"
                    )
                self._set(status="CrashLoopBackOff" if delay > 0 else "Error")
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), delay)
                    if self._stop.is_set():
                        break
                self.restarts += 1
                self.message = ""
        finally:
            if self.started is not None:
                ok = self.exit_code in (0, -signal.SIGTERM)
                self.phase = "Succeeded" if ok else "Failed"
            self.log_file.close()
            self.ports.release(self.port)
            if self._enforcement is not None:
                await self._enforcement.release()
            if self.template.config is not None and self.configurer is not None:
                self.configurer.release(self.facts())

    async def _prepare(self) -> bool:
        """Before the first run (e.g. pull the image); False: the pod was stopped meanwhile."""
        return True

    def _config_waiting(self, message: str) -> None:
        """CreateContainerConfigError with ``message``; a new message is a change too."""
        changed = message != self.message
        self.message = message
        if self.status == CONFIG_ERROR:
            if changed and self.deleting is None:
                self._notify()
        else:
            self._set(status=CONFIG_ERROR)

    async def _configure(self) -> bool:
        """Resolve env and volumes before a run; wait while they cannot be. False: stopped."""
        if self.template.config is None or self.configurer is None:
            return True
        while not self._stop.is_set():
            self._config_changed.clear()
            try:
                self.prepared = self.configurer.prepare(
                    self.template, self.facts(), mounts=self.can_mount
                )
            except ConfigError as exc:
                self._config_waiting(exc.message)
            except Exception as exc:  # a bug must show on the pod, not kill its supervisor
                log.exception("configuring pod %s failed", self.name)
                self._config_waiting(f"cannot prepare the pod's configuration: {exc}")
            else:
                if self.status == CONFIG_ERROR:
                    self.message = ""
                    self._set(status="ContainerCreating")
                return True
            self.log_file.write(f"coldbrew: {self.message}\n".encode())
            waits = {asyncio.ensure_future(e.wait()) for e in (self._stop, self._config_changed)}
            try:
                await asyncio.wait(waits, timeout=CONFIG_RETRY, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()
        return False

    async def _run_once(self, argv: tuple[str, ...]) -> int:
        self.port = self.ports.allocate(prefer=self.port)
        c = self.template.container
        env = self.identity.env(c.security, pod_env(self.template, self.port, self.prepared.env))
        cmd = expand(argv, env)
        cwd = c.working_dir or self.cwd
        as_user = self.identity.preexec(c.security, [cwd, *cmd])
        preexec = identity.chain(self._prepare_enforcement(), as_user, dies_with_parent())
        try:
            proc = await asyncio.create_subprocess_exec(
                *cmd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=True,  # own process group: signals reach its children
                preexec_fn=preexec,
            )
        except OSError as exc:
            self.log_file.write(f"coldbrew: cannot start {cmd[0]!r}: {exc}\n".encode())
            return 127
        if self._enforcement is not None:
            try:
                self.enforced = self._enforcement.confirm(proc.pid)
            except Exception:
                log.exception("checking resource enforcement of pod %s failed", self.name)
        self.pid, self.started, self.phase = proc.pid, time.time(), "Running"
        self.ever_ready = False
        loop = asyncio.get_running_loop()
        pumping = loop.create_task(pump(proc.stdout, self.log_file))
        exited = loop.create_task(proc.wait())
        await self._start_sidecars()
        self._set(status="Running")
        probing_task = loop.create_task(self._probe_loop())
        stopping = self._unhealthy_or_stop()
        sidecar_exits = [s.exited for s in self.proc_sidecars if s.exited is not None]
        try:
            await asyncio.wait(
                {exited, stopping, *sidecar_exits}, return_when=asyncio.FIRST_COMPLETED
            )
            probing_task.cancel()
            for sidecar in self.proc_sidecars:
                if sidecar.exited is not None and sidecar.exited.done():
                    why = f"sidecar {sidecar.spec.name} exited with code {sidecar.exited.result()}"
                    self.log_file.write(f"coldbrew: {why}: restarting the pod\n".encode())
            if not exited.done():
                await self._before_sigterm()
            for sidecar in self.proc_sidecars:
                sidecar.signal(signal.SIGTERM)
            if not exited.done():
                signal_group(proc.pid, signal.SIGTERM)
                try:
                    await asyncio.wait_for(asyncio.shield(exited), self.grace)
                except TimeoutError:
                    log.info("pod %s did not stop within %.0fs; killing it", self.name, self.grace)
        finally:
            probing_task.cancel()
            stopping.cancel()
            signal_group(proc.pid, signal.SIGKILL)  # whatever is left in the group
            await asyncio.gather(*(s.finish(self.grace) for s in self.proc_sidecars))
            self.proc_sidecars = []
            if not exited.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await exited
            self.pid = None
            self._set(ready=False)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(pumping), 1.0)
            pumping.cancel()
        assert proc.returncode is not None
        return proc.returncode

    def _prepare_enforcement(self) -> Callable[[], None] | None:
        """The preexec_fn enforcing the template's resources (groups made on the first run)."""
        resources = self.template.resources
        if resources is None or self.enforcer is None:
            return None
        try:
            if self._enforcement is None:
                name = f"{self.name}-{self.uid[:8]}"
                reserve = self.template.role == "reserve"
                self._enforcement = self.enforcer.prepare(name, resources, reserve=reserve)
            return self._enforcement.preexec()
        except Exception:  # enforcement must never keep a pod from running
            log.exception("preparing resource enforcement of pod %s failed", self.name)
            self.enforced = "none (error)"
            return None

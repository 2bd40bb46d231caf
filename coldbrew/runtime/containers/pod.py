"""One pod as a container: image pulled first, then a container per run, restarted with back-off.

Everything else (readiness probing, restart back-off, CrashLoopBackOff, drain-then-stop) is the
process pod's (:class:`coldbrew.runtime.pods.Pod`): only how a run starts, is stopped and ends
differs. Each run is a fresh container ``{pod}-{restarts}``, removed when it ends; its output
is streamed from the engine into the pod's log file, so ``coldbrew logs`` reads it as it reads
a process's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from typing import Any

import aiodocker

from coldbrew.runtime.checking import Checks
from coldbrew.runtime.containers import securing
from coldbrew.runtime.containers.creating import create_body, describe_limits
from coldbrew.runtime.containers.credentials import SecretLookup, pull_auth
from coldbrew.runtime.containers.engine import Engine
from coldbrew.runtime.containers.pulling import Puller, PullError
from coldbrew.runtime.containers.sidecars import (
    Sidecar,
    create_sidecars,
    exec_in,
    published_ports,
    sidecar_non_root_refusal,
)
from coldbrew.runtime.pods import Backoff, Pod
from coldbrew.runtime.specs import ContainerSpec

log = logging.getLogger(__name__)
KILL_WAIT = 10.0  # after SIGKILL, how long to wait for the engine to report the exit
PROBE_HOLD = 0.003  # a TCP probe's connection must stay open this long (see probing.probe_tcp)


class ContainerPod(Pod):
    def __init__(
        self,
        *,
        engine: Engine,
        puller: Puller,
        instance: str,
        pull_secrets: SecretLookup | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(argv=("container",), waiting_message="", **kw)
        self.pull_secrets = pull_secrets
        self.sidecars: list[Sidecar] = []  # of the current run
        self.sidecar_ports: dict[int, int] = {}  # sidecar probe port -> host port
        self.engine, self.puller, self.instance = engine, puller, instance
        self.container_id: str | None = None
        # the published port may be a userland proxy's that accepts before the app listens
        self.probe_hold = PROBE_HOLD
        self._removing: set[asyncio.Task[None]] = set()
        self.image_user = ""  # Config.User of the image, once pulled

    can_mount = True  # bind mounts and tmpfs through the engine

    def termination_grace(self, default: float) -> float:
        """terminationGracePeriodSeconds as written, else Knative's (the revision's timeout)."""
        own = self.template.grace_period_seconds
        if own is None:
            own = self.template.termination_grace_seconds
        return default if own is None else own

    async def _config_error(self) -> str | None:
        """runAsNonRoot over an image that runs as root (Kubernetes' message)."""
        c = self.template.container
        try:
            info = await self.engine.docker.images.inspect(c.image)
        except aiodocker.DockerError as exc:
            log.warning("cannot inspect image %s: %s", c.image, exc)
            info = {}
        self.image_user = str((info.get("Config") or {}).get("User") or "")
        problem = securing.non_root_refusal(c.security, self.image_user, c.name)
        for spec in self.template.sidecars:
            problem = problem or await self._sidecar_config_error(spec)
        return problem

    async def _sidecar_config_error(self, spec: ContainerSpec) -> str | None:
        if not spec.security or not spec.security.run_as_non_root:
            return None
        auth = pull_auth(spec.image, self.template.namespace, self.template.pull_secrets,
                         self.pull_secrets)  # fmt: skip
        return await sidecar_non_root_refusal(self.engine.docker, self.puller, spec, auth)

    def _sidecar_checks(self, changed: Any) -> list[Checks]:
        return [
            s.checks(self.sidecar_ports, changed, self._restart_for, self._exec_in)
            for s in self.sidecars
        ]

    async def _exec_in(self, cid: str, command: tuple[str, ...], limit: float) -> bool:
        return await exec_in(self.engine.docker, cid, command, limit)

    async def _before_sigterm(self) -> None:
        """Every container's preStop hook, side by side, within the grace period."""
        hooks = [s.pre_stop(self.sidecar_ports, self._exec_in, self.grace) for s in self.sidecars]
        await asyncio.gather(super()._before_sigterm(), *hooks)

    async def _run_exec(self, command: tuple[str, ...], limit: float) -> bool:
        """An exec probe or hook, in the serving container through the engine's exec API."""
        cid = self.container_id
        if cid is None:
            return False
        return await exec_in(self.engine.docker, cid, command, limit)

    # -- image
    async def _prepare(self) -> bool:
        image, policy = self.template.container.image, self.template.container.image_pull_policy
        backoff = Backoff(self.backoff.initial, self.backoff.maximum)

        def pulling() -> None:  # only once the image is known absent (or always pulled)
            self.message = f'Pulling image "{image}"'
            self.progress = ("Pulling", self.message)
            self._notify()

        while not self._stop.is_set():
            auth = pull_auth(image, self.template.namespace, self.template.pull_secrets,
                             self.pull_secrets)  # fmt: skip
            ensuring = asyncio.ensure_future(self.puller.ensure(image, policy, auth, pulling))
            stopping = asyncio.ensure_future(self._stop.wait())
            try:
                await asyncio.wait({ensuring, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
            if not ensuring.done():
                ensuring.cancel()
                self.progress = None
                return False
            exc = ensuring.exception()
            self.progress = None
            if exc is None:
                self.message = ""
                return True
            if not isinstance(exc, PullError):
                exc = PullError(f'failed to pull image "{image}": {exc}')
            self.message = str(exc)
            self.log_file.write(f"coldbrew: {exc}\n".encode())
            self._set(status="ErrImagePull")
            delay = max(backoff.next(), backoff.initial)
            self.message = f'Back-off pulling image "{image}": {exc}'
            self._set(status="ImagePullBackOff")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
        return False

    # -- runs
    async def _run_once(self, argv: tuple[str, ...]) -> int:
        docker = self.engine.docker
        self.port = self.ports.allocate(prefer=self.port)
        self.sidecar_ports = {p: self.ports.allocate() for p in published_ports(self.template)}
        body = create_body(
            self.template,
            pod=self.name,
            instance=self.instance,
            host_port=self.port,
            image_user=self.image_user,
            extra_ports=self.sidecar_ports,
            prepared=self.prepared,
        )
        try:
            container = await docker.containers.create(body, name=f"{self.name}-{self.restarts}")
        except aiodocker.DockerError as exc:
            if exc.status == 404:  # the image went away: ask again before the next run
                self.puller.forget(self.template.container.image)
            self.log_file.write(f"coldbrew: cannot create the container: {exc.message}\n".encode())
            self._release_sidecar_ports()
            return 128
        self.container_id = container.id
        try:
            if self.template.sidecars:
                try:
                    self.sidecars = await create_sidecars(
                        docker, self.template, pod=self.name, instance=self.instance,
                        run=self.restarts, network_of=container.id, logs=self.sidecar_logs,
                    )  # fmt: skip
                except aiodocker.DockerError as exc:
                    why = f"coldbrew: cannot create a sidecar: {exc.message}\n"
                    self.log_file.write(why.encode())
                    return 128
            return await self._supervise_container(container)
        finally:
            self.container_id = None
            for sidecar in self.sidecars:
                await asyncio.shield(self._remove(sidecar.container))
            self.sidecars = []
            await asyncio.shield(self._remove(container))
            self._release_sidecar_ports()

    def _release_sidecar_ports(self) -> None:
        for host_port in self.sidecar_ports.values():
            self.ports.release(host_port)
        self.sidecar_ports = {}

    async def _supervise_container(self, container: aiodocker.containers.DockerContainer) -> int:
        loop = asyncio.get_running_loop()
        try:
            await container.start()
        except aiodocker.DockerError as exc:
            self.log_file.write(f"coldbrew: cannot start the container: {exc.message}\n".encode())
            return 128
        # "not-running" (the default) also answers for a container that already exited
        exited = loop.create_task(container.wait())
        try:
            for sidecar in self.sidecars:  # the serving container's network exists now
                await sidecar.start()
        except aiodocker.DockerError as exc:
            self.log_file.write(f"coldbrew: cannot start a sidecar: {exc.message}\n".encode())
            await self._signal(container, "SIGKILL")
            exited.cancel()
            return 128
        sidecar_exits = [s.exited for s in self.sidecars if s.exited is not None]
        self.started, self.phase = time.time(), "Running"
        self.ever_ready = False
        self._set(status="Running")
        probing_task = loop.create_task(self._probe_loop())  # first: cold starts wait on it
        pumping = loop.create_task(self._pump(container))
        inspecting = loop.create_task(self._inspect(container))
        stopping = self._unhealthy_or_stop()
        try:
            await asyncio.wait(
                {exited, stopping, *sidecar_exits}, return_when=asyncio.FIRST_COMPLETED
            )
            probing_task.cancel()
            self._note_sidecar_exit(sidecar_exits)
            if not exited.done():
                await self._before_sigterm()
            for sidecar in self.sidecars:
                await self._signal(sidecar.container, "SIGTERM")
            if not exited.done():
                await self._signal(container, "SIGTERM")
                try:
                    await asyncio.wait_for(asyncio.shield(exited), self.grace)
                except TimeoutError:
                    log.info("pod %s did not stop within %.0fs; killing it", self.name, self.grace)
                    await self._signal(container, "SIGKILL")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(exited), KILL_WAIT)
        finally:
            probing_task.cancel()
            stopping.cancel()
            inspecting.cancel()
            for sidecar in self.sidecars:
                await self._signal(sidecar.container, "SIGKILL")
                await sidecar.finish()
            self.pid = None
            self._set(ready=False)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(pumping), 1.0)
            pumping.cancel()
        if not exited.done():
            exited.cancel()
            return 137
        try:
            return int((exited.result() or {}).get("StatusCode", 1))
        except (aiodocker.DockerError, asyncio.CancelledError):
            return 1

    def _note_sidecar_exit(self, exits: list[asyncio.Task[Any]]) -> None:
        for sidecar, ended in zip(self.sidecars, exits, strict=False):
            if ended.done() and not ended.cancelled() and not self._stop.is_set():
                code = (ended.result() or {}).get("StatusCode") if not ended.exception() else "?"
                why = f"sidecar {sidecar.spec.name} exited with code {code}"
                self.log_file.write(f"coldbrew: {why}: restarting the pod's containers\n".encode())

    async def _inspect(self, container: aiodocker.containers.DockerContainer) -> None:
        """What the engine enforces (``get pods -o wide``) and the container's pid."""
        try:
            info = await container.show()
        except aiodocker.DockerError as exc:
            log.warning("cannot inspect container of pod %s: %s", self.name, exc)
            return
        self.enforced = describe_limits(info.get("HostConfig") or {})
        self.pid = (info.get("State") or {}).get("Pid") or None

    async def _signal(self, container: aiodocker.containers.DockerContainer, sig: str) -> None:
        try:
            await container.kill(signal=sig)
        except aiodocker.DockerError as exc:  # already gone, or stopping
            log.debug("signalling pod %s: %s", self.name, exc)

    async def _pump(self, container: aiodocker.containers.DockerContainer) -> None:
        """The engine's log stream (stdout and stderr) into the pod's log file, until EOF."""
        with contextlib.suppress(aiodocker.DockerError, OSError):
            async for chunk in container.log(stdout=True, stderr=True, follow=True):
                self.log_file.write(chunk.encode() if isinstance(chunk, str) else chunk)

    def _remove(self, container: aiodocker.containers.DockerContainer) -> asyncio.Task[None]:
        async def remove() -> None:
            try:
                await container.delete(force=True)
            except aiodocker.DockerError as exc:
                if exc.status != 404:
                    log.warning("cannot remove container of pod %s: %s", self.name, exc)

        return self._background(remove())

    def _background(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``work`` as a task kept referenced until it is done."""
        task = asyncio.get_running_loop().create_task(work)
        self._removing.add(task)
        task.add_done_callback(self._removing.discard)
        return task

    def kill(self) -> None:
        cid = self.container_id
        if cid is None:
            return
        container = self.engine.docker.containers.container(cid)
        self._background(self._signal(container, "SIGKILL"))

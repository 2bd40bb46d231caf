"""A revision's replica set: pods of one template, scaled to a desired count."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from coldbrew.runtime.environment import CONFIG_ERROR
from coldbrew.runtime.pods import Pod
from coldbrew.runtime.specs import PodTemplate, RevisionPods

log = logging.getLogger(__name__)
Endpoint = tuple[str, int]
HOST = "127.0.0.1"


class ReplicaSet:
    def __init__(
        self,
        template: PodTemplate,
        *,
        make_pod: Callable[[ReplicaSet], Pod],
        notify: Callable[[], None],
        on_removed: Callable[[Pod], None],
        drain: Callable[[Endpoint], Awaitable[None]] | None,
        grace: float,
    ) -> None:
        self.template = template
        self.desired = 0
        self.pods: list[Pod] = []  # creation order; includes terminating pods
        self._make_pod, self._notify, self._on_removed = make_pod, notify, on_removed
        self._drain, self._grace = drain, grace
        self._stopping: set[asyncio.Task[None]] = set()
        self._busy = self._again = False

    # -- views
    def live(self) -> list[Pod]:
        return [p for p in self.pods if p.deleting is None]

    def endpoints(self) -> list[Endpoint]:
        return [(HOST, p.port) for p in self.pods if p.ready]

    def state(self) -> RevisionPods:
        live = self.live()
        ready = sum(p.ready for p in live)
        progress = next((p.progress for p in live if p.progress is not None), None)
        failure = self._failure(live, ready)
        return RevisionPods(self.desired, ready, len(live), failure, progress)

    def _failure(self, live: list[Pod], ready: int) -> tuple[str, str] | None:
        for p in live:
            if p.status in ("ErrImagePull", "ImagePullBackOff", CONFIG_ERROR):
                return (p.status, p.message)
        if ready >= self.desired:
            return None
        for p in live:
            if p.status in ("CrashLoopBackOff", "Error"):
                last = next((ln for ln in reversed(p.log_file.tail().splitlines()) if ln), "")
                name = p.template.container.name
                msg = (
                    f"container {name} in pod {p.name} exited with code {p.exit_code} "
                    f"(restarts: {p.restarts})"
                )
                return ("CrashLoopBackOff", f"{msg}; last output: {last}" if last else msg)
        return None

    # -- changes
    def scale(self, replicas: int, template: PodTemplate | None = None) -> None:
        if template is not None and template != self.template:
            self.template = template  # old pods become outdated; replaced once new ones serve
        self.desired = replicas
        self.reconcile()

    def pod_changed(self, pod: Pod) -> None:
        self._notify()
        if pod.ready and any(p.template is not self.template for p in self.live()):
            self.reconcile()

    def reconcile(self) -> None:
        if self._busy:  # re-entered from a notification: run again when done
            self._again = True
            return
        self._busy = True
        try:
            self._again = True
            while self._again:
                self._again = False
                self._reconcile_once()
        finally:
            self._busy = False

    def _reconcile_once(self) -> None:
        live = self.live()
        current = [p for p in live if p.template is self.template or p.template == self.template]
        outdated = [p for p in live if p not in current]
        if len(current) < self.desired:
            for _ in range(self.desired - len(current)):
                pod = self._make_pod(self)
                self.pods.append(pod)
                pod.start()
            self._notify()
        elif len(current) > self.desired:
            # not-ready pods first, then the newest
            victims = sorted(current, key=lambda p: (p.ready, -p.created))
            for pod in victims[: len(current) - self.desired]:
                self.terminate(pod)
        if outdated:
            serving = sum(p.ready for p in current)
            if serving >= self.desired or not any(p.ready for p in outdated):
                for pod in outdated:
                    self.terminate(pod)

    def terminate(self, pod: Pod) -> None:
        served = pod.mark_terminating()  # not ready + notified first: the gateway stops routing
        task = asyncio.get_running_loop().create_task(self._stop_pod(pod, served))
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    async def _stop_pod(self, pod: Pod, served: bool) -> None:
        try:
            if served and self._drain is not None:
                try:
                    async with asyncio.timeout(self._grace):  # a drain may not hold a pod forever
                        await self._drain((HOST, pod.port))
                except TimeoutError:
                    log.warning("draining %s:%s timed out", HOST, pod.port)
                except Exception:
                    log.exception("draining %s:%s failed", HOST, pod.port)
            await pod.stop(pod.termination_grace(self._grace))
        finally:
            if pod in self.pods:
                self.pods.remove(pod)
                self._on_removed(pod)
                self._notify()

    async def shutdown(self, grace: float) -> None:
        """Stop every pod now (no draining): SIGTERM, SIGKILL after ``grace``."""
        self.desired = 0
        for task in list(self._stopping):
            task.cancel()
        pods = list(self.pods)
        for pod in pods:
            pod.mark_terminating()
        stops = [asyncio.ensure_future(pod.stop(grace)) for pod in pods]
        if stops:
            _, pending = await asyncio.wait(stops, timeout=grace + 1)
            for pod in pods:
                pod.kill()
            if pending:
                await asyncio.wait(pending, timeout=5)
        for pod in pods:
            if pod in self.pods:
                self.pods.remove(pod)
                self._on_removed(pod)
        self._notify()

"""Pod events as the kubelet writes them, from successive snapshots of the local runtime.

``coldbrew serve``'s runtime calls back on every pod change; :class:`PodEvents` compares
each pod with how it last saw it and records what the kubelet would have: ``Pulling``, then
``Pulled`` ("Successfully pulled image", or "already present on machine" when no pull was
needed) or ``Failed`` / ``BackOff`` for images, ``Started``, ``Unhealthy`` when a ready pod's
readiness probe fails, ``BackOff`` on a crash loop, ``Killing`` when it is stopped.
Ours where the kubelet has none: ``Ready`` when a pod turns ready, ``Restarted``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from .recording import EventRecorder, ObjectRef

CONTAINER = "user-container"


class PodLike(Protocol):
    """What is read of a pod (``coldbrew.runtime.PodInfo`` has it)."""

    @property
    def name(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def uid(self) -> str: ...
    @property
    def ready(self) -> bool: ...
    @property
    def status(self) -> str: ...
    @property
    def restarts(self) -> int: ...
    @property
    def image(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def exit_code(self) -> int | None: ...
    @property
    def deleting(self) -> float | None: ...


@dataclass(slots=True)
class _Seen:
    ready: bool
    status: str
    restarts: int
    deleting: bool
    pulling: bool = False  # waiting on a pull of its image now
    pulled: bool = False  # a pull was seen since the pod was created


def _pulling(pod: PodLike) -> bool:
    return pod.status in PULL_STATES and pod.message.startswith("Pulling image")


PULL_STATES = ("ContainerCreating", "ErrImagePull", "ImagePullBackOff")


class PodEvents:
    def __init__(self, recorder: EventRecorder, *, containers: bool = False) -> None:
        self.recorder = recorder
        self.containers = containers  # images are pulled (docker runtime), not mapped
        self._seen: dict[str, dict[str, _Seen]] = {}  # replica set -> pod name -> last seen

    def observe(self, replica_set: str, pods: Iterable[PodLike]) -> None:
        """Compare the set's current pods with their last snapshots; forget pods gone."""
        before = self._seen.pop(replica_set, {})
        now: dict[str, _Seen] = {}
        for pod in pods:
            old, pulling = before.get(pod.name), _pulling(pod)
            pulled = pulling or (old is not None and old.pulled)
            seen = _Seen(pod.ready, pod.status, pod.restarts, pod.deleting is not None,
                         pulling, pulled)  # fmt: skip
            now[pod.name] = seen
            self._observe(pod, old, seen)
        if now:
            self._seen[replica_set] = now

    def _observe(self, pod: PodLike, old: _Seen | None, new: _Seen) -> None:
        ref = ObjectRef("Pod", pod.namespace, pod.name, pod.uid)
        rec = self.recorder.record
        if old is None:
            rec(ref, "Normal", "Scheduled", f"Successfully assigned {pod.namespace}/{pod.name}")
            old = _Seen(False, "ContainerCreating", 0, False)
        if new.deleting and not old.deleting:
            rec(ref, "Normal", "Killing", f"Stopping container {CONTAINER}")
            return
        if new.deleting:
            return
        if self.containers and new.pulling and not old.pulling:
            rec(ref, "Normal", "Pulling", pod.message)
        if new.status != old.status:
            self._status(ref, pod, old.status, new.pulled)
        if new.restarts > old.restarts:
            code = "" if pod.exit_code is None else f" (exit code {pod.exit_code})"
            rec(ref, "Normal", "Restarted", f"Container {CONTAINER} restarted{code}")
        if new.ready and not old.ready:
            rec(ref, "Normal", "Ready", "Pod is ready: its readiness probe succeeded")
        elif old.ready and not new.ready and new.status == "Running":
            rec(ref, "Warning", "Unhealthy", f"Readiness probe failed for container {CONTAINER}")

    def _status(self, ref: ObjectRef, pod: PodLike, before: str, pulled: bool) -> None:
        rec = self.recorder.record
        if pod.status == "Running":
            if self.containers and before in PULL_STATES:
                why = f'Successfully pulled image "{pod.image}"'
                if not pulled:
                    why = f'Container image "{pod.image}" already present on machine'
                rec(ref, "Normal", "Pulled", why)
            rec(ref, "Normal", "Created", f"Created container {CONTAINER}")
            rec(ref, "Normal", "Started", f"Started container {CONTAINER}")
        elif pod.status == "ErrImagePull":
            rec(ref, "Warning", "Failed", pod.message or f'Failed to pull image "{pod.image}"')
        elif pod.status == "ImagePullBackOff":
            rec(ref, "Normal", "BackOff", pod.message or f'Back-off pulling image "{pod.image}"')
        elif pod.status == "CrashLoopBackOff":
            rec(ref, "Warning", "BackOff", f"Back-off restarting failed container {CONTAINER}")
        elif pod.status == "Error":
            code = "" if pod.exit_code is None else f" with code {pod.exit_code}"
            rec(ref, "Warning", "Failed", f"Container {CONTAINER} exited{code}")

"""Value types of the pod runtime: what to run (templates) and what is running (snapshots)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Phase = Literal["Pending", "Running", "Succeeded", "Failed"]
Status = Literal[
    "ContainerCreating", "Running", "CrashLoopBackOff", "Error", "Terminating", "ImagePullBackOff"
]
CONTAINER_NAME = "user-container"


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    """A readiness probe (Kubernetes ``httpGet`` or ``tcpSocket``).

    ``port`` None (or equal to the container's declared port) means the pod's ``$PORT``.
    ``period_seconds`` 0 means our fast default (1 s once ready). Before a pod is first ready
    it is always probed every few milliseconds, whatever the period, to keep cold starts short.
    """

    kind: Literal["http", "tcp"]
    path: str = "/"
    port: int | None = None
    period_seconds: float = 0
    timeout_seconds: float = 1
    failure_threshold: int = 3
    success_threshold: int = 1
    initial_delay_seconds: float = 0


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    image: str
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    port: int | None = None  # declared containerPort (informational: $PORT is always ours)
    readiness_probe: ProbeSpec | None = None


@dataclass(frozen=True, slots=True)
class PodTemplate:
    namespace: str
    service: str
    configuration: str
    revision: str
    container: ContainerSpec
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    template_hash: str = ""  # stable per revision; the middle part of pod names

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.revision}"


@dataclass(frozen=True, slots=True)
class RevisionPods:
    """A revision's replica set as seen by the controller."""

    desired: int
    ready: int
    pods: int  # pods that exist and are not terminating
    failure: tuple[str, str] | None = None  # (reason, message)


def rfc3339(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@dataclass(frozen=True, slots=True)
class PodInfo:
    """A snapshot of one pod."""

    name: str
    namespace: str
    revision_key: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    phase: Phase
    ready: bool
    status: Status
    restarts: int
    created: float
    port: int
    pid: int | None
    image: str = ""
    uid: str = ""
    started: float | None = None  # start of the current container run
    exit_code: int | None = None  # of the last run that ended
    message: str = ""  # why the pod is waiting (back-off, image), if it is
    deleting: float | None = None  # when termination began

    def to_k8s(self) -> dict[str, Any]:
        """A Kubernetes ``v1/Pod``-shaped object (for ``get pods -o yaml`` and friends)."""
        waiting = self.status in ("ContainerCreating", "CrashLoopBackOff", "ImagePullBackOff")
        state: dict[str, Any]
        if waiting:
            state = {"waiting": {"reason": self.status}}
            if self.message:
                state["waiting"]["message"] = self.message
        elif self.status == "Error" or self.phase in ("Succeeded", "Failed"):
            code = self.exit_code if self.exit_code is not None else 1
            reason = "Completed" if code == 0 else "Error"
            state = {"terminated": {"exitCode": code, "reason": reason}}
        else:
            state = {"running": {"startedAt": rfc3339(self.started)}}
        container_status: dict[str, Any] = {
            "name": CONTAINER_NAME,
            "image": self.image,
            "ready": self.ready,
            "restartCount": self.restarts,
            "started": self.started is not None and not waiting,
            "state": state,
        }
        if self.exit_code is not None and "terminated" not in state:
            reason = "Completed" if self.exit_code == 0 else "Error"
            container_status["lastState"] = {
                "terminated": {"exitCode": self.exit_code, "reason": reason}
            }
        metadata: dict[str, Any] = {
            "name": self.name,
            "namespace": self.namespace,
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "creationTimestamp": rfc3339(self.created),
            "uid": self.uid,
        }
        if self.deleting is not None:
            metadata["deletionTimestamp"] = rfc3339(self.deleting)
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": metadata,
            "spec": {
                "containers": [
                    {
                        "name": CONTAINER_NAME,
                        "image": self.image,
                        "ports": [{"containerPort": self.port, "protocol": "TCP"}],
                        "env": [{"name": "PORT", "value": str(self.port)}],
                    }
                ],
                "restartPolicy": "Always",
            },
            "status": {
                "phase": self.phase,
                "podIP": "127.0.0.1",
                "hostIP": "127.0.0.1",
                "conditions": [
                    {"type": "Ready", "status": "True" if self.ready else "False"},
                    {"type": "ContainersReady", "status": "True" if self.ready else "False"},
                ],
                "containerStatuses": [container_status],
                "startTime": rfc3339(self.created),
            },
        }

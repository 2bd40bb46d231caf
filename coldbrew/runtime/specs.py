"""Value types of the pod runtime: what to run (templates) and what is running (snapshots)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from coldbrew.runtime.container_specs import HookSpec, SecuritySpec
from rulebook.ask import RESERVE_LABEL as RESERVE_LABEL  # "true" on reserve pods only

Phase = Literal["Pending", "Running", "Succeeded", "Failed"]
Role = Literal["standard", "reserve"]
Status = Literal[
    "ContainerCreating",
    "Running",
    "CrashLoopBackOff",
    "Error",
    "Terminating",
    "ErrImagePull",
    "ImagePullBackOff",
    "CreateContainerConfigError",
]
CONTAINER_NAME = "user-container"
ENFORCED_ANNOTATION = "coldbrew.dev/enforced"  # how the pod's resources were enforced


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    """A probe (Kubernetes ``httpGet``, ``tcpSocket``, ``exec`` or ``grpc``).

    ``port`` None (or equal to the container's declared port) means the pod's ``$PORT``.
    ``period_seconds`` 0 means our fast default (1 s once ready). Before a pod is first ready
    it is always probed every few milliseconds, whatever the period, to keep cold starts short.
    """

    kind: Literal["http", "tcp", "exec", "grpc"]
    path: str = "/"
    port: int | None = None
    period_seconds: float = 0
    timeout_seconds: float = 1
    failure_threshold: int = 3
    success_threshold: int = 1
    initial_delay_seconds: float = 0
    host: str | None = None  # httpGet/tcpSocket; None: the pod (127.0.0.1)
    scheme: str = "HTTP"  # httpGet: HTTP or HTTPS (certificate not verified, as the kubelet)
    headers: tuple[tuple[str, str], ...] = ()  # httpGet
    command: tuple[str, ...] = ()  # exec
    service: str = ""  # grpc


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    image: str
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    port: int | None = None  # declared containerPort (processes: $PORT is always ours)
    readiness_probe: ProbeSpec | None = None
    image_pull_policy: str | None = None  # containers only; None: Kubernetes' default
    limits: ContainerLimits | None = None  # containers only (processes: PodTemplate.resources)
    name: str = CONTAINER_NAME
    liveness_probe: ProbeSpec | None = None  # failing: the container is restarted
    startup_probe: ProbeSpec | None = None  # holds readiness and liveness until it passes
    security: SecuritySpec | None = None
    working_dir: str | None = None
    pre_stop: HookSpec | None = None  # run before SIGTERM when the pod is stopped


@dataclass(frozen=True, slots=True)
class ContainerLimits:
    """``resources`` of the container: cpu in cores, memory in bytes; None: not set."""

    cpu_request: float | None = None
    memory_request: float | None = None
    cpu_limit: float | None = None
    memory_limit: float | None = None


@dataclass(frozen=True, slots=True)
class PodResources:
    """A pod's CPU/memory size: ``cpu`` in cores, ``memory`` in bytes (None: unlimited).

    ``instance_type`` (e.g. ECI ``ecs.t5-c1m2.large``) is informational for the runtime.
    """

    cpu: float | None = None
    memory: float | None = None
    instance_type: str | None = None

    def __post_init__(self) -> None:
        if self.cpu is not None and not self.cpu > 0:
            raise ValueError(f"cpu must be > 0, not {self.cpu!r}")
        if self.memory is not None and not self.memory > 0:
            raise ValueError(f"memory must be > 0, not {self.memory!r}")


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
    # "reserve": ASK's reserved instance, a replica set of its own next to the standard one
    role: Role = "standard"
    resources: PodResources | None = None  # enforced as far as this machine allows
    # SIGTERM -> SIGKILL when scaled down (Knative: the revision's timeoutSeconds); containers
    # only: process pods keep the runtime's grace
    termination_grace_seconds: float | None = None
    grace_period_seconds: float | None = None  # terminationGracePeriodSeconds, when written
    sidecars: tuple[ContainerSpec, ...] = ()  # containers only: share the pod's network
    pull_secrets: tuple[str, ...] = ()  # imagePullSecrets: Secret names
    # env references and volumes, opaque to the runtime: read by its PodConfigurer
    # (coldbrew.runtime.environment); None: the container's literal env, no volumes
    config: Any = None

    def __post_init__(self) -> None:
        if self.role not in ("standard", "reserve"):
            raise ValueError(f'role must be "standard" or "reserve", not {self.role!r}')

    @property
    def key(self) -> str:
        """The replica set's key: ``ns/revision``, or ``ns/revision/reserve`` for reserve pods."""
        base = f"{self.namespace}/{self.revision}"
        return f"{base}/reserve" if self.role == "reserve" else base


@dataclass(frozen=True, slots=True)
class RevisionPods:
    """A revision's replica set as seen by the controller."""

    desired: int
    ready: int
    pods: int  # pods that exist and are not terminating
    failure: tuple[str, str] | None = None  # (reason, message)
    progress: tuple[str, str] | None = None  # (reason, message) while deploying, e.g. Pulling


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
    role: Role = "standard"
    revision: str = ""  # the revision's name (revision_key is the replica set's key)
    resources: PodResources | None = None
    enforced: str = ""  # how resources were enforced, e.g. "cgroup1 cpu=2 mem=4Gi"
    container_name: str = CONTAINER_NAME  # the serving container's
    sidecars: tuple[tuple[str, str, bool], ...] = ()  # (name, image, ready) of each sidecar

    def to_k8s(self) -> dict[str, Any]:
        """A Kubernetes ``v1/Pod``-shaped object (for ``get pods -o yaml`` and friends)."""
        waiting = self.status in (
            "ContainerCreating",
            "CrashLoopBackOff",
            "ErrImagePull",
            "ImagePullBackOff",
            "CreateContainerConfigError",
        )
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
            "name": self.container_name,
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
        annotations = dict(self.annotations)
        if self.enforced:
            annotations[ENFORCED_ANNOTATION] = self.enforced
        container: dict[str, Any] = {
            "name": self.container_name,
            "image": self.image,
            "ports": [{"containerPort": self.port, "protocol": "TCP"}],
            "env": [{"name": "PORT", "value": str(self.port)}],
        }
        if self.resources is not None:
            container["resources"] = _k8s_resources(self.resources)
        metadata: dict[str, Any] = {
            "name": self.name,
            "namespace": self.namespace,
            "labels": dict(self.labels),
            "annotations": annotations,
            "creationTimestamp": rfc3339(self.created),
            "uid": self.uid,
        }
        if self.deleting is not None:
            metadata["deletionTimestamp"] = rfc3339(self.deleting)
        statuses = [container_status]
        containers = [container]
        for name, image, ready in self.sidecars:  # a run is all of them: same state, restarts
            statuses.append({**container_status, "name": name, "image": image, "ready": ready})
            containers.append({"name": name, "image": image})
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": metadata,
            "spec": {
                "containers": containers,
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
                "containerStatuses": statuses,
                "startTime": rfc3339(self.created),
            },
        }


def format_bytes(n: float) -> str:
    """Bytes as a Kubernetes quantity: ``4Gi``, ``512Mi``, else plain bytes."""
    n = int(n)
    for unit, size in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if n and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def _k8s_resources(r: PodResources) -> dict[str, Any]:
    limits: dict[str, str] = {}
    if r.cpu is not None:
        limits["cpu"] = f"{r.cpu:g}"
    if r.memory is not None:
        limits["memory"] = format_bytes(r.memory)
    return {"limits": limits, "requests": dict(limits)} if limits else {}

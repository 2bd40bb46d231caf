"""The validated, normalized API model (immutable dataclasses).

Objects are built by :func:`coldbrew.api.validation.parse_service`; every
default is already applied, except the autoscaling knobs in :class:`Scaling`
where ``None`` means "not set, use the global default".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Probe:
    """A readiness probe. ``period_seconds == 0`` is Knative's aggressive startup probing.

    ``port`` None means "the serving container port". ``path`` is ``""`` for tcp.
    """

    kind: Literal["http", "tcp"]
    path: str
    port: int | None
    period_seconds: int
    timeout_seconds: int
    failure_threshold: int
    success_threshold: int
    initial_delay_seconds: int

    def to_dict(self) -> dict[str, Any]:
        """Kubernetes-shaped ``readinessProbe``."""
        handler: dict[str, Any] = {} if self.port is None else {"port": self.port}
        if self.kind == "http":
            handler = {"path": self.path, **handler}
        out: dict[str, Any] = {"httpGet" if self.kind == "http" else "tcpSocket": handler}
        out.update(
            periodSeconds=self.period_seconds,
            timeoutSeconds=self.timeout_seconds,
            failureThreshold=self.failure_threshold,
            successThreshold=self.success_threshold,
            initialDelaySeconds=self.initial_delay_seconds,
        )
        return out


@dataclass(frozen=True, slots=True)
class Resources:
    """``resources`` of the container: CPU in cores, memory in bytes; None = not set."""

    cpu_request: float | None = None
    memory_request: float | None = None
    cpu_limit: float | None = None
    memory_limit: float | None = None
    raw: dict[str, dict[str, Any]] = field(default_factory=dict)  # as written, for output

    @property
    def cpu(self) -> float | None:
        """The CPU a pod is sized by: the limit, else the request."""
        return self.cpu_limit or self.cpu_request

    @property
    def memory(self) -> float | None:
        """The memory a pod is sized by: the limit, else the request."""
        return self.memory_limit or self.memory_request


@dataclass(frozen=True, slots=True)
class Container:
    """The single serving container. ``port`` is ``ports[0].containerPort`` (None: unset).

    ``port_name`` is ``ports[0].name``: ``"h2c"`` makes the gateway speak HTTP/2 (prior
    knowledge) to the pods, as Knative does; ``""`` or ``"http1"``: HTTP/1.1.
    """

    image: str
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    port: int | None = None
    port_name: str = ""
    readiness_probe: Probe | None = None
    name: str | None = None
    resources: Resources | None = None
    image_pull_policy: str | None = None  # None: Kubernetes' default for the image's tag

    def to_dict(self) -> dict[str, Any]:
        """Kubernetes-shaped container (only the fields that are set)."""
        out: dict[str, Any] = {}
        if self.name is not None:
            out["name"] = self.name
        out["image"] = self.image
        if self.command:
            out["command"] = list(self.command)
        if self.args:
            out["args"] = list(self.args)
        if self.env:
            out["env"] = [{"name": k, "value": v} for k, v in self.env]
        if self.port is not None:
            port: dict[str, Any] = {"containerPort": self.port}
            if self.port_name:
                port["name"] = self.port_name
            out["ports"] = [port]
        if self.readiness_probe is not None:
            out["readinessProbe"] = self.readiness_probe.to_dict()
        if self.resources is not None:
            out["resources"] = {k: dict(v) for k, v in self.resources.raw.items()}
        if self.image_pull_policy is not None:
            out["imagePullPolicy"] = self.image_pull_policy
        return out


@dataclass(frozen=True, slots=True)
class ReserveSpecs:
    """``knative.aliyun.com/reserve-instance-eci-use-specs``: instance types or a CPU-memory size.

    Either ``instance_types`` is non-empty (e.g. ``("ecs.t5-c1m2.large",)``) or
    ``cpu``/``memory`` are set (``"1-2Gi"`` -> cpu ``"1"``, memory ``"2Gi"``).
    """

    instance_types: tuple[str, ...] = ()
    cpu: str | None = None
    memory: str | None = None


@dataclass(frozen=True, slots=True)
class Scaling:
    """Autoscaling settings from revision annotations; ``None`` = not set (use defaults)."""

    autoscaler_class: str | None = None
    metric: str | None = None
    target: float | None = None
    target_utilization_percentage: float | None = None
    window_seconds: float | None = None
    panic_window_percentage: float | None = None
    panic_threshold_percentage: float | None = None
    min_scale: int | None = None
    max_scale: int | None = None
    initial_scale: int | None = None
    activation_scale: int | None = None
    scale_down_delay_seconds: float | None = None
    scale_to_zero_pod_retention_seconds: float | None = None
    target_burst_capacity: float | None = None
    reserve_instance: bool | None = None
    reserve_instance_replicas: int | None = None
    reserve_instance_type: str | None = None
    reserve_instance_eci_use_specs: ReserveSpecs | None = None


@dataclass(frozen=True, slots=True)
class RevisionTemplate:
    """``spec.template``: everything that makes up a revision."""

    name: str | None
    annotations: dict[str, str]
    labels: dict[str, str]
    container: Container
    container_concurrency: int = 0
    timeout_seconds: int = 300
    response_start_timeout_seconds: int | None = None
    idle_timeout_seconds: int | None = None
    scaling: Scaling = field(default_factory=Scaling)

    @property
    def protocol(self) -> str:
        """How the gateway speaks to the pods: ``"h2c"`` for a port named h2c, else ``"http1"``."""
        return "h2c" if self.container.port_name == "h2c" else "http1"

    def revision_spec(self) -> dict[str, Any]:
        """Knative-shaped revision ``spec`` (defaults applied)."""
        spec: dict[str, Any] = {
            "containerConcurrency": self.container_concurrency,
            "timeoutSeconds": self.timeout_seconds,
        }
        if self.response_start_timeout_seconds is not None:
            spec["responseStartTimeoutSeconds"] = self.response_start_timeout_seconds
        if self.idle_timeout_seconds is not None:
            spec["idleTimeoutSeconds"] = self.idle_timeout_seconds
        spec["containers"] = [self.container.to_dict()]
        return spec

    def spec_dict(self) -> dict[str, Any]:
        """Canonical, normalized ``spec.template`` (metadata + spec) as a plain dict."""
        metadata: dict[str, Any] = {}
        if self.name is not None:
            metadata["name"] = self.name
        if self.labels:
            metadata["labels"] = dict(self.labels)
        if self.annotations:
            metadata["annotations"] = dict(self.annotations)
        return {"metadata": metadata, "spec": self.revision_spec()}

    def template_hash(self) -> str:
        """Stable SHA-256 of :meth:`spec_dict`; equal hashes mean "same revision"."""
        canonical = json.dumps(self.spec_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TrafficTarget:
    """One ``spec.traffic`` entry. ``latest_revision`` True floats to the latest ready revision."""

    revision_name: str | None
    configuration_name: str | None
    latest_revision: bool
    percent: int
    tag: str | None

    def to_dict(self) -> dict[str, Any]:
        """Knative-shaped traffic entry (spec form)."""
        out: dict[str, Any] = {}
        if self.tag is not None:
            out["tag"] = self.tag
        if self.revision_name is not None:
            out["revisionName"] = self.revision_name
        if self.configuration_name is not None:
            out["configurationName"] = self.configuration_name
        out["latestRevision"] = self.latest_revision
        out["percent"] = self.percent
        return out


@dataclass(frozen=True, slots=True)
class Service:
    """A validated ``serving.knative.dev/v1`` Service. ``traffic`` None = 100% to latest ready."""

    name: str
    namespace: str
    template: RevisionTemplate
    traffic: tuple[TrafficTarget, ...] | None
    labels: dict[str, str]
    annotations: dict[str, str]

    @property
    def key(self) -> str:
        """``"{namespace}/{name}"``."""
        return f"{self.namespace}/{self.name}"

    def effective_traffic(self) -> tuple[TrafficTarget, ...]:
        """``traffic`` with Knative's default applied (100% to the latest revision)."""
        if self.traffic is not None:
            return self.traffic
        return (TrafficTarget(None, None, True, 100, None),)

    def spec_dict(self) -> dict[str, Any]:
        """Knative-shaped, defaulted Service ``spec``."""
        return {
            "template": self.template.spec_dict(),
            "traffic": [t.to_dict() for t in self.effective_traffic()],
        }

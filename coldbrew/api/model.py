"""The validated, normalized API model (immutable dataclasses).

Objects are built by :func:`coldbrew.api.validation.parse_service`; every
default is already applied, except the autoscaling knobs in :class:`Scaling`
where ``None`` means "not set, use the global default".
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .envrefs import EnvSpec
    from .volumes import Volume, VolumeMount

# the container's parts live in their own module; the model's users find them here too
from .container_parts import Handler as Handler
from .container_parts import Probe as Probe
from .container_parts import SecurityContext as SecurityContext


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
    """A container: the serving one (``port`` is ``ports[0].containerPort``, None: unset) or a
    sidecar (no ports).

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
    liveness_probe: Probe | None = None
    startup_probe: Probe | None = None
    security_context: SecurityContext | None = None
    working_dir: str | None = None
    pre_stop: Handler | None = None
    # env with valueFrom/envFrom (``env`` above keeps the literal values): see api/envrefs.py
    env_spec: EnvSpec | None = None
    volume_mounts: tuple[VolumeMount, ...] = ()

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
        if self.env_spec is not None:
            if self.env_spec.raw_env:
                out["env"] = [dict(e) for e in self.env_spec.raw_env]
            if self.env_spec.raw_env_from:
                out["envFrom"] = [dict(e) for e in self.env_spec.raw_env_from]
        elif self.env:
            out["env"] = [{"name": k, "value": v} for k, v in self.env]
        if self.volume_mounts:
            out["volumeMounts"] = [dict(m.raw) for m in self.volume_mounts]
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
        if self.liveness_probe is not None:
            out["livenessProbe"] = self.liveness_probe.to_dict()
        if self.startup_probe is not None:
            out["startupProbe"] = self.startup_probe.to_dict()
        if self.security_context is not None:
            out["securityContext"] = dict(self.security_context.raw)
        if self.working_dir is not None:
            out["workingDir"] = self.working_dir
        if self.pre_stop is not None:
            out["lifecycle"] = {"preStop": self.pre_stop.to_dict()}
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
    # Cluster mode: the pod spec as written when the model does not hold all of it
    # (coldbrew.api.rawspec); None when it does (then nothing changes).
    raw_spec: dict[str, Any] | None = None
    # several containers (Knative multi-container): the others, and the serving one's index
    sidecars: tuple[Container, ...] = ()
    serving_index: int = 0
    termination_grace_period_seconds: int | None = None
    security_context: SecurityContext | None = None  # the pod's
    image_pull_secrets: tuple[str, ...] = ()
    service_account_name: str | None = None  # stored; no effect locally

    @property
    def containers(self) -> tuple[Container, ...]:
        """Every container in the order written."""
        out = list(self.sidecars)
        out.insert(self.serving_index, self.container)
        return tuple(out)

    volumes: tuple[Volume, ...] = ()  # see api/volumes.py

    @property
    def protocol(self) -> str:
        """How the gateway speaks to the pods: ``"h2c"`` for a port named h2c, else ``"http1"``."""
        return "h2c" if self.container.port_name == "h2c" else "http1"

    def revision_spec(self) -> dict[str, Any]:
        """Knative-shaped revision ``spec`` (defaults applied; ``raw_spec`` as written)."""
        spec: dict[str, Any] = {
            "containerConcurrency": self.container_concurrency,
            "timeoutSeconds": self.timeout_seconds,
        }
        if self.response_start_timeout_seconds is not None:
            spec["responseStartTimeoutSeconds"] = self.response_start_timeout_seconds
        if self.idle_timeout_seconds is not None:
            spec["idleTimeoutSeconds"] = self.idle_timeout_seconds
        if self.raw_spec is not None:
            return {**copy.deepcopy(self.raw_spec), **spec}
        spec["containers"] = [c.to_dict() for c in self.containers]
        if self.termination_grace_period_seconds is not None:
            spec["terminationGracePeriodSeconds"] = self.termination_grace_period_seconds
        if self.security_context is not None:
            spec["securityContext"] = dict(self.security_context.raw)
        if self.image_pull_secrets:
            spec["imagePullSecrets"] = [{"name": n} for n in self.image_pull_secrets]
        if self.service_account_name is not None:
            spec["serviceAccountName"] = self.service_account_name
        if self.volumes:
            spec["volumes"] = [dict(v.raw) for v in self.volumes]
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

"""Building a revision's Deployments: the standard one and, if it has one, the reserve.

``{revision}-deployment`` runs the user container (Knative's ``user-container``
with ``PORT`` and the ``K_*`` variables); it starts at the revision's initial
scale and the autoscaler scales it later through ``/scale``. The reserve
Deployment ``{revision}-deployment-reserve`` starts at 0 replicas and carries
ASK's ECI annotations (``k8s.aliyun.com/eci-use-specs``, ``eci-instance-spec``,
``-cpu``, ``-mem``) and the chosen instance's resources.
"""

from __future__ import annotations

from typing import Any

from autoscaler.config import AutoscalerConfig
from autoscaler.pricing import InstanceType, resolve_specs
from coldbrew.api import RevisionTemplate
from coldbrew.platform_config import ReserveDefaults
from coldbrew.reserving import (
    CPU_ANNOTATION,
    MEM_ANNOTATION,
    SPEC_ANNOTATION,
    USE_SPECS_ANNOTATION,
)

from .kube.accessing import DEPLOYMENTS, REVISIONS

SERVICE_LABEL = "serving.knative.dev/service"
CONFIGURATION_LABEL = "serving.knative.dev/configuration"
REVISION_LABEL = "serving.knative.dev/revision"
REVISION_UID_LABEL = "serving.knative.dev/revisionUID"
ROLE_LABEL = "serving.coldbrew.dev/role"
RESERVE_LABEL = "knative.aliyun.com/reserve-instance"
DEFAULT_PORT = 8080


def deployment_name(revision: str, reserve: bool = False) -> str:
    return f"{revision}-deployment" + ("-reserve" if reserve else "")


def initial_replicas(template: RevisionTemplate, config: AutoscalerConfig) -> int:
    """The revision's initial scale (at least its min-scale)."""
    s = template.scaling
    initial = s.initial_scale if s.initial_scale is not None else config.initial_scale
    return max(initial, s.min_scale or config.min_scale)


def reserve_instance(
    template: RevisionTemplate, defaults: ReserveDefaults, config: AutoscalerConfig
) -> tuple[InstanceType, str, int] | None:
    """``(instance, eci-use-specs value, replicas)`` if the revision has a reserve."""
    s = template.scaling
    enabled = defaults.enabled if s.reserve_instance is None else s.reserve_instance
    if not enabled or (s.min_scale or config.min_scale) >= 1:
        return None  # disabled, or "reserve at least one standard instance"
    specs = s.reserve_instance_eci_use_specs or defaults.eci_use_specs
    instance = resolve_specs(specs.instance_types, specs.cpu, specs.memory)
    use_specs = ",".join(specs.instance_types) or instance.name
    return instance, use_specs, s.reserve_instance_replicas or defaults.replicas


def _container(template: RevisionTemplate, service: str, revision: str) -> dict[str, Any]:
    c = template.container
    out = c.to_dict()
    port = c.port or DEFAULT_PORT
    out["name"] = c.name or "user-container"
    out["ports"] = [{"name": "user-port", "containerPort": port, "protocol": "TCP"}]
    env = [e for e in out.get("env", []) if e["name"] != "PORT"]
    env += [
        {"name": "PORT", "value": str(port)},
        {"name": "K_REVISION", "value": revision},
        {"name": "K_CONFIGURATION", "value": service},
        {"name": "K_SERVICE", "value": service},
    ]
    out["env"] = env
    probe = out.get("readinessProbe")
    if probe is not None:
        for handler in ("httpGet", "tcpSocket"):
            if handler in probe:
                probe[handler].setdefault("port", port)
    return out


def build_deployment(
    revision: dict[str, Any],
    template: RevisionTemplate,
    *,
    replicas: int,
    reserve: tuple[InstanceType, str, int] | None = None,
) -> dict[str, Any]:
    """The standard Deployment (``reserve`` None) or the reserve one of a Revision object."""
    meta = revision["metadata"]
    name, ns, uid = meta["name"], meta["namespace"], meta["uid"]
    service = meta["labels"][SERVICE_LABEL]
    role = "standard" if reserve is None else "reserve"
    selector = {REVISION_UID_LABEL: uid, ROLE_LABEL: role}
    labels = {
        **template.labels,
        SERVICE_LABEL: service,
        CONFIGURATION_LABEL: service,
        REVISION_LABEL: name,
        **selector,
    }
    pod_annotations = dict(template.annotations)
    container = _container(template, service, name)
    if reserve is not None:
        instance, use_specs, _ = reserve
        labels[RESERVE_LABEL] = "true"
        pod_annotations.update(
            {
                USE_SPECS_ANNOTATION: use_specs,
                SPEC_ANNOTATION: instance.name,
                CPU_ANNOTATION: f"{instance.cpu:.3f}",
                MEM_ANNOTATION: f"{instance.memory_gib:.2f}",
            }
        )
        size = {"cpu": f"{instance.cpu:g}", "memory": f"{instance.memory_gib:g}Gi"}
        container["resources"] = {"requests": dict(size), "limits": dict(size)}
    owner = {
        "apiVersion": REVISIONS.api_version,
        "kind": REVISIONS.kind,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
    return {
        "apiVersion": DEPLOYMENTS.api_version,
        "kind": DEPLOYMENTS.kind,
        "metadata": {
            "name": deployment_name(name, reserve is not None),
            "namespace": ns,
            "labels": labels,
            "annotations": dict(template.annotations),
            "ownerReferences": [owner],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "progressDeadlineSeconds": 600,
            "template": {
                "metadata": {"labels": labels, "annotations": pod_annotations},
                "spec": {
                    "containers": [container],
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": template.timeout_seconds,
                },
            },
        },
    }

"""Building a revision's Deployments: the standard one and, if it has one, the reserve.

``{revision}-deployment`` runs the user container (Knative's ``user-container``
with ``PORT`` and the ``K_*`` variables) and, when the revision keeps its pod spec as
written (``raw_spec``: sidecars, volumes, envFrom, probes...), every other field of it
unchanged; it starts at the revision's initial
scale and the autoscaler scales it later through ``/scale``. The reserve
Deployment ``{revision}-deployment-reserve`` starts at 0 replicas and carries
ASK's ECI annotations (``k8s.aliyun.com/eci-use-specs``, ``eci-instance-spec``,
``-cpu``, ``-mem``) and the chosen instance's resources.
"""

from __future__ import annotations

import copy
from typing import Any

from autoscaler.config import AutoscalerConfig
from autoscaler.pricing import InstanceType
from coldbrew.api import RevisionTemplate
from coldbrew.api.rawspec import REVISION_FIELDS, serving_index
from rulebook import scale_bounds
from rulebook.ask import RESERVE_LABEL, reserve_pod_annotations
from rulebook.reserve import Reserve

from .kube.accessing import DEPLOYMENTS, REVISIONS

SERVICE_LABEL = "serving.knative.dev/service"
CONFIGURATION_LABEL = "serving.knative.dev/configuration"
REVISION_LABEL = "serving.knative.dev/revision"
REVISION_UID_LABEL = "serving.knative.dev/revisionUID"
ROLE_LABEL = "serving.coldbrew.dev/role"
DEFAULT_PORT = 8080


def deployment_name(revision: str, reserve: bool = False) -> str:
    return f"{revision}-deployment" + ("-reserve" if reserve else "")


def initial_replicas(template: RevisionTemplate, config: AutoscalerConfig) -> int:
    """The standard Deployment's replicas at creation (:mod:`rulebook.scale_bounds`)."""
    s = template.scaling
    return scale_bounds.initial_replicas(
        resolved_min=scale_bounds.min_scale(s.min_scale, config.min_scale),
        resolved_initial=scale_bounds.initial_scale(
            s.initial_scale, config.initial_scale, allow_zero=config.allow_zero_initial_scale
        ),
    )


def _container(
    out: dict[str, Any], template: RevisionTemplate, service: str, revision: str
) -> dict[str, Any]:
    """The serving container ``out`` (model-made or as written) with Knative's additions."""
    port = template.container.port or DEFAULT_PORT
    out["name"] = out.get("name") or "user-container"
    out["ports"] = [{"name": "user-port", "containerPort": port, "protocol": "TCP"}]
    env = [e for e in out.get("env", []) if e["name"] != "PORT"]
    env += [
        {"name": "PORT", "value": str(port)},
        {"name": "K_REVISION", "value": revision},
        {"name": "K_CONFIGURATION", "value": service},
        {"name": "K_SERVICE", "value": service},
    ]
    out["env"] = env
    for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
        probe = out.get(kind)
        for handler in ("httpGet", "tcpSocket"):
            if probe is not None and handler in probe:
                probe[handler].setdefault("port", port)
    return out


def pod_spec(template: RevisionTemplate, service: str, revision: str) -> dict[str, Any]:
    """The pod template's spec: the pod spec as written (``raw_spec``) or the model's,
    with Knative's additions to the serving container and coldbrew's pod defaults."""
    spec: dict[str, Any] = {
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": template.timeout_seconds,
    }
    if template.raw_spec is None:
        containers = [_container(template.container.to_dict(), template, service, revision)]
        if template.volumes:
            spec["volumes"] = template.revision_spec()["volumes"]
    else:
        raw = copy.deepcopy(template.raw_spec)
        for key in REVISION_FIELDS:
            raw.pop(key, None)
        containers = raw.pop("containers")
        index = serving_index(containers)
        containers[index] = _container(containers[index], template, service, revision)
        spec.update(raw)
    return {"containers": containers, **spec}


def build_deployment(
    revision: dict[str, Any],
    template: RevisionTemplate,
    *,
    replicas: int,
    reserve: Reserve[InstanceType] | None = None,
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
    spec = pod_spec(template, service, name)
    container = spec["containers"][serving_index(spec["containers"])]
    if reserve is not None:
        instance = reserve.instance
        labels[RESERVE_LABEL] = "true"
        pod_annotations.update(
            reserve_pod_annotations(
                instance=instance.name,
                cpu=instance.cpu,
                memory_gib=instance.memory_gib,
                use_specs=reserve.use_specs,
            )
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
                "spec": spec,
            },
        },
    }

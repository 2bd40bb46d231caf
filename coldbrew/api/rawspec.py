"""Cluster mode's pod spec as written: what the model holds, and what it keeps raw.

In cluster mode coldbrew does not run the pod: Kubernetes does. Every field Knative's
masks let through (:mod:`coldbrew.api.features`) must reach the Deployment exactly as
written, also those the model (:class:`coldbrew.api.model.Container`) does not hold:
``envFrom``, env ``valueFrom``, volumes and mounts, liveness/startup probes, sidecars,
``securityContext``, ``imagePullSecrets``, ``serviceAccountName``...

:func:`project` is the part of a raw pod spec the model holds (the serving container's
modelled fields); the validator parses that part as it always has. When the projection is
not the whole spec, :class:`~coldbrew.api.model.RevisionTemplate` keeps the raw spec
(``raw_spec``): the Revision object and the Deployment are made from it. A spec the model
holds entirely keeps no raw copy, so its revision (and template hash) is unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from typing import Any

from .checks import join
from .containers import CONTAINER_FIELDS, parse_container
from .errors import ValidationError, missing_field

# Knative's revision fields beside the pod spec (not written to a pod).
REVISION_FIELDS = (
    "containerConcurrency",
    "timeoutSeconds",
    "responseStartTimeoutSeconds",
    "idleTimeoutSeconds",
)


def serving_index(containers: list[Any]) -> int:
    """The serving container: the one with ``ports`` (Knative), else the first."""
    for index, c in enumerate(containers):
        if isinstance(c, dict) and c.get("ports"):
            return index
    return 0


def check_ports(containers: list[Any], path: str) -> None:
    """Knative's rule across containers: with sidecars, exactly one port in all."""
    count = sum(len(c.get("ports") or []) for c in containers if isinstance(c, dict))
    if count == 0 and len(containers) > 1:
        raise missing_field(join(path, "containers[*].ports"))
    if count > 1 and len(containers) > 1:
        raise ValidationError(
            join(path, "containers[*].ports"),
            "more than one container port is set",
            "Only a single port is allowed across all containers",
        )


def check_names(containers: list[Any], path: str) -> None:
    seen: set[Any] = set()
    for index, c in enumerate(containers):
        name = c.get("name") if isinstance(c, dict) else None
        if name in seen:
            raise ValidationError(
                f"{join(path, 'containers')}[{index}].name", f'duplicate container name "{name}"'
            )
        seen.add(name)


def project_container(c: Any) -> Any:
    """The modelled part of one container (a non-mapping is returned for the validator)."""
    if not isinstance(c, dict):
        return c
    out = {k: copy.deepcopy(v) for k, v in c.items() if k in CONTAINER_FIELDS}
    return out


def project(pod: dict[str, Any], pod_fields: Collection[str]) -> dict[str, Any]:
    """The part of a raw pod spec the model holds: the serving container and the pod keys
    the validator parses (``pod_fields``), each container key the validator parses."""
    out = {k: copy.deepcopy(v) for k, v in pod.items() if k in pod_fields}
    containers = pod.get("containers")
    if isinstance(containers, list) and containers:
        out["containers"] = [project_container(containers[serving_index(containers)])]
    return out


def split_raw(
    pod: dict[str, Any], path: str, pod_fields: Collection[str]
) -> tuple[dict[str, Any], dict[str, Any] | None, int]:
    """``(projection, raw spec or None, serving container index)`` of a gated pod spec.

    Sidecars are checked here (Knative's port and name rules, and each container's
    modelled fields as the serving one's); the projection is parsed by the caller.
    """
    containers = pod.get("containers")
    index = 0
    if isinstance(containers, list) and containers:
        index = serving_index(containers)
        check_ports(containers, path)
        check_names(containers, path)
        for i, c in enumerate(containers):
            if i != index:
                parse_container(project_container(c), f"{join(path, 'containers')}[{i}]")
    projection = project(pod, pod_fields)
    return projection, (None if projection == pod else copy.deepcopy(pod)), index

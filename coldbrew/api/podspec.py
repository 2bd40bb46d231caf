"""The pod-level parts of ``spec.template.spec``: its containers and pod-wide settings.

Knative's multi-container rules: with several containers, exactly one has a ``ports`` entry
(the serving container), the others are sidecars; every container is named, names unique.
Pod-wide: ``terminationGracePeriodSeconds`` (Kubernetes' default 30 s applies when unset),
``securityContext`` (see :mod:`coldbrew.api.security`), ``imagePullSecrets`` (names of
``kubernetes.io/dockerconfigjson`` Secrets) and ``serviceAccountName`` (stored; locally it has
no effect).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .checks import check_keys, get_int, get_list, get_mappings, get_str, is_dns1123_label, join
from .containers import parse_container
from .errors import ValidationError, invalid_value, missing_field
from .model import Container, SecurityContext
from .security import parse_security

MAX_GRACE = 2**63 - 1
POD_FIELDS = (
    "terminationGracePeriodSeconds",
    "securityContext",
    "imagePullSecrets",
    "serviceAccountName",
)
ONE_PORT = "exactly one container must have a port"


@dataclass(frozen=True, slots=True)
class PodParts:
    container: Container
    sidecars: tuple[Container, ...]
    serving_index: int
    termination_grace_period_seconds: int | None
    security_context: SecurityContext | None
    image_pull_secrets: tuple[str, ...]
    service_account_name: str | None


def parse_containers(
    pod: dict[str, Any], spec_path: str
) -> tuple[Container, tuple[Container, ...], int]:
    """(serving container, sidecars in order, the serving container's index)."""
    field = join(spec_path, "containers")
    containers = get_list(pod, "containers", spec_path)
    if not containers:
        raise missing_field(field)
    if len(containers) == 1:
        return parse_container(containers[0], f"{field}[0]"), (), 0
    serving = [i for i, c in enumerate(containers) if isinstance(c, dict) and c.get("ports")]
    if not serving:
        raise ValidationError(field, ONE_PORT, "set ports on the serving container only")
    if len(serving) > 1:
        raise ValidationError(f"{field}[{serving[1]}].ports", ONE_PORT, "the others are sidecars")
    parsed: list[Container] = []
    names: set[str] = set()
    for index, obj in enumerate(containers):
        where = f"{field}[{index}]"
        c = parse_container(obj, where, sidecar=index != serving[0])
        if c.name is None:
            raise missing_field(
                join(where, "name"), "every container is named when there are several"
            )
        if c.name in names:
            raise ValidationError(join(where, "name"), f'duplicate container name "{c.name}"')
        names.add(c.name)
        parsed.append(c)
    index = serving[0]
    return parsed[index], tuple(parsed[:index] + parsed[index + 1 :]), index


def parse_pod(pod: dict[str, Any], spec_path: str) -> PodParts:
    container, sidecars, index = parse_containers(pod, spec_path)
    grace = get_int(pod, "terminationGracePeriodSeconds", spec_path, 0, MAX_GRACE)
    account = get_str(pod, "serviceAccountName", spec_path) or None
    if account is not None and not is_dns1123_label(account.replace(".", "-")):
        raise invalid_value(
            account, join(spec_path, "serviceAccountName"), "must be a DNS-1123 subdomain"
        )
    return PodParts(
        container=container,
        sidecars=sidecars,
        serving_index=index,
        termination_grace_period_seconds=grace,
        security_context=parse_security(pod, spec_path, pod=True),
        image_pull_secrets=_pull_secrets(pod, spec_path),
        service_account_name=account,
    )


def _pull_secrets(pod: dict[str, Any], spec_path: str) -> tuple[str, ...]:
    out: list[str] = []
    for where, item in get_mappings(pod, "imagePullSecrets", spec_path):
        check_keys(item, ("name",), where)
        name = get_str(item, "name", where, required=True) or ""
        if not is_dns1123_label(name.replace(".", "-")):
            raise invalid_value(name, join(where, "name"), "must be a DNS-1123 subdomain")
        out.append(name)
    return tuple(out)

"""Validate ``securityContext`` of a container and of the pod, as far as Knative allows.

Container: ``runAsUser``, ``runAsGroup``, ``runAsNonRoot``, ``readOnlyRootFilesystem``,
``allowPrivilegeEscalation``, ``capabilities`` (``drop`` anything, ``add`` only
``NET_BIND_SERVICE``, as Knative's webhook) and ``seccompProfile``. Pod: ``runAsUser``,
``runAsGroup``, ``runAsNonRoot``, ``seccompProfile``, ``fsGroup``, ``supplementalGroups``
(Knative's ``kubernetes.podspec-securitycontext`` fields). Everything else (``privileged``,
``procMount``, ``seLinuxOptions``...) is refused naming the field.
"""

from __future__ import annotations

import re
from typing import Any

from .checks import check_keys, get_bool, get_int, get_list, get_mapping, get_str, join
from .errors import ValidationError, invalid_value, missing_field, wrong_type
from .model import SecurityContext

MAX_INT64 = 2**63 - 1
CONTAINER_FIELDS = (
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "readOnlyRootFilesystem",
    "allowPrivilegeEscalation",
    "capabilities",
    "seccompProfile",
)
CONTAINER_REFUSED = (
    "privileged",
    "procMount",
    "seLinuxOptions",
    "windowsOptions",
    "appArmorProfile",
)
POD_FIELDS = (
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "seccompProfile",
    "fsGroup",
    "supplementalGroups",
)
POD_REFUSED = ("seLinuxOptions", "sysctls", "windowsOptions", "fsGroupChangePolicy")
ALLOWED_ADD = ("NET_BIND_SERVICE",)
SECCOMP_TYPES = ("RuntimeDefault", "Unconfined", "Localhost")
_CAPABILITY = re.compile(r"[A-Z][A-Z0-9_]*")


def parse_security(obj: dict[str, Any], path: str, pod: bool = False) -> SecurityContext | None:
    """``obj["securityContext"]`` validated, or None when absent."""
    sc = get_mapping(obj, "securityContext", path)
    if sc is None:
        return None
    where = join(path, "securityContext")
    if pod:
        check_keys(sc, POD_FIELDS, where, POD_REFUSED)
    else:
        check_keys(sc, CONTAINER_FIELDS, where, CONTAINER_REFUSED)
    user = get_int(sc, "runAsUser", where, 0, MAX_INT64)
    group = get_int(sc, "runAsGroup", where, 0, MAX_INT64)
    non_root = get_bool(sc, "runAsNonRoot", where)
    if non_root and user == 0:
        raise invalid_value(
            user, join(where, "runAsUser"), "runAsNonRoot is set: runAsUser must not be 0"
        )
    add: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    if not pod:
        add, drop = _capabilities(sc, where)
        escalation = get_bool(sc, "allowPrivilegeEscalation", where)
        read_only = get_bool(sc, "readOnlyRootFilesystem", where)
    else:
        escalation = read_only = None
        get_int(sc, "fsGroup", where, 0, MAX_INT64)
        for index, gid in enumerate(get_list(sc, "supplementalGroups", where) or []):
            if isinstance(gid, bool) or not isinstance(gid, int) or gid < 0:
                raise wrong_type(gid, "a group id", f"{join(where, 'supplementalGroups')}[{index}]")
    seccomp, localhost = _seccomp(sc, where)
    return SecurityContext(
        run_as_user=user,
        run_as_group=group,
        run_as_non_root=non_root,
        read_only_root_filesystem=read_only,
        allow_privilege_escalation=escalation,
        capabilities_add=add,
        capabilities_drop=drop,
        seccomp_profile=seccomp,
        seccomp_localhost_profile=localhost,
        raw=dict(sc),
    )


def _capabilities(sc: dict[str, Any], where: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    caps = get_mapping(sc, "capabilities", where)
    if caps is None:
        return (), ()
    at = join(where, "capabilities")
    check_keys(caps, ("add", "drop"), at)
    out: dict[str, tuple[str, ...]] = {}
    for key in ("add", "drop"):
        names = []
        for index, name in enumerate(get_list(caps, key, at) or []):
            field = f"{join(at, key)}[{index}]"
            if not isinstance(name, str) or not _CAPABILITY.fullmatch(name.removeprefix("CAP_")):
                raise invalid_value(name, field, "must be a capability name such as NET_RAW")
            name = name.removeprefix("CAP_")
            if key == "add" and name not in ALLOWED_ADD:
                raise ValidationError(
                    field,
                    f"capability {name} may not be added",
                    "only NET_BIND_SERVICE may be added (as Knative allows)",
                )
            names.append(name)
        out[key] = tuple(names)
    return out["add"], out["drop"]


def _seccomp(sc: dict[str, Any], where: str) -> tuple[str | None, str | None]:
    profile = get_mapping(sc, "seccompProfile", where)
    if profile is None:
        return None, None
    at = join(where, "seccompProfile")
    check_keys(profile, ("type", "localhostProfile"), at)
    kind = get_str(profile, "type", at, required=True)
    if kind not in SECCOMP_TYPES:
        raise invalid_value(
            kind, join(at, "type"), 'must be "RuntimeDefault", "Unconfined" or "Localhost"'
        )
    localhost = get_str(profile, "localhostProfile", at)
    if kind == "Localhost" and not localhost:
        raise missing_field(join(at, "localhostProfile"), "required when type is Localhost")
    if kind != "Localhost" and localhost is not None:
        raise ValidationError(
            join(at, "localhostProfile"), "may only be set when type is Localhost"
        )
    return kind, localhost

"""A container's ``securityContext`` as Docker Engine API create-body fields.

``runAsUser``/``runAsGroup`` -> ``User`` (``uid[:gid]``; a group alone keeps the image's user:
``Config.User`` of the image, else root), ``readOnlyRootFilesystem`` -> ``HostConfig.
ReadonlyRootfs``, ``capabilities`` -> ``CapDrop``/``CapAdd``, ``allowPrivilegeEscalation``
-> ``no-new-privileges`` (set unless it is explicitly true), ``seccompProfile`` ->
``seccomp=unconfined`` or ``seccomp=<localhost profile path>`` (RuntimeDefault: the engine's).
``runAsNonRoot`` is checked against the user the container will run as (:func:`non_root_refusal`).
"""

from __future__ import annotations

from typing import Any

from coldbrew.runtime.container_specs import SecuritySpec
from coldbrew.runtime.identity import NON_ROOT


def user_field(security: SecuritySpec | None, image_user: str = "") -> str | None:
    """``Config.User`` for the container (None: the image's)."""
    if security is None or (security.run_as_user is None and security.run_as_group is None):
        return None
    user = security.run_as_user
    name = str(user) if user is not None else (image_user.split(":", 1)[0] or "0")
    return name if security.run_as_group is None else f"{name}:{security.run_as_group}"


def host_config(security: SecuritySpec | None) -> dict[str, Any]:
    """HostConfig fields: ReadonlyRootfs, CapAdd, CapDrop, SecurityOpt."""
    options = ["no-new-privileges"]
    if security is None:
        return {"CapAdd": [], "SecurityOpt": options}
    if security.allow_privilege_escalation is True:
        options = []
    if security.seccomp_profile == "Unconfined":
        options.append("seccomp=unconfined")
    elif security.seccomp_profile == "Localhost" and security.seccomp_localhost_profile:
        options.append(f"seccomp={security.seccomp_localhost_profile}")
    out: dict[str, Any] = {
        "CapAdd": list(security.capabilities_add),
        "SecurityOpt": options,
        "ReadonlyRootfs": security.read_only_root_filesystem,
    }
    if security.capabilities_drop:
        out["CapDrop"] = list(security.capabilities_drop)
    return out


def runs_as_root(user: str) -> bool:
    """Whether ``Config.User`` (``""``, ``name``, ``uid``, ``uid:gid``) is root or may be."""
    name = user.split(":", 1)[0]
    return name in ("", "0", "root")


def non_root_refusal(security: SecuritySpec | None, image_user: str, container: str) -> str | None:
    """Kubernetes' CreateContainerConfigError message for runAsNonRoot over a root user.

    A user given by name (not a uid) counts as root unless it is a uid, as the kubelet
    refuses to verify non-numeric users.
    """
    if security is None or not security.run_as_non_root:
        return None
    user = user_field(security, image_user) or image_user
    name = user.split(":", 1)[0]
    if runs_as_root(user):
        return f"{NON_ROOT} (container: {container})"
    if not name.isdigit():
        return (
            f"container has runAsNonRoot and image has non-numeric user ({name}), "
            f"cannot verify user is non-root (container: {container})"
        )
    return None

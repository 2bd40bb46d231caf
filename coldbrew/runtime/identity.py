"""Which user and group a process pod runs as (``securityContext`` runAsUser/runAsGroup).

When coldbrew runs as root the child switches to them before ``exec`` (``setgroups``,
``setgid``, ``setuid``, in that order). Otherwise it can only run pods as itself: a
``runAsUser``/``runAsGroup`` that differs is refused with a message saying so, as is
``runAsNonRoot`` when the pod would run as root (Kubernetes' ``CreateContainerConfigError``).
The other fields (readOnlyRootFilesystem, capabilities, seccomp, privilege escalation) need a
container: the process runtime does not enforce them (the README says so).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from coldbrew.runtime.container_specs import SecuritySpec

NON_ROOT = "container has runAsNonRoot and image will run as root"


def refusal(security: SecuritySpec | None, container: str) -> str | None:
    """Why a process pod cannot honour ``security`` (None: it can)."""
    if security is None:
        return None
    uid, gid = os.getuid(), os.getgid()
    user = uid if security.run_as_user is None else security.run_as_user
    if security.run_as_non_root and user == 0:
        return f"{NON_ROOT} (pod: , container: {container})"
    if uid != 0:
        for field, want, have in (
            ("runAsUser", security.run_as_user, uid),
            ("runAsGroup", security.run_as_group, gid),
        ):
            if want is not None and want != have:
                return (
                    f"securityContext.{field}: {want} cannot be honoured: coldbrew runs as "
                    f"uid {uid} gid {gid} and can switch to another user only as root"
                )
    return None


def switch_user(security: SecuritySpec | None) -> Callable[[], None] | None:
    """The child's preexec step that becomes the pod's user and group (None: stay as is)."""
    if security is None or os.getuid() != 0:
        return None
    user, group = security.run_as_user, security.run_as_group
    if user is None and group is None:
        return None

    def switch() -> None:
        if group is not None:
            os.setgroups([group])
            os.setgid(group)
        elif user is not None:
            os.setgroups([])
        if user is not None:
            os.setuid(user)

    return switch


def chain(*steps: Callable[[], None] | None) -> Callable[[], None] | None:
    """One preexec function running ``steps`` in order (None if there are none)."""
    todo = [s for s in steps if s is not None]
    if not todo:
        return None
    if len(todo) == 1:
        return todo[0]

    def run() -> None:
        for step in todo:
            step()

    return run

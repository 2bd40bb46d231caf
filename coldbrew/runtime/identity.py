"""Which user and group a process pod runs as (``--pod-user``, ``securityContext``).

When coldbrew runs as root, pods run as the pod user (``coldbrew serve --pod-user``,
default ``nobody``, 65534:65534; ``--pod-user root`` runs them as root), which
``runAsUser``/``runAsGroup`` override per container. The child switches to them before ``exec``
(``setgroups``, ``setgid``, ``setuid``, in that order), after entering a private mount
namespace (``confinement``) in which the interpreter, the coldbrew package, the image map's
directory, the working dir and the pod's home are reachable and root's home and the state
dir are hidden. Main process, process sidecars, exec probes and hooks all go through
:class:`Identity`. Otherwise (not root) it can only run pods as itself: a
``runAsUser``/``runAsGroup`` that differs is refused with a message saying so, as is
``runAsNonRoot`` when the pod would run as root (Kubernetes' ``CreateContainerConfigError``).
The other fields (readOnlyRootFilesystem, capabilities, seccomp, privilege escalation) need a
container: the process runtime does not enforce them (the README says so).
"""

from __future__ import annotations

import grp
import os
import pwd
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from coldbrew.runtime import confinement
from coldbrew.runtime.container_specs import SecuritySpec
from coldbrew.runtime.launch import COLDBREW_ROOT

NON_ROOT = "container has runAsNonRoot and image will run as root"


@dataclass(frozen=True)
class PodUser:
    uid: int
    gid: int


NOBODY = PodUser(65534, 65534)


def parse_pod_user(text: str) -> PodUser:
    """``USER[:GROUP]``, names or numbers; no group: the user's primary group (else its uid)."""
    user, _, group = text.partition(":")
    try:
        entry = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
    except KeyError:
        if not user.isdigit():
            raise ValueError(f"--pod-user: no such user {user!r}") from None
        uid, gid = int(user), int(user)
    else:
        uid, gid = entry.pw_uid, entry.pw_gid
    if group:
        try:
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
        except KeyError:
            raise ValueError(f"--pod-user: no such group {group!r}") from None
    return PodUser(uid, gid)


def serve_pod_user(text: str | None) -> PodUser | None:
    """What ``--pod-user`` means here: None when not root (pods run as coldbrew's user)."""
    if os.getuid() != 0:
        if text is not None and parse_pod_user(text) != PodUser(os.getuid(), os.getgid()):
            raise ValueError("--pod-user: coldbrew can run pods as another user only as root")
        return None
    return NOBODY if text is None else parse_pod_user(text)


class Identity:
    """Who a pod's processes run as, and what they see when that is not coldbrew's user.

    ``default``: the pod user (None: coldbrew's own); ``needs``: paths every process of the
    pod must reach (interpreter, packages, image map dir); ``home``: the pod's own ``HOME``,
    made on first use and owned by the user.
    """

    def __init__(
        self, default: PodUser | None = None, needs: Sequence[str] = (), home: Path | None = None
    ) -> None:
        self.default, self.needs, self.home = default, tuple(needs), home
        self._plans: dict[tuple[int, int, tuple[str, ...]], confinement.MountPlan] = {}

    def target(self, security: SecuritySpec | None) -> tuple[int | None, int | None] | None:
        """(uid, gid) to switch to (None in either: keep it); None: stay as coldbrew."""
        if os.getuid() != 0:
            return None
        user = security.run_as_user if security else None
        group = security.run_as_group if security else None
        if self.default is not None:
            user = self.default.uid if user is None else user
            group = self.default.gid if group is None else group
        if user is None and group is None:
            return None
        if (user, group) == (os.getuid(), os.getgid()) and not (security and security.run_as_user):
            return None
        return user, group

    def refusal(self, security: SecuritySpec | None, container: str) -> str | None:
        """Why a process pod cannot honour ``security`` (None: it can)."""
        uid, gid = os.getuid(), os.getgid()
        default = self.default.uid if self.default is not None else uid
        if security is None:
            return None
        user = default if security.run_as_user is None else security.run_as_user
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

    def env(self, security: SecuritySpec | None, env: dict[str, str]) -> dict[str, str]:
        """``env`` with ``HOME`` the pod's own directory when it runs as another user."""
        target = self.target(security)
        if target is None or self.home is None or target[0] in (None, os.getuid()):
            return env
        uid, gid = target[0], os.getgid() if target[1] is None else target[1]
        self.home.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.home.mkdir(exist_ok=True, mode=0o700)
        os.chown(self.home, uid, gid)
        return {**env, "HOME": str(self.home)}

    def preexec(
        self, security: SecuritySpec | None, paths: Iterable[str | Path | None] = ()
    ) -> Callable[[], None] | None:
        """The child's step: confine (when the user cannot reach ``needs`` and ``paths``),
        then become the pod's user and group (None: stay as is)."""
        target = self.target(security)
        if target is None:
            return None
        user, group = target
        confine = None
        if user not in (None, 0):
            gids = (os.getgid() if group is None else group,)
            wanted = (*self.needs, *(str(p) for p in paths if p), str(self.home or ""))
            key = (user, gids[0], wanted)
            if key not in self._plans:
                self._plans[key] = confinement.plan(wanted, user, gids)
            if self._plans[key]:
                confine = confinement.confine(self._plans[key])

        def switch() -> None:
            if confine is not None:
                try:
                    confine()
                except OSError as exc:
                    os.write(2, f"coldbrew: cannot confine the pod: {exc}\n".encode())
                    os._exit(126)
            if group is not None:
                os.setgroups([group])
                os.setgid(group)
            elif user is not None:
                os.setgroups([])
            if user is not None:
                os.setuid(user)

        return switch


def needed_paths(python: str, *dirs: Path | None) -> tuple[str, ...]:
    """What every process pod must reach: the interpreter and its prefixes, this process's
    import path (the editable install's sources too), the coldbrew package, ``dirs``."""
    paths = [python, sys.prefix, sys.base_prefix, sys.exec_prefix, COLDBREW_ROOT]
    paths += [p for p in sys.path if os.path.isabs(p)]
    for finder in sys.meta_path:  # an editable install's mapping of packages to sources
        mapping = getattr(sys.modules.get(getattr(finder, "__module__", "")), "MAPPING", None)
        if isinstance(mapping, dict):
            paths += [os.path.dirname(str(v)) for v in mapping.values()]
    paths += [str(d) for d in dirs if d is not None]
    return tuple(dict.fromkeys(p for p in paths if os.path.exists(p)))


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

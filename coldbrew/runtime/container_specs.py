"""Value types of a container's lifecycle and security settings (see ``specs``).

Both runtimes read them: containers hand them to the engine (``containers.creating``),
processes honour the user and group (``identity``) and run hooks and exec probes as processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class HookSpec:
    """``lifecycle.preStop``: ``http`` (GET ``scheme://host:port/path``), ``exec`` or ``sleep``."""

    kind: Literal["http", "exec", "sleep"]
    path: str = "/"
    port: int | None = None
    host: str | None = None
    scheme: str = "HTTP"
    headers: tuple[tuple[str, str], ...] = ()
    command: tuple[str, ...] = ()
    seconds: float = 0


@dataclass(frozen=True, slots=True)
class SecuritySpec:
    """The container's effective ``securityContext`` (the pod's values filled in)."""

    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    read_only_root_filesystem: bool = False
    allow_privilege_escalation: bool | None = None
    capabilities_add: tuple[str, ...] = ()
    capabilities_drop: tuple[str, ...] = ()
    seccomp_profile: str | None = None  # RuntimeDefault, Unconfined, Localhost
    seccomp_localhost_profile: str | None = None

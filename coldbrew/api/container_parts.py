"""The parts of a container in the API model: probes, lifecycle handlers, security contexts.

Immutable, validated values (see :mod:`coldbrew.api.probes` and :mod:`coldbrew.api.security`),
re-exported by :mod:`coldbrew.api.model`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Probe:
    """A readiness, liveness or startup probe. ``period_seconds == 0`` (readiness only) is
    Knative's aggressive startup probing.

    ``port`` None means "the serving container port". ``path`` is ``""`` for tcp.
    ``host``/``scheme``/``headers``: httpGet; ``command``: exec; ``service``: grpc.
    """

    kind: Literal["http", "tcp", "exec", "grpc"]
    path: str
    port: int | None
    period_seconds: int
    timeout_seconds: int
    failure_threshold: int
    success_threshold: int
    initial_delay_seconds: int
    host: str | None = None
    scheme: str = "HTTP"
    headers: tuple[tuple[str, str], ...] = ()
    command: tuple[str, ...] = ()
    service: str | None = None

    def handler_dict(self) -> dict[str, Any]:
        """``{"httpGet": {...}}`` and friends: the handler as Kubernetes writes it."""
        return handler_dict(self)

    def to_dict(self) -> dict[str, Any]:
        """Kubernetes-shaped probe."""
        out = self.handler_dict()
        out.update(
            periodSeconds=self.period_seconds,
            timeoutSeconds=self.timeout_seconds,
            failureThreshold=self.failure_threshold,
            successThreshold=self.success_threshold,
            initialDelaySeconds=self.initial_delay_seconds,
        )
        return out


@dataclass(frozen=True, slots=True)
class Handler:
    """A ``lifecycle.preStop`` handler: ``http`` (httpGet), ``exec`` or ``sleep`` (seconds)."""

    kind: Literal["http", "exec", "sleep"]
    path: str = ""
    port: int | None = None
    host: str | None = None
    scheme: str = "HTTP"
    headers: tuple[tuple[str, str], ...] = ()
    command: tuple[str, ...] = ()
    seconds: int = 0

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "sleep":
            return {"sleep": {"seconds": self.seconds}}
        return handler_dict(self)


def handler_dict(h: Probe | Handler) -> dict[str, Any]:
    """The Kubernetes handler of a probe or a lifecycle hook (only the fields that are set)."""
    if h.kind == "exec":
        return {"exec": {"command": list(h.command)}}
    body: dict[str, Any] = {} if h.port is None else {"port": h.port}
    if h.kind == "grpc":
        if isinstance(h, Probe) and h.service is not None:
            body["service"] = h.service
        return {"grpc": body}
    if h.kind == "tcp":
        if h.host is not None:
            body["host"] = h.host
        return {"tcpSocket": body}
    body = {"path": h.path, **body}
    if h.host is not None:
        body["host"] = h.host
    if h.scheme != "HTTP":
        body["scheme"] = h.scheme
    if h.headers:
        body["httpHeaders"] = [{"name": k, "value": v} for k, v in h.headers]
    return {"httpGet": body}


@dataclass(frozen=True, slots=True)
class SecurityContext:
    """A container's (or the pod's) ``securityContext``; None = not set.

    ``raw`` is the object as written (normalized), for output.
    """

    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    read_only_root_filesystem: bool | None = None
    allow_privilege_escalation: bool | None = None
    capabilities_add: tuple[str, ...] = ()
    capabilities_drop: tuple[str, ...] = ()
    seccomp_profile: str | None = None  # "RuntimeDefault", "Unconfined" or "Localhost"
    seccomp_localhost_profile: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def over(self, pod: SecurityContext | None) -> SecurityContext:
        """This container context with the pod's values where the container sets none."""
        if pod is None:
            return self

        def pick(mine: Any, theirs: Any) -> Any:
            return theirs if mine is None else mine

        return SecurityContext(
            run_as_user=pick(self.run_as_user, pod.run_as_user),
            run_as_group=pick(self.run_as_group, pod.run_as_group),
            run_as_non_root=pick(self.run_as_non_root, pod.run_as_non_root),
            read_only_root_filesystem=self.read_only_root_filesystem,
            allow_privilege_escalation=self.allow_privilege_escalation,
            capabilities_add=self.capabilities_add,
            capabilities_drop=self.capabilities_drop,
            seccomp_profile=pick(self.seccomp_profile, pod.seccomp_profile),
            seccomp_localhost_profile=pick(
                self.seccomp_localhost_profile, pod.seccomp_localhost_profile
            ),
            raw=self.raw,
        )

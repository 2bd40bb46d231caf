"""Validate a container's ``readinessProbe``, ``livenessProbe`` and ``startupProbe``.

As Kubernetes and Knative validate them:

* exactly one handler: ``httpGet`` (path, port, host, scheme HTTP/HTTPS, httpHeaders),
  ``tcpSocket`` (port, host), ``exec`` (command) or ``grpc`` (port, service);
* the serving container's probes may name only its own port (or omit it); a sidecar's probes
  name their own port, which is required (Knative multi-container probing);
* ``successThreshold`` must be 1 for liveness and startup probes;
* readiness ``periodSeconds: 0`` is Knative's aggressive startup probing (no timeout nor
  failure threshold); liveness and startup probes default as Kubernetes (period 10 s).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from .checks import (
    check_keys,
    get_int,
    get_mapping,
    get_mappings,
    get_str,
    join,
    string_list,
)
from .errors import ValidationError, invalid_value, missing_field, out_of_bounds, wrong_type
from .model import Handler, Probe

MAX_INT32 = 2**31 - 1
ProbeRole = Literal["readinessProbe", "livenessProbe", "startupProbe"]
HANDLERS = ("httpGet", "tcpSocket", "exec", "grpc")
PROBE_FIELDS = (
    *HANDLERS,
    "periodSeconds",
    "timeoutSeconds",
    "failureThreshold",
    "successThreshold",
    "initialDelaySeconds",
)
_HEADER_NAME = re.compile(r"[-A-Za-z0-9!#$%&'*+.^_`|~]+")
KIND = {"httpGet": "http", "tcpSocket": "tcp", "exec": "exec", "grpc": "grpc"}


class PortRule:
    """Which ports a container's probes and hooks may name.

    ``serving_port`` set: the serving container (its port, its port name, or omitted);
    None: a sidecar (any port, but one must be given).
    """

    def __init__(self, serving_port: int | None, port_name: str = "") -> None:
        self.serving_port, self.port_name = serving_port, port_name

    def check(self, value: Any, field: str) -> int | None:
        if value is None or value == 0:
            if self.serving_port is None:
                raise missing_field(field, "a sidecar's probe must name its port")
            return None
        if isinstance(value, str):
            if self.port_name and value == self.port_name:
                return None
            raise invalid_value(value, field, "Probe port must match container port")
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong_type(value, "an integer or a port name", field)
        if not 1 <= value <= 65535:
            raise out_of_bounds(value, 1, 65535, field)
        if self.serving_port is not None and value != self.serving_port:
            raise invalid_value(
                value, field, f"Probe port must match container port ({self.serving_port})"
            )
        return value


def parse_probe(obj: dict[str, Any], role: ProbeRole, path: str, ports: PortRule) -> Probe | None:
    """``obj[role]`` validated, or None when absent."""
    where = join(path, role)
    probe = get_mapping(obj, role, path)
    if probe is None:
        return None
    check_keys(probe, PROBE_FIELDS, where, ("terminationGracePeriodSeconds",))
    kind, handler = _one_handler(probe, where, HANDLERS)
    h = _handler(kind, handler, join(where, kind), ports)
    period = get_int(probe, "periodSeconds", where, 0, MAX_INT32)
    initial = get_int(probe, "initialDelaySeconds", where, 0, MAX_INT32) or 0
    success = get_int(probe, "successThreshold", where, 1, MAX_INT32) or 1
    timeout = get_int(probe, "timeoutSeconds", where, 0, MAX_INT32)
    failure = get_int(probe, "failureThreshold", where, 0, MAX_INT32)
    if role != "readinessProbe":
        if success != 1:
            raise invalid_value(success, join(where, "successThreshold"), "must be 1")
        if period is not None and period < 1:
            raise out_of_bounds(period, 1, MAX_INT32, join(where, "periodSeconds"))
        period = 10 if period is None else period
    period = period or 0
    if period == 0:
        # Knative's aggressive startup probing: no timeout/failure threshold.
        for key, value in (("failureThreshold", failure), ("timeoutSeconds", timeout)):
            if value:
                raise ValidationError(
                    join(where, key), f"{key} is disallowed when periodSeconds is zero"
                )
        timeout = failure = 0
    else:
        timeout = 1 if timeout is None else timeout
        failure = 3 if failure is None else failure
        if timeout < 1:
            raise out_of_bounds(timeout, 1, MAX_INT32, join(where, "timeoutSeconds"))
        if failure < 1:
            raise out_of_bounds(failure, 1, MAX_INT32, join(where, "failureThreshold"))
    return Probe(
        kind=KIND[kind],  # type: ignore[arg-type]
        path=h.path,
        port=h.port,
        period_seconds=period,
        timeout_seconds=timeout,
        failure_threshold=failure,
        success_threshold=success,
        initial_delay_seconds=initial,
        host=h.host,
        scheme=h.scheme,
        headers=h.headers,
        command=h.command,
        service=_grpc_service(handler, join(where, kind)) if kind == "grpc" else None,
    )


def parse_pre_stop(obj: dict[str, Any], path: str) -> Handler | None:
    """``lifecycle.preStop`` (httpGet, exec or sleep), or None. ``postStart`` is refused."""
    lifecycle = get_mapping(obj, "lifecycle", path)
    if lifecycle is None:
        return None
    where = join(path, "lifecycle")
    check_keys(lifecycle, ("preStop",), where, ("postStart", "stopSignal"))
    hook = get_mapping(lifecycle, "preStop", where)
    if hook is None:
        return None
    where = join(where, "preStop")
    kind, handler = _one_handler(hook, where, ("httpGet", "exec", "sleep", "tcpSocket"))
    if kind == "tcpSocket":
        raise ValidationError(join(where, kind), "tcpSocket is deprecated for lifecycle hooks")
    if kind == "sleep":
        check_keys(handler, ("seconds",), join(where, kind))
        seconds = get_int(handler, "seconds", join(where, kind), 1, MAX_INT32)
        if seconds is None:
            raise missing_field(join(join(where, kind), "seconds"))
        return Handler(kind="sleep", seconds=seconds)
    # a hook names its port, any port of the pod (Kubernetes does not tie it to the container's)
    h = _handler(kind, handler, join(where, kind), PortRule(None))
    return Handler(
        kind="exec" if kind == "exec" else "http",
        path=h.path,
        port=h.port,
        host=h.host,
        scheme=h.scheme,
        headers=h.headers,
        command=h.command,
    )


def _one_handler(
    obj: dict[str, Any], where: str, allowed: tuple[str, ...]
) -> tuple[str, dict[str, Any]]:
    present = [h for h in allowed if obj.get(h) is not None]
    listed = ", ".join(allowed[:-1]) + f" or {allowed[-1]}"
    if not present:
        raise ValidationError(where, "expected exactly one, got neither", f"set {listed}")
    if len(present) > 1:
        raise ValidationError(where, "expected exactly one, got both", f"set only one of {listed}")
    kind = present[0]
    return kind, get_mapping(obj, kind, where) or {}


def _handler(kind: str, handler: dict[str, Any], where: str, ports: PortRule) -> Handler:
    """The handler's fields (``kind`` of the result is meaningful only for exec)."""
    if kind == "exec":
        check_keys(handler, ("command",), where)
        command = string_list(handler.get("command"), join(where, "command"))
        if not command:
            raise missing_field(join(where, "command"))
        return Handler(kind="exec", command=command)
    if kind == "grpc":
        check_keys(handler, ("port", "service"), where)
        if handler.get("port") is None:
            raise missing_field(join(where, "port"))
        port = ports.check(handler.get("port"), join(where, "port"))
        return Handler(kind="http", port=port)  # kind fixed by the caller
    fields = ("path", "port", "host", "scheme", "httpHeaders") if kind == "httpGet" else ()
    check_keys(handler, fields or ("port", "host"), where)
    host = get_str(handler, "host", where) or None
    port = ports.check(handler.get("port"), join(where, "port"))
    if kind == "tcpSocket":
        return Handler(kind="http", path="", port=port, host=host)
    scheme = get_str(handler, "scheme", where) or "HTTP"
    if scheme not in ("HTTP", "HTTPS"):
        raise invalid_value(scheme, join(where, "scheme"), 'must be "HTTP" or "HTTPS"')
    path = get_str(handler, "path", where) or "/"
    return Handler(
        kind="http",
        path=path,
        port=port,
        host=host,
        scheme=scheme,
        headers=_headers(handler, where),
    )


def _headers(handler: dict[str, Any], where: str) -> tuple[tuple[str, str], ...]:
    out = []
    for at, item in get_mappings(handler, "httpHeaders", where):
        check_keys(item, ("name", "value"), at)
        name = get_str(item, "name", at, required=True) or ""
        if not _HEADER_NAME.fullmatch(name):
            raise invalid_value(name, join(at, "name"), "must be a valid HTTP header name")
        out.append((name, get_str(item, "value", at) or ""))
    return tuple(out)


def _grpc_service(handler: dict[str, Any], where: str) -> str | None:
    return get_str(handler, "service", where)

"""Validate ``spec.template.spec.containers[0]`` into a :class:`Container`."""

from __future__ import annotations

import re
from typing import Any

from .checks import (
    check_keys,
    get_int,
    get_list,
    get_mapping,
    get_str,
    is_dns1123_label,
    join,
    string_list,
)
from .errors import (
    ValidationError,
    disallowed_field,
    invalid_value,
    missing_field,
    out_of_bounds,
    wrong_type,
)
from .model import Container, Probe
from .resources import parse_resources

MAX_INT32 = 2**31 - 1
DEFAULT_PORT = 8080
# Knative's queue-proxy / profiling ports: 8008, 8012, 8013, 8022, 9090, 9091.
RESERVED_PORTS = frozenset({8008, 8012, 8013, 8022, 9090, 9091})
RESERVED_ENV = frozenset({"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"})
_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")

CONTAINER_FIELDS = (
    "name",
    "image",
    "command",
    "args",
    "env",
    "ports",
    "readinessProbe",
    "resources",
    "imagePullPolicy",
)
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
CONTAINER_UNSUPPORTED = (
    "envFrom",
    "lifecycle",
    "livenessProbe",
    "securityContext",
    "startupProbe",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "volumeMounts",
    "workingDir",
)
PROBE_FIELDS = (
    "httpGet",
    "tcpSocket",
    "periodSeconds",
    "timeoutSeconds",
    "failureThreshold",
    "successThreshold",
    "initialDelaySeconds",
)


def parse_container(obj: Any, path: str) -> Container:
    """Validate one serving container at ``path`` (e.g. ``spec.template.spec.containers[0]``)."""
    if not isinstance(obj, dict):
        raise wrong_type(obj, "a mapping", path)
    check_keys(obj, CONTAINER_FIELDS, path, CONTAINER_UNSUPPORTED)
    name = get_str(obj, "name", path)
    if name is not None:
        if not is_dns1123_label(name):
            raise invalid_value(name, join(path, "name"), "must be a DNS-1123 label")
        if name == "queue-proxy":
            raise ValidationError(join(path, "name"), f'"{name}" is a reserved container name')
    image = get_str(obj, "image", path, required=True)
    assert image is not None
    if image != image.strip() or any(ch.isspace() for ch in image):
        raise ValidationError(
            join(path, "image"),
            "Failed to parse image reference",
            f'image: "{image}", error: contains whitespace',
        )
    port, port_name = _port(obj, path)
    policy = get_str(obj, "imagePullPolicy", path)
    if policy is not None and policy not in PULL_POLICIES:
        raise invalid_value(
            policy, join(path, "imagePullPolicy"), 'must be "Always", "IfNotPresent" or "Never"'
        )
    return Container(
        image=image,
        command=string_list(obj.get("command"), join(path, "command")),
        args=string_list(obj.get("args"), join(path, "args")),
        env=_env(obj, path),
        port=port,
        port_name=port_name,
        readiness_probe=_probe(obj, path, port or DEFAULT_PORT, port_name),
        name=name,
        resources=parse_resources(obj, path),
        image_pull_policy=policy,
    )


def _env(obj: dict[str, Any], path: str) -> tuple[tuple[str, str], ...]:
    items = get_list(obj, "env", path) or []
    out: list[tuple[str, str]] = []
    for index, item in enumerate(items):
        where = f"{join(path, 'env')}[{index}]"
        if not isinstance(item, dict):
            raise wrong_type(item, "a mapping", where)
        if "valueFrom" in item:
            raise disallowed_field(
                join(where, "valueFrom"),
                "valueFrom (secrets, config maps, field references) is not "
                "supported by coldbrew; set value instead",
            )
        check_keys(item, ("name", "value"), where)
        name = get_str(item, "name", where, required=True)
        assert name is not None
        if not _ENV_NAME.fullmatch(name):
            raise invalid_value(
                name,
                join(where, "name"),
                "must consist of letters, digits, '_', '-' or '.', and must not start with a digit",
            )
        if name in RESERVED_ENV:
            raise ValidationError(
                join(where, "name"), f'"{name}" is a reserved environment variable'
            )
        out.append((name, get_str(item, "value", where) or ""))
    return tuple(out)


def _port(obj: dict[str, Any], path: str) -> tuple[int | None, str]:
    ports = get_list(obj, "ports", path)
    if not ports:
        return None, ""
    field = join(path, "ports")
    if len(ports) > 1:
        raise ValidationError(
            field, "more than one container port is set", "Only a single port is allowed"
        )
    where = f"{field}[0]"
    entry = ports[0]
    if not isinstance(entry, dict):
        raise wrong_type(entry, "a mapping", where)
    check_keys(entry, ("containerPort", "name", "protocol"), where, ("hostIP", "hostPort"))
    port = get_int(entry, "containerPort", where, 1, 65535)
    if port is None:
        raise missing_field(join(where, "containerPort"))
    if port in RESERVED_PORTS:
        raise invalid_value(
            f"{port} is a reserved port",
            join(where, "containerPort"),
            f"{port} is a reserved port, please use a different value",
        )
    name = get_str(entry, "name", where) or ""
    if name not in ("", "http1", "h2c"):
        raise ValidationError(
            where, f"Port name {name} is not allowed", "Name must be empty, 'http1' or 'h2c'"
        )
    protocol = get_str(entry, "protocol", where)
    if protocol not in (None, "TCP"):
        raise invalid_value(protocol, join(where, "protocol"), 'only "TCP" is allowed')
    return port, name


def _probe(obj: dict[str, Any], path: str, serving_port: int, port_name: str) -> Probe | None:
    where = join(path, "readinessProbe")
    probe = get_mapping(obj, "readinessProbe", path)
    if probe is None:
        return None
    check_keys(probe, PROBE_FIELDS, where, ("exec", "grpc", "terminationGracePeriodSeconds"))
    handlers = [h for h in ("httpGet", "tcpSocket") if probe.get(h) is not None]
    if not handlers:
        raise ValidationError(
            where, "expected exactly one, got neither", "set httpGet or tcpSocket"
        )
    if len(handlers) > 1:
        raise ValidationError(
            where, "expected exactly one, got both", "set only one of httpGet or tcpSocket"
        )
    kind = handlers[0]
    handler_path = join(where, kind)
    handler = get_mapping(probe, kind, where) or {}
    if kind == "httpGet":
        check_keys(handler, ("path", "port", "scheme"), handler_path, ("host", "httpHeaders"))
        scheme = get_str(handler, "scheme", handler_path)
        if scheme not in (None, "HTTP"):
            raise invalid_value(scheme, join(handler_path, "scheme"), 'only "HTTP" is supported')
        http_path = get_str(handler, "path", handler_path) or "/"
    else:
        check_keys(handler, ("port",), handler_path, ("host",))
        http_path = ""
    port = _probe_port(handler.get("port"), join(handler_path, "port"), serving_port, port_name)
    period = get_int(probe, "periodSeconds", where, 0, MAX_INT32) or 0
    initial = get_int(probe, "initialDelaySeconds", where, 0, MAX_INT32) or 0
    success = get_int(probe, "successThreshold", where, 1, MAX_INT32) or 1
    timeout = get_int(probe, "timeoutSeconds", where, 0, MAX_INT32)
    failure = get_int(probe, "failureThreshold", where, 0, MAX_INT32)
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
        kind="http" if kind == "httpGet" else "tcp",
        path=http_path,
        port=port,
        period_seconds=period,
        timeout_seconds=timeout,
        failure_threshold=failure,
        success_threshold=success,
        initial_delay_seconds=initial,
    )


def _probe_port(value: Any, field: str, serving_port: int, port_name: str) -> int | None:
    if value is None or value == 0:
        return None
    if isinstance(value, str):
        if port_name and value == port_name:
            return None
        raise invalid_value(value, field, "Probe port must match container port")
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(value, "an integer or a port name", field)
    if value != serving_port:
        raise invalid_value(value, field, f"Probe port must match container port ({serving_port})")
    return value

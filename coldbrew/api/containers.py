"""Validate one of ``spec.template.spec.containers`` into a :class:`Container`.

Probes and lifecycle hooks are :mod:`coldbrew.api.probes`'; ``securityContext`` is
:mod:`coldbrew.api.security`'s.
"""

from __future__ import annotations

from typing import Any

from .checks import (
    check_keys,
    get_int,
    get_list,
    get_str,
    is_dns1123_label,
    join,
    string_list,
)
from .envrefs import parse_env
from .errors import (
    ValidationError,
    invalid_value,
    missing_field,
    wrong_type,
)
from .model import Container
from .probes import PortRule, parse_pre_stop, parse_probe
from .resources import parse_resources
from .security import parse_security
from .volumes import parse_mounts

MAX_INT32 = 2**31 - 1
DEFAULT_PORT = 8080
# Knative's queue-proxy / profiling ports: 8008, 8012, 8013, 8022, 9090, 9091.
RESERVED_PORTS = frozenset({8008, 8012, 8013, 8022, 9090, 9091})
RESERVED_ENV = frozenset({"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"})

CONTAINER_FIELDS = (
    "name",
    "image",
    "command",
    "args",
    "env",
    "envFrom",
    "ports",
    "readinessProbe",
    "resources",
    "imagePullPolicy",
    "livenessProbe",
    "startupProbe",
    "securityContext",
    "workingDir",
    "lifecycle",
    "volumeMounts",
)
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
CONTAINER_UNSUPPORTED = (
    "terminationMessagePath",
    "terminationMessagePolicy",
)


def parse_container(obj: Any, path: str, sidecar: bool = False) -> Container:
    """Validate one container at ``path`` (e.g. ``spec.template.spec.containers[0]``).

    A ``sidecar`` has no ports; its probes name their own ports.
    """
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
    env, env_spec = parse_env(obj, path, RESERVED_ENV)
    port, port_name = _port(obj, path)
    ports = PortRule(None) if sidecar else PortRule(port or DEFAULT_PORT, port_name)
    working_dir = get_str(obj, "workingDir", path) or None
    if working_dir is not None and not working_dir.startswith("/"):
        raise invalid_value(working_dir, join(path, "workingDir"), "must be an absolute path")
    policy = get_str(obj, "imagePullPolicy", path)
    if policy is not None and policy not in PULL_POLICIES:
        raise invalid_value(
            policy, join(path, "imagePullPolicy"), 'must be "Always", "IfNotPresent" or "Never"'
        )
    return Container(
        image=image,
        command=string_list(obj.get("command"), join(path, "command")),
        args=string_list(obj.get("args"), join(path, "args")),
        env=env,
        port=port,
        port_name=port_name,
        readiness_probe=parse_probe(obj, "readinessProbe", path, ports),
        name=name,
        resources=parse_resources(obj, path),
        image_pull_policy=policy,
        liveness_probe=parse_probe(obj, "livenessProbe", path, ports),
        startup_probe=parse_probe(obj, "startupProbe", path, ports),
        security_context=parse_security(obj, path),
        working_dir=working_dir,
        pre_stop=parse_pre_stop(obj, path),
        env_spec=env_spec,
        volume_mounts=parse_mounts(obj, path),
    )


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

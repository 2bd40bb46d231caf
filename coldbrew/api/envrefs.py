"""Validate a container's ``env`` (with ``valueFrom``) and ``envFrom`` into an :class:`EnvSpec`.

As Kubernetes: an ``env`` entry has ``value`` or ``valueFrom`` (not both); ``valueFrom`` has
exactly one of ``secretKeyRef``, ``configMapKeyRef``, ``fieldRef``, ``resourceFieldRef``. The
``fieldRef`` paths are the ones Knative allows (its ``kubernetes.podspec-fieldref`` flag gates
them in a cluster); ``resourceFieldRef`` names ``limits.cpu``, ``limits.memory``,
``requests.cpu`` or ``requests.memory`` with an optional ``divisor``. Values are resolved when a
pod starts (:mod:`coldbrew.configuring`), never here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from .checks import check_keys, get_bool, get_mapping, get_mappings, get_str, join
from .errors import ValidationError, invalid_value, missing_field
from .resources import parse_quantity

ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
ENV_NAME_HELP = "must consist of letters, digits, '_', '-' or '.', and must not start with a digit"
KEY_NAME = re.compile(r"[-._a-zA-Z0-9]+")
KEY_NAME_HELP = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
FIELD_PATHS = (
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.serviceAccountName",
    "spec.nodeName",
    "status.podIP",
    "status.hostIP",
)
_SUBSCRIPTED = re.compile(r"metadata\.(labels|annotations)\['([^']+)'\]")
RESOURCES = ("limits.cpu", "limits.memory", "requests.cpu", "requests.memory")
RefKind = Literal["configMap", "secret"]


@dataclass(frozen=True, slots=True)
class KeyRef:
    """``configMapKeyRef`` / ``secretKeyRef``."""

    kind: RefKind
    name: str
    key: str
    optional: bool = False


@dataclass(frozen=True, slots=True)
class FieldRef:
    """``fieldRef.fieldPath``, e.g. ``metadata.labels['app']``."""

    field_path: str


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """``resourceFieldRef``: ``resource`` as written, ``divisor`` parsed (default 1)."""

    resource: str
    divisor: float = 1.0


@dataclass(frozen=True, slots=True)
class EnvVar:
    """One ``env`` entry: a literal ``value`` or a ``source``."""

    name: str
    value: str = ""
    source: KeyRef | FieldRef | ResourceRef | None = None


@dataclass(frozen=True, slots=True)
class EnvFrom:
    """One ``envFrom`` entry: every key of a ConfigMap or Secret, with ``prefix``."""

    kind: RefKind
    name: str
    prefix: str = ""
    optional: bool = False


@dataclass(frozen=True, slots=True)
class EnvSpec:
    """A container's env as written: ``vars`` in order and ``env_from``; ``raw`` for output."""

    vars: tuple[EnvVar, ...]
    env_from: tuple[EnvFrom, ...]
    raw_env: tuple[Any, ...]
    raw_env_from: tuple[Any, ...]

    def refs(self) -> list[tuple[RefKind, str]]:
        """Every ConfigMap/Secret named, as ``(kind, name)``."""
        out = [(v.source.kind, v.source.name) for v in self.vars if isinstance(v.source, KeyRef)]
        return out + [(e.kind, e.name) for e in self.env_from]


def parse_env_vars(obj: dict[str, Any], path: str, reserved: frozenset[str]) -> list[EnvVar]:
    """The container's ``env`` entries, validated."""
    out: list[EnvVar] = []
    for where, item in get_mappings(obj, "env", path):
        check_keys(item, ("name", "value", "valueFrom"), where)
        name = get_str(item, "name", where, required=True)
        assert name is not None
        if not ENV_NAME.fullmatch(name):
            raise invalid_value(name, join(where, "name"), ENV_NAME_HELP)
        if name in reserved:
            raise ValidationError(
                join(where, "name"), f'"{name}" is a reserved environment variable'
            )
        value = get_str(item, "value", where)
        source = get_mapping(item, "valueFrom", where)
        if source is not None and value:
            raise ValidationError(
                join(where, "valueFrom"),
                "may not be specified when `value` is not empty",
            )
        ref = None if source is None else _value_from(source, join(where, "valueFrom"))
        out.append(EnvVar(name, value or "", ref))
    return out


def _value_from(source: dict[str, Any], where: str) -> KeyRef | FieldRef | ResourceRef:
    kinds = ("configMapKeyRef", "secretKeyRef", "fieldRef", "resourceFieldRef")
    check_keys(source, kinds, where)
    present = [k for k in kinds if source.get(k) is not None]
    if len(present) != 1:
        got = "neither" if not present else "more than one"
        raise ValidationError(where, f"expected exactly one, got {got}", ", ".join(kinds))
    kind = present[0]
    at = join(where, kind)
    body = get_mapping(source, kind, where) or {}
    if kind in ("configMapKeyRef", "secretKeyRef"):
        check_keys(body, ("name", "key", "optional"), at)
        name = _object_name(body, at)
        key = get_str(body, "key", at)
        if not key:
            raise missing_field(join(at, "key"))
        if not KEY_NAME.fullmatch(key) or len(key) > 253:
            raise invalid_value(key, join(at, "key"), KEY_NAME_HELP)
        ref_kind: RefKind = "configMap" if kind == "configMapKeyRef" else "secret"
        return KeyRef(ref_kind, name, key, bool(get_bool(body, "optional", at)))
    if kind == "fieldRef":
        check_keys(body, ("fieldPath", "apiVersion"), at)
        field_path = get_str(body, "fieldPath", at)
        if not field_path:
            raise missing_field(join(at, "fieldPath"))
        version = get_str(body, "apiVersion", at)
        if version not in (None, "v1"):
            raise invalid_value(version, join(at, "apiVersion"), 'only "v1" is supported')
        if field_path not in FIELD_PATHS and not _SUBSCRIPTED.fullmatch(field_path):
            raise ValidationError(
                join(at, "fieldPath"),
                f'Unsupported value: "{field_path}"',
                "supported values: "
                + ", ".join(FIELD_PATHS)
                + ", metadata.labels['<KEY>'], metadata.annotations['<KEY>']",
            )
        return FieldRef(field_path)
    check_keys(body, ("resource", "divisor", "containerName"), at)
    resource = get_str(body, "resource", at)
    if not resource:
        raise missing_field(join(at, "resource"))
    if resource not in RESOURCES:
        raise ValidationError(
            join(at, "resource"),
            f'Unsupported value: "{resource}"',
            "supported values: " + ", ".join(RESOURCES),
        )
    divisor = 1.0
    if body.get("divisor") is not None:
        divisor = parse_quantity(body["divisor"], join(at, "divisor"))
        if divisor <= 0:
            raise invalid_value(body["divisor"], join(at, "divisor"), "must be greater than 0")
    return ResourceRef(resource, divisor)


def parse_env_from(obj: dict[str, Any], path: str) -> list[EnvFrom]:
    """The container's ``envFrom`` entries, validated."""
    out: list[EnvFrom] = []
    for where, item in get_mappings(obj, "envFrom", path):
        check_keys(item, ("configMapRef", "secretRef", "prefix"), where)
        prefix = get_str(item, "prefix", where) or ""
        if prefix and not ENV_NAME.fullmatch(prefix):
            raise invalid_value(prefix, join(where, "prefix"), ENV_NAME_HELP)
        present = [k for k in ("configMapRef", "secretRef") if item.get(k) is not None]
        if len(present) != 1:
            got = "neither" if not present else "both"
            raise ValidationError(
                where, f"expected exactly one, got {got}", "set configMapRef or secretRef"
            )
        at = join(where, present[0])
        body = get_mapping(item, present[0], where) or {}
        check_keys(body, ("name", "optional"), at)
        kind: RefKind = "configMap" if present[0] == "configMapRef" else "secret"
        out.append(
            EnvFrom(kind, _object_name(body, at), prefix, bool(get_bool(body, "optional", at)))
        )
    return out


def _object_name(body: dict[str, Any], at: str) -> str:
    name = get_str(body, "name", at)
    if not name:
        raise missing_field(join(at, "name"))
    if len(name) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(name):
        raise invalid_value(
            name, join(at, "name"), "must be a DNS-1123 subdomain (lower case, '-' and '.')"
        )
    return name


def parse_env(
    obj: dict[str, Any], path: str, reserved: frozenset[str]
) -> tuple[tuple[tuple[str, str], ...], EnvSpec | None]:
    """``(literal env pairs, EnvSpec or None)``: the spec only when a reference is used."""
    env_vars = parse_env_vars(obj, path, reserved)
    env_from = parse_env_from(obj, path)
    literal = tuple((v.name, v.value) for v in env_vars if v.source is None)
    if env_from or any(v.source is not None for v in env_vars):
        spec = EnvSpec(
            tuple(env_vars),
            tuple(env_from),
            tuple(obj.get("env") or ()),
            tuple(obj.get("envFrom") or ()),
        )
        return literal, spec
    return literal, None

"""Validate ``spec.template.spec.volumes`` and a container's ``volumeMounts``.

As Kubernetes and Knative: volume names are DNS-1123 labels and unique; a volume is one of
``configMap``, ``secret``, ``projected`` (sources ``configMap``, ``secret``, ``downwardAPI``;
``serviceAccountToken`` is refused: there is no token issuer locally) or ``emptyDir``
(``medium`` "" or "Memory", ``sizeLimit``); ``items`` map keys to relative paths without
``..`` with an optional ``mode``; ``defaultMode`` is 0..0777. Mounts name an existing volume,
have an absolute, unique ``mountPath`` other than the paths Knative reserves, and a relative
``subPath`` without ``..``; a mount of anything but an ``emptyDir`` must say ``readOnly: true``
(Knative). Knative refuses a volume that no mount uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .checks import (
    check_keys,
    get_bool,
    get_int,
    get_list,
    get_mapping,
    get_mappings,
    get_str,
    is_dns1123_label,
    join,
)
from .envrefs import KEY_NAME, KEY_NAME_HELP, RefKind, _object_name
from .errors import ValidationError, invalid_value, missing_field, wrong_type
from .resources import parse_quantity

# Knative's reserved mount paths (pkg/apis/serving/k8s_validation.go).
RESERVED_PATHS = ("/", "/dev", "/dev/log")
MAX_MODE = 0o777
DEFAULT_MODE = 0o644
VolumeKind = Literal["configMap", "secret", "projected", "emptyDir"]
DOWNWARD_FIELDS = ("metadata.name", "metadata.namespace", "metadata.uid", "metadata.labels",
                   "metadata.annotations")  # fmt: skip


@dataclass(frozen=True, slots=True)
class KeyToPath:
    key: str  # for downwardAPI: the fieldPath
    path: str
    mode: int | None = None


@dataclass(frozen=True, slots=True)
class Projection:
    """One source of files: a ConfigMap, a Secret, or ``downwardAPI`` (``name`` "")."""

    kind: RefKind | Literal["downwardAPI"]
    name: str
    items: tuple[KeyToPath, ...] = ()
    optional: bool = False


@dataclass(frozen=True, slots=True)
class Volume:
    name: str
    kind: VolumeKind
    sources: tuple[Projection, ...] = ()
    default_mode: int = DEFAULT_MODE
    medium: str = ""
    size_limit: float | None = None
    raw: Any = None  # as written, for output


@dataclass(frozen=True, slots=True)
class VolumeMount:
    name: str
    mount_path: str
    read_only: bool = False
    sub_path: str = ""
    raw: Any = None


def parse_volumes(pod: dict[str, Any], path: str) -> tuple[Volume, ...]:
    out: list[Volume] = []
    seen: set[str] = set()
    for where, item in get_mappings(pod, "volumes", path):
        kinds = ("configMap", "secret", "projected", "emptyDir")
        check_keys(item, ("name", *kinds), where)
        name = get_str(item, "name", where)
        if not name:
            raise missing_field(join(where, "name"))
        if not is_dns1123_label(name):
            raise invalid_value(name, join(where, "name"), "must be a DNS-1123 label")
        if name in seen:
            raise ValidationError(join(where, "name"), f'duplicate volume name "{name}"')
        seen.add(name)
        present = [k for k in kinds if item.get(k) is not None]
        if len(present) != 1:
            got = "neither" if not present else "more than one"
            raise ValidationError(where, f"expected exactly one, got {got}", ", ".join(kinds))
        out.append(_volume(name, present[0], item, where))
    return tuple(out)


def _volume(name: str, kind: str, item: dict[str, Any], where: str) -> Volume:
    at = join(where, kind)
    body = get_mapping(item, kind, where) or {}
    if kind == "emptyDir":
        check_keys(body, ("medium", "sizeLimit"), at)
        medium = get_str(body, "medium", at) or ""
        if medium not in ("", "Memory"):
            raise invalid_value(medium, join(at, "medium"), 'must be "" or "Memory"')
        limit = None
        if body.get("sizeLimit") is not None:
            limit = parse_quantity(body["sizeLimit"], join(at, "sizeLimit"))
        return Volume(name, "emptyDir", medium=medium, size_limit=limit, raw=item)
    mode = _mode(body, "defaultMode", at)
    if kind == "projected":
        check_keys(body, ("sources", "defaultMode"), at)
        items = get_list(body, "sources", at) or []
        sources = tuple(_projection(s, f"{join(at, 'sources')}[{i}]") for i, s in enumerate(items))
        return Volume(name, "projected", sources, mode, raw=item)
    if kind == "configMap":
        check_keys(body, ("name", "items", "defaultMode", "optional"), at)
        ref = _object_name(body, at)
    else:
        check_keys(body, ("secretName", "items", "defaultMode", "optional"), at)
        ref = get_str(body, "secretName", at) or ""
        if not ref:
            raise missing_field(join(at, "secretName"))
        _object_name({"name": ref}, at)
    source = Projection(
        "configMap" if kind == "configMap" else "secret",
        ref,
        _items(body, at, keys=True),
        bool(get_bool(body, "optional", at)),
    )
    return Volume(name, kind, (source,), mode, raw=item)  # type: ignore[arg-type]


def _projection(item: Any, where: str) -> Projection:
    if not isinstance(item, dict):
        raise wrong_type(item, "a mapping", where)
    check_keys(item, ("configMap", "secret", "downwardAPI"), where, ("serviceAccountToken",))
    present = [k for k in ("configMap", "secret", "downwardAPI") if item.get(k) is not None]
    if len(present) != 1:
        got = "neither" if not present else "more than one"
        raise ValidationError(where, f"expected exactly one, got {got}")
    kind = present[0]
    at = join(where, kind)
    body = get_mapping(item, kind, where) or {}
    if kind == "downwardAPI":
        check_keys(body, ("items",), at)
        return Projection("downwardAPI", "", _items(body, at, keys=False))
    check_keys(body, ("name", "items", "optional"), at)
    return Projection(
        kind,  # type: ignore[arg-type]
        _object_name(body, at),
        _items(body, at, keys=True),
        bool(get_bool(body, "optional", at)),
    )


def _items(body: dict[str, Any], at: str, *, keys: bool) -> tuple[KeyToPath, ...]:
    out: list[KeyToPath] = []
    seen: set[str] = set()
    for where, item in get_mappings(body, "items", at):
        if keys:
            check_keys(item, ("key", "path", "mode"), where)
            key = get_str(item, "key", where) or ""
            if not key:
                raise missing_field(join(where, "key"))
            if not KEY_NAME.fullmatch(key) or len(key) > 253:
                raise invalid_value(key, join(where, "key"), KEY_NAME_HELP)
        else:
            check_keys(item, ("path", "fieldRef", "mode"), where, ("resourceFieldRef",))
            ref = get_mapping(item, "fieldRef", where, required=True) or {}
            check_keys(ref, ("fieldPath", "apiVersion"), join(where, "fieldRef"))
            key = get_str(ref, "fieldPath", join(where, "fieldRef")) or ""
            if key not in DOWNWARD_FIELDS and not key.startswith("metadata.labels['") \
                    and not key.startswith("metadata.annotations['"):  # fmt: skip
                raise invalid_value(key, join(where, "fieldRef.fieldPath"),
                                    "supported: " + ", ".join(DOWNWARD_FIELDS))  # fmt: skip
        rel = get_str(item, "path", where) or ""
        check_relative(rel, join(where, "path"), required=True)
        if rel in seen:
            raise ValidationError(join(where, "path"), f'duplicate path "{rel}"')
        seen.add(rel)
        out.append(KeyToPath(key, rel, get_int(item, "mode", where, 0, MAX_MODE)))
    return tuple(out)


def _mode(body: dict[str, Any], key: str, at: str) -> int:
    value = get_int(body, key, at, 0, MAX_MODE)
    return DEFAULT_MODE if value is None else value


def check_relative(rel: str, field: str, *, required: bool) -> None:
    """A relative path without ``..`` elements (``items[].path``, ``subPath``)."""
    if not rel:
        if required:
            raise missing_field(field)
        return
    if rel.startswith("/"):
        raise invalid_value(rel, field, "must be a relative path")
    if ".." in rel.split("/"):
        raise invalid_value(rel, field, "must not contain '..'")


def parse_mounts(obj: dict[str, Any], path: str) -> tuple[VolumeMount, ...]:
    out: list[VolumeMount] = []
    seen: set[str] = set()
    for where, item in get_mappings(obj, "volumeMounts", path):
        check_keys(item, ("name", "mountPath", "readOnly", "subPath"), where,
                   ("mountPropagation", "subPathExpr"))  # fmt: skip
        name = get_str(item, "name", where) or ""
        if not name:
            raise missing_field(join(where, "name"))
        mount_path = get_str(item, "mountPath", where) or ""
        field = join(where, "mountPath")
        if not mount_path:
            raise missing_field(field)
        if not mount_path.startswith("/"):
            raise invalid_value(mount_path, field, "must be an absolute path")
        clean = "/" + "/".join(p for p in mount_path.split("/") if p and p != ".")
        if ".." in mount_path.split("/"):
            raise invalid_value(mount_path, field, "must not contain '..'")
        if clean in RESERVED_PATHS:
            raise ValidationError(field, f'mountPath "{clean}" is a reserved path')
        if clean in seen:
            raise invalid_value(mount_path, field, f'"{mount_path}" must be unique')
        seen.add(clean)
        sub_path = get_str(item, "subPath", where) or ""
        check_relative(sub_path, join(where, "subPath"), required=False)
        read_only = bool(get_bool(item, "readOnly", where))
        out.append(VolumeMount(name, clean, read_only, sub_path, raw=item))
    return tuple(out)


def check_mounts(
    volumes: tuple[Volume, ...], mounts: list[tuple[str, tuple[VolumeMount, ...]]], spec_path: str
) -> None:
    """Every mount names a volume; every volume is mounted (Knative). ``mounts``: per container."""
    kinds = {v.name: v.kind for v in volumes}
    used: set[str] = set()
    for container_path, container_mounts in mounts:
        for index, mount in enumerate(container_mounts):
            where = f"{container_path}.volumeMounts[{index}]"
            if mount.name not in kinds:
                raise ValidationError(join(where, "name"), "volumeMount has no matching volume")
            if kinds[mount.name] != "emptyDir" and not mount.read_only:
                raise ValidationError(
                    join(where, "readOnly"),
                    "volume mount should be readOnly for this type of volume",
                )
            used.add(mount.name)
    for index, volume in enumerate(volumes):
        if volume.name not in used:
            raise ValidationError(
                f"{join(spec_path, 'volumes')}[{index}].name",
                f'volume with name "{volume.name}" not mounted',
            )

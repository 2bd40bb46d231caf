"""Validate core ``v1`` ``ConfigMap`` and ``Secret`` manifests into a :class:`ConfigObject`.

As the Kubernetes API server: the name is a DNS-1123 subdomain; keys match
``[-._a-zA-Z0-9]+`` (at most 253 characters, not ``.`` or ``..``); a ConfigMap's ``data`` holds
strings and ``binaryData`` base64, no key in both; a Secret's ``data`` is base64 and its
``stringData`` is merged over it (write-only, never shown back); the whole payload is at most
1 MiB. A Secret's ``type`` defaults to ``Opaque``; the built-in types' required keys are checked.
``immutable: true`` makes later changes of the data (or of ``type``) refused.

Values are bytes here; a Secret's are never put in an error message.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .checks import check_keys, get_bool, get_mapping, get_str, string_map
from .envrefs import KEY_NAME, KEY_NAME_HELP, _object_name
from .errors import ValidationError, invalid_value, wrong_type

MAX_SIZE = 1 << 20  # Kubernetes' MaxSecretSize and the ConfigMap limit: 1 MiB
Kind = Literal["ConfigMap", "Secret"]
KINDS: tuple[Kind, ...] = ("ConfigMap", "Secret")
_METADATA = ("name", "namespace", "labels", "annotations", "uid", "resourceVersion",
             "creationTimestamp", "generation", "managedFields", "selfLink")  # fmt: skip
# Required keys of the built-in Secret types (k8s.io/api/core/v1 types.go).
REQUIRED_KEYS = {
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
}


@dataclass(frozen=True, slots=True)
class ConfigObject:
    """A validated ConfigMap or Secret. ``data`` is every key's bytes (binaryData included)."""

    kind: Kind
    namespace: str
    name: str
    data: Mapping[str, bytes]
    binary_keys: frozenset[str] = frozenset()  # ConfigMap keys that came from binaryData
    type: str = ""  # Secrets only
    immutable: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def check_update(self, old: ConfigObject) -> None:
        """Refuse what Kubernetes refuses of an update of ``old`` into this."""
        if not old.immutable:
            return
        if not self.immutable:
            raise ValidationError("immutable", "field is immutable when `immutable` is set")
        if self.data != old.data or self.binary_keys != old.binary_keys:
            raise ValidationError("data", "field is immutable when `immutable` is set")
        if self.type != old.type:
            raise ValidationError("type", "field is immutable")


def parse_config_object(obj: Any) -> ConfigObject:
    """A ``v1`` ConfigMap or Secret; :class:`ValidationError` naming the field."""
    if not isinstance(obj, dict):
        raise wrong_type(obj, "a mapping", "")
    kind = obj.get("kind")
    if kind not in KINDS:
        raise invalid_value(kind, "kind", 'must be "ConfigMap" or "Secret"')
    if obj.get("apiVersion") != "v1":
        raise invalid_value(obj.get("apiVersion"), "apiVersion", 'must be "v1"')
    if kind == "ConfigMap":
        check_keys(obj, ("apiVersion", "kind", "metadata", "data", "binaryData", "immutable"), "")
    else:
        allowed = ("apiVersion", "kind", "metadata", "data", "stringData", "type", "immutable")
        check_keys(obj, allowed, "")
    metadata = get_mapping(obj, "metadata", "", required=True) or {}
    check_keys(metadata, _METADATA, "metadata")
    name = _object_name(metadata, "metadata")
    namespace = get_str(metadata, "namespace", "metadata") or "default"
    _object_name({"name": namespace}, "metadata.namespace")
    labels = string_map(metadata, "labels", "metadata", labels=True)
    annotations = string_map(metadata, "annotations", "metadata", labels=False)
    immutable = bool(get_bool(obj, "immutable", ""))
    data: dict[str, bytes] = {}
    binary: set[str] = set()
    secret_type = ""
    if kind == "ConfigMap":
        for key, value in _entries(obj, "data").items():
            if not isinstance(value, str):
                raise wrong_type(value, "a string", f"data[{key}]")
            data[key] = value.encode()
        for key, value in _entries(obj, "binaryData").items():
            if key in data:
                raise ValidationError(
                    f"binaryData[{key}]", f'duplicate of key "{key}" present in data'
                )
            data[key] = _base64(value, f"binaryData[{key}]")
            binary.add(key)
    else:
        for key, value in _entries(obj, "data").items():
            data[key] = _base64(value, f"data[{key}]")
        for key, value in _entries(obj, "stringData").items():
            if not isinstance(value, str):
                raise wrong_type(value, "a string", f"stringData[{key}]")
            data[key] = value.encode()
        secret_type = get_str(obj, "type", "") or "Opaque"
        for required in REQUIRED_KEYS.get(secret_type, ()):
            if required not in data:
                raise ValidationError(f"data[{required}]", "Required value")
    size = sum(len(k) + len(v) for k, v in data.items())
    if size > MAX_SIZE:
        field_name = "data"
        raise ValidationError(field_name, f"Too long: must have at most {MAX_SIZE} bytes")
    return ConfigObject(kind, namespace, name, data, frozenset(binary), secret_type, immutable,
                        labels, annotations)  # fmt: skip


def _entries(obj: dict[str, Any], key: str) -> dict[str, Any]:
    entries = get_mapping(obj, key, "")
    if entries is None:
        return {}
    for name in entries:
        where = f"{key}[{name}]"
        if not isinstance(name, str) or not name:
            raise invalid_value(name, where, KEY_NAME_HELP)
        if len(name) > 253 or not KEY_NAME.fullmatch(name) or name in (".", ".."):
            raise invalid_value(name, where, KEY_NAME_HELP)
    return entries


def _base64(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise wrong_type(value, "a base64 string", where)
    try:
        return base64.b64decode(value.encode(), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(where, "illegal base64 data") from None


def config_object_dict(obj: ConfigObject, *, uid: str, created: str, version: int
                       ) -> dict[str, Any]:  # fmt: skip
    """The Kubernetes form, as ``kubectl get -o yaml`` prints it (Secret data base64)."""
    metadata: dict[str, Any] = {
        "name": obj.name,
        "namespace": obj.namespace,
        "uid": uid,
        "resourceVersion": str(version),
        "creationTimestamp": created,
    }
    if obj.labels:
        metadata["labels"] = dict(obj.labels)
    if obj.annotations:
        metadata["annotations"] = dict(obj.annotations)
    out: dict[str, Any] = {"apiVersion": "v1", "kind": obj.kind, "metadata": metadata}
    encoded = {k: base64.b64encode(v).decode() for k, v in sorted(obj.data.items())}
    if obj.kind == "Secret":
        if encoded:
            out["data"] = encoded
        out["type"] = obj.type
    else:
        text = {k: v.decode("utf-8", "replace") for k, v in sorted(obj.data.items())
                if k not in obj.binary_keys}  # fmt: skip
        if text:
            out["data"] = text
        binary = {k: v for k, v in encoded.items() if k in obj.binary_keys}
        if binary:
            out["binaryData"] = binary
    if obj.immutable:
        out["immutable"] = True
    return out

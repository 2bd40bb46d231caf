"""Patches and field validation, as the API server applies them to a write.

* JSON merge patch (RFC 7386, :func:`.storing.merge_patch`) for every kind;
* JSON patch (RFC 6902, the ``jsonpatch`` library) for every kind;
* strategic merge patch for built-in kinds only (custom resources answer 415, as the API
  server does): maps merge, lists of objects merge by their Kubernetes merge key
  (``containers``/``env``/``volumes`` by ``name``, ``ports`` by ``containerPort`` or
  ``port``, ``volumeMounts`` by ``mountPath``...), other lists are replaced; the
  directives ``$patch: replace|delete``, ``$setElementOrder/<list>``,
  ``$deleteFromPrimitiveList/<list>`` and ``$retainKeys`` are honoured;
* field validation (``fieldValidation=Strict|Warn|Ignore``) of custom resources against
  their CRD's structural schema: unknown fields refuse the write (Strict) or are reported
  in ``Warning`` headers (Warn), and are pruned before storage. Built-in kinds carry no
  schema here, so their fields are not checked.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "volumeMounts": "mountPath",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "tolerations": "key",
}
OBJECT_META = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)


def json_patch(target: Any, operations: Any) -> Any:
    return jsonpatch.apply_patch(target, operations)


def _merge_key(field: str, items: list[Any]) -> str | None:
    if field == "ports":
        return "containerPort" if any("containerPort" in i for i in items) else "port"
    return MERGE_KEYS.get(field)


def _merge_list(field: str, current: Any, patch: list[Any]) -> list[Any]:
    if not isinstance(current, list):
        current = []
    if not patch or not all(isinstance(i, dict) for i in patch):
        return copy.deepcopy(patch)
    if any(i.get("$patch") == "replace" for i in patch):
        return [copy.deepcopy(i) for i in patch if i.get("$patch") != "replace"]
    key = _merge_key(field, [*current, *patch])
    if key is None:
        return copy.deepcopy(patch)
    out = copy.deepcopy(current)
    for item in patch:
        index = next((n for n, c in enumerate(out) if c.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if index is not None:
                out.pop(index)
        elif index is None:
            out.append(strategic_merge_patch({}, item))
        else:
            out[index] = strategic_merge_patch(out[index], item)
    return out


def _order(items: list[Any], order: list[Any], key: str | None) -> list[Any]:
    def rank(item: Any) -> int:
        probe = item.get(key) if key and isinstance(item, dict) else item
        for n, o in enumerate(order):
            if (o.get(key) if key and isinstance(o, dict) else o) == probe:
                return n
        return len(order)

    return sorted(items, key=rank)


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Kubernetes' strategic merge patch of ``patch`` onto ``target`` (built-in kinds)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = value
        elif key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            out[name] = [v for v in out.get(name) or [] if v not in value]
        elif value is None or (isinstance(value, dict) and value.get("$patch") == "delete"):
            out.pop(key, None)
        elif isinstance(value, list):
            out[key] = _merge_list(key, out.get(key), value)
        else:
            out[key] = strategic_merge_patch(out.get(key), value)
    for name, order in orders.items():
        if isinstance(out.get(name), list):
            out[name] = _order(out[name], order, _merge_key(name, out[name]))
    if "$retainKeys" in patch:
        keep = set(patch["$retainKeys"])
        out = {k: v for k, v in out.items() if k in keep or k not in patch}
    return out


def unknown_fields(value: Any, schema: dict[str, Any] | None, path: str = "") -> list[str]:
    """The paths of fields ``schema`` (a structural openAPIV3Schema) does not declare."""
    if schema is None or not isinstance(value, dict | list):
        return []
    if isinstance(value, list):
        items = schema.get("items")
        return [u for n, v in enumerate(value) for u in unknown_fields(v, items, f"{path}[{n}]")]
    props = schema.get("properties")
    extra = schema.get("additionalProperties")
    if path == "metadata" and not props:
        return [f"metadata.{k}" for k in value if k not in OBJECT_META]
    out: list[str] = []
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if props is not None and key in props:
            out += unknown_fields(item, props[key], where)
        elif isinstance(extra, dict):
            out += unknown_fields(item, extra, where)
        elif props is not None and not schema.get("x-kubernetes-preserve-unknown-fields"):
            out.append(where)
    return out


def prune(value: Any, unknown: list[str]) -> Any:
    """``value`` without the fields at the ``unknown`` paths."""
    out = copy.deepcopy(value)
    for path in unknown:
        node: Any = out
        parts = path.replace("[", ".[").split(".")
        for part in parts[:-1]:
            node = node[int(part[1:-1])] if part.startswith("[") else node[part]
        node.pop(parts[-1], None)
    return out

"""The state document of ``state.json``: encoding and strict decoding.

Format 1 (the format of every coldbrew so far)::

    {"version": 1,
     "services": [{"namespace": ..., "name": ..., "manifest": {...}, "generation": 1,
                   "uid": ..., "created": 1764300000.0, "latest_created": "coffee-00001",
                   "latest_ready": null, "revision_counter": 1}, ...],
     "revisions": [{"namespace": ..., "name": ..., "service": ..., "generation": 1,
                    "template_hash": ..., "manifest": {...}, "uid": ..., "created": ...,
                    "ever_ready": true, "labels": {}}, ...],
     "configmaps": [{"namespace": ..., "name": ..., "manifest": {...}, "uid": ...,
                     "created": ..., "version": 1}, ...],
     "secrets": [...],
     "domain_mappings": [{"namespace": ..., "name": "shop.example.org", "manifest": {...},
                          "uid": ..., "created": ...}, ...]}

``configmaps``, ``secrets`` and ``domain_mappings`` are written only when there are any,
so a state without them is byte for byte what earlier coldbrews wrote; an earlier coldbrew
refuses a state that has them ("unknown field") rather than dropping them.

A revision may hold ``"last_active": 1764300100.0`` (when the route left it, for revision
GC); absent means null (and null is written as absent).

Decoding refuses, naming the place (``services[2].generation``), anything it would
not write back unchanged: a wrong type, a missing or unknown field, a duplicate key.
An unknown field is refused rather than dropped, so a newer file is never silently
rewritten with less in it. A change of format bumps :data:`FORMAT_VERSION`; a
document of an older version is then upgraded here on load.
"""

from __future__ import annotations

import dataclasses
import json
from types import NoneType
from typing import Any

from .frozen import JsonManifest, thaw
from .records import (
    Record,
    StoredConfigMap,
    StoredDomainMapping,
    StoredRevision,
    StoredSecret,
    StoredService,
    StoreError,
)

FORMAT_VERSION = 1
_OMITTED_WHEN_NULL = frozenset({"last_active"})

# The JSON types each record field may hold, by its annotation.
_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "str | None": (str, NoneType),
    "int": (int,),
    "float": (int, float),
    "float | None": (int, float, NoneType),
    "bool": (bool,),
    "Mapping[str, Any]": (dict,),
    "Mapping[str, str]": (dict,),
}
_NAMES = {str: "a string", NoneType: "null", int: "an integer", float: "a number"}
_NAMES |= {bool: "true or false", dict: "an object"}


State = tuple[
    list[StoredService],
    list[StoredRevision],
    list[StoredConfigMap],
    list[StoredSecret],
    list[StoredDomainMapping],
]


def encode(
    services: list[StoredService],
    revisions: list[StoredRevision],
    configmaps: list[StoredConfigMap] = [],  # noqa: B006 (never changed)
    secrets: list[StoredSecret] = [],  # noqa: B006
    mappings: list[StoredDomainMapping] = [],  # noqa: B006
) -> bytes:
    data: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "services": [_as_dict(s) for s in services],
        "revisions": [_as_dict(r) for r in revisions],
    }
    # Written only when there are any: a state without them is the same document as before.
    if configmaps:
        data["configmaps"] = [_as_dict(c) for c in configmaps]
    if secrets:
        data["secrets"] = [_as_dict(c) for c in secrets]
    if mappings:
        data["domain_mappings"] = [_as_dict(m) for m in mappings]
    return json.dumps(data, indent=1, sort_keys=True).encode()


def _as_dict(
    record: StoredService | StoredRevision | StoredConfigMap | StoredSecret | StoredDomainMapping,
) -> dict[str, Any]:
    # Shallow: frozen manifests are dicts and lists to json.dumps already, a JSON one
    # is decoded. An optional field still null is left out, so a file of before it
    # reads back unchanged.
    out = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    if isinstance(out["manifest"], JsonManifest):
        out["manifest"] = thaw(out["manifest"])
    return {k: v for k, v in out.items() if v is not None or k not in _OMITTED_WHEN_NULL}


def decode(text: bytes) -> State:
    """The records of a state document; :class:`StoreError` naming what is wrong."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StoreError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise StoreError("expected a JSON object at the top")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise StoreError(f"version: expected a format number, got {version!r}")
    if version > FORMAT_VERSION:
        raise StoreError(
            f"version: format {version} was written by a newer coldbrew "
            f"(this one reads formats up to {FORMAT_VERSION})"
        )
    known = {"version", "services", "revisions", "configmaps", "secrets", "domain_mappings"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise StoreError(f"{unknown[0]}: unknown field")
    services = _records(data, "services", StoredService)
    revisions = _records(data, "revisions", StoredRevision)
    configmaps = _records({"configmaps": [], **data}, "configmaps", StoredConfigMap)
    secrets = _records({"secrets": [], **data}, "secrets", StoredSecret)
    mappings = _records({"domain_mappings": [], **data}, "domain_mappings", StoredDomainMapping)
    return services, revisions, configmaps, secrets, mappings


def record_dict(record: Any) -> dict[str, Any]:
    """One record as the JSON object it is saved as (the state document's item)."""
    return _as_dict(record)


def record_from(item: Any, where: str, kind: type[Record]) -> Record:
    """The record of one saved JSON object; :class:`StoreError` naming ``where``."""
    return kind(**_fields(item, where, kind))


def _records(data: dict[str, Any], name: str, kind: type[Record]) -> list[Record]:
    items = data.get(name)
    if not isinstance(items, list):
        raise StoreError(f"{name}: expected a list")
    out: list[Record] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        where = f"{name}[{index}]"
        record = kind(**_fields(item, where, kind))
        if record.key in seen:
            raise StoreError(f"{where}: a second record for {record.key}")
        seen.add(record.key)
        out.append(record)
    return out


def _fields(item: Any, where: str, kind: type[Record]) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise StoreError(f"{where}: expected an object")
    fields = {f.name: f for f in dataclasses.fields(kind)}
    unknown = sorted(set(item) - set(fields))
    if unknown:
        raise StoreError(f"{where}.{unknown[0]}: unknown field")
    for name, f in fields.items():
        if name not in item:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise StoreError(f"{where}.{name}: missing")
            continue
        value, allowed = item[name], _TYPES[str(f.type)]
        wrong_bool = isinstance(value, bool) and bool not in allowed
        if wrong_bool or not isinstance(value, allowed):
            raise StoreError(f"{where}.{name}: expected {_NAMES[allowed[0]]}, got {value!r}")
    labels = item.get("labels", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise StoreError(f"{where}.labels: expected string values")
    return item

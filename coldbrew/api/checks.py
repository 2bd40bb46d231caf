"""Small typed accessors and name checks shared by the validators.

Every helper takes the dotted ``field`` path of the value it checks so that
errors name it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from .errors import (
    ValidationError,
    disallowed_field,
    invalid_value,
    missing_field,
    out_of_bounds,
    type_name,
    wrong_type,
)

DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
MAX_LABEL = 63
DNS1035_HELP = (
    "must be a DNS-1035 label: at most 63 lower case alphanumeric characters or '-', "
    "starting with a letter and ending with an alphanumeric character "
    "(regex '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
DNS1123_HELP = (
    "must be a DNS-1123 label: at most 63 lower case alphanumeric characters or '-', "
    "starting and ending with an alphanumeric character"
)


def is_dns1035_label(value: str) -> bool:
    """``[a-z]([-a-z0-9]*[a-z0-9])?``, at most 63 characters."""
    return len(value) <= MAX_LABEL and DNS1035_LABEL.fullmatch(value) is not None


def is_dns1123_label(value: str) -> bool:
    """``[a-z0-9]([-a-z0-9]*[a-z0-9])?``, at most 63 characters."""
    return len(value) <= MAX_LABEL and DNS1123_LABEL.fullmatch(value) is not None


def is_qualified_name(key: str) -> bool:
    """Kubernetes label/annotation key: ``[prefix/]name``."""
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(prefix)):
        return False
    return 0 < len(name) <= MAX_LABEL and _QUALIFIED_NAME.fullmatch(name) is not None


def is_label_value(value: str) -> bool:
    """Kubernetes label value: empty or a qualified name part of at most 63 characters."""
    return len(value) <= MAX_LABEL and _LABEL_VALUE.fullmatch(value) is not None


def check_keys(
    obj: Mapping[str, Any], allowed: Collection[str], path: str, unsupported: Collection[str] = ()
) -> None:
    """Refuse keys not in ``allowed``: ``must not set the field(s): <path>.<key>``.

    Keys in ``unsupported`` are valid Knative fields that coldbrew does not
    implement; they get an explanatory detail.
    """
    for key in sorted(map(str, obj)):
        if key in allowed:
            continue
        details = "not supported by coldbrew" if key in unsupported else ""
        raise disallowed_field(join(path, key), details)


def join(path: str, key: str) -> str:
    """Append ``key`` to a dotted path."""
    return f"{path}.{key}" if path else key


def annotation_field(path: str, key: str) -> str:
    """``<path>[<key>]``: how Knative names a key in a map of annotations."""
    return f"{path}[{key}]"


def get_mapping(
    obj: Mapping[str, Any], key: str, path: str, required: bool = False
) -> dict[str, Any] | None:
    """``obj[key]`` as a mapping (None if absent/null, unless required)."""
    value = obj.get(key)
    if value is None:
        if required:
            raise missing_field(join(path, key))
        return None
    if not isinstance(value, dict):
        raise wrong_type(value, "a mapping", join(path, key))
    return value


def get_list(obj: Mapping[str, Any], key: str, path: str) -> list[Any] | None:
    """``obj[key]`` as a list (None if absent/null)."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise wrong_type(value, "a list", join(path, key))
    return value


def get_mappings(
    obj: Mapping[str, Any], key: str, path: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each item of the list ``obj[key]`` with its path (``path.key[i]``), refusing an item
    that is not a mapping when the loop reaches it; nothing if absent."""
    for index, item in enumerate(get_list(obj, key, path) or []):
        where = f"{join(path, key)}[{index}]"
        if not isinstance(item, dict):
            raise wrong_type(item, "a mapping", where)
        yield where, item


def get_str(obj: Mapping[str, Any], key: str, path: str, required: bool = False) -> str | None:
    """``obj[key]`` as a string; an empty string counts as missing when required."""
    value = obj.get(key)
    if value is None or (required and value == ""):
        if required:
            raise missing_field(join(path, key))
        return None
    if not isinstance(value, str):
        raise wrong_type(value, "a string", join(path, key))
    return value


def get_int(obj: Mapping[str, Any], key: str, path: str, low: int, high: int) -> int | None:
    """``obj[key]`` as an integer within ``[low, high]`` (None if absent/null)."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(value, "an integer", join(path, key))
    if not low <= value <= high:
        raise out_of_bounds(value, low, high, join(path, key))
    return value


def get_bool(obj: Mapping[str, Any], key: str, path: str) -> bool | None:
    """``obj[key]`` as a boolean (None if absent/null)."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise wrong_type(value, "a boolean", join(path, key))
    return value


def string_list(value: Any, path: str) -> tuple[str, ...]:
    """A list of strings (``command``/``args``)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise wrong_type(value, "a list of strings", path)
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise wrong_type(item, "a string", f"{path}[{index}]")
    return tuple(value)


def string_map(obj: Mapping[str, Any], key: str, path: str, labels: bool) -> dict[str, str]:
    """Labels or annotations: qualified-name keys, string values (label values checked)."""
    value = get_mapping(obj, key, path) or {}
    field = join(path, key)
    out: dict[str, str] = {}
    for k, v in value.items():
        if not isinstance(k, str) or not is_qualified_name(k):
            raise ValidationError(
                field,
                f'invalid key name "{k}"',
                "keys must be [prefix/]name with name a qualified name",
            )
        if not isinstance(v, str):
            raise ValidationError(
                annotation_field(field, k),
                f"expected a string, got {type_name(v)}",
                "quote the value in YAML",
            )
        if labels and not is_label_value(v):
            raise invalid_value(
                v,
                annotation_field(field, k),
                "label values must be at most 63 characters of [A-Za-z0-9._-], "
                "starting and ending with an alphanumeric character",
            )
        # one shared copy of each key and short value: 10,000 Services' annotations
        # are mostly the same few strings
        out[sys.intern(k)] = sys.intern(v) if len(v) <= 64 else v
    return out

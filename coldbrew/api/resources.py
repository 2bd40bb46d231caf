"""Container ``resources``: Kubernetes quantities for CPU and memory.

coldbrew accepts ``requests`` and ``limits`` of ``cpu`` and ``memory`` as
Kubernetes does (``500m``, ``1``, ``0.5``; ``128Mi``, ``1Gi``, ``1G``, ``1e9``)
and keeps them normalized: CPU in cores, memory in bytes. Standard pods are
priced and (in local mode) limited by them.
"""

from __future__ import annotations

import re
from typing import Any

from .checks import check_keys, get_mapping, join
from .errors import ValidationError, invalid_value, wrong_type
from .model import Resources

_QUANTITY = re.compile(r"([+]?[0-9]+(?:\.[0-9]*)?|[+]?\.[0-9]+)(?:([eE][-+]?[0-9]+)|([a-zA-Z]*))")
_SUFFIXES = {
    "": 1,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
RESOURCE_NAMES = ("cpu", "memory")


def parse_quantity(value: Any, field: str) -> float:
    """A Kubernetes quantity (``500m``, ``2``, ``1.5Gi``, ``1e3``) as a float."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise wrong_type(value, "a quantity string", field)
    text = str(value)
    match = _QUANTITY.fullmatch(text)
    if match is None or (match.group(3) or "") not in _SUFFIXES:
        raise invalid_value(
            text, field, "quantities must match '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        )
    number = float(match.group(1))
    if match.group(2):
        return number * 10 ** int(match.group(2)[1:])
    return number * _SUFFIXES[match.group(3) or ""]


def _amounts(obj: dict[str, Any], key: str, path: str) -> dict[str, float]:
    block = get_mapping(obj, key, path) or {}
    where = join(path, key)
    check_keys(block, RESOURCE_NAMES, where)
    out = {}
    for name, value in block.items():
        amount = parse_quantity(value, join(where, name))
        if amount <= 0:
            raise invalid_value(str(value), join(where, name), "must be greater than 0")
        out[name] = amount
    return out


def parse_resources(obj: dict[str, Any], path: str) -> Resources | None:
    """``<path>.resources`` of a container, or None when absent."""
    block = get_mapping(obj, "resources", path)
    if block is None:
        return None
    where = join(path, "resources")
    check_keys(block, ("requests", "limits"), where)
    requests = _amounts(block, "requests", where)
    limits = _amounts(block, "limits", where)
    for name, request in requests.items():
        if name in limits and request > limits[name]:
            raise ValidationError(
                join(where, f"requests.{name}"), f"must be less than or equal to {name} limit"
            )
    return Resources(
        cpu_request=requests.get("cpu"),
        memory_request=requests.get("memory"),
        cpu_limit=limits.get("cpu"),
        memory_limit=limits.get("memory"),
        raw={k: dict(v) for k, v in block.items() if isinstance(v, dict)},
    )

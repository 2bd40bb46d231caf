"""Instance catalogue and prices for standard pods and ASK reserved instances.

The catalogue lists the ECI instance types an ASK user names in
``knative.aliyun.com/reserve-instance-eci-use-specs``. Prices are per hour. The only price
figure the ASK reserved-instance article gives is that burstable instances are 46% cheaper than
computing instances of the same 2c4g size, so every default burstable price is the pay-by-size
price of its vCPU and memory less 46%. The per-vCPU-hour and per-GiB-hour rates are
*illustrative* ECI-like figures, not a quote: put real ones in the ``prices:`` config section.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from autoscaler.config import ConfigError

DEFAULT_RESERVE_TYPE = "ecs.t5-lc1m2.small"
BURSTABLE_DISCOUNT = 0.46  # "burstable instances are 46% cheaper than computing instances"
DEFAULT_VCPU_HOUR = 0.0353  # illustrative
DEFAULT_GIB_HOUR = 0.0051  # illustrative
UNSIZED_CPU, UNSIZED_MEMORY_GIB = 1.0, 2.0  # a standard pod with no resources: 1 vCPU, 2 GiB
MAX_SPECS = 5  # at most five instance types in the annotation

_CPU_MEMORY = re.compile(r"(?P<cpu>\d+(\.\d+)?|\d+m)-(?P<memory>\d+(\.\d+)?(Gi|Mi))")
_INSTANCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class SectionError(ConfigError):
    """A :class:`ConfigError` whose ``str()`` is ``"<key>: <message>"`` as given.

    ``ConfigError`` puts ``autoscaler.`` before every key; keys of other config sections
    (``prices.instances.foo``, ``reserve.reserve-instance``) are spelled out in full.
    """

    def __init__(self, key: str, message: str) -> None:
        ValueError.__init__(self, f"{key}: {message}" if key else message)
        self.key = key
        self.message = message


class UnknownInstanceType(ValueError):
    """None of the instance types asked for is in the catalogue."""


@dataclass(frozen=True, slots=True)
class InstanceType:
    name: str
    cpu: float
    memory_gib: float
    burstable: bool


_CATALOGUE = (
    InstanceType("ecs.t5-lc2m1.nano", 1, 0.5, True),
    InstanceType("ecs.t5-lc1m1.small", 1, 1, True),
    InstanceType("ecs.t5-lc1m2.small", 1, 2, True),
    InstanceType("ecs.t5-lc1m2.large", 2, 4, True),
    InstanceType("ecs.t5-lc1m4.large", 2, 8, True),
    InstanceType("ecs.t5-c1m1.large", 2, 2, True),
    InstanceType("ecs.t5-c1m2.large", 2, 4, True),
    InstanceType("ecs.t5-c1m4.large", 2, 8, True),
    InstanceType("ecs.t6-c1m1.large", 2, 2, True),
    InstanceType("ecs.t6-c1m2.large", 2, 4, True),
    InstanceType("ecs.t6-c1m4.large", 2, 8, True),
    InstanceType("ecs.c6.large", 2, 4, False),
    InstanceType("ecs.c6.xlarge", 4, 8, False),
    InstanceType("ecs.g6.large", 2, 8, False),
)
CATALOGUE: Mapping[str, InstanceType] = MappingProxyType({t.name: t for t in _CATALOGUE})
KNOWN_TYPES: frozenset[str] = frozenset(CATALOGUE)


def parse_cpu(text: str) -> float:
    """``"1"``, ``"0.5"`` or ``"500m"`` as vCPUs."""
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def parse_memory_gib(text: str) -> float:
    """``"2Gi"`` or ``"512Mi"`` as GiB."""
    if text.endswith("Gi"):
        return float(text[:-2])
    if text.endswith("Mi"):
        return float(text[:-2]) / 1024
    raise ValueError(f"memory must end in Gi or Mi, got {text!r}")


def parse_specs(raw: str) -> tuple[tuple[str, ...], str | None, str | None]:
    """The annotation's value: ``(instance_types, None, None)`` or ``((), cpu, memory)``."""
    text = raw.strip()
    m = _CPU_MEMORY.fullmatch(text)
    if m:
        return (), m["cpu"], m["memory"]
    names = tuple(part.strip() for part in text.split(","))
    if not 1 <= len(names) <= MAX_SPECS or not all(_INSTANCE_NAME.fullmatch(n) for n in names):
        raise ValueError(
            f"expected up to {MAX_SPECS} comma-separated instance types "
            '(e.g. "ecs.t5-c1m2.large") or a CPU-memory size (e.g. "1-2Gi")'
        )
    return names, None, None


def resolve_specs(
    instance_types: tuple[str, ...], cpu: str | None = None, memory: str | None = None
) -> InstanceType:
    """The instance a reserve pod runs on: the first known of ``instance_types`` (tried in
    order), else a burstable type of the CPU-memory size (named e.g. ``"1-2Gi"``), else the
    default ``ecs.t5-lc1m2.small``. Raises :class:`UnknownInstanceType`."""
    if instance_types:
        for name in instance_types:
            if name in CATALOGUE:
                return CATALOGUE[name]
        raise UnknownInstanceType(f"no known instance type in {', '.join(instance_types)}")
    if cpu is not None and memory is not None:
        return InstanceType(f"{cpu}-{memory}", parse_cpu(cpu), parse_memory_gib(memory), True)
    return CATALOGUE[DEFAULT_RESERVE_TYPE]


def instance_type(name: str) -> InstanceType:
    """A catalogue type by name, or a CPU-memory size (``"1-2Gi"``) as a burstable type."""
    if name in CATALOGUE:
        return CATALOGUE[name]
    m = _CPU_MEMORY.fullmatch(name)
    if m:
        return resolve_specs((), m["cpu"], m["memory"])
    raise UnknownInstanceType(f"unknown instance type {name!r}")


@dataclass(frozen=True, slots=True)
class PriceTable:
    """Prices per hour. Instance types not in ``instances`` are priced by size (vCPU-hours +
    GiB-hours), less ``burstable_discount`` when burstable."""

    currency: str = "USD"
    vcpu_hour: float = DEFAULT_VCPU_HOUR
    gib_hour: float = DEFAULT_GIB_HOUR
    burstable_discount: float = BURSTABLE_DISCOUNT
    instances: Mapping[str, float] = field(default_factory=dict)

    def standard_price_per_hour(self, cpu: float | None, memory_gib: float | None) -> float:
        """A standard pod by size; one with no resources is priced as 1 vCPU, 2 GiB."""
        cpu = UNSIZED_CPU if cpu is None else cpu
        memory_gib = UNSIZED_MEMORY_GIB if memory_gib is None else memory_gib
        return cpu * self.vcpu_hour + memory_gib * self.gib_hour

    def price_per_hour(self, instance: str | InstanceType) -> float:
        t = instance if isinstance(instance, InstanceType) else instance_type(instance)
        if t.name in self.instances:
            return self.instances[t.name]
        by_size = self.standard_price_per_hour(t.cpu, t.memory_gib)
        return by_size * (1.0 - self.burstable_discount) if t.burstable else by_size

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any] | None) -> PriceTable:
        """Parse a ``prices:`` section; :class:`SectionError` names the bad key."""
        if m is None:
            return cls()
        if not isinstance(m, Mapping):
            raise SectionError("prices", "must be a mapping")
        values: dict[str, Any] = {}
        for key, raw in m.items():
            where = f"prices.{key}"
            if key == "currency":
                if not isinstance(raw, str) or not raw.strip():
                    raise SectionError(where, f"must be a non-empty string, got {raw!r}")
                values["currency"] = raw.strip()
            elif key in ("vcpu-hour", "gib-hour"):
                values[key.replace("-", "_")] = _price(where, raw)
            elif key == "burstable-discount":
                discount = _price(where, raw)
                if discount >= 1:
                    raise SectionError(where, f"must be in [0, 1), got {raw!r}")
                values["burstable_discount"] = discount
            elif key == "instances":
                values["instances"] = _instances(raw)
            else:
                known = "currency, vcpu-hour, gib-hour, burstable-discount, instances"
                raise SectionError(where, f"unknown key (known: {known})")
        return cls(**values)


def _price(where: str, raw: Any) -> float:
    if isinstance(raw, bool):
        raise SectionError(where, f"must be a number, got {raw!r}")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise SectionError(where, f"must be a number, got {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise SectionError(where, f"must be a finite non-negative number, got {raw!r}")
    return value


def _instances(raw: Any) -> Mapping[str, float]:
    if not isinstance(raw, Mapping):
        raise SectionError("prices.instances", "must be a mapping of instance type to price")
    out: dict[str, float] = {}
    for name, price in raw.items():
        where = f"prices.instances.{name}"
        if name not in KNOWN_TYPES:
            raise SectionError(where, "unknown instance type")
        out[name] = _price(where, price)
    return MappingProxyType(out)

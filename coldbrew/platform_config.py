"""``coldbrew serve --config FILE``: platform defaults, refused at start when wrong.

The file is YAML with these optional sections:

- ``autoscaler:`` the keys of Knative's ``config-autoscaler`` ConfigMap
  (``stable-window: 60s``, ``container-concurrency-target-percentage: 70``, ...);
- ``reserve:`` ASK reserved-instance defaults, overridden per revision by the
  ``knative.aliyun.com/reserve-instance*`` annotations of the same names;
- ``prices:`` prices per hour (see :class:`autoscaler.pricing.PriceTable`);
- ``features:`` the keys of Knative's ``config-features`` ConfigMap
  (``kubernetes.podspec-affinity: Enabled``, ...), Knative's defaults when absent
  (see :mod:`coldbrew.api.features`);
- ``network:`` and ``domain:`` Knative's config-network ``http-protocol`` and
  config-domain (coldbrew/network_config.py);
- ``gc:`` the keys of Knative's ``config-gc`` ConfigMap (revision garbage collection,
  see :mod:`coldbrew.gc_config`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from autoscaler.config import AutoscalerConfig, ConfigError
from autoscaler.pricing import (
    DEFAULT_RESERVE_TYPE,
    KNOWN_TYPES,
    InstanceType,
    PriceTable,
    SectionError,
    parse_specs,
    resolve_specs,
)
from coldbrew.api.features import FeatureError, Features
from coldbrew.api.model import ReserveSpecs
from coldbrew.gc_config import parse_gc
from coldbrew.network_config import DomainConfig, NetworkConfig
from rulebook.gc import GCConfig

SECTIONS = ("autoscaler", "reserve", "prices", "features", "network", "domain", "gc")
RESERVE_INSTANCE_TYPES = ("eci", "ecs", "acs")
DEFAULT_SPECS = ReserveSpecs(instance_types=(DEFAULT_RESERVE_TYPE,))


@dataclass(frozen=True)
class ReserveDefaults:
    """The ``reserve:`` section: what a revision without reserve annotations gets."""

    enabled: bool = True  # reserve-instance: enable | disable
    replicas: int = 1  # reserve-instance-replicas
    instance_type: str = "eci"  # reserve-instance-type: eci | ecs | acs
    eci_use_specs: ReserveSpecs = DEFAULT_SPECS

    def resolved(self) -> InstanceType:
        """The instance type ``eci_use_specs`` resolves to (first known, tried in order)."""
        s = self.eci_use_specs
        return resolve_specs(s.instance_types, s.cpu, s.memory)

    @classmethod
    def from_mapping(cls, m: Any) -> ReserveDefaults:
        """Parse a ``reserve:`` section; :class:`SectionError` names ``reserve.<key>``."""
        if m is None:
            return cls()
        if not isinstance(m, dict):
            raise SectionError("reserve", "must be a mapping of reserve-instance keys")
        values: dict[str, Any] = {}
        for key, raw in m.items():
            where = f"reserve.{key}"
            if key == "reserve-instance":
                values["enabled"] = _choice(where, raw, ("enable", "disable")) == "enable"
            elif key == "reserve-instance-replicas":
                if isinstance(raw, bool) or not isinstance(raw, int | str):
                    raise SectionError(where, f"must be an integer, got {raw!r}")
                try:
                    replicas = int(raw)
                except ValueError:
                    raise SectionError(where, f"must be an integer, got {raw!r}") from None
                if replicas < 1:
                    raise SectionError(where, f"must be at least 1, got {replicas}")
                values["replicas"] = replicas
            elif key == "reserve-instance-type":
                values["instance_type"] = _choice(where, raw, RESERVE_INSTANCE_TYPES)
            elif key == "reserve-instance-eci-use-specs":
                values["eci_use_specs"] = _specs(where, raw)
            else:
                known = (
                    "reserve-instance, reserve-instance-replicas, reserve-instance-type, "
                    "reserve-instance-eci-use-specs"
                )
                raise SectionError(where, f"unknown key (known: {known})")
        return cls(**values)


def _choice(where: str, raw: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(raw, str) or raw.strip() not in allowed:
        raise SectionError(where, f"must be one of {', '.join(allowed)}, got {raw!r}")
    return raw.strip()


def _specs(where: str, raw: Any) -> ReserveSpecs:
    if not isinstance(raw, str):
        raise SectionError(where, f"must be a string, got {raw!r}")
    try:
        types, cpu, memory = parse_specs(raw)
    except ValueError as exc:
        raise SectionError(where, str(exc)) from None
    unknown = [t for t in types if t not in KNOWN_TYPES]
    if unknown:
        raise SectionError(where, f"unknown instance type {unknown[0]!r}")
    return ReserveSpecs(instance_types=types, cpu=cpu, memory=memory)


@dataclass(frozen=True)
class PlatformConfig:
    autoscaler: AutoscalerConfig = field(default_factory=AutoscalerConfig)
    reserve: ReserveDefaults = field(default_factory=ReserveDefaults)
    prices: PriceTable = field(default_factory=PriceTable)
    features: Features = field(default_factory=Features)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    domain: DomainConfig = field(default_factory=DomainConfig)
    gc: GCConfig = field(default_factory=GCConfig)


def parse_config(doc: Any) -> PlatformConfig:
    if doc is None:
        return PlatformConfig()
    if not isinstance(doc, dict):
        raise SectionError("", "the config file must be a YAML mapping")
    for key in doc:
        if key not in SECTIONS:
            allowed = ", ".join(SECTIONS)
            raise SectionError(str(key), f"unknown section (known: {allowed})")
    section = doc.get("autoscaler") or {}
    if not isinstance(section, dict):
        raise ConfigError("autoscaler", "must be a mapping of config-autoscaler keys")
    return PlatformConfig(
        autoscaler=AutoscalerConfig.from_mapping(section),
        reserve=ReserveDefaults.from_mapping(doc.get("reserve")),
        prices=PriceTable.from_mapping(doc.get("prices")),
        features=_features(doc.get("features")),
        network=NetworkConfig.from_mapping(doc.get("network")),
        domain=DomainConfig.from_mapping(doc.get("domain")),
        gc=parse_gc(doc.get("gc")),
    )


def _features(section: Any) -> Features:
    try:
        return Features.from_mapping(section)
    except FeatureError as exc:
        raise SectionError(exc.field, exc.message) from None


def load_config(path: Path | None) -> PlatformConfig:
    """The config at ``path`` (defaults when None); ConfigError names the bad key."""
    if path is None:
        return PlatformConfig()
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError("", f"cannot read {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError("", f"{path} is not valid YAML: {exc}") from exc
    return parse_config(doc)

"""``coldbrew serve --config FILE``: platform defaults, refused at start when wrong.

The file is YAML. Its ``autoscaler:`` mapping takes the keys of Knative's
``config-autoscaler`` ConfigMap (``stable-window: 60s``,
``container-concurrency-target-percentage: 70``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from autoscaler.config import AutoscalerConfig, ConfigError

SECTIONS = ("autoscaler",)


@dataclass(frozen=True)
class PlatformConfig:
    autoscaler: AutoscalerConfig = field(default_factory=AutoscalerConfig)


def parse_config(doc: Any) -> PlatformConfig:
    if doc is None:
        return PlatformConfig()
    if not isinstance(doc, dict):
        raise ConfigError("", "the config file must be a YAML mapping")
    for key in doc:
        if key not in SECTIONS:
            allowed = ", ".join(SECTIONS)
            raise ConfigError(str(key), f"unknown section (known: {allowed})")
    section = doc.get("autoscaler") or {}
    if not isinstance(section, dict):
        raise ConfigError("autoscaler", "must be a mapping of config-autoscaler keys")
    return PlatformConfig(autoscaler=AutoscalerConfig.from_mapping(section))


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

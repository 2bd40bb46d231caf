"""Knative's ``config-autoscaler`` ConfigMap: keys, defaults and validation.

Mirrors ``pkg/autoscaler/config/config.go`` (``NewConfigFromMap`` + ``validate``).
Durations are Go duration strings (``"60s"``; Knative parses them with
``time.ParseDuration``, so ``"60"`` is refused), stored as seconds (floats).
Percentages are stored as percentages (70, not 0.7).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from autoscaler.durations import format_duration_seconds, parse_duration_seconds

TARGET_MIN = 0.01  # autoscaling.TargetMin
WINDOW_MIN = 6.0  # autoscaling.WindowMin
WINDOW_MAX = 3600.0  # autoscaling.WindowMax
PANIC_WINDOW_PERCENTAGE_MIN = 1.0
PANIC_WINDOW_PERCENTAGE_MAX = 100.0
PANIC_THRESHOLD_PERCENTAGE_MIN = 110.0
PANIC_THRESHOLD_PERCENTAGE_MAX = 1000.0
KPA_CLASS = "kpa.autoscaling.knative.dev"


class ConfigError(ValueError):
    """An invalid ``config-autoscaler`` value; ``str()`` names the key."""

    def __init__(self, key: str, message: str) -> None:
        where = (
            key if key.startswith("autoscaler") else f"autoscaler.{key}" if key else "autoscaler"
        )
        super().__init__(f"{where}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True, slots=True)
class AutoscalerConfig:
    """The cluster-wide autoscaler defaults (``config-autoscaler``)."""

    stable_window: float = 60.0
    panic_window_percentage: float = 10.0
    panic_threshold_percentage: float = 200.0
    container_concurrency_target_default: float = 100.0
    container_concurrency_target_percentage: float = 70.0
    requests_per_second_target_default: float = 200.0
    target_burst_capacity: float = 211.0
    activator_capacity: float = 100.0
    max_scale_up_rate: float = 1000.0
    max_scale_down_rate: float = 2.0
    enable_scale_to_zero: bool = True
    scale_to_zero_grace_period: float = 30.0
    scale_to_zero_pod_retention_period: float = 0.0
    initial_scale: int = 1
    allow_zero_initial_scale: bool = False
    min_scale: int = 0
    max_scale: int = 0
    max_scale_limit: int = 0
    scale_down_delay: float = 0.0
    pod_autoscaler_class: str = KPA_CLASS
    tick_interval: float = 2.0  # coldbrew's own key: how often the autoscaler decides

    @property
    def target_utilization(self) -> float:
        """``container-concurrency-target-percentage`` as a fraction (0.7)."""
        return self.container_concurrency_target_percentage / 100.0

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any] | None) -> AutoscalerConfig:
        """Parse and validate ConfigMap-style data (``"stable-window": "60s"``).

        Keys may be written dashed (Knative) or with underscores. Unknown keys are refused.
        """
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for raw_key, raw in (m or {}).items():
            key = str(raw_key).replace("_", "-")
            attr = key.replace("-", "_")
            if attr not in known:
                raise ConfigError(key, "unknown key")
            values[attr] = _PARSERS[attr](key, raw)
        pct = values.get("container_concurrency_target_percentage")
        if pct is not None and pct <= 1.0:
            # Knative: values > 1 are percentages, values <= 1 are fractions.
            values["container_concurrency_target_percentage"] = pct * 100.0
        cfg = replace(cls(), **values)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Knative's ``validate``; raises :class:`ConfigError` naming the key."""
        if self.scale_to_zero_grace_period <= 0:
            _fail("scale-to-zero-grace-period", "must be positive", self.scale_to_zero_grace_period)
        if self.scale_down_delay < 0:
            _fail("scale-down-delay", "cannot be negative", self.scale_down_delay)
        if round(self.scale_down_delay) != self.scale_down_delay:
            _fail("scale-down-delay", "must have at most second precision", self.scale_down_delay)
        if self.scale_to_zero_pod_retention_period < 0:
            _fail(
                "scale-to-zero-pod-retention-period",
                "cannot be negative",
                self.scale_to_zero_pod_retention_period,
            )
        if self.target_burst_capacity < 0 and self.target_burst_capacity != -1:
            raise ConfigError(
                "target-burst-capacity",
                f"must be non-negative or -1 (unlimited), got {self.target_burst_capacity:g}",
            )
        pct = self.container_concurrency_target_percentage
        if pct <= 0 or pct > 100:
            raise ConfigError(
                "container-concurrency-target-percentage",
                f"must be in (0, 100], got {pct:g}",
            )
        if self.target_utilization * self.container_concurrency_target_default < TARGET_MIN:
            raise ConfigError(
                "container-concurrency-target-default",
                f"target concurrency x percentage must be at least {TARGET_MIN}, got "
                f"{self.target_utilization * self.container_concurrency_target_default:g}",
            )
        if self.requests_per_second_target_default < TARGET_MIN:
            raise ConfigError(
                "requests-per-second-target-default",
                f"must be at least {TARGET_MIN}, got {self.requests_per_second_target_default:g}",
            )
        if self.activator_capacity < 1:
            raise ConfigError(
                "activator-capacity", f"must be at least 1, got {self.activator_capacity:g}"
            )
        for key, rate in (
            ("max-scale-up-rate", self.max_scale_up_rate),
            ("max-scale-down-rate", self.max_scale_down_rate),
        ):
            if rate <= 1.0:
                raise ConfigError(key, f"must be greater than 1.0, got {rate:g}")
        if not WINDOW_MIN <= self.stable_window <= WINDOW_MAX:
            _fail("stable-window", "must be between 6s and 1h", self.stable_window)
        if round(self.stable_window) != self.stable_window:
            _fail("stable-window", "must have at most second precision", self.stable_window)
        pwp = self.panic_window_percentage
        if not PANIC_WINDOW_PERCENTAGE_MIN <= pwp <= PANIC_WINDOW_PERCENTAGE_MAX:
            raise ConfigError("panic-window-percentage", f"must be in [1, 100], got {pwp:g}")
        ptp = self.panic_threshold_percentage
        if not PANIC_THRESHOLD_PERCENTAGE_MIN <= ptp <= PANIC_THRESHOLD_PERCENTAGE_MAX:
            # Knative checks this range only on the annotation; we apply it to the default too.
            raise ConfigError("panic-threshold-percentage", f"must be in [110, 1000], got {ptp:g}")
        zero_ok = self.allow_zero_initial_scale
        if self.initial_scale < 0 or (self.initial_scale == 0 and not zero_ok):
            raise ConfigError(
                "initial-scale",
                "must be at least 1 (0 only with allow-zero-initial-scale), "
                f"got {self.initial_scale}",
            )
        if self.min_scale < 0:
            raise ConfigError("min-scale", f"must be at least 0, got {self.min_scale}")
        if self.max_scale_limit < 0:
            raise ConfigError("max-scale-limit", f"must be at least 0, got {self.max_scale_limit}")
        lowest_max = 1 if self.max_scale_limit > 0 else 0
        if self.max_scale < lowest_max or (
            self.max_scale_limit > 0 and self.max_scale > self.max_scale_limit
        ):
            raise ConfigError(
                "max-scale",
                f"must be in [{lowest_max}, max-scale-limit ({self.max_scale_limit})], "
                f"got {self.max_scale}",
            )
        if self.max_scale > 0 and self.min_scale > self.max_scale:
            raise ConfigError(
                "min-scale",
                f"must not exceed max-scale ({self.max_scale}), got {self.min_scale}",
            )
        if self.tick_interval <= 0:
            _fail("tick-interval", "must be positive", self.tick_interval)
        if self.pod_autoscaler_class != KPA_CLASS:
            raise ConfigError(
                "pod-autoscaler-class",
                f"only {KPA_CLASS} is supported, got {self.pod_autoscaler_class!r}",
            )


def _fail(key: str, message: str, seconds: float) -> None:
    raise ConfigError(key, f"{message}, got {format_duration_seconds(seconds)}")


def _as_float(key: str, raw: Any) -> float:
    if isinstance(raw, bool):
        raise ConfigError(key, f"must be a number, got {raw!r}")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(key, f"must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise ConfigError(key, f"must be a finite number, got {raw!r}")
    return value


def _as_int(key: str, raw: Any) -> int:
    if isinstance(raw, bool):
        raise ConfigError(key, f"must be an integer, got {raw!r}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str):
        try:
            return int(raw.strip())
        except ValueError:
            pass
    raise ConfigError(key, f"must be an integer, got {raw!r}")


_TRUE = {"1", "t", "true"}
_FALSE = {"0", "f", "false"}


def _as_bool(key: str, raw: Any) -> bool:
    """Go's ``strconv.ParseBool``."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    raise ConfigError(key, f"must be a boolean, got {raw!r}")


def _as_duration(key: str, raw: Any) -> float:
    try:
        return parse_duration_seconds(raw)
    except ValueError as exc:
        raise ConfigError(key, str(exc)) from None


def _as_str(key: str, raw: Any) -> str:
    if not isinstance(raw, str):
        raise ConfigError(key, f"must be a string, got {raw!r}")
    return raw.strip()


_KIND: dict[type, Callable[[str, Any], Any]] = {float: _as_float, int: _as_int, bool: _as_bool}
_DURATIONS = {
    "stable_window",
    "scale_to_zero_grace_period",
    "scale_to_zero_pod_retention_period",
    "scale_down_delay",
    "tick_interval",
}


def _parser(name: str, default: Any) -> Callable[[str, Any], Any]:
    if name in _DURATIONS:
        return _as_duration
    if isinstance(default, str):
        return _as_str
    return _KIND[type(default)]


_DEFAULTS = AutoscalerConfig()
_PARSERS: dict[str, Callable[[str, Any], Any]] = {
    f.name: _parser(f.name, getattr(_DEFAULTS, f.name)) for f in fields(AutoscalerConfig)
}

"""Parse and range-check revision annotations into :class:`Scaling`.

Covers Knative's ``autoscaling.knative.dev/*`` keys (with the old camelCase
spellings such as ``minScale``) and Alibaba Cloud's reserved-instance keys
``knative.aliyun.com/reserve-instance*``. Errors name the annotation as
``<path>[<key>]`` with the key spelled as the user wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from autoscaler.durations import (
    HOUR,
    SECOND,
    format_duration_ns,
    missing_unit_hint,
    parse_duration_ns,
)

from .checks import annotation_field
from .errors import ValidationError, invalid_value, out_of_bounds
from .model import ReserveSpecs, Scaling

GROUP = "autoscaling.knative.dev"
KPA = "kpa.autoscaling.knative.dev"
HPA = "hpa.autoscaling.knative.dev"
CLASSES = (KPA, HPA)
KPA_METRICS = ("concurrency", "rps")
HPA_ONLY_METRICS = ("cpu", "memory")
MAX_INT32 = 2**31 - 1
WINDOW_MIN, WINDOW_MAX = 6 * SECOND, HOUR
EXPECTED_DURATION = 'expected a duration like "60s" or "1m30s"'

_G = GROUP + "/"
CLASS = (_G + "class",)
METRIC = (_G + "metric",)
TARGET = (_G + "target",)
TARGET_UTILIZATION = (_G + "target-utilization-percentage", _G + "targetUtilizationPercentage")
WINDOW = (_G + "window",)
PANIC_WINDOW = (_G + "panic-window-percentage", _G + "panicWindowPercentage")
PANIC_THRESHOLD = (_G + "panic-threshold-percentage", _G + "panicThresholdPercentage")
MIN_SCALE = (_G + "min-scale", _G + "minScale")
MAX_SCALE = (_G + "max-scale", _G + "maxScale")
INITIAL_SCALE = (_G + "initial-scale", _G + "initialScale")
ACTIVATION_SCALE = (_G + "activation-scale",)
SCALE_DOWN_DELAY = (_G + "scale-down-delay", _G + "scaleDownDelay")
RETENTION = (_G + "scale-to-zero-pod-retention-period", _G + "scaleToZeroPodRetentionPeriod")
BURST_CAPACITY = (_G + "target-burst-capacity", _G + "targetBurstCapacity")

_A = "knative.aliyun.com/"
RESERVE = (_A + "reserve-instance",)
RESERVE_REPLICAS = (_A + "reserve-instance-replicas",)
RESERVE_TYPE = (_A + "reserve-instance-type",)
RESERVE_ECI_SPECS = (_A + "reserve-instance-eci-use-specs",)
RESERVE_TYPES = ("eci", "ecs", "acs")
MAX_ECI_SPECS = 5

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_INSTANCE_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_CPU_MEMORY = re.compile(r"(?P<cpu>\d+(\.\d+)?|\d+m)-(?P<memory>\d+(\.\d+)?(Gi|Mi))")


class _Reader:
    """Looks up annotations by key priority and builds errors naming the key."""

    def __init__(self, annotations: Mapping[str, str], path: str) -> None:
        self.annotations = annotations
        self.path = path

    def field(self, key: str) -> str:
        return annotation_field(self.path, key)

    def get(self, keys: tuple[str, ...]) -> tuple[str, str] | None:
        found = [k for k in keys if k in self.annotations]
        if len(found) > 1:
            raise ValidationError(
                self.field(found[1]),
                "expected exactly one, got both",
                f"{found[0]} and {found[1]} are the same setting; keep one",
            )
        return (found[0], self.annotations[found[0]]) if found else None

    def int_(self, keys: tuple[str, ...], low: int) -> tuple[str, int] | None:
        item = self.get(keys)
        if item is None:
            return None
        key, raw = item
        if not _INT.fullmatch(raw):
            raise invalid_value(raw, self.field(key), "expected an integer")
        value = int(raw)
        if not low <= value <= MAX_INT32:
            raise out_of_bounds(raw, low, MAX_INT32, self.field(key))
        return key, value

    def float_(self, keys: tuple[str, ...]) -> tuple[str, float] | None:
        item = self.get(keys)
        if item is None:
            return None
        key, raw = item
        if not _FLOAT.fullmatch(raw):
            raise invalid_value(raw, self.field(key), "expected a number")
        return key, float(raw)

    def ranged(self, keys: tuple[str, ...], low: float, high: float) -> float | None:
        item = self.float_(keys)
        if item is None:
            return None
        key, value = item
        if not low <= value <= high:
            raise out_of_bounds(self.annotations[key], low, high, self.field(key))
        return value

    def duration(
        self, keys: tuple[str, ...], low: int, high: int, whole_seconds: bool
    ) -> float | None:
        item = self.get(keys)
        if item is None:
            return None
        key, raw = item
        try:
            ns = parse_duration_ns(raw)
        except ValueError:
            hint = missing_unit_hint(raw)
            details = f"missing unit: {hint}" if hint else EXPECTED_DURATION
            raise invalid_value(raw, self.field(key), details) from None
        if not low <= ns <= high:
            bounds = format_duration_ns(low), format_duration_ns(high)
            raise out_of_bounds(raw, *bounds, self.field(key))
        if whole_seconds and ns % SECOND:
            raise ValidationError(
                self.field(key), "must be specified with at most second precision"
            )
        return ns / SECOND

    def choice(self, keys: tuple[str, ...], choices: Collection[str]) -> str | None:
        item = self.get(keys)
        if item is None:
            return None
        key, raw = item
        if raw not in choices:
            raise invalid_value(raw, self.field(key), "must be one of: " + ", ".join(choices))
        return raw


def parse_scaling(
    annotations: Mapping[str, str],
    path: str = "spec.template.metadata.annotations",
    *,
    instance_types: Collection[str] | None = None,
) -> Scaling:
    """Validate the autoscaling and reserved-instance annotations of a revision template.

    ``instance_types``, when given, is the catalogue the ECI instance type
    names must come from (checking against a catalogue is optional for now).
    """
    r = _Reader(annotations, path)
    autoscaler_class = r.choice(CLASS, CLASSES)
    metric = _metric(r, autoscaler_class)
    target = r.float_(TARGET)
    if target is not None and target[1] < 0.01:
        raw = annotations[target[0]]
        raise ValidationError(r.field(target[0]), f"target {raw} should be at least 0.01")
    min_scale = r.int_(MIN_SCALE, 0)
    max_scale = r.int_(MAX_SCALE, 0)
    lo = min_scale[1] if min_scale else 0
    if max_scale and max_scale[1] != 0 and max_scale[1] < lo:
        raise ValidationError(
            r.field(max_scale[0]), f"max-scale={max_scale[1]} is less than min-scale={lo}"
        )
    activation = r.int_(ACTIVATION_SCALE, 1)
    if activation:
        key, value = activation
        if value < lo:
            raise ValidationError(
                r.field(key), f"min-scale={lo} is greater than activation-scale={value}"
            )
        if max_scale and 0 < max_scale[1] < value:
            raise ValidationError(
                r.field(key), f"max-scale={max_scale[1]} is less than activation-scale={value}"
            )
    initial = r.int_(INITIAL_SCALE, 0)
    burst = r.float_(BURST_CAPACITY)
    if burst and burst[1] < 0 and burst[1] != -1:
        raise invalid_value(
            annotations[burst[0]], r.field(burst[0]), "must be -1 (unlimited) or >= 0"
        )
    reserve = r.choice(RESERVE, ("enable", "disable"))
    replicas = r.int_(RESERVE_REPLICAS, 1)
    return Scaling(
        autoscaler_class=autoscaler_class,
        metric=metric,
        target=target[1] if target else None,
        target_utilization_percentage=r.ranged(TARGET_UTILIZATION, 1, 100),
        window_seconds=r.duration(WINDOW, WINDOW_MIN, WINDOW_MAX, whole_seconds=True),
        panic_window_percentage=r.ranged(PANIC_WINDOW, 1, 100),
        panic_threshold_percentage=r.ranged(PANIC_THRESHOLD, 110, 1000),
        min_scale=min_scale[1] if min_scale else None,
        max_scale=max_scale[1] if max_scale else None,
        initial_scale=initial[1] if initial else None,
        activation_scale=activation[1] if activation else None,
        scale_down_delay_seconds=r.duration(SCALE_DOWN_DELAY, 0, HOUR, whole_seconds=True),
        scale_to_zero_pod_retention_seconds=r.duration(RETENTION, 0, HOUR, whole_seconds=False),
        target_burst_capacity=burst[1] if burst else None,
        reserve_instance=None if reserve is None else reserve == "enable",
        reserve_instance_replicas=replicas[1] if replicas else None,
        reserve_instance_type=r.choice(RESERVE_TYPE, RESERVE_TYPES),
        reserve_instance_eci_use_specs=_eci_specs(r, instance_types),
    )


def _metric(r: _Reader, autoscaler_class: str | None) -> str | None:
    item = r.get(METRIC)
    if item is None:
        return None
    key, raw = item
    if raw in KPA_METRICS or (raw in HPA_ONLY_METRICS and autoscaler_class == HPA):
        return raw
    if raw in HPA_ONLY_METRICS:
        details = f"metric {raw} requires {CLASS[0]}: {HPA}"
    else:
        details = "must be one of: concurrency, rps (or cpu, memory with the hpa class)"
    raise invalid_value(raw, r.field(key), details)


def _eci_specs(r: _Reader, instance_types: Collection[str] | None) -> ReserveSpecs | None:
    item = r.get(RESERVE_ECI_SPECS)
    if item is None:
        return None
    key, raw = item
    field = r.field(key)
    cpu_memory = _CPU_MEMORY.fullmatch(raw.strip())
    if cpu_memory:
        return ReserveSpecs(cpu=cpu_memory["cpu"], memory=cpu_memory["memory"])
    names = [part.strip() for part in raw.split(",")]
    if not 1 <= len(names) <= MAX_ECI_SPECS:
        raise invalid_value(raw, field, f"at most {MAX_ECI_SPECS} instance types")
    for name in names:
        if not name or not _INSTANCE_TYPE.fullmatch(name):
            raise invalid_value(
                raw,
                field,
                "expected a comma-separated list of instance types "
                '(e.g. "ecs.t5-c1m2.large") or a CPU-memory size (e.g. "1-2Gi")',
            )
        if instance_types is not None and name not in instance_types:
            raise invalid_value(raw, field, f'unknown instance type "{name}"')
    return ReserveSpecs(instance_types=tuple(names))

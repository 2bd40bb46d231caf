"""Knative's ``DeciderSpec`` and how a revision's annotations resolve into one.

Ports ``MakeDecider``/``GetInitialScale`` (kpa/resources/decider.go),
``ResolveMetricTarget`` (autoscaling/resources/target.go), ``StableWindow`` and the panic
window rounding of ``MakeMetric`` (autoscaling/resources/metric.go); min-, max- and initial
scale come from :mod:`rulebook.scale_bounds` (``ScaleBounds``, ``GetInitialScale``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from autoscaler.config import TARGET_MIN, AutoscalerConfig
from rulebook import scale_bounds

Metric = Literal["concurrency", "rps"]
BUCKET_SIZE = 1.0  # config.BucketSize


@dataclass(frozen=True, slots=True)
class DeciderSpec:
    """Everything one revision's decider needs; times in seconds."""

    max_scale_up_rate: float = 1000.0
    max_scale_down_rate: float = 2.0
    target_value: float = 70.0  # per pod, after utilization
    total_value: float = 100.0  # what one pod can take
    target_burst_capacity: float = 211.0
    panic_threshold: float = 2.0  # ratio, not percent
    activator_capacity: float = 100.0
    stable_window: float = 60.0
    panic_window: float = 6.0
    scale_down_delay: float = 0.0
    initial_scale: int = 1
    min_scale: int = 0
    max_scale: int = 0  # 0 = unbounded
    activation_scale: int = 0
    metric: Metric = "concurrency"
    enable_scale_to_zero: bool = True
    scale_to_zero_grace_period: float = 30.0
    scale_to_zero_pod_retention_period: float = 0.0
    reachable: bool = True


def round_half_away(x: float) -> float:
    """Go's ``math.Round`` (half away from zero), unlike Python's banker's ``round``."""
    return math.copysign(math.floor(abs(x) + 0.5), x)


def panic_window_seconds(stable_window: float, percentage: float) -> float:
    """``MakeMetric``: stable x pct / 100 rounded to the second, at least one bucket."""
    return max(BUCKET_SIZE, round_half_away(stable_window * percentage / 100.0))


def resolve_metric_target(
    config: AutoscalerConfig,
    *,
    metric: Metric,
    container_concurrency: int,
    target: float | None,
    target_utilization_percentage: float | None,
) -> tuple[float, float]:
    """``ResolveMetricTarget``: ``(target per pod after utilization, total per pod)``."""
    if metric == "rps":
        total = config.requests_per_second_target_default
    else:
        total = float(container_concurrency) or config.container_concurrency_target_default
    utilization = config.target_utilization
    if target is not None:
        total = target
        if metric == "concurrency" and container_concurrency:
            total = min(target, float(container_concurrency))
    if target_utilization_percentage is not None:
        utilization = target_utilization_percentage / 100.0
    return max(TARGET_MIN, total * utilization), total


def make_spec(
    config: AutoscalerConfig,
    *,
    container_concurrency: int,
    target: float | None = None,
    target_utilization_percentage: float | None = None,
    metric: str | None = None,
    window_seconds: float | None = None,
    panic_window_percentage: float | None = None,
    panic_threshold_percentage: float | None = None,
    min_scale: int | None = None,
    max_scale: int | None = None,
    initial_scale: int | None = None,
    activation_scale: int | None = None,
    scale_down_delay_seconds: float | None = None,
    scale_to_zero_pod_retention_seconds: float | None = None,
    target_burst_capacity: float | None = None,
) -> DeciderSpec:
    """Annotation values (not None) override the config defaults, as ``MakeDecider`` does."""
    resolved: Metric = "rps" if metric == "rps" else "concurrency"
    if metric not in (None, "concurrency", "rps"):
        raise ValueError(f"unsupported metric for KPA: {metric!r}")
    target_value, total_value = resolve_metric_target(
        config,
        metric=resolved,
        container_concurrency=container_concurrency,
        target=target,
        target_utilization_percentage=target_utilization_percentage,
    )
    stable = config.stable_window if window_seconds is None else float(window_seconds)
    pwp = config.panic_window_percentage
    if panic_window_percentage is not None:
        pwp = panic_window_percentage
    ptp = config.panic_threshold_percentage
    if panic_threshold_percentage is not None:
        ptp = panic_threshold_percentage
    return DeciderSpec(
        max_scale_up_rate=config.max_scale_up_rate,
        max_scale_down_rate=config.max_scale_down_rate,
        target_value=target_value,
        total_value=total_value,
        target_burst_capacity=(
            config.target_burst_capacity if target_burst_capacity is None else target_burst_capacity
        ),
        panic_threshold=ptp / 100.0,
        activator_capacity=config.activator_capacity,
        stable_window=stable,
        panic_window=panic_window_seconds(stable, pwp),
        scale_down_delay=(
            config.scale_down_delay
            if scale_down_delay_seconds is None
            else float(scale_down_delay_seconds)
        ),
        initial_scale=scale_bounds.initial_scale(
            initial_scale, config.initial_scale, allow_zero=config.allow_zero_initial_scale
        ),
        min_scale=scale_bounds.min_scale(min_scale, config.min_scale),
        max_scale=scale_bounds.max_scale(max_scale, config.max_scale),
        activation_scale=0 if activation_scale is None else activation_scale,
        metric=resolved,
        enable_scale_to_zero=config.enable_scale_to_zero,
        scale_to_zero_grace_period=config.scale_to_zero_grace_period,
        scale_to_zero_pod_retention_period=(
            config.scale_to_zero_pod_retention_period
            if scale_to_zero_pod_retention_seconds is None
            else float(scale_to_zero_pod_retention_seconds)
        ),
    )

"""From a revision's template and the platform config to the autoscaler's spec."""

from __future__ import annotations

from autoscaler.config import AutoscalerConfig
from autoscaler.spec import DeciderSpec, make_spec
from coldbrew.api.model import RevisionTemplate


def decider_spec(config: AutoscalerConfig, template: RevisionTemplate) -> DeciderSpec:
    """Annotations override the config's defaults, as Knative's PodAutoscaler does."""
    s = template.scaling
    return make_spec(
        config,
        container_concurrency=template.container_concurrency,
        target=s.target,
        target_utilization_percentage=s.target_utilization_percentage,
        metric=s.metric,
        window_seconds=s.window_seconds,
        panic_window_percentage=s.panic_window_percentage,
        panic_threshold_percentage=s.panic_threshold_percentage,
        min_scale=s.min_scale,
        max_scale=s.max_scale,
        initial_scale=s.initial_scale,
        activation_scale=s.activation_scale,
        scale_down_delay_seconds=s.scale_down_delay_seconds,
        scale_to_zero_pod_retention_seconds=s.scale_to_zero_pod_retention_seconds,
        target_burst_capacity=s.target_burst_capacity,
    )

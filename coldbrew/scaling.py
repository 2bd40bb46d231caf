"""From a revision's template and the platform config to the autoscaler's spec, and
whether it starts Ready with no pod."""

from __future__ import annotations

from autoscaler.config import AutoscalerConfig
from autoscaler.spec import DeciderSpec, make_spec
from coldbrew.api.model import RevisionTemplate
from rulebook import scale_bounds


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


def ready_without_pods(config: AutoscalerConfig, template: RevisionTemplate) -> bool:
    """The revision is Ready with no pod (``initial-scale: "0"``, no min): both modes' rule,
    :func:`rulebook.scale_bounds.ready_without_pods` of its resolved bounds."""
    s = template.scaling
    return scale_bounds.ready_without_pods(
        resolved_min=scale_bounds.min_scale(s.min_scale, config.min_scale),
        resolved_initial=scale_bounds.initial_scale(
            s.initial_scale, config.initial_scale, allow_zero=config.allow_zero_initial_scale
        ),
    )

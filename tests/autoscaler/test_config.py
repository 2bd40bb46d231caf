"""config-autoscaler parsing/validation and DeciderSpec resolution (durations: test_durations)."""

from __future__ import annotations

import pytest

from autoscaler.config import AutoscalerConfig, ConfigError
from autoscaler.spec import make_spec, panic_window_seconds


def test_defaults_match_knative() -> None:
    c = AutoscalerConfig.from_mapping({})
    assert c == AutoscalerConfig()
    assert (c.stable_window, c.panic_window_percentage, c.panic_threshold_percentage) == (
        60,
        10,
        200,
    )
    assert (c.container_concurrency_target_default, c.target_utilization) == (100, 0.7)
    assert (c.requests_per_second_target_default, c.target_burst_capacity) == (200, 211)
    assert (c.max_scale_up_rate, c.max_scale_down_rate, c.activator_capacity) == (1000, 2, 100)
    assert (c.scale_to_zero_grace_period, c.scale_to_zero_pod_retention_period) == (30, 0)
    assert (c.initial_scale, c.min_scale, c.max_scale, c.max_scale_limit) == (1, 0, 0, 0)
    assert c.enable_scale_to_zero and not c.allow_zero_initial_scale
    assert (c.scale_down_delay, c.tick_interval) == (0, 2)


def test_parses_configmap_strings() -> None:
    c = AutoscalerConfig.from_mapping(
        {
            "stable-window": "2m",
            "scale-to-zero-grace-period": "45s",
            "enable-scale-to-zero": "false",
            "container-concurrency-target-percentage": "0.5",
            "max-scale-up-rate": "3.5",
            "initial-scale": "0",
            "allow-zero-initial-scale": "True",
            "max_scale": 10,
            "tick-interval": "500ms",
        }
    )
    assert c.stable_window == 120 and c.scale_to_zero_grace_period == 45
    assert not c.enable_scale_to_zero and c.container_concurrency_target_percentage == 50
    assert (c.max_scale_up_rate, c.initial_scale, c.max_scale, c.tick_interval) == (
        3.5,
        0,
        10,
        0.5,
    )


@pytest.mark.parametrize(
    ("data", "key", "fragment"),
    [
        ({"stable-window": "2s"}, "stable-window", "must be between 6s and 1h, got 2s"),
        ({"stable-window": "2h"}, "stable-window", "got 2h"),
        ({"stable-window": "6.5s"}, "stable-window", "second precision"),
        ({"stable-window": "soon"}, "stable-window", "invalid duration"),
        ({"max-scale-up-rate": 1}, "max-scale-up-rate", "greater than 1.0"),
        ({"max-scale-down-rate": "0.5"}, "max-scale-down-rate", "greater than 1.0"),
        ({"initial-scale": 0}, "initial-scale", "allow-zero-initial-scale"),
        ({"initial-scale": -1, "allow-zero-initial-scale": True}, "initial-scale", "got -1"),
        ({"min-scale": 3, "max-scale": 2}, "min-scale", "max-scale (2)"),
        ({"min-scale": -1}, "min-scale", "at least 0"),
        ({"max-scale": 20, "max-scale-limit": 10}, "max-scale", "max-scale-limit (10)"),
        ({"max-scale-limit": 10}, "max-scale", "[1, max-scale-limit"),
        ({"target-burst-capacity": -2}, "target-burst-capacity", "-1"),
        ({"scale-to-zero-grace-period": "0s"}, "scale-to-zero-grace-period", "positive"),
        ({"scale-down-delay": "-1s"}, "scale-down-delay", "negative"),
        ({"scale-down-delay": "1.5s"}, "scale-down-delay", "second precision"),
        ({"scale-to-zero-pod-retention-period": -3}, "scale-to-zero-pod-retention-period", ""),
        ({"panic-window-percentage": 0.5}, "panic-window-percentage", "[1, 100]"),
        ({"panic-threshold-percentage": 90}, "panic-threshold-percentage", "[110, 1000]"),
        ({"container-concurrency-target-percentage": 150}, "container-concurrency", "(0, 100]"),
        ({"requests-per-second-target-default": 0}, "requests-per-second", "at least"),
        ({"activator-capacity": 0.5}, "activator-capacity", "at least 1"),
        ({"enable-scale-to-zero": "maybe"}, "enable-scale-to-zero", "boolean"),
        ({"min-scale": "1.5"}, "min-scale", "integer"),
        ({"max-scale-up-rate": "fast"}, "max-scale-up-rate", "number"),
        ({"tick-interval": 0}, "tick-interval", "positive"),
        ({"pod-autoscaler-class": "hpa.autoscaling.knative.dev"}, "pod-autoscaler-class", "kpa"),
        ({"stable-windw": "60s"}, "stable-windw", "unknown key"),
    ],
)
def test_validation_names_the_key(data: dict[str, object], key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        AutoscalerConfig.from_mapping(data)
    assert str(err.value).startswith(f"autoscaler.{key}")
    assert fragment in str(err.value)


def test_error_message_format() -> None:
    with pytest.raises(ConfigError) as err:
        AutoscalerConfig.from_mapping({"stable-window": "2s"})
    assert str(err.value) == "autoscaler.stable-window: must be between 6s and 1h, got 2s"
    assert err.value.key == "stable-window"


def test_make_spec_defaults() -> None:
    s = make_spec(AutoscalerConfig(), container_concurrency=0)
    assert (s.target_value, s.total_value, s.metric) == (70, 100, "concurrency")
    assert (s.stable_window, s.panic_window, s.panic_threshold) == (60, 6, 2)
    assert (s.target_burst_capacity, s.initial_scale, s.max_scale) == (211, 1, 0)


def test_make_spec_target_resolution() -> None:
    cfg = AutoscalerConfig()
    assert make_spec(cfg, container_concurrency=10).target_value == pytest.approx(7)
    # The annotation target is capped by containerConcurrency for the concurrency metric.
    s = make_spec(cfg, container_concurrency=10, target=50, target_utilization_percentage=100)
    assert (s.target_value, s.total_value) == (10, 10)
    s = make_spec(cfg, container_concurrency=0, target=5, target_utilization_percentage=80)
    assert s.target_value == pytest.approx(4)
    rps = make_spec(cfg, container_concurrency=10, metric="rps")
    assert (rps.metric, rps.total_value, rps.target_value) == ("rps", 200, pytest.approx(140))
    assert make_spec(cfg, container_concurrency=0, target=0.001).target_value == 0.01
    with pytest.raises(ValueError):
        make_spec(cfg, container_concurrency=0, metric="cpu")


def test_make_spec_annotations_override() -> None:
    cfg = AutoscalerConfig()
    s = make_spec(
        cfg,
        container_concurrency=0,
        window_seconds=30,
        panic_window_percentage=25,
        panic_threshold_percentage=150,
        min_scale=2,
        max_scale=9,
        initial_scale=3,
        activation_scale=4,
        scale_down_delay_seconds=20,
        scale_to_zero_pod_retention_seconds=15,
        target_burst_capacity=-1,
    )
    assert (s.stable_window, s.panic_window, s.panic_threshold) == (30, 8, 1.5)
    assert (s.min_scale, s.max_scale, s.initial_scale, s.activation_scale) == (2, 9, 3, 4)
    assert (s.scale_down_delay, s.scale_to_zero_pod_retention_period) == (20, 15)
    assert s.target_burst_capacity == -1


def test_initial_scale_zero_needs_allow_zero() -> None:
    assert (
        make_spec(AutoscalerConfig(), container_concurrency=0, initial_scale=0).initial_scale == 1
    )
    allow = AutoscalerConfig.from_mapping({"allow-zero-initial-scale": "true"})
    assert make_spec(allow, container_concurrency=0, initial_scale=0).initial_scale == 0


def test_panic_window_rounding() -> None:
    assert panic_window_seconds(60, 10) == 6
    assert panic_window_seconds(25, 10) == 3  # 2.5 rounds half away from zero
    assert panic_window_seconds(6, 1) == 1  # at least one bucket


def test_config_error_prefix() -> None:
    assert str(ConfigError("", "bad file")) == "autoscaler: bad file"
    assert str(ConfigError("autoscaler", "not a mapping")) == "autoscaler: not a mapping"
    assert str(ConfigError("min-scale", "x")) == "autoscaler.min-scale: x"

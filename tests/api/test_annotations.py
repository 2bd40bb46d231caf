"""Autoscaling and reserved-instance annotations -> Scaling."""

from __future__ import annotations

import pytest

from coldbrew.api import ReserveSpecs, Scaling, ValidationError, parse_scaling

A = "autoscaling.knative.dev/"
R = "knative.aliyun.com/"
PATH = "spec.template.metadata.annotations"


def test_nothing_set() -> None:
    assert parse_scaling({}) == Scaling()
    assert parse_scaling({"example.com/other": "x", A + "unknown-knob": "1"}) == Scaling()


def test_all_knobs() -> None:
    scaling = parse_scaling(
        {
            A + "class": "kpa.autoscaling.knative.dev",
            A + "metric": "rps",
            A + "target": "150.5",
            A + "target-utilization-percentage": "70",
            A + "window": "1m30s",
            A + "panic-window-percentage": "10.5",
            A + "panic-threshold-percentage": "200",
            A + "min-scale": "1",
            A + "max-scale": "10",
            A + "initial-scale": "0",
            A + "activation-scale": "2",
            A + "scale-down-delay": "15m",
            A + "scale-to-zero-pod-retention-period": "1m5s",
            A + "target-burst-capacity": "-1",
            R + "reserve-instance": "enable",
            R + "reserve-instance-replicas": "2",
            R + "reserve-instance-type": "eci",
            R + "reserve-instance-eci-use-specs": "1-2Gi",
        }
    )
    assert scaling == Scaling(
        autoscaler_class="kpa.autoscaling.knative.dev",
        metric="rps",
        target=150.5,
        target_utilization_percentage=70.0,
        window_seconds=90.0,
        panic_window_percentage=10.5,
        panic_threshold_percentage=200.0,
        min_scale=1,
        max_scale=10,
        initial_scale=0,
        activation_scale=2,
        scale_down_delay_seconds=900.0,
        scale_to_zero_pod_retention_seconds=65.0,
        target_burst_capacity=-1.0,
        reserve_instance=True,
        reserve_instance_replicas=2,
        reserve_instance_type="eci",
        reserve_instance_eci_use_specs=ReserveSpecs(cpu="1", memory="2Gi"),
    )


def test_camel_case_spellings() -> None:
    scaling = parse_scaling(
        {
            A + "minScale": "2",
            A + "maxScale": "5",
            A + "initialScale": "3",
            A + "scaleDownDelay": "30s",
            A + "targetUtilizationPercentage": "80",
            A + "targetBurstCapacity": "200",
            A + "panicWindowPercentage": "20",
            A + "panicThresholdPercentage": "300",
            A + "scaleToZeroPodRetentionPeriod": "0s",
        }
    )
    assert (scaling.min_scale, scaling.max_scale, scaling.initial_scale) == (2, 5, 3)
    assert scaling.scale_down_delay_seconds == 30.0
    assert scaling.target_utilization_percentage == 80.0
    assert scaling.target_burst_capacity == 200.0
    assert scaling.scale_to_zero_pod_retention_seconds == 0.0


def test_hpa_allows_cpu_and_memory() -> None:
    for metric in ("cpu", "memory"):
        scaling = parse_scaling({A + "class": "hpa.autoscaling.knative.dev", A + "metric": metric})
        assert scaling.metric == metric


def test_max_scale_zero_means_unlimited() -> None:
    assert parse_scaling({A + "min-scale": "3", A + "max-scale": "0"}).max_scale == 0


def test_reserve_disable_and_instance_list() -> None:
    scaling = parse_scaling(
        {
            R + "reserve-instance": "disable",
            R + "reserve-instance-eci-use-specs": "ecs.a.large , ecs.b.large",
        }
    )
    assert scaling.reserve_instance is False
    assert scaling.reserve_instance_eci_use_specs == ReserveSpecs(("ecs.a.large", "ecs.b.large"))


@pytest.mark.parametrize(
    ("annotations", "key", "message"),
    [
        ({A + "target": "0.001"}, A + "target", "target 0.001 should be at least 0.01"),
        ({A + "target": "nan"}, A + "target", "invalid value: nan"),
        ({A + "window": "5s"}, A + "window", "expected 6s <= 5s <= 1h0m0s"),
        ({A + "window": "61m"}, A + "window", "expected 6s <= 61m <= 1h0m0s"),
        ({A + "window": "6.5s"}, A + "window", "must be specified with at most second precision"),
        (
            {A + "min-scale": "4", A + "max-scale": "3"},
            A + "max-scale",
            "max-scale=3 is less than min-scale=4",
        ),
        (
            {A + "min-scale": "4", A + "activation-scale": "3"},
            A + "activation-scale",
            "min-scale=4 is greater than activation-scale=3",
        ),
        (
            {A + "max-scale": "2", A + "activation-scale": "3"},
            A + "activation-scale",
            "max-scale=2 is less than activation-scale=3",
        ),
        ({A + "max-scale": "99999999999"}, A + "max-scale", "expected 0 <= 99999999999"),
        ({A + "min-scale": "1.5"}, A + "min-scale", "invalid value: 1.5"),
        ({A + "metric": "memory"}, A + "metric", "invalid value: memory"),
        ({A + "class": "mpa"}, A + "class", "invalid value: mpa"),
        ({A + "panic-window-percentage": "101"}, A + "panic-window-percentage", "expected 1 <="),
        ({A + "panic-threshold-percentage": "1001"}, A + "panic-threshold-percentage", "<= 1000"),
        ({A + "target-utilization-percentage": "101"}, A + "target-utilization-percentage", ""),
        ({A + "scale-down-delay": "-1s"}, A + "scale-down-delay", "expected 0s <= -1s"),
        ({A + "scale-down-delay": "1.5s"}, A + "scale-down-delay", "second precision"),
        (
            {A + "scale-to-zero-pod-retention-period": "x"},
            A + "scale-to-zero-pod-retention-period",
            "invalid value: x",
        ),
        ({A + "target-burst-capacity": "-0.5"}, A + "target-burst-capacity", "invalid value"),
        ({R + "reserve-instance-replicas": "two"}, R + "reserve-instance-replicas", "invalid"),
        ({R + "reserve-instance-eci-use-specs": ""}, R + "reserve-instance-eci-use-specs", ""),
        ({R + "reserve-instance-eci-use-specs": "a b"}, R + "reserve-instance-eci-use-specs", ""),
    ],
)
def test_refused(annotations: dict[str, str], key: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_scaling(annotations)
    assert info.value.field == f"{PATH}[{key}]"
    assert message in info.value.message


def test_custom_path() -> None:
    with pytest.raises(ValidationError) as info:
        parse_scaling({A + "min-scale": "-1"}, "metadata.annotations")
    assert info.value.field == f"metadata.annotations[{A}min-scale]"

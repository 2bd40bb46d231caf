"""serving.knative.dev/rollout-duration (the annotation) and network.rollout-duration."""

from __future__ import annotations

from typing import Any

import pytest

from autoscaler.pricing import SectionError
from coldbrew.api import ValidationError, parse_service
from coldbrew.network_config import NetworkConfig

FIELD = "metadata.annotations.serving.knative.dev/rollout-duration"


def service(duration: Any) -> dict[str, Any]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {
            "name": "coffee",
            "annotations": {"serving.knative.dev/rollout-duration": duration},
        },
        "spec": {"template": {"spec": {"containers": [{"image": "registry.example.com/a"}]}}},
    }


@pytest.mark.parametrize("value", ["20s", "1m30s", "0", "0s", "1h"])
def test_go_durations_at_second_precision_are_accepted(value: str) -> None:
    parse_service(service(value))


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("20", 'write "20s"'),
        ("soon", "invalid value"),
        ("1500ms", "not at second precision"),
        ("-5s", "must be positive"),
    ],
)
def test_bad_values_are_refused_naming_the_annotation(value: str, why: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_service(service(value))
    assert info.value.field == FIELD
    assert why in str(info.value)


@pytest.mark.parametrize(
    ("raw", "seconds"), [(380, 380), ("380", 380), ("6m20s", 380), (0, 0), ("0", 0)]
)
def test_network_rollout_duration(raw: Any, seconds: int) -> None:
    assert NetworkConfig.from_mapping({"rollout-duration": raw}).rollout_seconds == seconds


@pytest.mark.parametrize("raw", [-1, "-1s", "1.5s", "soon", True, [1]])
def test_bad_network_rollout_duration_names_the_key(raw: Any) -> None:
    with pytest.raises(SectionError) as info:
        NetworkConfig.from_mapping({"rollout-duration": raw})
    assert info.value.key == "network.rollout-duration"

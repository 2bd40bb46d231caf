"""Go duration parsing/formatting (``autoscaler.durations``), and what each place that
reads a duration does with a value without a unit."""

from __future__ import annotations

import pytest

from autoscaler.config import AutoscalerConfig, ConfigError
from autoscaler.durations import (
    DurationError,
    format_duration_ns,
    format_duration_seconds,
    parse_duration_ns,
    parse_duration_seconds,
)
from coldbrew.api import ValidationError, parse_service


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("-0", 0.0),
        (0, 0.0),
        ("0s", 0.0),
        ("6s", 6.0),
        ("60s", 60.0),
        ("1m", 60.0),
        ("1h", 3600.0),
        ("1.5s", 1.5),
        ("500ms", 0.5),
        ("1m30s", 90.0),
        ("1h30m", 5400.0),
        ("1h2m3s", 3723.0),
        ("-1s", -1.0),
        ("+2s", 2.0),
        (".5s", 0.5),
        ("5.s", 5.0),
        ("100us", 0.0001),
        ("100\u00b5s", 0.0001),
        ("100\u03bcs", 0.0001),
        ("1s500ms", 1.5),
    ],
)
def test_parse(text: object, seconds: float) -> None:
    assert parse_duration_seconds(text) == pytest.approx(seconds)


def test_parse_ns_exact() -> None:
    assert parse_duration_ns("1.5s") == 1_500_000_000
    assert parse_duration_ns("1ns") == 1
    assert parse_duration_ns("2h45m") == (2 * 3600 + 45 * 60) * 10**9
    assert parse_duration_ns("0.000000001s") == 1


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "invalid duration"),
        ("60", "missing unit in duration '60': write \"60s\" for 60 seconds"),
        ("1", 'write "1s"'),
        ("1.5", 'write "1.5s"'),
        ("-3", 'write "-3s"'),
        (60, 'write "60s"'),
        (7.5, 'write "7.5s"'),
        ("s", "invalid duration"),
        ("1x", "unknown unit 'x'"),
        ("1S", "unknown unit 'S'"),
        ("1.2.3s", "missing unit"),
        (".s", "invalid duration"),
        ("-", "invalid duration"),
        ("1 s", "unknown unit ' s'"),
        (" 1s", "invalid duration"),
        ("1m-2s", "unknown unit 'm-'"),
        ("1s2", "missing unit"),
        ("9999999999h", "invalid duration"),
        (True, "not a duration"),
        (None, "not a duration"),
        (float("inf"), "not a duration"),
    ],
)
def test_parse_invalid(value: object, reason: str) -> None:
    with pytest.raises(DurationError) as err:
        parse_duration_ns(value)
    assert reason in str(err.value)
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    ("text", "formatted"),
    [
        ("0s", "0s"),
        ("6s", "6s"),
        ("1h", "1h0m0s"),
        ("90s", "1m30s"),
        ("1.5s", "1.5s"),
        ("500ms", "500ms"),
        ("1500us", "1.5ms"),
        ("-2m", "-2m0s"),
        ("3ns", "3ns"),
    ],
)
def test_format(text: str, formatted: str) -> None:
    assert format_duration_ns(parse_duration_ns(text)) == formatted


@pytest.mark.parametrize(
    ("seconds", "formatted"),
    [(0, "0s"), (2, "2s"), (90, "1m30s"), (3600, "1h0m0s"), (0.25, "250ms"), (-1.5, "-1.5s")],
)
def test_format_seconds(seconds: float, formatted: str) -> None:
    assert format_duration_seconds(seconds) == formatted


# Every place that reads a duration, fed one without a unit: Knative parses each with
# time.ParseDuration, so each refuses it, naming the field and saying what to write.
CONFIG_KEYS = (
    "stable-window",
    "scale-to-zero-grace-period",
    "scale-to-zero-pod-retention-period",
    "scale-down-delay",
    "tick-interval",
)


@pytest.mark.parametrize("value", ["60", 60])
@pytest.mark.parametrize("key", CONFIG_KEYS)
def test_config_refuses_a_duration_without_unit(key: str, value: object) -> None:
    with pytest.raises(ConfigError) as err:
        AutoscalerConfig.from_mapping({key: value})
    assert err.value.key == key
    assert str(err.value) == (
        f"autoscaler.{key}: missing unit in duration '60': write \"60s\" for 60 seconds"
    )


@pytest.mark.parametrize("key", CONFIG_KEYS[2:4])
def test_config_accepts_a_bare_zero(key: str) -> None:
    assert getattr(AutoscalerConfig.from_mapping({key: "0"}), key.replace("-", "_")) == 0


ANNOTATIONS = (
    "autoscaling.knative.dev/window",
    "autoscaling.knative.dev/scale-down-delay",
    "autoscaling.knative.dev/scale-to-zero-pod-retention-period",
)


def _service(annotations: dict[str, str]) -> dict[str, object]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "coffee", "namespace": "default"},
        "spec": {
            "template": {
                "metadata": {"annotations": annotations},
                "spec": {"containers": [{"image": "registry.example.com/coffee:v1"}]},
            }
        },
    }


@pytest.mark.parametrize("key", ANNOTATIONS)
def test_annotation_refuses_a_duration_without_unit(key: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_service(_service({key: "60"}))
    assert err.value.field == f"spec.template.metadata.annotations[{key}]"
    assert 'missing unit: write "60s" for 60 seconds' in str(err.value)


@pytest.mark.parametrize("key", ANNOTATIONS[1:])
def test_annotation_accepts_a_bare_zero(key: str) -> None:
    parse_service(_service({key: "0"}))

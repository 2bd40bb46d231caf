"""The ``gc:`` config section: Knative's config-gc keys, defaults and refusals."""

from __future__ import annotations

from typing import Any

import pytest

from autoscaler.config import ConfigError
from coldbrew.platform_config import parse_config
from rulebook.gc import GCConfig


def test_defaults_are_knatives() -> None:
    assert parse_config({}).gc == GCConfig(48 * 3600.0, 15 * 3600.0, 20, 1000)
    assert parse_config({"gc": None}).gc == GCConfig()


def test_values_and_disabled() -> None:
    cfg = parse_config(
        {
            "gc": {
                "retain-since-create-time": "1s",
                "retain-since-last-active-time": "disabled",
                "min-non-active-revisions": "1",
                "max-non-active-revisions": -1,
            }
        }
    ).gc
    assert cfg == GCConfig(1.0, None, 1, None)
    assert parse_config({"gc": {"retain-since-create-time": "-1"}}).gc.retain_since_create is None
    assert parse_config({"gc": {"max-non-active-revisions": "Disabled"}}).gc.max_non_active is None


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"retain-since-create-time": "48"}, "gc.retain-since-create-time"),
        ({"retain-since-last-active-time": "-5s"}, "gc.retain-since-last-active-time"),
        ({"min-non-active-revisions": -1}, "gc.min-non-active-revisions"),
        ({"min-non-active-revisions": "disabled"}, "gc.min-non-active-revisions"),
        ({"max-non-active-revisions": "many"}, "gc.max-non-active-revisions"),
        ({"max-non-active-revisions": True}, "gc.max-non-active-revisions"),
        (
            {"min-non-active-revisions": 5, "max-non-active-revisions": 2},
            "gc.max-non-active-revisions",
        ),
        ({"stale-revision-create-delay": "1h"}, "gc.stale-revision-create-delay"),
    ],
)
def test_refused_naming_the_key(section: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"gc": section})
    assert str(err.value).startswith(f"{key}: ")


def test_section_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match=r"^gc: "):
        parse_config({"gc": "off"})

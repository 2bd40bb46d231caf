"""A revision template -> RevisionSettings (rulebook.revision_settings): one table."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gateway.settings import RevisionSettings
from rulebook.revision_settings import revision_settings


@dataclass(frozen=True)
class Template:
    timeout_seconds: int = 300
    container_concurrency: int = 0
    response_start_timeout_seconds: int | None = None
    idle_timeout_seconds: int | None = None
    protocol: str = "http1"


@pytest.mark.parametrize(
    ("template", "flags", "expected"),
    [
        (Template(), {}, RevisionSettings()),
        (
            Template(30, 4, 10, 5),
            {},
            RevisionSettings(
                timeout_seconds=30,
                container_concurrency=4,
                response_start_timeout_seconds=10,
                idle_timeout_seconds=5,
            ),
        ),
        (
            Template(60, 1),
            {"activator_in_path": False, "wake_on_request": True},
            RevisionSettings(
                timeout_seconds=60,
                container_concurrency=1,
                activator_in_path=False,
                wake_on_request=True,
            ),
        ),
        (Template(protocol="h2c"), {}, RevisionSettings(protocol="h2c")),
    ],
)
def test_revision_settings(
    template: Template, flags: dict[str, bool], expected: RevisionSettings
) -> None:
    assert revision_settings(template, **flags) == expected


def test_a_bad_template_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="container_concurrency"):
        revision_settings(Template(container_concurrency=-1))

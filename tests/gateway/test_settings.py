"""RevisionSettings: the one typed way to program a gateway, and its worker-feed form."""

from __future__ import annotations

import json

import pytest

from gateway.settings import RevisionSettings, read_revision_frame, revision_frame


def test_feed_frame_round_trips_through_json() -> None:
    settings = RevisionSettings(
        timeout_seconds=12.5,
        container_concurrency=3,
        idle_timeout_seconds=4.0,
        activator_in_path=False,
        wake_on_request=True,
        queue_depth=7,
        protocol="h2c",
    )
    frame = json.loads(json.dumps(revision_frame("default/a", [("127.0.0.1", 9)], settings)))
    assert read_revision_frame(frame) == ("default/a", [("127.0.0.1", 9)], settings)


def test_integral_seconds_read_back_as_float() -> None:
    assert RevisionSettings.from_wire({"timeout_seconds": 30}).timeout_seconds == 30.0


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ({"cc": 1}, "unknown revision settings"),
        ({"container_concurrency": "1"}, "container_concurrency must be int"),
        ({"container_concurrency": True}, "container_concurrency must be int"),
        ({"activator_in_path": 1}, "activator_in_path must be bool"),
        ({"timeout_seconds": None}, "timeout_seconds must be float"),
        ({"timeout_seconds": 0}, "timeout_seconds must be > 0"),
        ({"container_concurrency": -1}, "container_concurrency must be >= 0"),
        ({"idle_timeout_seconds": 0}, "idle_timeout_seconds must be > 0 or None"),
        ({"protocol": 2}, "protocol must be str"),
        ({"protocol": "h3"}, "protocol must be one of"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(wire: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RevisionSettings.from_wire(wire)


@pytest.mark.parametrize(
    "args",
    [
        {"endpoints": [], "settings": {}},
        {"key": "default/a", "endpoints": [["127.0.0.1"]], "settings": {}},
        {"key": "default/a", "endpoints": []},
    ],
)
def test_malformed_frames_are_refused(args: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        read_revision_frame(args)

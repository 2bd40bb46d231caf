"""Go duration parsing/formatting."""

from __future__ import annotations

import pytest

from coldbrew.api import format_duration, parse_duration, parse_duration_ns


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("0s", 0.0),
        ("6s", 6.0),
        ("60s", 60.0),
        ("1m", 60.0),
        ("1h", 3600.0),
        ("1.5s", 1.5),
        ("500ms", 0.5),
        ("1m30s", 90.0),
        ("1h2m3s", 3723.0),
        ("-1s", -1.0),
        ("+2s", 2.0),
        (".5s", 0.5),
        ("5.s", 5.0),
        ("100us", 0.0001),
        ("100\u00b5s", 0.0001),
        ("1s500ms", 1.5),
    ],
)
def test_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_parse_ns_exact() -> None:
    assert parse_duration_ns("1.5s") == 1_500_000_000
    assert parse_duration_ns("1ns") == 1
    assert parse_duration_ns("2h45m") == (2 * 3600 + 45 * 60) * 10**9


@pytest.mark.parametrize("text", ["", "60", "1", "s", "1x", "1.2.3s", ".s", "-", "1 s", "1S"])
def test_parse_invalid(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration_ns(text)


def test_parse_overflow() -> None:
    with pytest.raises(ValueError):
        parse_duration_ns("9999999999h")


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
    assert format_duration(parse_duration_ns(text)) == formatted

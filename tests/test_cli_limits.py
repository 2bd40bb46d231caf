"""The client-limit options of ``coldbrew serve`` and ``coldbrew gateway`` (gateway.limits)."""

from __future__ import annotations

import pytest

from coldbrew.cli.client_limits import limit_argv, limits_from_args
from coldbrew.cli.main import build_parser, run
from gateway.limits import DEFAULT_LIMITS, PASS, REJECT, ClientLimits, connection_budget


def test_serve_options_reach_workers_unchanged() -> None:
    args = build_parser().parse_args(
        [
            "serve",
            "--header-timeout",
            "7.5",
            "--body-timeout",
            "3",
            "--underscores-in-headers",
            "pass",
        ]
    )
    limits = limits_from_args(args)
    assert limits == ClientLimits(header_timeout=7.5, body_timeout=3.0, underscores_in_headers=PASS)
    # What serve --workers passes to each `coldbrew gateway` gives the same limits.
    worker = build_parser().parse_args(["gateway", "--feed", "ws://x", *limit_argv(limits)])
    assert limits_from_args(worker) == limits


def test_defaults() -> None:
    assert limits_from_args(build_parser().parse_args(["serve"])) == DEFAULT_LIMITS
    assert DEFAULT_LIMITS.header_timeout == 20.0 and DEFAULT_LIMITS.body_timeout == 60.0
    args = build_parser().parse_args(
        ["gateway", "--feed", "ws://x", "--underscores-in-headers", "reject"]
    )
    assert limits_from_args(args).underscores_in_headers == REJECT


@pytest.mark.parametrize("option", ["--header-timeout", "--body-timeout"])
def test_bad_timeout_is_refused_naming_the_option(
    option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["serve", option, "0"]) == 2
    assert option in capsys.readouterr().err


def test_bad_underscore_mode_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--underscores-in-headers", "keep"])
    assert "--underscores-in-headers" in capsys.readouterr().err


def test_limits_validate_fields() -> None:
    with pytest.raises(ValueError, match="header_timeout"):
        ClientLimits(header_timeout=-1)
    with pytest.raises(ValueError, match="max_connections"):
        ClientLimits(max_connections=-5)
    assert connection_budget(1024) == 896 and connection_budget(20000) == 17500

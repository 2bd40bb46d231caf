"""``--header-timeout``, ``--body-timeout``, ``--underscores-in-headers`` (gateway.limits).

Shared by ``coldbrew serve`` and ``coldbrew gateway``; ``serve --workers N`` carries the
values to its worker processes (:func:`limit_argv`).
"""

from __future__ import annotations

import argparse

from gateway.limits import DEFAULT_LIMITS, UNDERSCORE_MODES, ClientLimits, underscore_mode

_MODE_NAMES = {value: name for name, value in UNDERSCORE_MODES.items()}


def add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--header-timeout",
        type=float,
        default=DEFAULT_LIMITS.header_timeout,
        help="seconds for a request head to arrive (from accept, or from its first byte after "
        "keep-alive; at most the keep-alive timeout); then the connection is closed "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--body-timeout",
        type=float,
        default=DEFAULT_LIMITS.body_timeout,
        help="seconds a request body may send nothing; then 408 or close (default %(default)s)",
    )
    parser.add_argument(
        "--underscores-in-headers",
        choices=sorted(UNDERSCORE_MODES),
        default="drop",
        help="request headers named with '_': drop them (default), reject the request with "
        "400, or pass them to the pod",
    )


def limits_from_args(args: argparse.Namespace) -> ClientLimits:
    """ValueError naming the option for a bad value."""
    for option, value in (
        ("--header-timeout", args.header_timeout),
        ("--body-timeout", args.body_timeout),
    ):
        if not value > 0:
            raise ValueError(f"{option}: must be a positive number of seconds, got {value}")
    return ClientLimits(
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        underscores_in_headers=underscore_mode(args.underscores_in_headers),
    )


def limit_argv(limits: ClientLimits) -> list[str]:
    """The options that give a worker process these limits."""
    return [
        "--header-timeout",
        repr(limits.header_timeout),
        "--body-timeout",
        repr(limits.body_timeout),
        "--underscores-in-headers",
        _MODE_NAMES[limits.underscores_in_headers],
    ]

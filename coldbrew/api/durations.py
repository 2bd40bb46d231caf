"""Go ``time.Duration`` parsing and formatting (as used by Knative annotations)."""

from __future__ import annotations

import re

NANOSECOND = 1
MICROSECOND = 1_000 * NANOSECOND
MILLISECOND = 1_000 * MICROSECOND
SECOND = 1_000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

_UNITS = {
    "ns": NANOSECOND,
    "us": MICROSECOND,
    "\u00b5s": MICROSECOND,  # micro sign
    "\u03bcs": MICROSECOND,  # Greek mu
    "ms": MILLISECOND,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}
_MAX_NS = 2**63 - 1
_TERM = re.compile(r"(\d*)(?:\.(\d*))?([^\d.]*)")


def parse_duration_ns(text: str) -> int:
    """Parse a Go duration string ("6s", "1m30s", "1.5s", "500ms", "-1h") into nanoseconds.

    Follows ``time.ParseDuration``: an optional sign, then one or more
    ``<number><unit>`` terms; a bare ``"0"`` is allowed. Raises ``ValueError``.
    """
    if not isinstance(text, str):
        raise ValueError(f"invalid duration {text!r}")
    rest = text
    negative = False
    if rest[:1] in ("+", "-"):
        negative = rest[0] == "-"
        rest = rest[1:]
    if rest == "0":
        return 0
    if rest == "":
        raise ValueError(f"invalid duration {text!r}")
    total = 0
    while rest:
        match = _TERM.match(rest)
        whole, frac, unit = match.group(1), match.group(2), match.group(3)  # type: ignore[union-attr]
        if not whole and not frac:
            raise ValueError(f"invalid duration {text!r}")
        if not unit:
            raise ValueError(f"missing unit in duration {text!r}")
        if unit not in _UNITS:
            raise ValueError(f"unknown unit {unit!r} in duration {text!r}")
        scale = _UNITS[unit]
        total += int(whole or "0") * scale
        if frac:
            total += int(frac) * scale // 10 ** len(frac)
        if total > _MAX_NS:
            raise ValueError(f"invalid duration {text!r}")
        rest = rest[match.end() :]  # type: ignore[union-attr]
    return -total if negative else total


def parse_duration(text: str) -> float:
    """Parse a Go duration string into (float) seconds. Raises ``ValueError``."""
    return parse_duration_ns(text) / SECOND


def format_duration(ns: int) -> str:
    """Format nanoseconds the way Go's ``Duration.String`` does ("1h0m0s", "1.5s", "500ms")."""
    if ns < 0:
        return "-" + format_duration(-ns)
    if ns == 0:
        return "0s"
    if ns < SECOND:
        for unit, size in (("ms", MILLISECOND), ("\u00b5s", MICROSECOND), ("ns", NANOSECOND)):
            if ns >= size:
                return _fraction(ns, size) + unit
    seconds = _fraction(ns % MINUTE, SECOND) + "s"
    minutes, hours = (ns // MINUTE) % 60, ns // HOUR
    if hours:
        return f"{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{minutes}m{seconds}"
    return seconds


def _fraction(value: int, unit: int) -> str:
    whole, remainder = divmod(value, unit)
    if not remainder:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}." + f"{remainder:0{digits}d}".rstrip("0")

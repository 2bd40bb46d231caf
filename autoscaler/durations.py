"""Go ``time.Duration`` strings, the one syntax for every duration coldbrew reads.

Knative reads its annotations (``autoscaling.knative.dev/window``) and its ConfigMaps
(``config-autoscaler``'s ``stable-window``) with Go's ``time.ParseDuration``, so coldbrew
does too: an optional sign, then one or more ``<number><unit>`` terms (units ``ns``,
``us``/``µs``, ``ms``, ``s``, ``m``, ``h``); a bare ``"0"`` is the only value without a
unit. ``"60"`` is refused, and the error says what to write (``"60s"``).

Two pairs of functions, named for the unit they work in:

* :func:`parse_duration_ns` / :func:`format_duration_ns`: exact integer nanoseconds;
* :func:`parse_duration_seconds` / :func:`format_duration_seconds`: float seconds.

This module sits in ``autoscaler`` (the lowest package both the autoscaler and the
control plane may import) and imports nothing of coldbrew's.
"""

from __future__ import annotations

import math
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
_BARE_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")


class DurationError(ValueError):
    """Not a Go duration; ``str()`` says why and, for a bare number, what to write."""


def missing_unit_hint(text: str) -> str | None:
    """``'write "60s"'`` for a bare number such as ``"60"``, else ``None``."""
    if _BARE_NUMBER.fullmatch(text) and text.strip("+-") not in ("0", ""):
        return f'write "{text}s" for {text.lstrip("+")} seconds'
    return None


def _as_text(value: object) -> str:
    """A YAML number is read as the string it spells (``60`` -> ``"60"``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DurationError(f"not a duration: {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise DurationError(f"not a duration: {value!r}")
    return format(value, "g") if isinstance(value, float) else str(value)


def parse_duration_ns(value: object) -> int:
    """Nanoseconds from a Go duration string ("6s", "1m30s", "1.5s", "500ms", "-1h").

    Exactly ``time.ParseDuration``; a YAML number is read as its text, so ``0`` is 0 and
    ``60`` is refused like ``"60"``. Raises :class:`DurationError`.
    """
    text = _as_text(value)
    rest = text
    negative = False
    if rest[:1] in ("+", "-"):
        negative = rest[0] == "-"
        rest = rest[1:]
    if rest == "0":
        return 0
    if rest == "":
        raise DurationError(f"invalid duration {text!r}")
    hint = missing_unit_hint(text)
    if hint is not None:
        raise DurationError(f"missing unit in duration {text!r}: {hint}")
    total = 0
    while rest:
        match = _TERM.match(rest)
        assert match is not None  # every group may be empty
        whole, frac, unit = match.group(1), match.group(2), match.group(3)
        if not whole and not frac:
            raise DurationError(f"invalid duration {text!r}")
        if not unit:
            raise DurationError(f"missing unit in duration {text!r}")
        if unit not in _UNITS:
            raise DurationError(f"unknown unit {unit!r} in duration {text!r}")
        scale = _UNITS[unit]
        total += int(whole or "0") * scale
        if frac:
            total += int(frac) * scale // 10 ** len(frac)
        if total > _MAX_NS:
            raise DurationError(f"invalid duration {text!r}")
        rest = rest[match.end() :]
    return -total if negative else total


def parse_duration_seconds(value: object) -> float:
    """Seconds (a float) from a Go duration string; see :func:`parse_duration_ns`."""
    return parse_duration_ns(value) / SECOND


def format_duration_ns(ns: int) -> str:
    """Go's ``Duration.String``: ``"1h0m0s"``, ``"1m30s"``, ``"1.5s"``, ``"500ms"``, ``"0s"``."""
    if ns < 0:
        return "-" + format_duration_ns(-ns)
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


def format_duration_seconds(seconds: float) -> str:
    """:func:`format_duration_ns` of a number of seconds (rounded to the nanosecond)."""
    return format_duration_ns(round(seconds * SECOND))


def _fraction(value: int, unit: int) -> str:
    whole, remainder = divmod(value, unit)
    if not remainder:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}." + f"{remainder:0{digits}d}".rstrip("0")

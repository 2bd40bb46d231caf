"""The ``gc:`` section of ``coldbrew serve --config``: Knative's ``config-gc`` keys.

``retain-since-create-time`` (48h), ``retain-since-last-active-time`` (15h): Go durations
or ``disabled``; ``min-non-active-revisions`` (20): an integer >= 0;
``max-non-active-revisions`` (1000): an integer >= 0 or ``disabled``. ``-1`` is also
``disabled`` where disabling is allowed, as in Knative. ``max`` must be at least ``min``.
The rule itself is :mod:`rulebook.gc`.
"""

from __future__ import annotations

from typing import Any

from autoscaler.durations import DurationError, parse_duration_seconds
from autoscaler.pricing import SectionError
from rulebook.gc import GCConfig

DISABLED = "disabled"
_KEYS = (
    "retain-since-create-time",
    "retain-since-last-active-time",
    "min-non-active-revisions",
    "max-non-active-revisions",
)


def _disabled(raw: Any) -> bool:
    if isinstance(raw, bool):
        return False
    return (isinstance(raw, str) and raw.strip().lower() in (DISABLED, "-1")) or raw == -1


def _duration(where: str, raw: Any) -> float | None:
    if _disabled(raw):
        return None
    try:
        seconds = parse_duration_seconds(raw)
    except DurationError as exc:
        raise SectionError(where, f"must be a duration or {DISABLED}: {exc}") from None
    if seconds < 0:
        raise SectionError(where, f"must be non-negative or {DISABLED}, got {raw!r}")
    return seconds


def _count(where: str, raw: Any, *, may_disable: bool) -> int | None:
    if may_disable and _disabled(raw):
        return None
    text = raw.strip() if isinstance(raw, str) else raw
    if isinstance(text, str) and text.isdigit():
        text = int(text)
    if isinstance(text, bool) or not isinstance(text, int) or text < 0:
        also = f" or {DISABLED}" if may_disable else ""
        raise SectionError(where, f"must be a non-negative integer{also}, got {raw!r}")
    return text


def parse_gc(section: Any) -> GCConfig:
    """A ``gc:`` section; :class:`SectionError` names ``gc.<key>``."""
    if section is None:
        return GCConfig()
    if not isinstance(section, dict):
        raise SectionError("gc", "must be a mapping of config-gc keys")
    values: dict[str, Any] = {}
    for key, raw in section.items():
        where = f"gc.{key}"
        if key == "retain-since-create-time":
            values["retain_since_create"] = _duration(where, raw)
        elif key == "retain-since-last-active-time":
            values["retain_since_last_active"] = _duration(where, raw)
        elif key == "min-non-active-revisions":
            values["min_non_active"] = _count(where, raw, may_disable=False)
        elif key == "max-non-active-revisions":
            values["max_non_active"] = _count(where, raw, may_disable=True)
        else:
            raise SectionError(where, f"unknown key (known: {', '.join(_KEYS)})")
    cfg = GCConfig(**values)
    if cfg.max_non_active is not None and cfg.min_non_active > cfg.max_non_active:
        raise SectionError(
            "gc.max-non-active-revisions",
            f"must be >= min-non-active-revisions ({cfg.min_non_active}), got {cfg.max_non_active}",
        )
    return cfg

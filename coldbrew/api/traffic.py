"""Validate a Service's ``spec.traffic`` block into :class:`TrafficTarget` entries."""

from __future__ import annotations

from typing import Any

from .checks import (
    DNS1035_HELP,
    MAX_LABEL,
    check_keys,
    get_bool,
    get_int,
    get_str,
    is_dns1035_label,
    join,
)
from .errors import ValidationError, disallowed_field, invalid_value, wrong_type
from .model import TrafficTarget

TRAFFIC_FIELDS = ("revisionName", "configurationName", "latestRevision", "percent", "tag")


def parse_traffic(
    value: Any, service_name: str, path: str = "spec.traffic"
) -> tuple[TrafficTarget, ...] | None:
    """Validate ``spec.traffic``; ``None`` (absent, null or empty) means 100% to latest.

    Each entry names exactly one of ``revisionName`` or ``latestRevision: true``
    (``configurationName``, if given, must be the service's own name and means
    the latest revision). Percents are integers 0-100 (missing counts as 0)
    summing to exactly 100; tags are unique DNS-1035 labels and
    ``{tag}-{service}`` must fit in one host label.
    """
    if value is None or value == []:
        return None
    if not isinstance(value, list):
        raise wrong_type(value, "a list", path)
    targets = tuple(_target(entry, f"{path}[{i}]", service_name) for i, entry in enumerate(value))
    seen: dict[str, int] = {}
    for index, target in enumerate(targets):
        if target.tag is None:
            continue
        if target.tag in seen:
            raise ValidationError(
                f"{path}[{index}].tag",
                f'Multiple definitions for "{target.tag}"',
                f"the tag is already used by {path}[{seen[target.tag]}]",
            )
        seen[target.tag] = index
    total = sum(t.percent for t in targets)
    if total != 100:
        raise ValidationError(path, f"Traffic targets sum to {total}, want 100")
    return targets


def _target(entry: Any, where: str, service_name: str) -> TrafficTarget:
    if not isinstance(entry, dict):
        raise wrong_type(entry, "a mapping", where)
    if "url" in entry:
        raise disallowed_field(join(where, "url"), "url is set by coldbrew in status only")
    check_keys(entry, TRAFFIC_FIELDS, where)
    revision = get_str(entry, "revisionName", where)
    configuration = get_str(entry, "configurationName", where)
    latest = get_bool(entry, "latestRevision", where)
    if revision == "":
        revision = None
    if configuration == "":
        configuration = None
    if revision is not None and configuration is not None:
        raise ValidationError(
            where,
            "expected exactly one, got both",
            "set only one of revisionName or configurationName",
        )
    if latest is not None and latest == (revision is not None):
        raise ValidationError(
            join(where, "latestRevision"),
            f'may not set revisionName "{revision or ""}" when '
            f"latestRevision is {'true' if latest else 'false'}",
        )
    if revision is None and configuration is None and latest is None:
        raise ValidationError(
            where, "expected exactly one, got neither", "set revisionName, or latestRevision: true"
        )
    if revision is not None and not is_dns1035_label(revision):
        raise invalid_value(revision, join(where, "revisionName"), DNS1035_HELP)
    if configuration is not None and configuration != service_name:
        raise invalid_value(
            configuration,
            join(where, "configurationName"),
            f'must be the service name "{service_name}" (or omitted)',
        )
    percent = get_int(entry, "percent", where, 0, 100)
    tag = get_str(entry, "tag", where)
    if tag == "":
        tag = None
    if tag is not None:
        if not is_dns1035_label(tag):
            raise invalid_value(tag, join(where, "tag"), DNS1035_HELP)
        if len(f"{tag}-{service_name}") > MAX_LABEL:
            raise invalid_value(
                tag,
                join(where, "tag"),
                f'the tag host label "{tag}-{service_name}" must be at most {MAX_LABEL} characters',
            )
    return TrafficTarget(
        revision_name=revision,
        configuration_name=configuration,
        latest_revision=revision is None,
        percent=0 if percent is None else percent,
        tag=tag,
    )

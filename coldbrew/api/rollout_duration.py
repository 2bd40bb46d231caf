"""``serving.knative.dev/rollout-duration`` on a Service: validated like Knative's webhook.

Knative's ``ValidateRolloutDurationAnnotation``: a Go duration, at second precision, not
negative. The error names ``metadata.annotations.serving.knative.dev/rollout-duration``.
"""

from __future__ import annotations

from collections.abc import Mapping

from autoscaler.durations import SECOND, DurationError, parse_duration_ns
from rulebook.rollout import DURATION_ANNOTATION

from .errors import ValidationError

FIELD = f"metadata.annotations.{DURATION_ANNOTATION}"


def rollout_seconds(annotations: Mapping[str, str]) -> int | None:
    """The annotation's duration in whole seconds (None: not set). Raises ValidationError."""
    raw = annotations.get(DURATION_ANNOTATION)
    if raw is None or raw == "":
        return None
    try:
        ns = parse_duration_ns(raw)
    except DurationError as exc:
        raise ValidationError(FIELD, f'invalid value "{raw}"', str(exc)) from None
    if ns % SECOND:
        raise ValidationError(FIELD, f"rollout-duration={raw} is not at second precision")
    if ns < 0:
        raise ValidationError(FIELD, f"rollout-duration={raw} must be positive")
    return ns // SECOND

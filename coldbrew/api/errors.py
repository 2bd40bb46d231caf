"""Knative-style validation errors.

A :class:`ValidationError` names exactly one field by its dotted path
(``spec.template.spec.containerConcurrency``, ``spec.traffic[1].percent``,
``spec.template.metadata.annotations[autoscaling.knative.dev/min-scale]``) and
renders like Knative's ``apis.FieldError``: ``"<message>: <field>"`` followed by
optional details on a new line.
"""

from __future__ import annotations

from typing import Any


class ValidationError(ValueError):
    """A manifest was refused; ``field`` is the dotted path of the offending field."""

    def __init__(self, field: str, message: str, details: str = "") -> None:
        self.field = field
        self.message = message
        self.details = details
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.message}: {self.field}" if self.field else self.message
        return f"{text}\n{self.details}" if self.details else text

    def __repr__(self) -> str:
        return f"ValidationError(field={self.field!r}, message={self.message!r})"

    def to_dict(self) -> dict[str, str]:
        """JSON-friendly form: ``{"field", "message", "reason": "Invalid"}`` (+ ``details``)."""
        out = {"field": self.field, "message": self.message, "reason": "Invalid"}
        if self.details:
            out["details"] = self.details
        return out


def go_value(value: Any) -> str:
    """Render a value the way Go's ``%v`` would in Knative messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def missing_field(field: str, details: str = "") -> ValidationError:
    """``missing field(s): <field>``."""
    return ValidationError(field, "missing field(s)", details)


def disallowed_field(field: str, details: str = "") -> ValidationError:
    """``must not set the field(s): <field>``."""
    return ValidationError(field, "must not set the field(s)", details)


def invalid_value(value: Any, field: str, details: str = "") -> ValidationError:
    """``invalid value: <value>: <field>``."""
    return ValidationError(field, f"invalid value: {go_value(value)}", details)


def out_of_bounds(value: Any, low: Any, high: Any, field: str) -> ValidationError:
    """``expected <low> <= <value> <= <high>: <field>``."""
    message = f"expected {go_value(low)} <= {go_value(value)} <= {go_value(high)}"
    return ValidationError(field, message)


def wrong_type(value: Any, expected: str, field: str) -> ValidationError:
    """A value of the wrong YAML type (Kubernetes refuses these while decoding)."""
    return ValidationError(field, f"expected {expected}, got {type_name(value)}")


def type_name(value: Any) -> str:
    """Human name of a YAML value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__

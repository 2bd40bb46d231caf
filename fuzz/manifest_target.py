"""Fuzz target: any document -> coldbrew.api -> a Service or a ValidationError naming a field.

:func:`check` reads one input as JSON when it starts with ``{`` (what the control API gets
from ``coldbrew apply``), else as YAML (:func:`coldbrew.api.load_documents`), and validates
every document with :func:`coldbrew.api.parse_service`. Any exception but
:class:`~coldbrew.api.ValidationError` escapes (the fuzzer's crash); a ValidationError must
carry a ``field`` string and a message.

Used by ``fuzz/manifest.py`` (atheris) and by tests/test_fuzz_corpora.py (replay).
"""

from __future__ import annotations

import json
from typing import Any

from coldbrew.api import ValidationError, load_documents, parse_service


def _documents(text: str) -> list[Any]:
    if text.lstrip().startswith("{"):
        try:
            return [json.loads(text)]
        except (ValueError, RecursionError):
            return []  # the control API answers 400 before validating
    return list(load_documents(text))


def check(data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return  # the control API and the CLI refuse it before parsing
    try:
        for doc in _documents(text):
            parse_service(doc)
    except ValidationError as exc:
        assert isinstance(exc.field, str), repr(exc.field)
        assert str(exc), "a ValidationError without a message"

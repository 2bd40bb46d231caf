"""load_documents: multi-doc YAML, empty docs, syntax errors, duplicate keys."""

from __future__ import annotations

import pytest

from coldbrew.api import ValidationError, load_documents


def test_multiple_documents_and_empty_ones() -> None:
    text = "---\na: 1\n---\n---\n# only a comment\n---\nb: 2\n"
    assert load_documents(text) == [{"a": 1}, {"b": 2}]


def test_empty_text() -> None:
    assert load_documents("") == []


def test_syntax_error_names_line() -> None:
    with pytest.raises(ValidationError) as info:
        load_documents("a: 1\nb: [1, 2\nc: 3\n")
    assert info.value.field == ""
    assert "line" in info.value.message
    assert str(info.value).startswith("invalid YAML at line")


def test_non_mapping_document() -> None:
    with pytest.raises(ValidationError) as info:
        load_documents("a: 1\n---\n- x\n")
    assert info.value.field == ""
    assert "document 2" in info.value.message


def test_duplicate_key_refused() -> None:
    with pytest.raises(ValidationError) as info:
        load_documents("a: 1\na: 2\n")
    assert "duplicate key" in info.value.message
    assert "line 2" in info.value.message


def test_python_tags_refused() -> None:
    with pytest.raises(ValidationError):
        load_documents("a: !!python/object/apply:os.system ['true']\n")

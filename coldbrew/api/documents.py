"""Split a YAML stream into manifest documents."""

from __future__ import annotations

from typing import Any

import yaml

from .errors import ValidationError, type_name

# libyaml's parser when PyYAML has it (many times faster on a file of thousands of
# manifests); the constructors, and so what is accepted, are SafeLoader's either way.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_Base):  # type: ignore[valid-type,misc]
    """SafeLoader that refuses duplicate mapping keys (as kubectl does)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:  # unhashable key; construct_mapping reports it
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)


def load_documents(text: str) -> list[dict[str, Any]]:
    """Parse a (multi-document) YAML string into a list of mappings.

    Empty documents are skipped. A syntax error, a duplicate key or a document
    that is not a mapping raises :class:`ValidationError` with field ``""``.
    """
    try:
        docs = list(yaml.load_all(text, Loader=_StrictLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "syntax error"
        raise ValidationError("", f"invalid YAML{where}: {problem}") from exc
    except yaml.YAMLError as exc:
        raise ValidationError("", f"invalid YAML: {exc}") from exc
    out: list[dict[str, Any]] = []
    for index, doc in enumerate(docs, start=1):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ValidationError(
                "", f"YAML document {index} must be a mapping, got {type_name(doc)}"
            )
        out.append(doc)
    return out

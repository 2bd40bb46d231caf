"""Each manifest in tests/data/invalid is refused, naming the field from its first line.

Services, and core v1 ConfigMaps and Secrets (validated as the Kubernetes API server does).

File format (reused against the running server): the first line is exactly
``# field: <dotted field path>``, the rest is the manifest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from coldbrew.api import ValidationError, load_documents, parse_service
from coldbrew.api.coreobjects import parse_config_object
from coldbrew.config_objects import is_config_object

CORPUS = sorted((Path(__file__).resolve().parents[1] / "data" / "invalid").glob("*.yaml"))
PREFIX = "# field: "


def expected_field(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith(PREFIX), f"{path.name}: first line must start with {PREFIX!r}"
    return first[len(PREFIX) :]


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 30


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_invalid_manifest_is_refused(path: Path) -> None:
    want = expected_field(path)
    with pytest.raises(ValidationError) as info:
        for doc in load_documents(path.read_text()):
            parse_config_object(doc) if is_config_object(doc) else parse_service(doc)
    err = info.value
    assert err.field == want
    assert str(err).splitlines()[0].endswith(f": {want}")
    assert err.to_dict()["field"] == want
    assert err.to_dict()["reason"] == "Invalid"

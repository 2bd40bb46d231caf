"""Records to store, and a way to count the state file's renames."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coldbrew.storing import StoredRevision, StoredService


def manifest(name: str, namespace: str = "default", image: str = "img:1") -> dict[str, Any]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"template": {"spec": {"containers": [{"image": image}]}}},
    }


def service(name: str, namespace: str = "default", generation: int = 1) -> StoredService:
    return StoredService(
        namespace=namespace,
        name=name,
        manifest=manifest(name, namespace),
        generation=generation,
        uid=f"uid-{namespace}-{name}",
        created=1764300000.0,
        latest_created=f"{name}-{generation:05d}",
        revision_counter=generation,
    )


def revision(
    service_name: str, generation: int, namespace: str = "default", created: float = 0.0
) -> StoredRevision:
    return StoredRevision(
        namespace=namespace,
        name=f"{service_name}-{generation:05d}",
        service=service_name,
        generation=generation,
        template_hash=f"hash-{generation}",
        manifest=manifest(service_name, namespace),
        uid=f"uid-{service_name}-{generation}",
        created=created or 1764300000.0 + generation,
        labels={"team": "cafe"},
    )


class Renames:
    """Counts ``os.replace`` onto files named ``state.json``."""

    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def renames(monkeypatch: pytest.MonkeyPatch) -> Iterator[Renames]:
    counter = Renames()
    real = os.replace

    def counting(src: Any, dst: Any, **kw: Any) -> None:
        if Path(dst).name == "state.json":
            counter.count += 1
        real(src, dst, **kw)

    monkeypatch.setattr(os, "replace", counting)
    yield counter

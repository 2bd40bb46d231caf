"""Shared fixtures for the API model tests."""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # pytest without an installed package
    sys.path.insert(0, str(ROOT))

BASE: dict[str, Any] = {
    "apiVersion": "serving.knative.dev/v1",
    "kind": "Service",
    "metadata": {"name": "coffee"},
    "spec": {"template": {"spec": {"containers": [{"image": "registry.example.com/coffee:v1"}]}}},
}

Manifest = Callable[..., dict[str, Any]]


def build_manifest(
    *,
    traffic: list[dict[str, Any]] | None = None,
    annotations: dict[str, Any] | None = None,
    revision_name: str | None = None,
    container: dict[str, Any] | None = None,
    pod: dict[str, Any] | None = None,
    name: str = "coffee",
) -> dict[str, Any]:
    """A valid Service manifest with the given pieces changed."""
    obj = copy.deepcopy(BASE)
    obj["metadata"]["name"] = name
    template = obj["spec"]["template"]
    if annotations is not None or revision_name is not None:
        template["metadata"] = {}
        if annotations is not None:
            template["metadata"]["annotations"] = annotations
        if revision_name is not None:
            template["metadata"]["name"] = revision_name
    if container:
        template["spec"]["containers"][0].update(container)
    if pod:
        template["spec"].update(pod)
    if traffic is not None:
        obj["spec"]["traffic"] = traffic
    return obj


@pytest.fixture
def manifest() -> Manifest:
    """Factory for valid manifests: ``manifest(traffic=[...], annotations={...}, ...)``."""
    return build_manifest

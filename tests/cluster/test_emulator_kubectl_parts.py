"""The emulator's kubectl-facing parts on their own: strategic merge patch, JSONPath, ages,
field pruning (the kubectl session in test_kubectl.py drives them end to end)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cluster.emulator.discovery import Catalog
from tests.cluster.emulator.patching import prune, strategic_merge_patch, unknown_fields
from tests.cluster.emulator.tables import human_duration, json_path, table

POD: dict[str, Any] = {
    "spec": {
        "containers": [
            {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
            {"name": "b", "image": "b:1", "args": ["--one"]},
        ],
        "volumes": [{"name": "v", "emptyDir": {}}],
    }
}


def test_strategic_merge_patch_merges_lists_by_key() -> None:
    patch = {
        "spec": {
            "containers": [
                {"name": "b", "image": "b:2"},
                {"name": "a", "env": [{"name": "Y", "value": "2"}]},
                {"name": "c", "image": "c:1"},
            ],
            "volumes": [{"name": "v", "$patch": "delete"}],
        }
    }
    out = strategic_merge_patch(POD, patch)
    by_name = {c["name"]: c for c in out["spec"]["containers"]}
    assert by_name["a"]["env"] == [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]
    assert by_name["b"] == {"name": "b", "image": "b:2", "args": ["--one"]}
    assert by_name["c"] == {"name": "c", "image": "c:1"}
    assert out["spec"]["volumes"] == []
    assert POD["spec"]["containers"][1]["image"] == "b:1"  # the target is not modified


def test_strategic_merge_patch_directives() -> None:
    order = {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}
    assert [c["name"] for c in strategic_merge_patch(POD, order)["spec"]["containers"]] == [
        "b",
        "a",
    ]
    replace = {"spec": {"containers": [{"name": "z", "image": "z"}, {"$patch": "replace"}]}}
    assert strategic_merge_patch(POD, replace)["spec"]["containers"] == [
        {"name": "z", "image": "z"}
    ]
    gone = {"spec": {"volumes": None, "containers": [{"name": "b", "args": ["--two"]}]}}
    out = strategic_merge_patch(POD, gone)
    assert "volumes" not in out["spec"]
    assert out["spec"]["containers"][1]["args"] == ["--two"]  # primitive lists are replaced
    svc = {"spec": {"ports": [{"port": 80, "nodePort": 30001}]}}
    merged = strategic_merge_patch(svc, {"spec": {"ports": [{"port": 80, "name": "http"}]}})
    assert merged["spec"]["ports"] == [{"port": 80, "nodePort": 30001, "name": "http"}]


@pytest.mark.parametrize(
    ("path", "want"),
    [
        (".status.conditions[?(@.type=='Ready')].status", ["True"]),
        (".metadata.labels['serving\\.knative\\.dev/configuration']", ["coffee"]),
        (".status.conditions[1].type", ["Ready"]),
        (".status.missing", []),
    ],
)
def test_json_path(path: str, want: list[Any]) -> None:
    obj = {
        "metadata": {"labels": {"serving.knative.dev/configuration": "coffee"}},
        "status": {
            "conditions": [
                {"type": "Active", "status": "False"},
                {"type": "Ready", "status": "True"},
            ]
        },
    }
    assert json_path(obj, path) == want


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(42, "42s"), (150, "2m30s"), (600, "10m"), (3 * 3600 + 120, "3h2m"), (26 * 3600, "26h")],
)
def test_ages_read_as_kubectl_prints_them(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_unknown_fields_follow_the_crd_schema_and_are_pruned() -> None:
    schema = Catalog.default().get("serving.knative.dev/v1", "services")
    assert schema is not None and schema.schema is not None
    doc = {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "coffee", "labels": {"a.b/c": "d"}, "colour": "brown"},
        "spec": {
            "template": {"spec": {"containers": [{"image": "x", "anything": 1}], "volumes": []}},
            "traffic": [{"percent": 100, "weight": 1}],
            "foo": 1,
        },
    }
    unknown = unknown_fields(doc, schema.schema)
    assert sorted(unknown) == ["metadata.colour", "spec.foo", "spec.traffic[0].weight"]
    pruned = prune(doc, unknown)
    assert unknown_fields(pruned, schema.schema) == []
    assert pruned["spec"]["template"] == doc["spec"]["template"]  # preserved as written


def test_tables_use_the_crd_columns() -> None:
    revisions = Catalog.default().get("serving.knative.dev/v1", "revisions")
    assert revisions is not None
    rev = {
        "metadata": {"name": "coffee-00001", "labels": {"serving.knative.dev/configuration": "c"}},
        "status": {"actualReplicas": 2},
    }
    out = table(revisions, [rev], "7", "None")
    names = [c["name"] for c in out["columnDefinitions"]]
    assert names[:3] == ["Name", "Config Name", "Generation"]
    assert out["rows"] == [{"cells": ["coffee-00001", "c", None, None, None, 2, None]}]

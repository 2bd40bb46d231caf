"""Template hashing and canonical dicts."""

from __future__ import annotations

import json

import pytest

from coldbrew.api import parse_service


def test_hash_is_stable_and_defaults_normalized(manifest) -> None:
    a = parse_service(manifest())
    b = parse_service(manifest(pod={"containerConcurrency": 0, "timeoutSeconds": 300}))
    assert a.template.template_hash() == b.template.template_hash()
    assert len(a.template.template_hash()) == 64


@pytest.mark.parametrize(
    "kwargs",
    [
        {"container": {"image": "registry.example.com/coffee:v2"}},
        {"container": {"env": [{"name": "A", "value": "1"}]}},
        {"container": {"args": ["x"]}},
        {"container": {"ports": [{"containerPort": 9000}]}},
        {"container": {"readinessProbe": {"tcpSocket": {}}}},
        {"pod": {"containerConcurrency": 5}},
        {"pod": {"timeoutSeconds": 30}},
        {"pod": {"idleTimeoutSeconds": 30}},
        {"annotations": {"autoscaling.knative.dev/min-scale": "1"}},
        {"revision_name": "coffee-v1"},
    ],
)
def test_hash_changes_with_template(manifest, kwargs) -> None:
    base = parse_service(manifest()).template.template_hash()
    assert parse_service(manifest(**kwargs)).template.template_hash() != base


def test_traffic_and_service_metadata_do_not_change_the_template(manifest) -> None:
    a = parse_service(manifest())
    obj = manifest(traffic=[{"latestRevision": True, "percent": 100, "tag": "x"}])
    obj["metadata"]["labels"] = {"team": "a"}
    assert parse_service(obj).template.template_hash() == a.template.template_hash()


def test_spec_dict_shape(manifest) -> None:
    svc = parse_service(
        manifest(
            revision_name="coffee-v1",
            annotations={"autoscaling.knative.dev/target": "10"},
            container={"env": [{"name": "A", "value": "1"}], "ports": [{"containerPort": 8080}]},
        )
    )
    spec = svc.template.spec_dict()
    assert spec == {
        "metadata": {"name": "coffee-v1", "annotations": {"autoscaling.knative.dev/target": "10"}},
        "spec": {
            "containerConcurrency": 0,
            "timeoutSeconds": 300,
            "containers": [
                {
                    "image": "registry.example.com/coffee:v1",
                    "env": [{"name": "A", "value": "1"}],
                    "ports": [{"containerPort": 8080}],
                }
            ],
        },
    }
    json.dumps(svc.spec_dict())  # JSON-serializable


def test_model_is_frozen(manifest) -> None:
    svc = parse_service(manifest())
    with pytest.raises(AttributeError):
        svc.name = "tea"  # type: ignore[misc]

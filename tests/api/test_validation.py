"""parse_service: defaults, accepted shapes and Knative-style error messages."""

from __future__ import annotations

from typing import Any

import pytest

from coldbrew.api import Probe, ValidationError, parse_service
from coldbrew.api.features import Features


def refuse(obj: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        parse_service(obj)
    return info.value


def test_minimal_defaults(manifest) -> None:
    svc = parse_service(manifest())
    assert (svc.name, svc.namespace, svc.traffic) == ("coffee", "default", None)
    assert svc.labels == {} and svc.annotations == {}
    t = svc.template
    assert (t.container_concurrency, t.timeout_seconds) == (0, 300)
    assert t.container.command == () and t.container.args == () and t.container.env == ()


def test_full_container(manifest) -> None:
    svc = parse_service(
        manifest(
            container={
                "name": "user",
                "command": ["python", "-m", "app"],
                "args": ["--verbose"],
                "env": [{"name": "A", "value": "1"}, {"name": "EMPTY"}],
                "ports": [{"containerPort": 9000, "name": "http1", "protocol": "TCP"}],
                "readinessProbe": {
                    "httpGet": {"path": "/healthz", "port": 9000},
                    "periodSeconds": 5,
                },
            },
            pod={
                "containerConcurrency": 10,
                "timeoutSeconds": 60,
                "responseStartTimeoutSeconds": 30,
                "idleTimeoutSeconds": 0,
            },
        )
    )
    c = svc.template.container
    assert c.name == "user"
    assert c.command == ("python", "-m", "app") and c.args == ("--verbose",)
    assert c.env == (("A", "1"), ("EMPTY", ""))
    assert c.port == 9000
    assert c.readiness_probe == Probe("http", "/healthz", 9000, 5, 1, 3, 1, 0)
    t = svc.template
    assert (t.container_concurrency, t.timeout_seconds) == (10, 60)
    assert (t.response_start_timeout_seconds, t.idle_timeout_seconds) == (30, 0)


def test_probe_defaults(manifest) -> None:
    tcp = parse_service(manifest(container={"readinessProbe": {"tcpSocket": {}}}))
    assert tcp.template.container.readiness_probe == Probe("tcp", "", None, 0, 0, 0, 1, 0)
    http = parse_service(manifest(container={"readinessProbe": {"httpGet": {}}}))
    probe = http.template.container.readiness_probe
    assert probe is not None and probe.kind == "http" and probe.path == "/"


def test_probe_port_by_name(manifest) -> None:
    svc = parse_service(
        manifest(
            container={
                "ports": [{"containerPort": 8081, "name": "http1"}],
                "readinessProbe": {"tcpSocket": {"port": "http1"}},
            }
        )
    )
    assert svc.template.container.readiness_probe.port is None  # type: ignore[union-attr]


def test_a_port_named_h2c_is_carried_to_the_revision(manifest) -> None:
    svc = parse_service(manifest(container={"ports": [{"containerPort": 8080, "name": "h2c"}]}))
    t = svc.template
    assert t.container.port_name == "h2c" and t.protocol == "h2c"
    assert t.revision_spec()["containers"][0]["ports"] == [{"containerPort": 8080, "name": "h2c"}]
    plain = parse_service(manifest(container={"ports": [{"containerPort": 8080}]}))
    assert plain.template.protocol == "http1"


def test_an_unknown_port_name_is_refused_naming_the_field(manifest) -> None:
    err = refuse(manifest(container={"ports": [{"containerPort": 8080, "name": "grpc"}]}))
    assert err.field == "spec.template.spec.containers[0].ports[0]"
    assert "Port name grpc is not allowed" in str(err)


def test_namespace_labels_annotations(manifest) -> None:
    obj = manifest()
    obj["metadata"].update(
        namespace="prod",
        labels={"app": "coffee", "networking.knative.dev/visibility": "cluster-local"},
        annotations={"example.com/owner": "team a"},
        uid="abc",
        resourceVersion="7",
    )
    obj["status"] = {"url": "ignored"}
    svc = parse_service(obj)
    assert svc.namespace == "prod"
    assert svc.labels["app"] == "coffee"
    assert svc.annotations == {"example.com/owner": "team a"}


def test_template_creation_timestamp_null_is_accepted(manifest) -> None:
    obj = manifest(revision_name="coffee-v1")
    obj["spec"]["template"]["metadata"]["creationTimestamp"] = None
    assert parse_service(obj).template.name == "coffee-v1"


def test_empty_traffic_list_means_default(manifest) -> None:
    assert parse_service(manifest(traffic=[])).traffic is None


def test_traffic_entries(manifest) -> None:
    svc = parse_service(
        manifest(
            traffic=[
                {"revisionName": "coffee-00001", "percent": 40},
                {"configurationName": "coffee", "percent": 60, "tag": "cur"},
                {"revisionName": "coffee-00001", "tag": "old"},
            ]
        )
    )
    assert svc.traffic is not None
    first, second, third = svc.traffic
    assert not first.latest_revision and first.revision_name == "coffee-00001"
    assert second.latest_revision and second.configuration_name == "coffee"
    assert third.percent == 0 and third.tag == "old"


def test_not_a_mapping() -> None:
    err = refuse(["not", "a", "service"])
    assert err.field == ""
    assert str(err) == "expected a mapping, got list"


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        (
            {"pod": {"containerConcurrency": 1001}},
            "expected 0 <= 1001 <= 1000: spec.template.spec.containerConcurrency",
        ),
        (
            {"traffic": [{"latestRevision": True, "percent": 90}]},
            "Traffic targets sum to 90, want 100: spec.traffic",
        ),
        (
            {"container": {"image": ""}},
            "missing field(s): spec.template.spec.containers[0].image",
        ),
        (
            {"container": {"foo": 1}},
            "must not set the field(s): spec.template.spec.containers[0].foo",
        ),
        (
            {"revision_name": "tea-v1"},
            'invalid value: "tea-v1" must have prefix "coffee-": spec.template.metadata.name',
        ),
        (
            {
                "traffic": [
                    {"revisionName": "coffee-a", "percent": 50, "tag": "v1"},
                    {"revisionName": "coffee-b", "percent": 50, "tag": "v1"},
                ]
            },
            'Multiple definitions for "v1": spec.traffic[1].tag',
        ),
        (
            {"annotations": {"autoscaling.knative.dev/min-scale": "-1"}},
            "expected 0 <= -1 <= 2147483647: "
            "spec.template.metadata.annotations[autoscaling.knative.dev/min-scale]",
        ),
    ],
)
def test_error_text(manifest, kwargs: dict[str, Any], text: str) -> None:
    err = refuse(manifest(**kwargs))
    assert str(err).splitlines()[0] == text


def test_error_to_dict(manifest) -> None:
    err = refuse(manifest(container={"terminationMessagePolicy": "File"}))
    d = err.to_dict()
    assert d["field"] == "spec.template.spec.containers[0].terminationMessagePolicy"
    assert d["message"] == "must not set the field(s)"
    assert d["reason"] == "Invalid"
    assert "not supported" in d["details"]
    assert isinstance(err, ValueError)


def test_unsupported_field_says_so(manifest) -> None:
    # Knative keeps nodeSelector behind a flag; enabled, coldbrew still cannot honour it.
    obj = manifest(pod={"nodeSelector": {"disk": "ssd"}})
    err = refuse(obj)
    assert err.field == "spec.template.spec.nodeSelector"
    assert err.details == 'behind the feature flag "kubernetes.podspec-nodeselector" (Disabled)'
    enabled = Features.from_mapping({"kubernetes.podspec-nodeselector": "Enabled"})
    with pytest.raises(ValidationError) as info:
        parse_service(obj, features=enabled)
    assert info.value.field == "spec.template.spec.nodeSelector"
    assert info.value.details == "not supported by coldbrew"


def test_bool_is_not_an_integer(manifest) -> None:
    err = refuse(manifest(traffic=[{"latestRevision": True, "percent": True}]))
    assert err.field == "spec.traffic[0].percent"


def test_service_name_limit(manifest) -> None:
    assert parse_service(manifest(name="c" * 57)).name == "c" * 57
    assert refuse(manifest(name="c" * 58)).field == "metadata.name"


def test_long_tag_host(manifest) -> None:
    ok = "t" * (63 - len("-coffee"))
    parse_service(manifest(traffic=[{"latestRevision": True, "percent": 100, "tag": ok}]))
    err = refuse(manifest(traffic=[{"latestRevision": True, "percent": 100, "tag": ok + "x"}]))
    assert err.field == "spec.traffic[0].tag"


def test_label_value_checked(manifest) -> None:
    obj = manifest()
    obj["metadata"]["labels"] = {"app": "not valid!"}
    assert refuse(obj).field == "metadata.labels[app]"


def test_instance_type_catalogue(manifest) -> None:
    key = "knative.aliyun.com/reserve-instance-eci-use-specs"
    obj = manifest(annotations={key: "ecs.a.large, ecs.b.large"})
    specs = parse_service(obj, instance_types={"ecs.a.large", "ecs.b.large"})
    assert specs.template.scaling.reserve_instance_eci_use_specs.instance_types == (  # type: ignore[union-attr]
        "ecs.a.large",
        "ecs.b.large",
    )
    with pytest.raises(ValidationError) as info:
        parse_service(obj, instance_types={"ecs.a.large"})
    assert info.value.field == f"spec.template.metadata.annotations[{key}]"
    assert "ecs.b.large" in info.value.details

"""Probes, several containers, securityContext, lifecycle and pod-wide fields: accepted shapes."""

from __future__ import annotations

from typing import Any

import pytest

from coldbrew.api import ValidationError, parse_service
from coldbrew.api.features import Features


def refuse(obj: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        parse_service(obj)
    return info.value


def test_liveness_and_startup_probes_default_as_kubernetes(manifest) -> None:
    svc = parse_service(
        manifest(
            container={
                "livenessProbe": {"httpGet": {"path": "/healthz", "httpHeaders": [
                    {"name": "X-Probe", "value": "1"}]}},
                "startupProbe": {"tcpSocket": {}, "failureThreshold": 30, "periodSeconds": 1},
            }
        )
    )  # fmt: skip
    c = svc.template.container
    assert c.liveness_probe is not None and c.startup_probe is not None
    live = c.liveness_probe
    assert (live.kind, live.path, live.port, live.period_seconds) == ("http", "/healthz", None, 10)
    assert (live.timeout_seconds, live.failure_threshold, live.success_threshold) == (1, 3, 1)
    assert live.headers == (("X-Probe", "1"),)
    assert c.startup_probe.failure_threshold == 30
    spec = svc.template.revision_spec()["containers"][0]
    assert spec["livenessProbe"]["httpGet"]["httpHeaders"] == [{"name": "X-Probe", "value": "1"}]
    assert spec["startupProbe"]["tcpSocket"] == {}


def test_exec_and_grpc_handlers(manifest) -> None:
    svc = parse_service(
        manifest(
            container={
                "ports": [{"containerPort": 9000}],
                "readinessProbe": {"exec": {"command": ["cat", "/tmp/ready"]}},
                "livenessProbe": {"grpc": {"port": 9000, "service": "coffee"}},
            }
        )
    )
    c = svc.template.container
    assert c.readiness_probe is not None and c.liveness_probe is not None
    assert (c.readiness_probe.kind, c.readiness_probe.command) == ("exec", ("cat", "/tmp/ready"))
    assert (c.liveness_probe.kind, c.liveness_probe.port) == ("grpc", 9000)
    assert c.liveness_probe.service == "coffee"
    out = svc.template.revision_spec()["containers"][0]["livenessProbe"]
    assert out["grpc"] == {"port": 9000, "service": "coffee"}


def test_existing_readiness_probe_output_is_unchanged(manifest) -> None:
    """The template hash of a revision written before must not move."""
    svc = parse_service(manifest(container={"readinessProbe": {"httpGet": {"path": "/ok"}}}))
    assert svc.template.revision_spec()["containers"][0]["readinessProbe"] == {
        "httpGet": {"path": "/ok"},
        "periodSeconds": 0,
        "timeoutSeconds": 0,
        "failureThreshold": 0,
        "successThreshold": 1,
        "initialDelaySeconds": 0,
    }


def test_sidecars_keep_their_order_and_probe_their_own_ports(manifest) -> None:
    obj = manifest()
    obj["spec"]["template"]["spec"]["containers"] = [
        {
            "name": "cache",
            "image": "registry.example.com/cache",
            "readinessProbe": {"tcpSocket": {"port": 6379}},
        },
        {"name": "app", "image": "registry.example.com/coffee", "ports": [{"containerPort": 8080}]},
    ]
    t = parse_service(obj).template
    assert t.container.name == "app" and t.serving_index == 1
    assert [c.name for c in t.sidecars] == ["cache"]
    assert t.sidecars[0].readiness_probe is not None
    assert t.sidecars[0].readiness_probe.port == 6379
    assert [c["name"] for c in t.revision_spec()["containers"]] == ["cache", "app"]


def test_security_context_and_pod_fields(manifest) -> None:
    # Pod-level securityContext and capabilities.add are behind Knative's flags.
    flags = {
        "kubernetes.podspec-securitycontext": "Enabled",
        "kubernetes.containerspec-addcapabilities": "Enabled",
    }
    svc = parse_service(
        manifest(
            container={
                "workingDir": "/srv",
                "securityContext": {
                    "runAsUser": 1000,
                    "readOnlyRootFilesystem": True,
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "lifecycle": {"preStop": {"httpGet": {"path": "/quit", "port": 8080}}},
            },
            pod={
                "terminationGracePeriodSeconds": 5,
                "securityContext": {"runAsGroup": 2000, "runAsNonRoot": True},
                "imagePullSecrets": [{"name": "regcred"}],
                "serviceAccountName": "robot",
            },
        ),
        features=Features.from_mapping(flags),
    )
    t = svc.template
    sc = t.container.security_context
    assert sc is not None and t.security_context is not None
    merged = sc.over(t.security_context)
    assert (merged.run_as_user, merged.run_as_group, merged.run_as_non_root) == (1000, 2000, True)
    assert merged.capabilities_drop == ("ALL",) and merged.read_only_root_filesystem is True
    assert t.container.working_dir == "/srv"
    assert t.container.pre_stop is not None and t.container.pre_stop.port == 8080
    assert (t.termination_grace_period_seconds, t.image_pull_secrets) == (5, ("regcred",))
    spec = t.revision_spec()
    assert spec["serviceAccountName"] == "robot"
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]
    assert spec["containers"][0]["lifecycle"]["preStop"]["httpGet"]["path"] == "/quit"


def test_multi_container_messages(manifest) -> None:
    obj = manifest()
    obj["spec"]["template"]["spec"]["containers"] = [
        {"name": "a", "image": "registry.example.com/a"},
        {"name": "b", "image": "registry.example.com/b"},
    ]
    err = refuse(obj)
    assert err.field == "spec.template.spec.containers"
    assert "exactly one container must have a port" in str(err)


def test_liveness_success_threshold_must_be_one(manifest) -> None:
    err = refuse(manifest(container={"livenessProbe": {"tcpSocket": {}, "successThreshold": 2}}))
    assert err.field == "spec.template.spec.containers[0].livenessProbe.successThreshold"
    assert "must be 1" in str(err)

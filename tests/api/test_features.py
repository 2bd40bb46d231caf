"""Knative's feature flags: the ``features:`` config section and the pod-spec gate."""

from __future__ import annotations

from typing import Any

import pytest

from autoscaler.config import ConfigError
from coldbrew.api import ValidationError, parse_service
from coldbrew.api.features import DEFAULTS, Features, gate_pod_spec
from coldbrew.platform_config import parse_config


def manifest(pod: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "coffee"},
        "spec": {"template": {"spec": {"containers": [{"image": "a"}], **pod}}},
    }


def test_defaults_are_knatives() -> None:
    f = Features()
    assert f.flag("multi-container") == "Enabled"
    assert f.flag("kubernetes.podspec-volumes-emptydir") == "Enabled"
    for key in (
        "kubernetes.podspec-fieldref",
        "kubernetes.podspec-securitycontext",
        "kubernetes.podspec-init-containers",
        "kubernetes.podspec-persistent-volume-claim",
        "kubernetes.podspec-affinity",
        "kubernetes.containerspec-addcapabilities",
        "secure-pod-defaults",
    ):
        assert f.flag(key) == "Disabled", key


def test_config_section_overrides_and_names_bad_keys() -> None:
    config = parse_config({"features": {"kubernetes.podspec-affinity": "enabled"}})
    assert config.features.flag("kubernetes.podspec-affinity") == "Enabled"
    assert parse_config({}).features.flags == DEFAULTS
    with pytest.raises(ConfigError, match=r"^features.kubernetes.podspec-nope: unknown key"):
        parse_config({"features": {"kubernetes.podspec-nope": "Enabled"}})
    with pytest.raises(ConfigError, match=r"^features.multi-container: must be one of"):
        parse_config({"features": {"multi-container": "yes"}})


@pytest.mark.parametrize(
    ("pod", "field", "flag"),
    [
        ({"affinity": {}}, "spec.template.spec.affinity", "kubernetes.podspec-affinity"),
        (
            {"initContainers": [{"image": "b"}]},
            "spec.template.spec.initContainers",
            "kubernetes.podspec-init-containers",
        ),
        (
            {"containers": [{"image": "a", "env": [{"name": "N", "valueFrom": {"fieldRef": {}}}]}]},
            "spec.template.spec.containers[0].env[0].valueFrom.fieldRef",
            "kubernetes.podspec-fieldref",
        ),
        (
            {"volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "c"}}]},
            "spec.template.spec.volumes[0].persistentVolumeClaim",
            "kubernetes.podspec-persistent-volume-claim",
        ),
        (
            {"securityContext": {"runAsUser": 1}},
            "spec.template.spec.securityContext",
            "kubernetes.podspec-securitycontext",
        ),
        (
            {"containers": [{"image": "a", "securityContext": {"capabilities": {"add": ["X"]}}}]},
            "spec.template.spec.containers[0].securityContext.capabilities.add",
            "kubernetes.containerspec-addcapabilities",
        ),
    ],
)
def test_disabled_flags_refuse_in_local_mode_too(
    pod: dict[str, Any], field: str, flag: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_service(manifest(pod))
    assert caught.value.field == field
    assert caught.value.message == "must not set the field(s)"
    assert flag in caught.value.details


def test_enabled_flag_lets_the_field_through_the_gate() -> None:
    pod = {"affinity": {"nodeAffinity": {}}, "securityContext": {"runAsUser": 1, "fsGroup": 2}}
    on = Features.from_mapping(
        {"kubernetes.podspec-affinity": "Allowed", "kubernetes.podspec-securitycontext": "Enabled"}
    )
    gate_pod_spec(pod, "spec", on, strict=True)
    with pytest.raises(ValidationError) as caught:
        gate_pod_spec({"securityContext": {"sysctls": []}}, "spec", on, strict=True)
    assert caught.value.field == "spec.securityContext.sysctls"


def test_capabilities_add_needs_enabled_not_allowed() -> None:
    pod = {"containers": [{"securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]}
    allowed = Features.from_mapping({"kubernetes.containerspec-addcapabilities": "Allowed"})
    with pytest.raises(ValidationError):
        gate_pod_spec(pod, "spec", allowed)
    enabled = Features.from_mapping({"kubernetes.containerspec-addcapabilities": "Enabled"})
    gate_pod_spec(pod, "spec", enabled)


def test_multi_container_off_refuses_with_knatives_message() -> None:
    off = Features.from_mapping({"multi-container": "Disabled"})
    with pytest.raises(ValidationError) as caught:
        gate_pod_spec({"containers": [{}, {}]}, "spec.template.spec", off)
    assert str(caught.value) == (
        "multi-container is off, but found 2 containers: spec.template.spec.containers"
    )

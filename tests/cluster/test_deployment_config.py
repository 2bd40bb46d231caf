"""A Deployment carries the revision's env references, mounts and volumes as written."""

from __future__ import annotations

import copy
from typing import Any

from coldbrew.api import parse_service
from coldbrew.api.features import Features
from coldbrew.cluster.deployments import SERVICE_LABEL, build_deployment

ENV = [
    {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
]
ENV_FROM = [{"configMapRef": {"name": "web"}, "prefix": "CFG_"}]
MOUNTS = [{"name": "cfg", "mountPath": "/etc/cfg", "readOnly": True}]
VOLUMES = [{"name": "cfg", "configMap": {"name": "web", "items": [{"key": "a", "path": "a"}]}}]


def test_pod_spec_keeps_the_configuration_fields() -> None:
    container = {"image": "registry.example.com/a:1", "env": ENV, "envFrom": ENV_FROM,
                 "volumeMounts": MOUNTS}  # fmt: skip
    obj: dict[str, Any] = {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "a"},
        "spec": {"template": {"spec": {"containers": [container], "volumes": VOLUMES}}},
    }
    flags = Features.from_mapping({"kubernetes.podspec-fieldref": "Enabled"})
    template = parse_service(copy.deepcopy(obj), features=flags, keep_raw=True).template
    revision = {"metadata": {"name": "a-00001", "namespace": "default", "uid": "u",
                             "labels": {SERVICE_LABEL: "a"}}}  # fmt: skip
    pod = build_deployment(revision, template, replicas=1)["spec"]["template"]["spec"]
    (out,) = pod["containers"]
    assert out["env"][: len(ENV)] == ENV
    assert out["envFrom"] == ENV_FROM and out["volumeMounts"] == MOUNTS
    assert pod["volumes"] == VOLUMES

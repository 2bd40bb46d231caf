"""Cluster mode: a manifest using every pod-spec field Knative allows reaches the Deployment.

The real :class:`ClusterController` reconciles against the API-server emulator; the
Deployment it writes must carry the manifest's pod spec field by field, plus only what
Knative (and coldbrew) add: the serving container's ``PORT``/``K_*`` env, its port named
``user-port``, ``enableServiceLinks: false`` where unset. The same validator as local mode
runs (``parse_service``), in its cluster form (``keep_raw``: fields the local runtime does
not run yet are accepted and kept as written), behind the same feature gate.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest
from kubernetes_asyncio import client

from coldbrew.api import ValidationError, parse_service
from coldbrew.api.features import Features
from coldbrew.cluster import ClusterController, Settings
from coldbrew.cluster.revisioning import template_of
from tests.cluster.emulator import Emulator
from tests.cluster.objects import api_client, api_server

pytestmark = pytest.mark.timeout(30)

KSVC, APPS = "serving.knative.dev/v1", "apps/v1"

POD_SPEC: dict[str, Any] = {
    "serviceAccountName": "coffee-robot",
    "imagePullSecrets": [{"name": "registry-credentials"}],
    "terminationGracePeriodSeconds": 45,
    "containers": [
        {
            "name": "coffee",
            "image": "registry.example.com/cafe/coffee:v1",
            "workingDir": "/srv",
            "ports": [{"containerPort": 8080}],
            "env": [
                {"name": "TARGET", "value": "coffee"},
                {
                    "name": "PASSWORD",
                    "valueFrom": {"secretKeyRef": {"name": "beans", "key": "password"}},
                },
                {
                    "name": "ROAST",
                    "valueFrom": {
                        "configMapKeyRef": {"name": "menu", "key": "roast", "optional": True}
                    },
                },
            ],
            "envFrom": [
                {"configMapRef": {"name": "menu"}, "prefix": "MENU_"},
                {"secretRef": {"name": "beans", "optional": True}},
            ],
            "volumeMounts": [
                {"name": "menu", "mountPath": "/etc/menu", "readOnly": True},
                {
                    "name": "beans",
                    "mountPath": "/etc/beans/password",
                    "subPath": "password",
                    "readOnly": True,  # Knative: required for all but emptyDir (and PVCs)
                },
                {"name": "bundle", "mountPath": "/etc/bundle", "readOnly": True},
                {"name": "scratch", "mountPath": "/tmp"},
            ],
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 2},
            "livenessProbe": {
                "httpGet": {"path": "/healthz", "port": 8080},
                "initialDelaySeconds": 3,
                "failureThreshold": 4,
            },
            "startupProbe": {"tcpSocket": {"port": 8080}, "failureThreshold": 30},
            "securityContext": {
                "runAsUser": 1000,
                "runAsGroup": 1000,
                "runAsNonRoot": True,
                "readOnlyRootFilesystem": True,
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
            },
            "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
            "resources": {"requests": {"cpu": "250m", "memory": "128Mi"}},
        },
        {
            "name": "milk-frother",
            "image": "registry.example.com/cafe/frother:v1",
            "args": ["--listen", "127.0.0.1:9000"],
            "readinessProbe": {"exec": {"command": ["frother", "--check"]}},
            "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
        },
    ],
    "volumes": [
        {"name": "menu", "configMap": {"name": "menu", "items": [{"key": "roast", "path": "r"}]}},
        {"name": "beans", "secret": {"secretName": "beans", "defaultMode": 0o400}},
        {
            "name": "bundle",
            "projected": {
                "sources": [
                    {"configMap": {"name": "menu"}},
                    {"secret": {"name": "beans", "items": [{"key": "password", "path": "p"}]}},
                ]
            },
        },
        {"name": "scratch", "emptyDir": {"sizeLimit": "64Mi"}},
    ],
}


def manifest(pod: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": KSVC,
        "kind": "Service",
        "metadata": {"name": "coffee", "namespace": "default"},
        "spec": {"template": {"spec": copy.deepcopy(pod)}},
    }


@pytest.fixture
async def api() -> AsyncIterator[tuple[Emulator, client.ApiClient]]:
    emu = Emulator()
    async with api_server(emu) as port:
        api = api_client(port)
        try:
            yield emu, api
        finally:
            await api.close()


async def reconciled(
    emu: Emulator, api: client.ApiClient, doc: dict[str, Any], settings: Settings | None = None
) -> ClusterController:
    controller = ClusterController(api, settings)
    task = asyncio.create_task(controller.run())
    try:
        await controller.wait_idle()
        await client.CustomObjectsApi(api).create_namespaced_custom_object(
            "serving.knative.dev", "v1", "default", "services", doc
        )
        await emu.wait_for(lambda: emu.list(APPS, "deployments") or _refused(emu))
        await controller.wait_idle()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return controller


def _refused(emu: Emulator) -> bool:
    svc = emu.get(KSVC, "services", "default", "coffee") or {}
    conditions = (svc.get("status") or {}).get("conditions") or []
    return any(c.get("reason") == "InvalidSpec" for c in conditions)


def knative_additions(container: dict[str, Any], revision: str) -> dict[str, Any]:
    """The serving container as written plus what Knative adds to it."""
    out = copy.deepcopy(container)
    out["ports"] = [{"name": "user-port", "containerPort": 8080, "protocol": "TCP"}]
    out["env"] = [
        *out["env"],
        {"name": "PORT", "value": "8080"},
        {"name": "K_REVISION", "value": revision},
        {"name": "K_CONFIGURATION", "value": "coffee"},
        {"name": "K_SERVICE", "value": "coffee"},
    ]
    return out


async def test_every_allowed_field_reaches_the_deployment(api) -> None:
    emu, kube = api
    await reconciled(emu, kube, manifest(POD_SPEC))
    deployment = emu.get(APPS, "deployments", "default", "coffee-00001-deployment")
    assert deployment is not None
    written = deployment["spec"]["template"]["spec"]
    serving, sidecar = written["containers"]
    assert serving == knative_additions(POD_SPEC["containers"][0], "coffee-00001")
    assert sidecar == POD_SPEC["containers"][1]
    for key in ("volumes", "imagePullSecrets", "serviceAccountName"):
        assert written[key] == POD_SPEC[key], key
    assert written["terminationGracePeriodSeconds"] == 45
    assert written["enableServiceLinks"] is False
    expected = {"containers", "enableServiceLinks", *POD_SPEC}
    assert set(written) == expected
    # the reserve Deployment: the same pod, sized by the reserve instance
    reserve = emu.get(APPS, "deployments", "default", "coffee-00001-deployment-reserve")
    assert reserve is not None
    pod = reserve["spec"]["template"]["spec"]
    assert pod["containers"][1] == sidecar and pod["volumes"] == POD_SPEC["volumes"]
    assert {**pod["containers"][0], "resources": serving["resources"]} == serving
    # the stored Revision keeps the pod spec as written (plus Knative's spec defaults)
    revision = emu.get(KSVC, "revisions", "default", "coffee-00001")
    assert revision is not None
    spec = revision["spec"]
    assert spec["containers"] == POD_SPEC["containers"]
    assert spec["volumes"] == POD_SPEC["volumes"]
    assert spec["timeoutSeconds"] == 300 and spec["containerConcurrency"] == 0
    # what the gateway mirror and the autoscaler read back from it is the same template
    again = template_of(revision, "coffee")
    assert again.raw_spec is not None
    assert (
        again.template_hash()
        == parse_service(manifest(POD_SPEC), keep_raw=True).template.template_hash()
    )


async def test_flag_enabled_pod_fields_reach_the_deployment(api) -> None:
    emu, kube = api
    pod = {
        "containers": [{"image": "registry.example.com/cafe/coffee:v1"}],
        "securityContext": {"runAsUser": 1000, "fsGroup": 2000},
        "nodeSelector": {"disktype": "ssd"},
        "enableServiceLinks": True,
    }
    features = Features.from_mapping(
        {
            "kubernetes.podspec-securitycontext": "enabled",
            "kubernetes.podspec-nodeselector": "Allowed",
        }
    )
    await reconciled(emu, kube, manifest(pod), Settings(features=features))
    deployment = emu.get(APPS, "deployments", "default", "coffee-00001-deployment")
    assert deployment is not None
    written = deployment["spec"]["template"]["spec"]
    assert written["securityContext"] == pod["securityContext"]
    assert written["nodeSelector"] == {"disktype": "ssd"}
    assert written["enableServiceLinks"] is True


async def test_a_disabled_flag_refuses_with_knatives_message(api) -> None:
    emu, kube = api
    pod = {
        "containers": [{"image": "registry.example.com/cafe/coffee:v1"}],
        "nodeSelector": {"disktype": "ssd"},
    }
    await reconciled(emu, kube, manifest(pod))
    assert emu.list(APPS, "deployments") == []
    assert emu.list(KSVC, "revisions") == []
    svc = emu.get(KSVC, "services", "default", "coffee") or {}
    ready = next(c for c in svc["status"]["conditions"] if c["type"] == "Ready")
    assert ready["message"].startswith("must not set the field(s): spec.template.spec.nodeSelector")
    assert "kubernetes.podspec-nodeselector" in ready["message"]


def test_a_model_only_manifest_keeps_its_revision() -> None:
    """No raw copy when the model holds the whole spec: hashes of old revisions stand."""
    doc = manifest({"containers": [{"image": "registry.example.com/cafe/coffee:v1"}]})
    local = parse_service(doc).template
    cluster = parse_service(doc, keep_raw=True).template
    assert cluster.raw_spec is None
    assert cluster.template_hash() == local.template_hash()


@pytest.mark.parametrize(
    ("pod", "field"),
    [
        (
            {
                "containers": [
                    {"image": "a", "ports": [{"containerPort": 8080}]},
                    {"image": "b", "ports": [{"containerPort": 9000}]},
                ]
            },
            "spec.template.spec.containers[*].ports",
        ),
        (
            {"containers": [{"image": "a"}, {"image": "b"}]},
            "spec.template.spec.containers[*].ports",
        ),
        (
            {
                "containers": [
                    {"name": "x", "image": "a", "ports": [{"containerPort": 8080}]},
                    {"name": "x", "image": "b"},
                ]
            },
            "spec.template.spec.containers[1].name",
        ),
        ({"containers": [{"image": "a", "stdin": True}]}, "spec.template.spec.containers[0].stdin"),
        (
            {
                "containers": [
                    {
                        "image": "a",
                        "volumeMounts": [{"name": "v", "mountPath": "/v", "subPathExpr": "x"}],
                    }
                ]
            },
            "spec.template.spec.containers[0].volumeMounts[0].subPathExpr",
        ),
        (
            {"containers": [{"image": "a"}], "volumes": [{"name": "v", "hostPath": {"path": "/"}}]},
            "spec.template.spec.volumes[0].hostPath",
        ),
        (
            {"containers": [{"image": "a", "securityContext": {"privileged": True}}]},
            "spec.template.spec.containers[0].securityContext.privileged",
        ),
        (
            {
                "containers": [
                    {"image": "a", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}
                ]
            },
            "spec.template.spec.containers[0].securityContext.capabilities.add",
        ),
        (
            {"containers": [{"image": "a"}], "securityContext": {"runAsUser": 1}},
            "spec.template.spec.securityContext",
        ),
        (
            {"containers": [{"image": "a"}], "restartPolicy": "Never"},
            "spec.template.spec.restartPolicy",
        ),
    ],
)
def test_cluster_refusals_name_the_field(pod: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_service(manifest(pod), keep_raw=True)
    assert caught.value.field == field

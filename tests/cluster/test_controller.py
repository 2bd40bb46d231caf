"""The cluster controller against an emulated Kubernetes API server.

The API server is :mod:`tests.cluster.emulator` (an aiohttp emulator written for these
tests, because kmock 0.8 stamps no resourceVersion, has no status/scale subresources,
ignores label selectors and cannot resume or expire watches). Emulated: generic CRUD with
JSON merge patch, resourceVersion/uid/generation, status and scale subresources, label
selectors, resumable watch streams with 410 Gone after compaction, cascading deletion by
ownerReferences, injected faults. Not emulated: pods and the deployment controller, so the
tests play kubelet by writing a Deployment's ``status.readyReplicas`` themselves.
kubernetes-asyncio talks to it over HTTP on 127.0.0.1. Synchronisation is by waiting on
the emulator's change notifications and the controller's idle state; no sleeps.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from kubernetes_asyncio import client

from autoscaler.config import AutoscalerConfig
from coldbrew.cluster import ClusterController, Settings
from tests.cluster.emulator import Emulator

pytestmark = pytest.mark.timeout(30)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
KSVC, APPS = "serving.knative.dev/v1", "apps/v1"
SERVICES_PATH = "/apis/serving.knative.dev/v1/namespaces/default/services"


class Cluster:
    def __init__(self, emulator: Emulator, api: client.ApiClient) -> None:
        self.emu = emulator
        self.api = api
        self.custom = client.CustomObjectsApi(api)
        self.controller: ClusterController | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self, settings: Settings | None = None) -> ClusterController:
        self.controller = ClusterController(self.api, settings)
        self.task = asyncio.create_task(self.controller.run())
        await self.controller.wait_idle()
        return self.controller

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None

    async def apply(self, example: str, **changes: Any) -> None:
        doc = yaml.safe_load((EXAMPLES / example).read_text())
        doc["metadata"].update(changes)
        await self.apply_doc(doc)

    async def apply_doc(self, doc: dict[str, Any]) -> None:
        """Create the Service ``doc``, or replace it at its stored resourceVersion."""
        name = doc["metadata"]["name"]
        existing = self.emu.get(KSVC, "services", "default", name)
        if existing is None:
            await self.custom.create_namespaced_custom_object(
                "serving.knative.dev", "v1", "default", "services", doc
            )
        else:
            doc["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
            await self.custom.replace_namespaced_custom_object(
                "serving.knative.dev", "v1", "default", "services", name, doc
            )

    def obj(self, plural: str, name: str) -> dict[str, Any] | None:
        gv = APPS if plural == "deployments" else KSVC
        return self.emu.get(gv, plural, "default", name)

    async def create(self, name: str, annotations: dict[str, str]) -> None:
        """coffee.yaml as Service ``name`` with these template annotations."""
        doc = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
        doc["metadata"]["name"] = name
        doc["spec"]["template"]["metadata"]["annotations"].update(annotations)
        await self.custom.create_namespaced_custom_object(
            "serving.knative.dev", "v1", "default", "services", doc
        )

    async def wait(self, plural: str, name: str) -> dict[str, Any]:
        return await self.emu.wait_for(lambda: self.obj(plural, name))  # type: ignore[no-any-return]

    async def make_ready(self, revision: str) -> None:
        await self.wait("deployments", f"{revision}-deployment")
        await self.emu.put_status(
            APPS,
            "deployments",
            "default",
            f"{revision}-deployment",
            {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1},
        )

    async def wait_status(self, name: str, check: Any) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            svc = self.obj("services", name)
            status = (svc or {}).get("status") or {}
            return status if status and check(status) else None

        return await self.emu.wait_for(done)  # type: ignore[no-any-return]


def ready(status: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", []))


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    emulator = Emulator()
    runner = web.AppRunner(emulator.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    configuration = client.Configuration(host=f"http://127.0.0.1:{port}")
    api = client.ApiClient(configuration)
    c = Cluster(emulator, api)
    try:
        yield c
    finally:
        await c.stop()
        await emulator.drop_watches()
        await api.close()
        await runner.cleanup()


def snapshot(emu: Emulator) -> dict[Any, str]:
    return {key: obj["metadata"]["resourceVersion"] for key, obj in emu.objects.items()}


async def test_coffee_creates_revision_and_deployment_with_owners(cluster: Cluster) -> None:
    await cluster.start()
    await cluster.apply("coffee.yaml")
    svc = cluster.obj("services", "coffee")
    assert svc is not None
    rev = await cluster.wait("revisions", "coffee-00001")
    labels = rev["metadata"]["labels"]
    assert labels["serving.knative.dev/service"] == "coffee"
    assert labels["serving.knative.dev/configurationGeneration"] == "1"
    [owner] = rev["metadata"]["ownerReferences"]
    assert owner["uid"] == svc["metadata"]["uid"] and owner["controller"] is True
    assert owner["kind"] == "Service"

    dep = await cluster.wait("deployments", "coffee-00001-deployment")
    [dep_owner] = dep["metadata"]["ownerReferences"]
    assert dep_owner["kind"] == "Revision" and dep_owner["uid"] == rev["metadata"]["uid"]
    assert dep["spec"]["replicas"] == 1
    pod = dep["spec"]["template"]
    assert pod["metadata"]["labels"]["serving.knative.dev/revision"] == "coffee-00001"
    [container] = pod["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["TARGET"] == "coffee" and env["PORT"] == "8080"

    status = await cluster.wait_status("coffee", lambda s: s.get("latestCreatedRevisionName"))
    assert status["url"] == "http://coffee.default.example.com"
    assert not ready(status)

    await cluster.make_ready("coffee-00001")
    status = await cluster.wait_status("coffee", ready)
    assert status["latestReadyRevisionName"] == "coffee-00001"
    assert status["traffic"] == [
        {"revisionName": "coffee-00001", "percent": 100, "latestRevision": True}
    ]
    rev_status = await cluster.emu.wait_for(
        lambda: (
            (cluster.obj("revisions", "coffee-00001") or {}).get("status", {}).get("actualReplicas")
        )
    )
    assert rev_status == 1

    # Deleting the Service removes everything it owns (cascading by ownerReferences).
    await cluster.custom.delete_namespaced_custom_object(
        "serving.knative.dev", "v1", "default", "services", "coffee"
    )
    assert cluster.emu.objects == {}


async def test_template_change_creates_second_revision(cluster: Cluster) -> None:
    await cluster.start()
    await cluster.apply("coffee.yaml")
    await cluster.make_ready("coffee-00001")
    await cluster.wait_status("coffee", ready)
    doc = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    doc["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = "coffee-v2"
    await cluster.apply_doc(doc)
    rev2 = await cluster.wait("revisions", "coffee-00002")
    assert rev2["metadata"]["labels"]["serving.knative.dev/configurationGeneration"] == "2"
    status = await cluster.wait_status(
        "coffee", lambda s: s.get("latestCreatedRevisionName") == "coffee-00002"
    )
    assert status["observedGeneration"] == 2
    # Until coffee-00002 is ready, traffic stays on coffee-00001.
    assert status["latestReadyRevisionName"] == "coffee-00001"
    await cluster.make_ready("coffee-00002")
    status = await cluster.wait_status(
        "coffee", lambda s: s.get("latestReadyRevisionName") == "coffee-00002"
    )
    assert status["traffic"][0]["revisionName"] == "coffee-00002"
    assert cluster.obj("deployments", "coffee-00001-deployment") is not None


async def test_canary_traffic_resolves(cluster: Cluster) -> None:
    await cluster.start()
    await cluster.apply("coffee-v1.yaml")
    await cluster.make_ready("coffee-v1")
    await cluster.wait_status("coffee", ready)
    await cluster.apply("coffee-canary.yaml")
    await cluster.wait("revisions", "coffee-v2")
    await cluster.make_ready("coffee-v2")
    status = await cluster.wait_status(
        "coffee", lambda s: ready(s) and s.get("latestReadyRevisionName") == "coffee-v2"
    )
    traffic = {(t["revisionName"], t.get("tag")): t["percent"] for t in status["traffic"]}
    assert traffic == {("coffee-v1", "v1"): 70, ("coffee-v2", "v2"): 30, ("coffee-v2", "latest"): 0}
    urls = {t.get("tag"): t.get("url") for t in status["traffic"]}
    assert urls["v2"] == "http://v2-coffee.default.example.com"


async def test_set_reserve_gets_reserve_deployment_with_eci_annotations(cluster: Cluster) -> None:
    await cluster.start()
    await cluster.apply("coffee-set-reserve.yaml")
    reserve = await cluster.wait("deployments", "coffee-00001-deployment-reserve")
    assert reserve["spec"]["replicas"] == 0
    pod = reserve["spec"]["template"]
    annotations = pod["metadata"]["annotations"]
    assert annotations["k8s.aliyun.com/eci-use-specs"] == "ecs.t5-c1m2.large"
    assert annotations["k8s.aliyun.com/eci-instance-spec"] == "ecs.t5-c1m2.large"
    assert annotations["k8s.aliyun.com/eci-instance-cpu"] == "2.000"
    assert annotations["k8s.aliyun.com/eci-instance-mem"] == "4.00"
    resources = pod["spec"]["containers"][0]["resources"]
    assert resources["limits"] == {"cpu": "2", "memory": "4Gi"}
    standard = await cluster.wait("deployments", "coffee-00001-deployment")
    assert standard["spec"]["selector"] != reserve["spec"]["selector"]
    assert (
        "k8s.aliyun.com/eci-use-specs"
        not in (standard["spec"]["template"]["metadata"]["annotations"])
    )


async def test_no_reserve_when_disabled(cluster: Cluster) -> None:
    controller = await cluster.start()
    await cluster.apply("coffee.yaml")
    svc = cluster.obj("services", "coffee")
    assert svc is not None
    doc = copy.deepcopy(svc)
    doc["spec"]["template"]["metadata"]["annotations"]["knative.aliyun.com/reserve-instance"] = (
        "disable"
    )
    doc["metadata"]["name"] = "latte"
    for key in ("uid", "resourceVersion", "generation", "creationTimestamp"):
        doc["metadata"].pop(key)
    await cluster.custom.create_namespaced_custom_object(
        "serving.knative.dev", "v1", "default", "services", doc
    )
    await cluster.wait("deployments", "latte-00001-deployment")
    await controller.wait_idle()
    assert cluster.obj("deployments", "latte-00001-deployment-reserve") is None
    assert cluster.obj("deployments", "coffee-00001-deployment-reserve") is not None


MIN, INITIAL = "autoscaling.knative.dev/min-scale", "autoscaling.knative.dev/initial-scale"


async def test_an_explicit_min_scale_zero_wins_over_the_global_min_scale(cluster: Cluster) -> None:
    """Knative's ScaleBounds: min-scale "0" on the revision beats config min-scale 1, so
    the revision may idle on its reserve; without the annotation min-scale 1 applies and
    "reserves at least one standard instance" (no reserve Deployment)."""
    controller = await cluster.start(Settings(autoscaler=AutoscalerConfig(min_scale=1)))
    await cluster.create("zero", {MIN: "0"})
    await cluster.create("plain", {})
    zero = await cluster.wait("deployments", "zero-00001-deployment")
    await cluster.wait("deployments", "plain-00001-deployment")
    await controller.wait_idle()
    assert zero["spec"]["replicas"] == 1  # the initial scale
    assert cluster.obj("deployments", "zero-00001-deployment-reserve") is not None
    assert cluster.obj("deployments", "plain-00001-deployment-reserve") is None


@pytest.mark.parametrize(("allow_zero", "replicas"), [(False, 1), (True, 0)])
async def test_initial_scale_zero_needs_allow_zero_initial_scale(
    cluster: Cluster, allow_zero: bool, replicas: int
) -> None:
    """Knative's GetInitialScale: initial-scale "0" is honoured only when the cluster allows
    it, else the global initial-scale (1) applies."""
    config = AutoscalerConfig(allow_zero_initial_scale=allow_zero)
    await cluster.start(Settings(autoscaler=config))
    await cluster.create("lazy", {INITIAL: "0"})
    standard = await cluster.wait("deployments", "lazy-00001-deployment")
    assert standard["spec"]["replicas"] == replicas


async def test_initial_scale_zero_is_ready_with_no_replicas_and_routed(cluster: Cluster) -> None:
    """Knative's KPA: with initial-scale "0" (allowed) the scale target is initialized with no
    pod, so the revision is Ready, Active False NoTraffic, and the route names it (the
    gateways mirror status.traffic and hold its first request until a pod is ready)."""
    controller = await cluster.start(
        Settings(autoscaler=AutoscalerConfig(allow_zero_initial_scale=True))
    )
    await cluster.create("lazy", {INITIAL: "0"})
    status = await cluster.wait_status("lazy", ready)
    await controller.wait_idle()
    assert status["latestReadyRevisionName"] == "lazy-00001"
    assert status["traffic"] == [
        {"revisionName": "lazy-00001", "percent": 100, "latestRevision": True}
    ]
    standard = cluster.obj("deployments", "lazy-00001-deployment")
    assert standard is not None and standard["spec"]["replicas"] == 0
    assert not (standard.get("status") or {}).get("readyReplicas")
    rev = cluster.obj("revisions", "lazy-00001")
    assert rev is not None
    conditions = {c["type"]: c for c in rev["status"]["conditions"]}
    assert conditions["Ready"]["status"] == "True"
    assert (conditions["Active"]["status"], conditions["Active"]["reason"]) == (
        "False",
        "NoTraffic",
    )
    assert rev["status"]["actualReplicas"] == 0


async def test_a_min_scale_keeps_initial_scale_zero_waiting_for_a_pod(cluster: Cluster) -> None:
    """activeThreshold is max(min, initial): with min-scale 1 the revision needs its pod."""
    controller = await cluster.start(
        Settings(autoscaler=AutoscalerConfig(allow_zero_initial_scale=True))
    )
    await cluster.create("lazy", {INITIAL: "0", MIN: "1"})
    await cluster.wait_status("lazy", lambda s: s.get("latestCreatedRevisionName"))
    await controller.wait_idle()
    status = cluster.obj("services", "lazy")["status"]  # type: ignore[index]
    assert not ready(status) and "latestReadyRevisionName" not in status
    await cluster.make_ready("lazy-00001")
    await cluster.wait_status("lazy", ready)


async def test_invalid_service_gets_status_naming_field(cluster: Cluster) -> None:
    await cluster.start()
    doc = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    doc["spec"]["template"]["spec"]["containerConcurrency"] = -1
    await cluster.custom.create_namespaced_custom_object(
        "serving.knative.dev", "v1", "default", "services", doc
    )
    status = await cluster.wait_status("coffee", lambda s: s.get("conditions"))
    [ready_cond] = [c for c in status["conditions"] if c["type"] == "Ready"]
    assert ready_cond["status"] == "False" and ready_cond["reason"] == "InvalidSpec"
    assert "spec.template.spec.containerConcurrency" in ready_cond["message"]
    assert cluster.emu.list(KSVC, "revisions") == []
    assert cluster.emu.list(APPS, "deployments") == []


async def test_410_gone_mid_watch_resumes_without_repeating_creates(cluster: Cluster) -> None:
    controller = await cluster.start()
    await cluster.apply("coffee.yaml")
    await cluster.make_ready("coffee-00001")
    await cluster.wait_status("coffee", ready)
    await controller.wait_idle()
    creates = len([r for r in cluster.emu.requests if r[0] == "POST"])
    lists = [w.lists for w in controller.watchers]

    cluster.emu.compact()  # history gone: resuming from the old version gets 410
    await cluster.emu.drop_watches()  # the streams break mid-watch
    await cluster.apply("tea.yaml")  # a change made while the controller was away
    await cluster.wait_status("tea", lambda s: s.get("latestCreatedRevisionName"))
    await controller.wait_idle()
    assert [w.lists for w in controller.watchers] == [n + 1 for n in lists]
    new_posts = [p for m, p in cluster.emu.requests[:] if m == "POST"][creates:]
    assert all("coffee" not in p for p in new_posts)
    assert cluster.emu.creates("/revisions") == 2  # coffee-00001 and tea-00001, once each
    # Every object was created exactly once (no 409 AlreadyExists retries either).
    assert cluster.obj("deployments", "tea-00001-deployment") is not None


async def test_409_on_write_is_retried(cluster: Cluster) -> None:
    await cluster.start()
    cluster.emu.fail_next("PUT", lambda p: p.endswith("/services/coffee/status"), 409, times=2)
    cluster.emu.fail_next("POST", lambda p: p.endswith("/deployments"), 409)
    await cluster.apply("coffee.yaml")
    await cluster.make_ready("coffee-00001")
    status = await cluster.wait_status("coffee", ready)
    assert status["latestReadyRevisionName"] == "coffee-00001"
    assert cluster.emu.faults == []
    assert len(cluster.emu.list(APPS, "deployments")) == 2  # standard + reserve


async def test_restart_changes_nothing(cluster: Cluster) -> None:
    controller = await cluster.start()
    await cluster.apply("coffee-v1.yaml")
    await cluster.make_ready("coffee-v1")
    await cluster.apply("coffee-canary.yaml")
    await cluster.make_ready("coffee-v2")
    await cluster.apply("tea.yaml")
    await cluster.wait_status("coffee", lambda s: ready(s) and len(s["traffic"]) == 3)
    await cluster.wait_status("tea", lambda s: s.get("latestCreatedRevisionName"))
    await controller.wait_idle()
    await cluster.stop()
    before = snapshot(cluster.emu)
    writes = len([r for r in cluster.emu.requests if r[0] in ("POST", "PUT", "PATCH")])

    restarted = await cluster.start()
    assert restarted.reconciles >= 2  # the initial list re-reconciled every service
    assert snapshot(cluster.emu) == before
    assert len([r for r in cluster.emu.requests if r[0] in ("POST", "PUT", "PATCH")]) == writes


def dm_condition(obj: dict[str, Any] | None, kind: str) -> str | None:
    for cond in ((obj or {}).get("status") or {}).get("conditions", []):
        if cond["type"] == kind:
            return str(cond["status"])
    return None


async def test_domain_mapping_status_claims_and_reference(cluster: Cluster) -> None:
    await cluster.start()
    ref = {"name": "coffee", "kind": "Service", "apiVersion": "serving.knative.dev/v1"}

    async def map_in(namespace: str) -> None:
        body = {
            "apiVersion": "serving.knative.dev/v1beta1",
            "kind": "DomainMapping",
            "metadata": {"name": "shop.example.org", "namespace": namespace},
            "spec": {"ref": ref},
        }
        await cluster.custom.create_namespaced_custom_object(
            "serving.knative.dev", "v1beta1", namespace, "domainmappings", body
        )

    def mapping(namespace: str) -> dict[str, Any] | None:
        return cluster.emu.get(
            "serving.knative.dev/v1beta1", "domainmappings", namespace, "shop.example.org"
        )

    await map_in("default")  # before its Service exists
    await cluster.emu.wait_for(
        lambda: dm_condition(mapping("default"), "ReferenceResolved") == "False"
    )
    await cluster.apply("coffee.yaml")
    await cluster.make_ready("coffee-00001")
    await cluster.wait_status("coffee", ready)
    await cluster.emu.wait_for(lambda: dm_condition(mapping("default"), "Ready") == "True")
    dm = mapping("default")
    assert dm is not None and dm["status"]["url"] == "http://shop.example.org"
    await map_in("shop")  # a second claim of the same host
    await cluster.emu.wait_for(lambda: dm_condition(mapping("shop"), "DomainClaimed") == "False")
    assert dm_condition(mapping("shop"), "Ready") == "False"
    assert dm_condition(mapping("default"), "DomainClaimed") == "True"

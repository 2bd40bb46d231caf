"""Events in a cluster: ``v1`` Event objects written to the (emulated) API server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import yaml

from coldbrew.cluster import Settings
from coldbrew.cluster.kube.accessing import Kube
from coldbrew.cluster.kube.eventing import KubeRecorder
from coldbrew.cluster.scaler.replica import AutoscalerReplica
from coldbrew.events import ObjectRef
from tests.cluster.autoscaler_helpers import (
    FAST_LEASE,
    KEY,
    RESERVE,
    STANDARD,
    STREAM,
    Running,
    eventually,
    poke_frame,
    set_ready,
)
from tests.cluster.emulator import Emulator
from tests.cluster.objects import api_client, api_server
from tests.cluster.test_autoscaler_reserve import CONFIG, Env, add, environment
from tests.cluster.test_controller import EXAMPLES, Cluster, cluster

__all__ = ["cluster"]  # the fixture, shared with the controller's tests

pytestmark = pytest.mark.timeout(30)


def events(emu: Emulator, ns: str = "default") -> list[dict[str, Any]]:
    return emu.list("v1", "events", ns)


async def test_repeats_are_one_event_with_a_count_and_an_expired_one_is_made_again() -> None:
    emu = Emulator()
    async with api_server(emu) as port, api_client(port) as api:
        rec = KubeRecorder(Kube(api), "coldbrew-autoscaler", "replica-a")
        pod = ObjectRef("Pod", "default", "coffee-00001-deployment-abc-12345", "uid-1")
        for _ in range(3):
            rec.record(pod, "Warning", "Unhealthy", "Readiness probe failed")
        rec.record(pod, "Normal", "Started", "Started container user-container")
        await rec.flush()
        assert rec.written == 4 and rec.failed == 0
        got = sorted(events(emu), key=lambda e: e["reason"])
        assert [(e["reason"], e["count"]) for e in got] == [("Started", 1), ("Unhealthy", 3)]
        unhealthy = got[1]
        assert unhealthy["type"] == "Warning" and unhealthy["message"] == "Readiness probe failed"
        assert unhealthy["involvedObject"] == {
            "kind": "Pod",
            "namespace": "default",
            "name": "coffee-00001-deployment-abc-12345",
            "apiVersion": "v1",
            "uid": "uid-1",
        }
        assert unhealthy["source"] == {"component": "coldbrew-autoscaler"}
        assert unhealthy["reportingInstance"] == "replica-a"
        assert unhealthy["metadata"]["name"].startswith("coffee-00001-deployment-abc-12345.")
        assert unhealthy["firstTimestamp"] <= unhealthy["lastTimestamp"]
        patches = [p for m, p in emu.requests if m == "PATCH" and "/events/" in p]
        assert len(patches) == 2  # repeats are PATCHes of the same Event
        # the API server expired it (its TTL): the next repeat creates it again
        await emu.remove("v1", "events", "default", unhealthy["metadata"]["name"])
        rec.record(pod, "Warning", "Unhealthy", "Readiness probe failed")
        await rec.flush()
        again = [e for e in events(emu) if e["reason"] == "Unhealthy"]
        assert len(again) == 1 and again[0]["count"] == 4


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with environment(1) as e:
        yield e


async def test_the_autoscaler_records_rescales_and_both_hand_overs(env: Env) -> None:
    await add(env, standard=1, reserve=0)
    front, api = env.made[0]
    replica = AutoscalerReplica(api, CONFIG, lease_namespace="knative-serving", identity="a",
                                clock=env.clock, record_events=True, **FAST_LEASE)  # fmt: skip
    a = await Running(replica, front).start()
    env.running.append(a)
    await eventually(lambda: replica.elector.is_leader)
    await eventually(lambda: KEY in replica.scaler.autoscaled())
    env.idle_until_zero(a)
    await env.wait_spec(RESERVE, 1)
    await set_ready(env.emu, RESERVE, 1)
    await env.wait_spec(STANDARD, 0)
    await set_ready(env.emu, STANDARD, 0)

    def reasons() -> list[str]:
        return [e["reason"] for e in events(env.emu)]

    await env.emu.wait_for(lambda: "HandedOverToReserve" in reasons())
    async with aiohttp.ClientSession() as session, session.ws_connect(a.url + STREAM) as ws:
        await ws.send_str(json.dumps({"type": "hello", "worker": "gw-1"}))
        await ws.send_str(poke_frame())
        await env.wait_spec(STANDARD, 1)
    await set_ready(env.emu, STANDARD, 1)
    await env.wait_spec(RESERVE, 0)
    await env.emu.wait_for(lambda: "HandedBackFromReserve" in reasons())
    by_reason = {e["reason"]: e for e in events(env.emu)}
    over = by_reason["HandedOverToReserve"]
    assert over["involvedObject"]["kind"] == "Revision"
    assert over["involvedObject"]["name"] == "coffee-00001"
    assert over["source"] == {"component": "coldbrew-autoscaler"}
    rescales = sorted(
        (e["involvedObject"]["name"], e["message"])
        for e in events(env.emu)
        if e["reason"] == "SuccessfulRescale"
    )
    assert (RESERVE, "New size: 1; reason: the KPA's decision") in rescales
    assert (STANDARD, "New size: 0; reason: the KPA's decision") in rescales


async def test_the_controller_records_created_and_updated(cluster: Cluster) -> None:
    """Knative's events: the Service made its Configuration and Route, then a Revision."""
    await cluster.start(Settings(record_events=True))
    await cluster.apply("coffee.yaml")
    await cluster.wait("revisions", "coffee-00001")

    def said() -> list[tuple[str, str, str]]:
        return sorted(
            (e["involvedObject"]["kind"], e["reason"], e["message"]) for e in events(cluster.emu)
        )

    first = [
        ("Configuration", "Created", 'Created Revision "coffee-00001"'),
        ("Service", "Created", 'Created Configuration "coffee"'),
        ("Service", "Created", 'Created Route "coffee"'),
    ]
    await cluster.emu.wait_for(lambda: said() == first)
    created = next(e for e in events(cluster.emu) if e["involvedObject"]["kind"] == "Service")
    assert created["source"] == {"component": "coldbrew-controller"}
    assert created["involvedObject"]["uid"] == cluster.obj("services", "coffee")["metadata"]["uid"]
    doc = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    doc["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = "espresso"
    await cluster.apply_doc(doc)
    await cluster.wait("revisions", "coffee-00002")
    controller = cluster.controller
    assert controller is not None and controller.events is not None
    await controller.wait_idle()
    await controller.events.flush()
    assert ("Service", "Updated", 'Updated Service "coffee"') in said(), said()
    assert ("Configuration", "Created", 'Created Revision "coffee-00002"') in said(), said()

"""Reserve hand-over by the cluster autoscaler, both directions, against the emulator.

Emulated: the Kubernetes API server (:mod:`tests.cluster.emulator`) and the deployment
controller, which the test plays by writing each Deployment's ``status.readyReplicas``
(``put_status``) when it decides pods are ready. Real: the watches, the KPA (on a fake
clock the test moves), the metrics websocket and the ``/scale`` writes. Checks the order
local mode's ``Reserver`` keeps: the side taking traffic is ready before the other leaves.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from coldbrew.cluster.scaler.replica import AutoscalerReplica
from tests.cluster.autoscaler_helpers import (
    APPS,
    FAST_LEASE,
    KEY,
    RESERVE,
    STANDARD,
    STREAM,
    FakeClock,
    Running,
    caught_up,
    deployment,
    eventually,
    fast_config,
    fronts,
    poke_frame,
    set_ready,
    spec_replicas,
)
from tests.cluster.emulator import Emulator
from tests.cluster.objects import KSVC, revision, service, target

pytestmark = pytest.mark.timeout(30)

CONFIG = fast_config()


class Env:
    def __init__(self, emulator: Emulator, made: list[Any]) -> None:
        self.emu = emulator
        self.made = made
        self.clock = FakeClock()
        self.running: list[Running] = []

    async def leader(self, identity: str = "a", key: str = KEY) -> Running:
        front, api = self.made[len(self.running)]
        replica = AutoscalerReplica(
            api,
            CONFIG,
            lease_namespace="knative-serving",
            identity=identity,
            clock=self.clock,
            **FAST_LEASE,
        )
        r = await Running(replica, front).start()
        self.running.append(r)
        await eventually(lambda: replica.elector.is_leader)
        await eventually(lambda: key in replica.scaler.autoscaled())
        return r

    def spec(self, name: str) -> int | None:
        return spec_replicas(self.emu, name)

    async def wait_spec(self, name: str, replicas: int) -> None:
        await self.emu.wait_for(lambda: self.spec(name) == replicas)

    def idle_until_zero(self, r: Running) -> None:
        """No traffic: move the KPA's clock until it wants no standard pod."""
        scaler = r.replica.scaler
        for _ in range(300):
            if scaler.desired.get(KEY) == 0:
                return
            self.clock.now += 1.0
            scaler.autoscaler.tick()
        raise AssertionError(f"never idle: {scaler.status(KEY)}")


@contextlib.asynccontextmanager
async def environment(count: int) -> AsyncIterator[Env]:
    """An emulator with ``count`` fronts; the replicas started on it are stopped at the end."""
    emulator = Emulator()
    async with fronts(emulator, count) as made:
        e = Env(emulator, made)
        try:
            yield e
        finally:
            for r in e.running:
                await r.stop()


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with environment(2) as e:
        yield e


async def add(
    env: Env, standard: int, reserve: int, annotations: dict[str, str] | None = None
) -> None:
    rev = revision("coffee-00001", "coffee")
    rev["metadata"]["annotations"] = annotations or {}
    await env.emu.put(KSVC, "revisions", rev)
    await env.emu.put(
        APPS, "deployments", deployment("coffee-00001", replicas=standard, ready=standard)
    )
    await env.emu.put(
        APPS,
        "deployments",
        deployment("coffee-00001", reserve=True, replicas=reserve, ready=reserve),
    )


async def test_idle_hands_over_to_the_reserve_and_traffic_takes_it_back(env: Env) -> None:
    await add(env, standard=1, reserve=0)
    a = await env.leader()
    assert a.front.scale_writes() == []  # one ready pod, the KPA starts from it
    env.idle_until_zero(a)
    # to zero: the reserve first, the standard pod stays until the reserve is ready
    await env.wait_spec(RESERVE, 1)
    assert env.spec(STANDARD) == 1
    await set_ready(env.emu, RESERVE, 1)
    await env.wait_spec(STANDARD, 0)
    assert env.spec(RESERVE) == 1
    await set_ready(env.emu, STANDARD, 0)
    # a request reaches the reserve pod; the gateway pokes the autoscaler
    async with aiohttp.ClientSession() as session, session.ws_connect(a.url + STREAM) as ws:
        await ws.send_str(json.dumps({"type": "hello", "worker": "gw-1"}))
        await ws.send_str(poke_frame())
        await env.wait_spec(STANDARD, 1)
    # standard to 1 at once; the reserve keeps answering until a standard pod is ready
    assert env.spec(RESERVE) == 1
    await set_ready(env.emu, STANDARD, 0)  # a Deployment event: re-evaluated, still waits
    await eventually(lambda: caught_up(env.emu, a.replica.scaler))
    assert env.spec(RESERVE) == 1
    await set_ready(env.emu, STANDARD, 1)
    await env.wait_spec(RESERVE, 0)
    assert env.spec(STANDARD) == 1
    writes = a.front.scale_writes()
    assert [w.rsplit("/", 2)[-2] for w in writes] == [RESERVE, STANDARD, STANDARD, RESERVE]


async def test_the_hand_over_waits_for_every_reserve_replica(env: Env) -> None:
    await add(
        env,
        standard=1,
        reserve=0,
        annotations={"knative.aliyun.com/reserve-instance-replicas": "2"},
    )
    a = await env.leader()
    env.idle_until_zero(a)
    await env.wait_spec(RESERVE, 2)
    await set_ready(env.emu, RESERVE, 1)
    await eventually(lambda: caught_up(env.emu, a.replica.scaler))
    assert env.spec(STANDARD) == 1
    await set_ready(env.emu, RESERVE, 2)
    await env.wait_spec(STANDARD, 0)


async def test_a_new_leader_leaves_a_revision_on_its_reserve(env: Env) -> None:
    await add(env, standard=0, reserve=1)
    a = await env.leader()
    assert a.replica.scaler.desired[KEY] == 0
    assert env.spec(STANDARD) == 0 and env.spec(RESERVE) == 1
    assert a.front.scale_writes() == []


async def test_a_reserve_that_is_not_needed_is_removed_once_standard_is_ready(env: Env) -> None:
    """A leader that died mid hand-over left both sides up: the new one finishes it."""
    await add(env, standard=2, reserve=1)
    a = await env.leader()
    assert a.replica.scaler.desired[KEY] == 2
    await env.wait_spec(RESERVE, 0)
    assert env.spec(STANDARD) == 2


def ready_revision(name: str) -> dict[str, Any]:
    rev = revision(name, "coffee")
    rev["status"] = {"conditions": [{"type": "Ready", "status": "True"}]}
    return rev


async def test_a_revision_traffic_left_is_retired_and_the_routed_one_keeps_a_reserve(
    env: Env,
) -> None:
    old, new = "coffee-00001", "coffee-00002"
    svc = service("coffee", [target(new, 100)])
    svc["status"]["latestCreatedRevisionName"] = new
    svc["status"]["latestReadyRevisionName"] = new  # both ready: as the controller writes it
    await env.emu.put(KSVC, "services", svc)
    for name in (old, new):
        await env.emu.put(KSVC, "revisions", ready_revision(name))
        await env.emu.put(APPS, "deployments", deployment(name, replicas=1, ready=1))
        await env.emu.put(APPS, "deployments", deployment(name, reserve=True))
    a = await env.leader(key=f"default/{new}")
    await env.wait_spec(STANDARD, 0)  # coffee-00001: no route reaches it
    assert env.spec(RESERVE) == 0
    assert a.replica.scaler.autoscaled() == [f"default/{new}"]
    # the routed revision hands over to its reserve when idle
    scaler = a.replica.scaler
    for _ in range(300):
        if scaler.desired.get(f"default/{new}") == 0:
            break
        env.clock.now += 1.0
        scaler.autoscaler.tick()
    await env.wait_spec(f"{new}-deployment-reserve", 1)
    # traffic moves back to the old revision: it is autoscaled again, the new one retired
    svc = env.emu.get(KSVC, "services", "default", "coffee")
    assert svc is not None
    svc["status"]["traffic"] = [target(old, 100)]
    await env.emu.put(KSVC, "services", svc)
    # two Deployments, two independent writes: wait for each, in whichever order they land
    await env.wait_spec(f"{new}-deployment-reserve", 0)
    await env.wait_spec(f"{new}-deployment", 0)
    await eventually(lambda: f"default/{old}" in scaler.autoscaled())
    # the latest, once ready, is retired like any revision no traffic reaches (local mode's
    # rule and Knative's: an unreachable revision keeps no min-scale)
    await eventually(lambda: f"default/{new}" not in scaler.autoscaled())

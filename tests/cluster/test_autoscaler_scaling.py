"""The cluster autoscaler end to end: metrics over its websocket in, ``/scale`` writes out.

Emulated: the Kubernetes API server (:mod:`tests.cluster.emulator`, reached by each replica
through its own recording :class:`~tests.cluster.autoscaler_helpers.Front`) and the
deployment controller (the test writes Deployments' ``status.readyReplicas``). Real: the
leader election, the watches, the KPA and the metrics websocket (frames as in
docs/seams.md, sent by an aiohttp client). The KPA's clock is a fake one the test moves,
so a 6 s stable window and a 1 s scale-to-zero grace take no wall time.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from coldbrew.cluster.revisioning import service_of
from coldbrew.cluster.scaler.replica import AutoscalerReplica
from tests.cluster.autoscaler_helpers import (
    APPS,
    FAST_LEASE,
    KEY,
    STANDARD,
    STREAM,
    FakeClock,
    Running,
    deployment,
    eventually,
    fast_config,
    fronts,
    poke_frame,
    ready_follows_spec,
    set_ready,
    spec_replicas,
    stats_frame,
)
from tests.cluster.emulator import Emulator
from tests.cluster.objects import KSVC, revision

pytestmark = pytest.mark.timeout(30)

CONFIG = fast_config()
FAST = FAST_LEASE


class Env:
    def __init__(self, emulator: Emulator, made: list[Any], session: aiohttp.ClientSession):
        self.emu = emulator
        self.made = made
        self.session = session
        self.clock = FakeClock()
        self.replicas: list[Running] = []

    async def replica(self, identity: str, config: Any = CONFIG) -> Running:
        front, api = self.made[len(self.replicas)]
        replica = AutoscalerReplica(
            api,
            config,
            lease_namespace="knative-serving",
            identity=identity,
            clock=self.clock,
            backoff=0.02,
            **FAST,
        )
        running = await Running(replica, front).start()
        self.replicas.append(running)
        return running

    async def leader(self, identity: str = "a", config: Any = CONFIG) -> Running:
        r = await self.replica(identity, config)
        await eventually(lambda: r.replica.elector.is_leader)
        await r.replica.scaler.synced.wait()
        return r

    async def stream(self, r: Running) -> aiohttp.ClientWebSocketResponse:
        ws = await self.session.ws_connect(r.url + STREAM)
        await ws.send_str(json.dumps({"type": "hello", "worker": "gw-1"}))
        return ws

    async def spec(self, name: str, replicas: int) -> None:
        await self.emu.wait_for(lambda: spec_replicas(self.emu, name) == replicas)

    async def decide(self, r: Running, check: Any) -> None:
        """Tick (at the current time) until the stream's frames are in and ``check()``."""

        def ticked() -> Any:
            r.replica.scaler.autoscaler.tick()
            return check()

        await eventually(ticked)

    async def tick_until(self, r: Running, check: Any, limit: int = 300) -> None:
        """Move the KPA's clock a second at a time, deciding each time, until ``check()``.

        After each decision, wait until the standard Deployment's ready count is the
        decided one (someone plays the deployment controller).
        """
        scaler = r.replica.scaler
        for _ in range(limit):
            if check():
                return
            self.clock.now += 1.0
            scaler.autoscaler.tick()
            await eventually(lambda: scaler.ready_pods(KEY) == scaler.desired.get(KEY))
        raise AssertionError(f"the KPA never got there: {r.replica.scaler.status(KEY)}")


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    emulator = Emulator()
    async with fronts(emulator, 2) as made, aiohttp.ClientSession() as session:
        e = Env(emulator, made, session)
        try:
            yield e
        finally:
            for r in e.replicas:
                await r.stop()


async def add_revision(env: Env, replicas: int = 0, ready: int = 0) -> None:
    await env.emu.put(KSVC, "revisions", revision("coffee-00001", "coffee"))
    await env.emu.put(
        APPS, "deployments", deployment("coffee-00001", replicas=replicas, ready=ready)
    )


async def test_metrics_scale_a_revision_from_zero_up_and_back_to_zero(env: Env) -> None:
    await add_revision(env, replicas=0)
    a = await env.leader()
    scaler = a.replica.scaler
    await eventually(lambda: KEY in scaler.autoscaled())
    assert scaler.desired[KEY] == 0  # at zero it stays at zero: nothing written
    ws = await env.stream(a)
    await ws.send_str(poke_frame())  # a request arrived for a revision with no pod
    await env.spec(STANDARD, 1)
    await set_ready(env.emu, STANDARD, 1)
    # 300 requests in flight at 70 per pod (the default target, 70 %) want 5 pods
    await eventually(lambda: scaler.ready_pods(KEY) == 1)
    await ws.send_str(stats_frame(300.0))
    await env.decide(a, lambda: scaler.desired.get(KEY, 0) > 1)
    assert scaler.desired[KEY] == 5
    await env.spec(STANDARD, 5)
    await set_ready(env.emu, STANDARD, 5)
    await eventually(lambda: scaler.ready_pods(KEY) == 5)
    # the load stops: after the stable window and the grace period, down to zero
    async with ready_follows_spec(env.emu, STANDARD):
        await env.tick_until(a, lambda: scaler.desired.get(KEY) == 0)
    await env.spec(STANDARD, 0)
    assert a.front.scale_writes() == [
        f"/apis/apps/v1/namespaces/default/deployments/{STANDARD}/scale"
    ] * len(a.front.scale_writes())
    await ws.close()


async def test_an_explicit_min_scale_zero_idles_to_zero_under_a_global_min_scale_of_one(
    env: Env,
) -> None:
    """Knative's ScaleBounds: the Revision's min-scale "0" wins over config min-scale 1."""
    config = dataclasses.replace(
        CONFIG, autoscaler=dataclasses.replace(CONFIG.autoscaler, min_scale=1)
    )
    rev = revision("coffee-00001", "coffee")
    rev["metadata"]["annotations"] = {"autoscaling.knative.dev/min-scale": "0"}
    await env.emu.put(KSVC, "revisions", rev)
    await env.emu.put(APPS, "deployments", deployment("coffee-00001", replicas=1, ready=1))
    a = await env.leader(config=config)
    scaler = a.replica.scaler
    await eventually(lambda: KEY in scaler.autoscaled())
    assert scaler.view.revisions[KEY].spec.min_scale == 0
    async with ready_follows_spec(env.emu, STANDARD):
        await env.tick_until(a, lambda: scaler.desired.get(KEY) == 0)
    await env.spec(STANDARD, 0)


async def test_without_the_annotation_the_global_min_scale_keeps_a_pod(env: Env) -> None:
    config = dataclasses.replace(
        CONFIG, autoscaler=dataclasses.replace(CONFIG.autoscaler, min_scale=1)
    )
    await add_revision(env, replicas=1, ready=1)
    a = await env.leader(config=config)
    scaler = a.replica.scaler
    await eventually(lambda: KEY in scaler.autoscaled())
    for _ in range(60):  # well past the 6 s stable window and the 1 s grace
        env.clock.now += 1.0
        scaler.autoscaler.tick()
    assert scaler.desired[KEY] == 1 and spec_replicas(env.emu, STANDARD) == 1


async def test_only_the_leader_writes_and_a_new_leader_takes_over(env: Env) -> None:
    await add_revision(env, replicas=1, ready=1)
    a = await env.leader("a")
    b = await env.replica("b")
    await b.replica.scaler.synced.wait()
    await eventually(lambda: b.replica.elector.holder == "a")
    with pytest.raises(aiohttp.WSServerHandshakeError):  # a follower takes no metrics
        await env.stream(b)
    for frame in (stats_frame(300.0), poke_frame()):  # and, given some, scales nothing
        b.replica.scaler.autoscaler.record(json.loads(frame))
    b.replica.scaler.autoscaler.tick()
    ws_a = await env.stream(a)
    await ws_a.send_str(stats_frame(300.0))
    await env.decide(a, lambda: a.replica.scaler.desired.get(KEY, 0) > 1)
    await env.spec(STANDARD, 5)
    assert a.replica.scaler.desired[KEY] == 5
    assert b.replica.scaler.autoscaled() == [] and b.replica.scaler.desired == {}
    assert b.front.scale_writes() == [] and len(a.front.scale_writes()) == 1
    await set_ready(env.emu, STANDARD, 5)
    await a.stop()  # releases the lease
    await eventually(lambda: b.replica.elector.is_leader)
    await eventually(lambda: KEY in b.replica.scaler.autoscaled())
    assert b.replica.scaler.desired[KEY] == 5  # starts from the pods there are
    assert b.front.scale_writes() == []  # nothing to change
    ws_b2 = await env.stream(b)
    await ws_b2.send_str(stats_frame(600.0))
    await env.decide(b, lambda: b.replica.scaler.desired.get(KEY, 0) > 5)
    await env.spec(STANDARD, 9)
    assert len(b.front.scale_writes()) == 1
    for ws in (ws_a, ws_b2):
        await ws.close()


async def test_scale_errors_are_retried(env: Env) -> None:
    await add_revision(env, replicas=0)
    env.emu.fail_next("PATCH", lambda p: p.endswith("/scale"), code=500, times=2)
    a = await env.leader()
    ws = await env.stream(a)
    await ws.send_str(poke_frame())
    await env.spec(STANDARD, 1)
    assert len(a.front.scale_writes()) == 3
    assert a.replica.scaler.writer.failures == 2
    await ws.close()


async def test_a_new_revision_starts_at_its_initial_scale_once_its_deployment_exists(
    env: Env,
) -> None:
    a = await env.leader()
    await env.emu.put(KSVC, "revisions", revision("coffee-00001", "coffee"))
    await eventually(lambda: a.replica.scaler.desired.get(KEY) == 1)
    assert a.front.scale_writes() == []  # no Deployment yet: nothing to write
    await env.emu.put(APPS, "deployments", deployment("coffee-00001", replicas=0))
    await env.spec(STANDARD, 1)


async def test_a_deleted_revision_is_no_longer_autoscaled(env: Env) -> None:
    await add_revision(env, replicas=1, ready=1)
    a = await env.leader()
    await eventually(lambda: KEY in a.replica.scaler.autoscaled())
    await env.emu.remove(KSVC, "revisions", "default", "coffee-00001")
    await eventually(lambda: KEY not in a.replica.scaler.autoscaled())
    assert KEY not in a.replica.scaler.desired


def owned_only(name: str, service: str) -> dict[str, Any]:
    """A Revision that names its Service only by its ownerReference (no service label)."""
    rev = revision(name, service)
    rev["metadata"]["labels"] = {}
    rev["metadata"]["ownerReferences"] = [
        {"apiVersion": KSVC, "kind": "Service", "name": service, "uid": "u1", "controller": True}
    ]
    return rev


def test_the_service_is_the_label_else_the_owner() -> None:
    assert service_of(revision("coffee-00001", "coffee")) == "coffee"
    assert service_of(owned_only("coffee-00001", "coffee")) == "coffee"
    stray = owned_only("coffee-00001", "coffee")
    stray["metadata"]["ownerReferences"][0]["kind"] = "Configuration"
    assert service_of(stray) is None


async def test_a_revision_owned_by_its_service_but_unlabelled_is_autoscaled(env: Env) -> None:
    await env.emu.put(KSVC, "revisions", owned_only("coffee-00001", "coffee"))
    await env.emu.put(APPS, "deployments", deployment("coffee-00001", replicas=0))
    a = await env.leader()
    await eventually(lambda: KEY in a.replica.scaler.autoscaled())
    ws = await env.stream(a)
    await ws.send_str(poke_frame())
    await env.spec(STANDARD, 1)
    await ws.close()

"""The whole cluster at once: controller, autoscaler, gateway, and pods as processes.

``coffee.yaml`` is created through the API; the real :class:`ClusterController` makes its
Revision, Deployment and reserve Deployment; the
:class:`~tests.cluster.emulator.kubelet.Kubelet` stand-in runs their pods as sample-app
processes and writes Pods and Deployment status; a real :class:`gateway.Gateway` mirrors
the cluster and streams its metrics over the websocket to the leading
:class:`AutoscalerReplica`, whose ``/scale`` writes the kubelet follows. Emulated: the API
server and the deployment controller/kubelet (local processes on 127.0.0.1). The KPA's
clock is a fake one moved by the test so the idle hand-over takes no wall time; every
request made along the way must succeed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from kubernetes_asyncio import client

from coldbrew.cluster import ClusterController, Settings
from coldbrew.cluster.kube.accessing import Kube
from coldbrew.cluster.mirror.mirroring import ClusterMirror
from coldbrew.cluster.scaler.replica import AutoscalerReplica
from gateway.server import Gateway
from tests.cluster.autoscaler_helpers import (
    FAST_LEASE,
    KEY,
    RESERVE,
    STANDARD,
    STREAM,
    FakeClock,
    Running,
    eventually,
    fast_config,
    spec_replicas,
)
from tests.cluster.emulator import Emulator
from tests.cluster.emulator.kubelet import Kubelet
from tests.cluster.objects import api_client, api_server
from tests.e2e.harness import Hey

pytestmark = pytest.mark.timeout(90)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HOST = "coffee.default.example.com"


class Cafe:
    def __init__(
        self, emu: Emulator, kubelet: Kubelet, gateway: Gateway, scaler: Any, clock: FakeClock
    ) -> None:
        self.emu, self.kubelet, self.gateway, self.scaler = emu, kubelet, gateway, scaler
        self.clock = clock
        self.statuses: list[int] = []
        self.stats_frames = 0  # the gateway's stats frames the KPA took so far
        engine = scaler.autoscaler
        record = engine.record

        def counting(message: dict[str, Any], now: float | None = None) -> None:
            record(message, now)
            if message.get("type") == "stats":
                self.stats_frames += 1

        engine.record = counting  # type: ignore[method-assign]

    async def reported(self) -> None:
        """Until the KPA has every request made so far in its metrics.

        The gateway reports a second's requests when the second closes, once a second:
        the second frame to arrive from now was sent after the current second closed.
        Jumping the KPA's clock before then would let a late frame count an old request
        as new traffic (and wake a revision the jump just took to zero).
        """
        seen = self.stats_frames
        await eventually(lambda: self.stats_frames >= seen + 2, within=10)

    async def curl(self, session: aiohttp.ClientSession) -> str:
        url = f"http://127.0.0.1:{self.gateway.port}/"
        async with session.get(url, headers={"Host": HOST}) as response:
            self.statuses.append(response.status)
            return await response.text()

    async def until_answer(self, session: aiohttp.ClientSession, within: float = 30.0) -> None:
        """Until the route is programmed and coffee answers (not counted in statuses)."""
        url = f"http://127.0.0.1:{self.gateway.port}/"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            async with session.get(url, headers={"Host": HOST}) as response:
                if response.status == 200 and "Hello coffee!" in await response.text():
                    return
            assert loop.time() < deadline, "coffee never answered"
            await asyncio.sleep(0.05)

    def ready(self, deployment: str) -> int:
        return self.kubelet.ready("default", deployment)


@pytest.fixture
async def cafe(request: pytest.FixtureRequest) -> AsyncIterator[Cafe]:
    """``request.param`` (indirect): more ``autoscaler:`` keys, for both controller and KPA."""
    emu = Emulator()
    kubelet = Kubelet(emu)
    config = fast_config(**getattr(request, "param", {}))
    async with api_server(emu) as port:
        api: client.ApiClient = api_client(port)
        clock = FakeClock()
        replica = AutoscalerReplica(
            api,
            config,
            lease_namespace="knative-serving",
            identity="a",
            clock=clock,
            **FAST_LEASE,
        )
        autoscaler = await Running(replica).start()
        stream = f"ws://127.0.0.1:{autoscaler.port}{STREAM}"
        gateway = Gateway("127.0.0.1", 0, stats_url=stream, worker_id="gw-test")
        await gateway.start()
        tasks = [
            asyncio.create_task(
                ClusterController(api, Settings(autoscaler=config.autoscaler)).run()
            ),
            asyncio.create_task(ClusterMirror(Kube(api), gateway).run()),
        ]
        kubelet.start()
        try:
            yield Cafe(emu, kubelet, gateway, replica.scaler, clock)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await autoscaler.stop()
            await kubelet.stop()
            await gateway.stop(grace=1.0)
            await api.close()


async def test_coffee_idles_onto_its_reserve_and_a_request_wakes_it(cafe: Cafe) -> None:
    doc = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    await client.CustomObjectsApi(cafe.scaler.kube.api_client).create_namespaced_custom_object(
        "serving.knative.dev", "v1", "default", "services", doc
    )
    scaler = cafe.scaler
    async with aiohttp.ClientSession() as session:
        await cafe.until_answer(session)
        await eventually(lambda: KEY in scaler.autoscaled())
        assert cafe.ready(STANDARD) == 1
        await cafe.reported()
        # idle: the KPA's clock runs on with no traffic until it wants no standard pod
        for _ in range(300):
            if scaler.desired.get(KEY) == 0:
                break
            cafe.clock.now += 1.0
            scaler.autoscaler.tick()
        assert scaler.desired[KEY] == 0
        # the reserve pod comes up first; only then do the standard pods go
        await eventually(lambda: cafe.ready(RESERVE) == 1, within=30)
        await eventually(lambda: spec_replicas(cafe.emu, STANDARD) == 0)
        await eventually(lambda: cafe.ready(STANDARD) == 0, within=30)
        assert spec_replicas(cafe.emu, RESERVE) == 1
        # a request: answered by the reserve pod, and the gateway's poke wakes the revision
        assert "Hello coffee!" in await cafe.curl(session)
        await eventually(lambda: spec_replicas(cafe.emu, STANDARD) == 1)
        await eventually(lambda: cafe.ready(STANDARD) == 1, within=30)
        await eventually(lambda: spec_replicas(cafe.emu, RESERVE) == 0)
        await eventually(lambda: cafe.ready(RESERVE) == 0, within=30)
        assert "Hello coffee!" in await cafe.curl(session)
    assert cafe.statuses == [200, 200]


async def test_hey_against_the_gateway_scales_coffee_out_without_errors(cafe: Cafe) -> None:
    """The seed's ``hey -z ... -c ... ?sleep=100`` at the cluster gateway: pods are added."""
    doc = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    await client.CustomObjectsApi(cafe.scaler.kube.api_client).create_namespaced_custom_object(
        "serving.knative.dev", "v1", "default", "services", doc
    )
    scaler = cafe.scaler
    async with aiohttp.ClientSession() as session:
        await cafe.until_answer(session)
    await eventually(lambda: KEY in scaler.autoscaled())
    url = f"http://127.0.0.1:{cafe.gateway.port}/?sleep=100"
    # Long enough for the KPA to act on a loaded machine; the load stays on while it does.
    hey = Hey("-z", "20s", "-c", "30", "-host", HOST, url)
    with hey:

        async def kpa_seconds() -> None:
            """The KPA's clock keeps wall time while hey runs, ticking five times a second.

            Not faster: the gateway sends one stats frame per wall-clock second, and a
            clock running ahead would spread each over several KPA seconds, diluting the
            measured concurrency (and emptying the panic window) below what hey sends.
            """
            loop = asyncio.get_running_loop()
            last = loop.time()
            while hey.proc.poll() is None:
                await asyncio.sleep(0.2)
                now = loop.time()
                cafe.clock.now += now - last
                last = now
                scaler.autoscaler.tick()

        ticking = asyncio.create_task(kpa_seconds())
        # 30 in flight against a target of 10 per pod: the KPA asks for about 3 pods
        await eventually(lambda: (spec_replicas(cafe.emu, STANDARD) or 0) >= 3, within=15)
        await eventually(lambda: cafe.ready(STANDARD) >= 3, within=15)
        codes = await asyncio.to_thread(hey.finish, 60)
        await ticking
    assert set(codes) == {"200"} and codes["200"] > 100, hey.report


@pytest.mark.parametrize("cafe", [{"allow-zero-initial-scale": "true"}], indirect=True)
async def test_initial_scale_zero_is_ready_with_no_pod_and_a_request_scales_it(
    cafe: Cafe,
) -> None:
    """Knative's initial-scale "0": the revision is Ready with its Deployment at 0 replicas,
    the gateways route it, and the first request (held) makes the KPA scale it 0 -> 1."""
    doc = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    notes = doc["spec"]["template"]["metadata"]["annotations"]
    notes["autoscaling.knative.dev/initial-scale"] = "0"
    notes["knative.aliyun.com/reserve-instance"] = "disable"
    await client.CustomObjectsApi(cafe.scaler.kube.api_client).create_namespaced_custom_object(
        "serving.knative.dev", "v1", "default", "services", doc
    )

    def service_ready() -> bool:
        svc = cafe.emu.get("serving.knative.dev/v1", "services", "default", "coffee") or {}
        conditions = (svc.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    await eventually(service_ready, within=20)
    await eventually(lambda: KEY in cafe.scaler.autoscaled())
    assert spec_replicas(cafe.emu, STANDARD) == 0
    assert cafe.emu.list("v1", "pods") == []
    url = f"http://127.0.0.1:{cafe.gateway.port}/"
    async with aiohttp.ClientSession() as session:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while True:  # 404 only until the gateway has mirrored the route (no pod needed)
            async with session.get(url, headers={"Host": HOST}) as response:
                status, text = response.status, await response.text()
            if status != 404:
                break
            assert loop.time() < deadline, "coffee never routed"
            await asyncio.sleep(0.05)
    assert (status, text.strip()) == (200, "Hello coffee!")
    assert cafe.ready(STANDARD) == 1 and spec_replicas(cafe.emu, STANDARD) == 1


@pytest.mark.parametrize("cafe", [{"allow-zero-initial-scale": "true"}], indirect=True)
async def test_initial_scale_zero_with_a_reserve_idles_on_the_reserve(cafe: Cafe) -> None:
    """ASK's reserve is an idle revision's floor: with initial-scale "0" and the reserve on
    (the default) the revision is Ready at once and, once routed, its reserve comes up
    (no standard pod); a request is answered by it and wakes the standard pods."""
    doc = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    notes = doc["spec"]["template"]["metadata"]["annotations"]
    notes["autoscaling.knative.dev/initial-scale"] = "0"
    await client.CustomObjectsApi(cafe.scaler.kube.api_client).create_namespaced_custom_object(
        "serving.knative.dev", "v1", "default", "services", doc
    )
    await eventually(lambda: cafe.ready(RESERVE) == 1, within=30)
    assert spec_replicas(cafe.emu, STANDARD) == 0
    async with aiohttp.ClientSession() as session:
        await cafe.until_answer(session)
    await eventually(lambda: spec_replicas(cafe.emu, STANDARD) == 1)

"""The seed's cafe demo on an emulated cluster: controller, kubelet stand-in and gateway.

``kubectl apply -f coffee.yaml`` is a create through the API; the real
:class:`ClusterController` makes the Revision and Deployments; the
:class:`~tests.cluster.emulator.kubelet.Kubelet` stand-in runs each Deployment's pods as
real sample-app processes and writes their Pods and the Deployment status; a real
:class:`gateway.Gateway` mirrors Services, Revisions and Pods and answers
``curl -H "Host: coffee.default.example.com"``. Emulated: the API server (see
:mod:`tests.cluster.emulator`), the deployment controller and kubelet (pods are local
processes on 127.0.0.1, each on its own port).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import yaml
from kubernetes_asyncio import client

from coldbrew.cluster import ClusterController
from coldbrew.cluster.kube.accessing import Kube
from coldbrew.cluster.mirror.mirroring import ClusterMirror
from gateway.server import Gateway
from tests.cluster.emulator import Emulator
from tests.cluster.emulator.kubelet import Kubelet
from tests.cluster.objects import api_client, api_server

pytestmark = pytest.mark.timeout(60)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass
class Cafe:
    emu: Emulator
    api: client.ApiClient
    gateway: Gateway
    kubelet: Kubelet
    session: aiohttp.ClientSession

    async def apply(self, example: str) -> None:
        doc = yaml.safe_load((EXAMPLES / example).read_text())
        await client.CustomObjectsApi(self.api).create_namespaced_custom_object(
            "serving.knative.dev", "v1", "default", "services", doc
        )

    async def curl(self, host: str) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.gateway.port}/"
        async with self.session.get(url, headers={"Host": host}) as response:
            return response.status, await response.text()

    async def until_answer(self, host: str, want: str, within: float = 30.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            status, text = await self.curl(host)
            if status == 200 and want in text:
                return
            assert loop.time() < deadline, f"{host}: {status} {text!r}"


@pytest.fixture
async def cafe() -> AsyncIterator[Cafe]:
    emu = Emulator()
    kubelet = Kubelet(emu)
    async with api_server(emu) as port:
        api = api_client(port)
        gateway = Gateway("127.0.0.1", 0)
        await gateway.start()
        tasks = [
            asyncio.create_task(ClusterController(api).run()),
            asyncio.create_task(ClusterMirror(Kube(api), gateway).run()),
        ]
        kubelet.start()
        session = aiohttp.ClientSession()
        try:
            yield Cafe(emu, api, gateway, kubelet, session)
        finally:
            await session.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await kubelet.stop()
            await gateway.stop(grace=1.0)
            await api.close()


async def test_coffee_and_tea_answer_through_the_gateway(cafe: Cafe) -> None:
    await cafe.apply("coffee.yaml")
    await cafe.apply("tea.yaml")
    await cafe.until_answer("coffee.default.example.com", "Hello coffee!")
    await cafe.until_answer("tea.default.example.com", "Hello tea!")
    pods = {p["metadata"]["name"] for p in cafe.emu.list("v1", "pods")}
    assert any(name.startswith("coffee-00001-deployment-") for name in pods)
    assert (await cafe.curl("milk.default.example.com"))[0] == 404

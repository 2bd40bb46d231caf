"""A real gateway kept in step with an emulated cluster by :class:`ClusterMirror`.

The API server is the test emulator (:mod:`tests.cluster.emulator`: list/watch with
resourceVersion, label selectors, 410 after compaction, dropped streams). There is no
kubelet: the tests write Pods with a ``podIP`` of 127.0.0.1, a ``containerPort`` of a
real local HTTP server and a Ready condition, as a kubelet would. Requests go through
the real :class:`gateway.Gateway` over real sockets with a Host header. No sleeps:
tests wait on the emulator's change notifications or poll a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from coldbrew.cluster.kube.accessing import Kube
from coldbrew.cluster.mirror.mirroring import ClusterMirror
from gateway.server import Gateway
from tests.cluster.emulator import Emulator
from tests.cluster.objects import (
    KSVC,
    api_client,
    api_server,
    pod,
    revision,
    service,
    target,
)

pytestmark = pytest.mark.timeout(30)

HOST = "coffee.default.example.com"
KEY = "default/coffee-00001"


async def until(check: Callable[[], Any], within: float = 5.0) -> Any:
    """Poll ``check`` every 10 ms until truthy; fail after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not (value := check()):
        if loop.time() > deadline:
            raise AssertionError(f"condition not met in {within}s")
        await asyncio.sleep(0.01)
    return value


@dataclass
class Rig:
    emu: Emulator
    gateway: Gateway
    mirror: ClusterMirror
    session: aiohttp.ClientSession
    apps: dict[str, int]  # pod app name -> port

    async def get(self, host: str = HOST) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.gateway.port}/"
        async with self.session.get(url, headers={"Host": host}) as response:
            return response.status, await response.text()

    async def put(self, plural: str, obj: dict[str, Any]) -> None:
        await self.emu.put("v1" if plural == "pods" else KSVC, plural, obj)

    async def answered_by(self, name: str, host: str = HOST) -> None:
        """Until a request to ``host`` is answered by app ``name``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while (await self.get(host))[1] != name:
            assert loop.time() < deadline, f"{host} never reached {name}"


async def _app(name: str) -> tuple[web.AppRunner, int]:
    async def hello(_: web.Request) -> web.Response:
        return web.Response(text=name)

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, runner.addresses[0][1]


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    emu = Emulator()
    runners = []
    apps = {}
    for name in ("a", "b", "reserve"):
        runner, port = await _app(name)
        runners.append(runner)
        apps[name] = port
    async with api_server(emu) as port:
        api = api_client(port)
        gw = Gateway("127.0.0.1", 0, unknown_revision_hold=1.0)
        await gw.start()
        mirror = ClusterMirror(Kube(api), gw)
        task = asyncio.create_task(mirror.run())
        session = aiohttp.ClientSession()
        try:
            yield Rig(emu, gw, mirror, session, apps)
        finally:
            await session.close()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await gw.stop(grace=1.0)
            await api.close()
    for runner in runners:
        await runner.cleanup()


async def coffee(rig: Rig, *pods: dict[str, Any]) -> None:
    await rig.put("services", service("coffee", [target("coffee-00001", 100)]))
    await rig.put("revisions", revision("coffee-00001", "coffee"))
    for p in pods:
        await rig.put("pods", p)


async def test_routes_host_to_the_ready_pod_ip(rig: Rig) -> None:
    await coffee(rig, pod("coffee-00001-deployment-x", "coffee-00001", rig.apps["a"]))
    await asyncio.wait_for(rig.mirror.synced.wait(), 5)
    await rig.answered_by("a")
    status, _ = await rig.get("tea.default.example.com")
    assert status == 404


async def test_synced_only_after_every_watch_listed(rig: Rig) -> None:
    await coffee(rig, pod("coffee-00001-deployment-x", "coffee-00001", rig.apps["a"]))
    await asyncio.wait_for(rig.mirror.synced.wait(), 5)
    assert all(w.synced.is_set() for w in rig.mirror.watchers)
    await until(lambda: rig.mirror.endpoints(KEY) == ([("127.0.0.1", rig.apps["a"])], False))


async def test_held_request_is_released_when_the_pod_turns_ready(rig: Rig) -> None:
    cold = pod("coffee-00001-deployment-x", "coffee-00001", rig.apps["a"], ready=False)
    await coffee(rig, cold)
    await asyncio.wait_for(rig.mirror.synced.wait(), 5)
    request = asyncio.create_task(rig.get())
    await until(lambda: rig.gateway.snapshot().get(KEY, {}).get("held") == 1)
    assert not request.done()
    await rig.put("pods", pod("coffee-00001-deployment-x", "coffee-00001", rig.apps["a"]))
    assert await asyncio.wait_for(request, 5) == (200, "a")


async def test_traffic_split_and_tag_hosts(rig: Rig) -> None:
    await rig.put(
        "services",
        service(
            "coffee",
            [target("coffee-00001", 50, tag="v1"), target("coffee-00002", 50, tag="v2")],
        ),
    )
    for n, app in (("00001", "a"), ("00002", "b")):
        await rig.put("revisions", revision(f"coffee-{n}", "coffee"))
        await rig.put("pods", pod(f"coffee-{n}-deployment-x", f"coffee-{n}", rig.apps[app]))
    await rig.answered_by("a", "v1-coffee.default.example.com")
    await rig.answered_by("b", "v2-coffee.default.example.com")
    assert {(await rig.get("v1-coffee.default.example.com"))[1] for _ in range(10)} == {"a"}
    seen = {(await rig.get())[1] for _ in range(60)}
    assert seen == {"a", "b"}  # 50/50: all 60 on one side has odds of 2**-59


async def test_reserve_answers_until_a_standard_pod_is_ready(rig: Rig) -> None:
    reserve = pod(
        "coffee-00001-deployment-reserve-r", "coffee-00001", rig.apps["reserve"], reserve=True
    )
    await coffee(rig, reserve)
    await rig.answered_by("reserve")
    assert rig.mirror.endpoints(KEY)[1] is True  # wake_on_request: arrivals poke the KPA
    standard = pod("coffee-00001-deployment-s", "coffee-00001", rig.apps["a"], ready=False)
    await rig.put("pods", standard)
    pods_watch = rig.mirror.watchers[2]
    await until(lambda: pods_watch.resource_version == str(rig.emu.rv))  # the mirror saw it
    assert (await rig.get())[1] == "reserve"  # a standard pod that is not ready yet
    await rig.put("pods", pod("coffee-00001-deployment-s", "coffee-00001", rig.apps["a"]))
    await rig.answered_by("a")
    assert rig.mirror.endpoints(KEY) == ([("127.0.0.1", rig.apps["a"])], False)
    # the standard pod terminates (scale to the reserve again): the reserve takes over
    await rig.put(
        "pods",
        pod("coffee-00001-deployment-s", "coffee-00001", rig.apps["a"], terminating=True),
    )
    await rig.answered_by("reserve")
    assert rig.mirror.endpoints(KEY) == ([("127.0.0.1", rig.apps["reserve"])], True)


async def test_a_terminating_pod_leaves_at_once(rig: Rig) -> None:
    await coffee(
        rig,
        pod("coffee-00001-deployment-x", "coffee-00001", rig.apps["a"]),
        pod("coffee-00001-deployment-y", "coffee-00001", rig.apps["b"]),
    )
    await until(lambda: len(rig.mirror.endpoints(KEY)[0]) == 2)
    await rig.put(
        "pods",
        pod("coffee-00001-deployment-x", "coffee-00001", rig.apps["a"], terminating=True),
    )
    await until(lambda: rig.mirror.endpoints(KEY)[0] == [("127.0.0.1", rig.apps["b"])])
    assert {(await rig.get())[1] for _ in range(20)} == {"b"}


async def test_keeps_serving_while_the_api_server_is_away(rig: Rig) -> None:
    await coffee(rig, pod("coffee-00001-deployment-x", "coffee-00001", rig.apps["a"]))
    await rig.answered_by("a")
    # every request to the API server now fails, and the open watches are cut
    seen = len(rig.emu.requests)
    rig.emu.fail_next("GET", lambda path: True, code=503, times=10_000)
    await rig.emu.drop_watches()
    await until(lambda: len(rig.emu.requests) >= seen + 6)  # all three watches failed twice
    for _ in range(20):
        assert await rig.get() == (200, "a")
    rig.emu.faults.clear()  # the API server is back: changes flow again
    await rig.put("pods", pod("coffee-00001-deployment-y", "coffee-00001", rig.apps["b"]))
    await until(lambda: len(rig.mirror.endpoints(KEY)[0]) == 2)


async def test_a_relist_after_410_drops_pods_deleted_meanwhile(rig: Rig) -> None:
    await coffee(
        rig,
        pod("coffee-00001-deployment-x", "coffee-00001", rig.apps["a"]),
        pod("coffee-00001-deployment-y", "coffee-00001", rig.apps["b"]),
    )
    await until(lambda: len(rig.mirror.endpoints(KEY)[0]) == 2)
    pods_watch = rig.mirror.watchers[2]
    # the pod goes while no watch is open to see it, and the history is compacted
    del rig.emu.objects[("v1", "pods", "default", "coffee-00001-deployment-y")]
    rig.emu.compact()
    await rig.emu.drop_watches()
    await until(lambda: pods_watch.lists == 2)
    await until(lambda: rig.mirror.endpoints(KEY)[0] == [("127.0.0.1", rig.apps["a"])])


async def test_a_malformed_service_status_is_ignored(rig: Rig) -> None:
    await coffee(rig, pod("coffee-00001-deployment-x", "coffee-00001", rig.apps["a"]))
    await rig.put("services", service("tea", [{"revisionName": "tea-00001", "percent": "all"}]))
    await rig.answered_by("a")
    assert (await rig.get("tea.default.example.com"))[0] == 404


async def test_a_deleted_revision_is_forgotten(rig: Rig) -> None:
    await coffee(rig, pod("coffee-00001-deployment-x", "coffee-00001", rig.apps["a"]))
    await rig.answered_by("a")
    await rig.emu.remove(KSVC, "revisions", "default", "coffee-00001")
    await until(lambda: KEY not in rig.gateway.snapshot())
    assert (await rig.get())[0] == 503


def mapping(host: str, namespace: str = "default", service_name: str = "coffee") -> dict[str, Any]:
    ref = {"name": service_name, "kind": "Service", "apiVersion": "serving.knative.dev/v1"}
    return {
        "apiVersion": "serving.knative.dev/v1beta1",
        "kind": "DomainMapping",
        "metadata": {"name": host, "namespace": namespace},
        "spec": {"ref": ref},
    }


async def test_domain_mapping_and_cluster_local_hosts(rig: Rig) -> None:
    await coffee(rig, pod("coffee-00001-deployment-x", "coffee-00001", rig.apps["a"]))
    await rig.emu.put("serving.knative.dev/v1beta1", "domainmappings", mapping("shop.example.org"))
    await rig.answered_by("a", "shop.example.org")
    await rig.answered_by("a", "coffee.default.svc.cluster.local")
    await rig.answered_by("a", "coffee.default.svc")
    # A second claim of the host (another namespace, later) does not take it over.
    await rig.put("services", service("coffee", [target("coffee-00001", 100)], namespace="shop"))
    await rig.emu.put(
        "serving.knative.dev/v1beta1", "domainmappings", mapping("shop.example.org", "shop")
    )
    await until(lambda: len(rig.mirror._mappings) == 2)
    assert (await rig.get("shop.example.org")) == (200, "a")
    await rig.emu.remove(
        "serving.knative.dev/v1beta1", "domainmappings", "default", "shop.example.org"
    )
    await until(lambda: len(rig.mirror._mappings) == 1)

    # The remaining claim maps to shop/coffee, whose revision the gateway was never told of.
    def shop_keys() -> tuple[str, ...]:
        route = rig.gateway._ctx.routes.lookup(b"shop.example.org")
        return route.keys if route is not None else ()

    await until(lambda: shop_keys() == ("shop/coffee-00001",))


async def test_domain_mapping_secret_becomes_a_served_certificate(tmp_path: Path) -> None:
    """spec.tls.secretName: the mirror writes the Secret's pair; the gateway serves it by SNI."""
    from coldbrew.local_ca import LocalCA
    from gateway.tls import TlsFiles

    main, shop = (
        LocalCA(tmp_path / "main", "example.com"),
        LocalCA(tmp_path / "shop", "example.org"),
    )
    tls_dir = tmp_path / "mapped"
    emu = Emulator()
    async with api_server(emu) as port:
        api = api_client(port)
        files = TlsFiles(default=main.pair, directory=tls_dir)
        gw = Gateway("127.0.0.1", 0, https_port=0, tls=files)
        mirror = ClusterMirror(Kube(api), gw, tls_dir=tls_dir)
        await gw.start()
        task = asyncio.create_task(mirror.run())
        try:
            await coffee_in(emu)
            secret = {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "kubernetes.io/tls",
                "metadata": {"name": "shop-tls", "namespace": "default"},
                "data": {
                    "tls.crt": base64.b64encode(shop.pair.cert.read_bytes()).decode(),
                    "tls.key": base64.b64encode(shop.pair.key.read_bytes()).decode(),
                },
            }
            await emu.put("v1", "secrets", secret)
            dm = mapping("shop.example.org")
            dm["spec"]["tls"] = {"secretName": "shop-tls"}
            await emu.put("serving.knative.dev/v1beta1", "domainmappings", dm)
            await until(lambda: (tls_dir / "shop.example.org.crt").is_file())
            assert (tls_dir / "shop.example.org.key").stat().st_mode & 0o777 == 0o600
            certs = gw.certificates
            assert certs is not None
            certs.reload()
            assert certs.context_for("shop.example.org") is not certs.context_for("x.example.com")
            await emu.remove(
                "serving.knative.dev/v1beta1", "domainmappings", "default", "shop.example.org"
            )
            await until(lambda: not (tls_dir / "shop.example.org.crt").exists())
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await gw.stop(grace=1.0)
            await api.close()


async def coffee_in(emu: Emulator) -> None:
    await emu.put(KSVC, "services", service("coffee", [target("coffee-00001", 100)]))
    await emu.put(KSVC, "revisions", revision("coffee-00001", "coffee"))

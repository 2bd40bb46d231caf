"""``coldbrew autoscaler``: its admin endpoints, and the command as a process.

The API server is the emulator (:mod:`tests.cluster.emulator`): in-process replicas reach
it through recording :class:`~tests.cluster.autoscaler_helpers.Front` s (one can be cut
off), the process through a kubeconfig file as it would a real cluster. Checked: ``/healthz``
(liveness), ``/readyz`` (the leader only), the metrics stream refused by a follower and
closed when a leader steps down, and SIGTERM releasing the Lease and exiting 0 (a wrong
``--config`` is in test_controller_command.py). Waiting is on events or polling with
deadlines.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from coldbrew.cluster.scaler.replica import AutoscalerReplica
from tests.cluster.autoscaler_helpers import (
    FAST_LEASE,
    STREAM,
    Running,
    eventually,
    fronts,
    lease,
)
from tests.cluster.emulator import Emulator
from tests.cluster.objects import api_server, kubeconfig
from tests.ports import free_port

pytestmark = pytest.mark.timeout(60)


async def get(session: aiohttp.ClientSession, url: str) -> int:
    try:
        async with session.get(url) as response:
            return response.status
    except aiohttp.ClientConnectionError:
        return 0


@pytest.fixture
async def replicas() -> AsyncIterator[Any]:
    emulator = Emulator()
    running: list[Running] = []
    async with fronts(emulator, 2) as made, aiohttp.ClientSession() as session:

        async def start(identity: str) -> Running:
            front, api = made[len(running)]
            replica = AutoscalerReplica(
                api, lease_namespace="knative-serving", identity=identity, **FAST_LEASE
            )
            r = await Running(replica, front).start()
            running.append(r)
            return r

        start.session = session  # type: ignore[attr-defined]
        start.emulator = emulator  # type: ignore[attr-defined]
        try:
            yield start
        finally:
            for r in running:
                await r.stop()


async def test_readyz_only_on_the_leader_healthz_on_both(replicas: Any) -> None:
    session = replicas.session
    a = await replicas("a")
    await asyncio.wait_for(a.replica.elector.leading.wait(), 5)
    b = await replicas("b")
    await eventually(lambda: b.replica.elector.holder == "a")
    assert await get(session, a.url + "/readyz") == 200
    assert await get(session, b.url + "/readyz") == 503
    assert await get(session, a.url + "/healthz") == 200
    assert await get(session, b.url + "/healthz") == 200
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await session.ws_connect(b.url + STREAM)
    assert refused.value.status == 503
    await a.stop()
    await asyncio.wait_for(b.replica.elector.leading.wait(), 5)
    assert await get(session, b.url + "/readyz") == 200
    async with session.ws_connect(b.url + STREAM) as ws:
        await ws.send_str('{"type": "hello", "worker": "gw-1"}')


async def test_a_leader_that_steps_down_closes_the_metrics_streams(replicas: Any) -> None:
    session = replicas.session
    a = await replicas("a")
    await asyncio.wait_for(a.replica.elector.leading.wait(), 5)
    async with session.ws_connect(a.url + STREAM) as ws:
        await ws.send_str('{"type": "hello", "worker": "gw-1"}')
        a.front.down = True  # a cannot renew its lease any more
        await asyncio.wait_for(a.replica.elector.following.wait(), 3)
        message = await asyncio.wait_for(ws.receive(), 3)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert await get(session, a.url + "/readyz") == 503
    assert await get(session, a.url + "/healthz") == 200


async def test_the_command_leads_and_releases_its_lease_on_sigterm(tmp_path: Path) -> None:
    emulator = Emulator()
    async with api_server(emulator) as port, aiohttp.ClientSession() as session:
        admin = free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "coldbrew",
            "autoscaler",
            "--host",
            "127.0.0.1",
            "--admin-port",
            str(admin),
            "--kubeconfig",
            str(kubeconfig(tmp_path / "kubeconfig", port)),
            "--lease-namespace",
            "coldbrew-system",
            "--identity",
            "autoscaler-0",
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            url = f"http://127.0.0.1:{admin}"
            readiness: list[int] = []

            async def ready() -> bool:
                readiness.append(await get(session, url + "/readyz"))
                return readiness[-1] == 200

            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while not await ready():
                assert process.returncode is None, "the autoscaler exited"
                assert loop.time() < deadline, f"never ready: {readiness[-5:]}"
                await asyncio.sleep(0.1)
            assert await get(session, url + "/healthz") == 200
            spec = lease(emulator, ns="coldbrew-system")
            assert spec is not None and spec["holderIdentity"] == "autoscaler-0"
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 20) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        spec = lease(emulator, ns="coldbrew-system")
        assert spec is not None and not spec.get("holderIdentity")  # released for the next


async def test_metrics_on_the_admin_port(replicas: Any) -> None:
    a = await replicas("a")
    async with replicas.session.get(a.url + "/metrics") as response:
        text = await response.text()
    assert response.status == 200
    for family in ("autoscaler_desired_pods", "autoscaler_panic_mode", "process_cpu_seconds"):
        assert f"# TYPE {family}" in text

"""``coldbrew gateway --kubernetes`` as a process, against an emulated API server.

The API server is the test emulator (:mod:`tests.cluster.emulator`) on 127.0.0.1, reached
through a kubeconfig file as a real cluster would be. The "pod" is the bundled sample
app as a real process; the test writes its Pod object (IP 127.0.0.1, its port, Ready)
the way a kubelet would. Checks the health endpoints the chart probes, routing by Host
header, ``/metrics`` on the admin port, and that SIGTERM turns the gateway unready and
then ends it with status 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.cluster.emulator import Emulator
from tests.cluster.objects import (
    KSVC,
    api_server,
    kubeconfig,
    pod,
    revision,
    service,
    target,
)
from tests.ports import free_port

pytestmark = pytest.mark.timeout(60)


async def status_of(session: aiohttp.ClientSession, url: str, **kw: object) -> tuple[int, str]:
    try:
        async with session.get(url, **kw) as response:  # type: ignore[arg-type]
            return response.status, await response.text()
    except aiohttp.ClientConnectionError:
        return 0, ""


async def poll(session: aiohttp.ClientSession, url: str, want: int, **kw: object) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while True:
        status, text = await status_of(session, url, **kw)
        if status == want:
            return text
        assert loop.time() < deadline, f"{url}: {status} {text!r}, wanted {want}"
        await asyncio.sleep(0.05)


async def test_cluster_gateway_process(tmp_path: Path) -> None:
    emu = Emulator()
    app_port, port, admin = free_port(), free_port(), free_port()
    env = {**os.environ, "PORT": str(app_port), "TARGET": "cluster"}
    app = await asyncio.create_subprocess_exec(sys.executable, "-m", "coldbrew.sample", env=env)
    async with api_server(emu) as api_port, aiohttp.ClientSession() as session:
        await emu.put(KSVC, "services", service("coffee", [target("coffee-00001", 100)]))
        await emu.put(KSVC, "revisions", revision("coffee-00001", "coffee"))
        await emu.put("v1", "pods", pod("coffee-00001-deployment-x", "coffee-00001", app_port))
        gw = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "coldbrew", "gateway", "--kubernetes"],
            *["--kubeconfig", str(kubeconfig(tmp_path / "kubeconfig", api_port))],
            *["--host", "127.0.0.1", "--port", str(port), "--admin-port", str(admin)],
            *["--drain-delay", "3"],
        )
        try:
            await poll(session, f"http://127.0.0.1:{admin}/readyz", 200)
            assert (await status_of(session, f"http://127.0.0.1:{admin}/healthz"))[0] == 200
            text = await poll(
                session,
                f"http://127.0.0.1:{port}/",
                200,
                headers={"Host": "coffee.default.example.com"},
            )
            assert "cluster" in text
            metrics = await poll(session, f"http://127.0.0.1:{admin}/metrics", 200)
            assert 'service_name="coffee"' in metrics
            assert 'revision_request_count_total{configuration_name="coffee"' in metrics
            assert "process_cpu_seconds_total" in metrics
            gw.send_signal(signal.SIGTERM)
            await poll(session, f"http://127.0.0.1:{admin}/readyz", 503)
            # unready but still serving during the drain delay
            assert (
                await status_of(
                    session,
                    f"http://127.0.0.1:{port}/",
                    headers={"Host": "coffee.default.example.com"},
                )
            )[0] == 200
            assert await asyncio.wait_for(gw.wait(), 30) == 0
        finally:
            if gw.returncode is None:
                gw.kill()
                await gw.wait()
            app.terminate()
            await app.wait()

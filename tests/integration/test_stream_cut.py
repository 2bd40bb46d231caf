"""Cutting the metrics stream: traffic keeps flowing, scaling resumes on reconnect.

Runs the whole platform in the test's event loop so the test can take the
autoscaler's endpoint away (closing every stream connection) and bring it back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml

from autoscaler.streaming import STREAM_STATS
from coldbrew.serving import Platform, ServeOptions
from tests.e2e.harness import EXAMPLES, free_port

COFFEE = "coffee.default.example.com"


async def until(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll ``predicate`` with a deadline."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        await asyncio.sleep(0.05)


async def test_stream_cut_and_resume(tmp_path: Path) -> None:
    opts = ServeOptions(port=free_port(), admin_port=free_port(), state_dir=tmp_path / "state")
    platform = Platform(opts)
    await platform.start()
    try:
        manifest = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
        notes = manifest["spec"]["template"]["metadata"]["annotations"]
        notes["autoscaling.knative.dev/window"] = "6s"
        notes["autoscaling.knative.dev/min-scale"] = "1"
        platform.controller.apply(manifest)
        key = "default/coffee-00001"
        runtime = platform.runtime
        await until(lambda: runtime.revision_state(key).ready == 1, 10, "first pod")
        assert platform._admin is not None
        stats = platform._admin.app[STREAM_STATS]
        await until(lambda: stats.open_connections == 1, 10, "gateway connected")

        await platform.stop_admin()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{opts.port}") as http:
            for _ in range(20):
                r = await http.get("/", headers={"Host": COFFEE})
                assert r.text == "Hello coffee!\n"

            await platform.start_admin()
            stats = platform._admin.app[STREAM_STATS]
            await until(lambda: stats.open_connections == 1, 15, "gateway reconnected")

            async def load(stop: asyncio.Event) -> None:
                while not stop.is_set():
                    r = await http.get("/?sleep=100", headers={"Host": COFFEE}, timeout=30)
                    assert r.status_code == 200

            stop = asyncio.Event()
            clients = [asyncio.create_task(load(stop)) for _ in range(40)]
            try:
                await until(lambda: runtime.revision_state(key).ready >= 2, 20, "scale-out")
            finally:
                stop.set()
                await asyncio.gather(*clients)
        assert stats.frames > 0 and stats.malformed == 0
    finally:
        await platform.stop()

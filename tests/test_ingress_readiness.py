"""A Service is not Ready before every gateway worker has its route (Knative probes its
ingress before RoutesReady), and turns Ready when they have it, without another pass.

A real controller, store and process runtime; the data plane is a real FanOut with one
worker registered by hand (its websocket is not needed: only its answers are).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from autoscaler.config import AutoscalerConfig
from coldbrew.controlling import Controller
from coldbrew.fanning import FanOut
from coldbrew.runtime import ImageMap, PodRuntime
from coldbrew.storing import MemoryRepository
from tests.e2e.harness import idle_service


def ready(controller: Controller) -> tuple[str, str]:
    status = controller.views["default/idle"].status
    cond = next(c for c in status["conditions"] if c["type"] == "Ready")
    return cond["status"], cond.get("reason", "")


async def test_not_ready_until_the_workers_have_the_route(tmp_path: Path) -> None:
    fanout = FanOut(expected=1)
    worker: Any = object()  # one connected worker, in step with every table so far
    fanout._workers[worker] = asyncio.Queue()
    fanout._acked[worker] = fanout.version
    runtime = PodRuntime(log_dir=tmp_path, images=ImageMap({}))
    controller = Controller(
        MemoryRepository(),
        runtime,
        fanout,
        domain="example.com",
        config=AutoscalerConfig(allow_zero_initial_scale=True),
    )
    fanout.on_synced = controller.on_routes_synced  # as serve wires it
    passes = asyncio.Event()
    controller.subscribe(passes.set)
    assert fanout.routes_synced()
    controller.apply(idle_service("idle"))
    async with asyncio.timeout(5):
        await passes.wait()
    # The pass saw the data plane in step, then published the Service's route: the
    # worker has not applied that table, so the Service is not Ready yet.
    assert "idle.default.example.com" in fanout.routes
    assert not fanout.routes_synced()
    assert ready(controller) == ("Unknown", "IngressNotConfigured")
    assert "default/idle" in controller._held
    fanout._routes_applied(worker, fanout.version)  # the worker's answer
    assert ready(controller) == ("True", "")
    assert "default/idle" not in controller._held  # nothing kept once final
    await runtime.shutdown()

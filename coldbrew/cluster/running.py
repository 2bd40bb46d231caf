"""``coldbrew controller``: the cluster controller with a health endpoint, until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from aiohttp import web

from autoscaler.config import ConfigError
from coldbrew.cluster.controller import run_controller
from coldbrew.cluster.reconciling import Settings
from coldbrew.config import load_config

log = logging.getLogger(__name__)


async def healthz(_: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def serve_controller(
    *,
    host: str,
    admin_port: int,
    domain: str,
    config: Path | None,
    kubeconfig: str | None,
    lease_namespace: str | None = None,
    identity: str = "",
) -> int:
    try:
        platform = load_config(config)
    except ConfigError as exc:
        log.error("refusing to start: %s", exc)
        return 1
    settings = Settings(domain=domain, autoscaler=platform.autoscaler, reserve=platform.reserve)
    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, admin_port).start()
    controlling = asyncio.create_task(
        run_controller(
            settings=settings,
            kubeconfig=kubeconfig,
            lease_namespace=lease_namespace,
            identity=identity,
        )
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    done = asyncio.create_task(stopping.wait())
    await asyncio.wait({controlling, done}, return_when=asyncio.FIRST_COMPLETED)
    controlling.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await controlling
    await runner.cleanup()
    if not stopping.is_set():
        log.error("the controller stopped on its own")
        return 1
    return 0

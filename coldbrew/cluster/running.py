"""Running a cluster component with its admin endpoints until SIGTERM; ``coldbrew controller``."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from aiohttp import web

from autoscaler.config import ConfigError
from coldbrew.cluster.controller import run_controller
from coldbrew.cluster.reconciling import Settings
from coldbrew.config import load_config
from gateway.admin import admin_app, serve_admin

log = logging.getLogger(__name__)


async def run_with_admin(
    app: web.Application, host: str, port: int, work: Coroutine[Any, Any, None], what: str
) -> int:
    """Serve ``app`` (a ``gateway.admin.admin_app``) on ``host:port`` and run ``work``
    until SIGTERM/SIGINT (0) or until ``work`` ends on its own or fails (1); ``work`` is
    cancelled either way."""
    try:
        runner = await serve_admin(app, host, port)
    except BaseException:
        work.close()
        raise
    running = asyncio.ensure_future(work)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        done = asyncio.create_task(stopping.wait())
        await asyncio.wait({running, done}, return_when=asyncio.FIRST_COMPLETED)
        done.cancel()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        running.cancel()
        failed = False
        try:
            await running
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("the %s failed", what)
            failed = True
        await runner.cleanup()
    if failed:
        return 1
    if not stopping.is_set():
        log.error("the %s stopped on its own", what)
        return 1
    return 0


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
    app = admin_app()
    work = run_controller(
        settings=settings, kubeconfig=kubeconfig, lease_namespace=lease_namespace, identity=identity
    )
    return await run_with_admin(app, host, admin_port, work, "controller")

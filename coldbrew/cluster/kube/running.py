"""Running a cluster component with its admin endpoints until SIGTERM (controller, autoscaler)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from gateway.admin import serve_admin

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

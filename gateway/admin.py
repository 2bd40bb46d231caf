"""A gateway's health endpoints, on their own port (kubelet probes, load balancers).

``/healthz`` answers 200 while the process serves (liveness). ``/readyz`` answers 200
only while ``ready()`` holds: the gateway knows its routes and is not shutting down, so
a load balancer sends it traffic only then.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from aiohttp import web


def _app(ready: Callable[[], bool], details: Callable[[], dict[str, object]]) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        ok = ready()
        body = json.dumps({"ready": ok, **details()}) + "\n"
        return web.Response(text=body, status=200 if ok else 503, content_type="application/json")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


async def start_admin(
    host: str,
    port: int,
    ready: Callable[[], bool],
    details: Callable[[], dict[str, object]] = dict,
) -> web.AppRunner:
    """Serve the health endpoints; ``await runner.cleanup()`` stops them."""
    runner = web.AppRunner(_app(ready, details), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner

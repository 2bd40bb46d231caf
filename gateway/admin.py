"""The one admin app every coldbrew process serves on its admin port.

Every component (gateway worker, ``coldbrew serve``'s control API, cluster controller,
cluster autoscaler) builds its admin app with :func:`admin_app`, so they all answer the
same way:

* ``/healthz``: 200 ``ok`` while the process serves (liveness);
* ``/readyz``: 200 while ``ready()`` holds, else 503; the body is JSON,
  ``{"ready": <bool>, **details()}`` (e.g. the autoscaler's Lease holder);
* the component's own routes: ``routes`` given here, or added to the returned app
  (``add_routes(app, ...)``) before it is served.

A later ``/metrics`` (Prometheus) belongs here too, next to ``/healthz``, so that every
component gets it at once. This module is data-plane side (``gateway``) so that both the
data plane and the control plane may import it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from aiohttp.typedefs import Middleware

Ready = Callable[[], bool]
Details = Callable[[], dict[str, object]]
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def always_ready() -> bool:
    return True


def admin_app(
    ready: Ready = always_ready,
    details: Details = dict,
    *,
    routes: Iterable[web.AbstractRouteDef] = (),
    client_max_size: int = 1024**2,
    middlewares: Iterable[Middleware] = (),
) -> web.Application:
    """An app serving ``/healthz``, ``/readyz`` and ``routes``; add more before serving it."""

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        ok = ready()
        body = json.dumps({"ready": ok, **details()}) + "\n"
        return web.Response(text=body, status=200 if ok else 503, content_type="application/json")

    app = web.Application(client_max_size=client_max_size, middlewares=list(middlewares))
    app.router.add_get(HEALTH_PATH, healthz)
    app.router.add_get(READY_PATH, readyz)
    app.router.add_routes(list(routes))
    return app


async def serve_admin(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve ``app`` on ``host:port``; ``await runner.cleanup()`` stops it."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


async def start_admin(
    host: str,
    port: int,
    ready: Ready = always_ready,
    details: Details = dict,
    *,
    routes: Iterable[web.AbstractRouteDef] = (),
) -> web.AppRunner:
    """Build an :func:`admin_app` and serve it (the gateway worker's admin port)."""
    return await serve_admin(admin_app(ready, details, routes=routes), host, port)

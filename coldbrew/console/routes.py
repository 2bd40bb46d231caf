"""``/`` (the page), ``/console/assets/{file}`` and ``/console/state`` (its JSON)."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from .snapshot import Snapshotter

STATE_PATH = "/console/state"
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


def _asset(name: str) -> tuple[bytes, str] | None:
    if "/" in name or name.startswith("."):
        return None
    path = resources.files("coldbrew.console") / "assets" / name
    if not path.is_file():
        return None
    suffix = name[name.rfind(".") :]
    return path.read_bytes(), TYPES.get(suffix, "application/octet-stream")


def add_routes(app: web.Application, snapshotter: Snapshotter) -> None:
    async def page(request: web.Request) -> web.Response:
        found = _asset("index.html")
        assert found is not None  # ships with the package
        return web.Response(body=found[0], content_type="text/html", charset="utf-8")

    async def asset(request: web.Request) -> web.Response:
        found = _asset(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound(text="no such console asset")
        return web.Response(body=found[0], content_type=found[1],
                            headers={"Cache-Control": "no-cache"})  # fmt: skip

    async def state(request: web.Request) -> web.Response:
        return web.json_response(snapshotter.state(), headers={"Cache-Control": "no-store"})

    app.router.add_get("/", page)
    app.router.add_get("/console/assets/{name}", asset)
    app.router.add_get(STATE_PATH, state)

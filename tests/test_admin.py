"""The one admin app (``gateway.admin``): health, readiness, extra routes, and that every
component builds its admin app through it."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from gateway.admin import admin_app, serve_admin

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gateway", "activator", "autoscaler", "coldbrew")


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url) as response:
        return response.status, await response.text()


async def test_health_readiness_details_and_extra_routes() -> None:
    state = {"ready": False}

    async def extra(_: web.Request) -> web.Response:
        return web.Response(text="extra\n")

    app = admin_app(
        lambda: state["ready"],
        lambda: {"leader": "replica-2"},
        routes=[web.get("/extra", extra)],
    )
    runner = await serve_admin(app, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession() as session:
            assert await _get(session, url + "/healthz") == (200, "ok\n")
            status, body = await _get(session, url + "/readyz")
            assert (status, json.loads(body)) == (503, {"ready": False, "leader": "replica-2"})
            state["ready"] = True
            status, body = await _get(session, url + "/readyz")
            assert (status, json.loads(body)) == (200, {"ready": True, "leader": "replica-2"})
            assert await _get(session, url + "/extra") == (200, "extra\n")
            assert (await _get(session, url + "/metrics"))[0] == 404
    finally:
        await runner.cleanup()


async def test_defaults_are_always_ready_and_routes_can_be_added_after() -> None:
    app = admin_app()

    async def late(_: web.Request) -> web.Response:
        return web.Response(text="late\n")

    app.router.add_get("/late", late)
    runner = await serve_admin(app, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession() as session:
            status, body = await _get(session, url + "/readyz")
            assert (status, json.loads(body)) == (200, {"ready": True})
            assert await _get(session, url + "/late") == (200, "late\n")
    finally:
        await runner.cleanup()


async def test_serve_admin_on_a_busy_port_raises() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(OSError):
            await serve_admin(admin_app(), "127.0.0.1", busy.getsockname()[1])


def test_no_component_serves_its_own_health_endpoints() -> None:
    """``/healthz``/``/readyz`` are registered only by gateway/admin.py."""
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "gateway" / "admin.py":
                continue
            text = path.read_text()
            if 'add_get("/healthz"' in text or 'add_get("/readyz"' in text:
                offenders.append(str(path.relative_to(ROOT)))
            if "web.AppRunner(" in text:
                offenders.append(f"{path.relative_to(ROOT)} (own AppRunner)")
    assert offenders == []

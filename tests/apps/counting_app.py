"""A pod app that counts concurrent requests and reports the most it ever saw.

``GET /?sleep=MS`` sleeps then answers; ``GET /max`` answers the highest number of
requests that were in flight at once (``/max`` itself not counted).
"""

from __future__ import annotations

import asyncio
import os

from aiohttp import web

state = {"now": 0, "max": 0}


async def work(request: web.Request) -> web.Response:
    state["now"] += 1
    state["max"] = max(state["max"], state["now"])
    try:
        await asyncio.sleep(int(request.query.get("sleep", "0")) / 1000)
    finally:
        state["now"] -= 1
    return web.Response(text="ok\n")


async def most(request: web.Request) -> web.Response:
    return web.Response(text=f"{state['max']}\n")


app = web.Application()
app.router.add_get("/max", most)
app.router.add_get("/", work)

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(os.environ["PORT"]), print=None)

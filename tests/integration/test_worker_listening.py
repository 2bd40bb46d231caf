"""A gateway worker listens only once its feed delivered the route table.

A worker that listened with an empty table would answer every host 404 while the control
plane brings its services back (seconds at 10,000). A real ``coldbrew gateway --feed``
process follows a real FanOut served by aiohttp here; the FanOut has no table until the
test gives it one, as the control plane's before its first pass.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable

import httpx
from aiohttp import web

from coldbrew.fanning import FEED_PATH, FanOut
from gateway.settings import RevisionSettings
from tests.ports import free_port

HOST = "a.default.example.com"


async def until(predicate: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {seconds}s waiting for {what}"
        await asyncio.sleep(0.05)


def answers(url: str) -> int | None:
    try:
        return httpx.get(url, headers={"Host": HOST}, timeout=0.3).status_code
    except httpx.ConnectError:
        return None  # nothing listens
    except httpx.TimeoutException:
        return -1  # held (by the activator: the revision has no endpoints)


async def test_a_worker_listens_once_the_feed_has_a_table() -> None:
    fanout = FanOut(expected=1)
    fanout.set_revision("default/a-00001", [], RevisionSettings())  # a revision, no table
    assert not fanout.has_table
    app = web.Application()
    fanout.add_routes(app)
    runner = web.AppRunner(app)
    await runner.setup()
    feed_port, port, admin = free_port(), free_port(), free_port()
    await web.TCPSite(runner, "127.0.0.1", feed_port).start()
    cmd = [sys.executable, "-m", "coldbrew", "gateway", "--port", str(port)]
    cmd += ["--admin-port", str(admin), "--feed", f"ws://127.0.0.1:{feed_port}{FEED_PATH}"]
    quiet = asyncio.subprocess.DEVNULL
    worker = await asyncio.create_subprocess_exec(*cmd, stdout=quiet, stderr=quiet)
    admin_url, url = f"http://127.0.0.1:{admin}", f"http://127.0.0.1:{port}/"
    try:
        await until(lambda: fanout.workers == 1, 30, "the worker on the feed")
        await until(lambda: answers(f"{admin_url}/healthz") == 200, 30, "the worker's admin")
        # Connected, alive, given its revision: still no table, so not ready and not
        # listening (a request is refused, never answered 404).
        assert answers(f"{admin_url}/readyz") == 503
        assert answers(url) is None
        fanout.set_routes({HOST: [("default/a-00001", 100)]})
        await until(lambda: answers(url) is not None, 30, "the worker listening")
        assert answers(url) == -1  # routed: held, waiting for a pod
        assert answers(f"{admin_url}/readyz") == 200
    finally:
        worker.terminate()
        await asyncio.wait_for(worker.wait(), 30)
        await runner.cleanup()

"""A gateway process: a Gateway kept in step by a source of routes and endpoints.

The source is the control plane's feed (``coldbrew serve --workers N`` starts N of these
on one port with SO_REUSEPORT, each following ``feed_url``) or, in a cluster, a mirror
of the API server's objects passed in as ``source`` by ``coldbrew gateway --kubernetes``.
Either way the process serves on its last state while the source is away, and it
listens only once the source delivered a full state (or after ``SYNC_WAIT``): a worker
with an empty table would answer every host 404.

With ``admin_port`` it serves ``/healthz``, ``/readyz`` (ready once the source has
delivered a full state, and until shutdown begins) and ``/metrics`` (its own request
figures, gateway/exposition.py, and the process's CPU and memory). On SIGTERM/SIGINT it
turns unready, waits ``drain_delay`` seconds so load balancers stop sending new
connections, then stops accepting, finishes in-flight requests (up to ``grace``) and
returns 0. Started by ``coldbrew serve``, it does the same when serve is gone
(gateway/lifeline.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from typing import Any, Protocol

from gateway.admin import start_admin
from gateway.following import Follower
from gateway.lifeline import stop_with_parent
from gateway.server import Gateway

log = logging.getLogger(__name__)
SYNC_WAIT = 15.0  # seconds a worker waits for its source's table before it listens anyway


class Source(Protocol):
    """Keeps a gateway's routes and revisions current; ``synced`` once it has them all."""

    synced: asyncio.Event

    async def run(self) -> None: ...


async def run_worker(
    *,
    host: str,
    port: int,
    feed_url: str | None = None,
    source: Callable[[Gateway], Source] | None = None,
    admin_host: str | None = None,
    admin_port: int | None = None,
    drain_delay: float = 0.0,
    grace: float = 30.0,
    reuse_port: bool = True,
    **gateway_options: Any,
) -> int:
    """Serve until SIGTERM/SIGINT, then drain as described above and return 0."""
    gateway = Gateway(host, port, reuse_port=reuse_port, **gateway_options)
    if source is not None:
        follower: Source = source(gateway)
    elif feed_url is not None:
        follower = Follower(gateway, feed_url)
    else:
        raise ValueError("run_worker needs feed_url or source")
    following = asyncio.create_task(follower.run())
    stopping = asyncio.Event()

    def ready() -> bool:
        return follower.synced.is_set() and not stopping.is_set()

    admin = None
    if admin_port is not None:
        admin = await start_admin(admin_host or host, admin_port, ready, routes=_metrics(gateway))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    stop_with_parent(stopping.set)
    # Listening once the source delivered its table: with an empty one every host would
    # be a 404 while the control plane brings its services back (seconds at 10,000).
    # A source that takes longer than SYNC_WAIT is not waited for.
    waits = [asyncio.create_task(e.wait()) for e in (follower.synced, stopping)]
    await asyncio.wait(waits, timeout=SYNC_WAIT, return_when=asyncio.FIRST_COMPLETED)
    for task in waits:
        task.cancel()
    if not stopping.is_set():
        await gateway.start()
        log.info("gateway on %s:%d (admin port %s)", host, gateway.port, admin_port)
    await stopping.wait()
    if drain_delay > 0:
        log.info("unready; serving %.1fs more before closing the listener", drain_delay)
        await asyncio.sleep(drain_delay)
    await gateway.stop(grace=grace)
    following.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await following
    if admin is not None:
        await admin.cleanup()
    return 0


def _metrics(gateway: Gateway) -> list[Any]:
    """``/metrics`` for the admin port (imported here: workers without one never load it)."""
    from prometheus_client import ProcessCollector

    from gateway.exposition import RequestCollector, metrics_route, registry_of

    collectors = [RequestCollector(gateway.totals), ProcessCollector(registry=None)]
    return [metrics_route(registry_of(collectors))]


def main(**options: Any) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    import uvloop

    return uvloop.run(run_worker(**options))

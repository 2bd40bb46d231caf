"""A gateway worker process: a Gateway that follows the control plane's feed.

``coldbrew serve --workers N`` starts N of these on one port (SO_REUSEPORT);
``coldbrew gateway`` runs one by hand or in a cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

from gateway.following import Follower
from gateway.server import Gateway

log = logging.getLogger(__name__)


async def run_worker(
    *,
    host: str,
    port: int,
    feed_url: str,
    grace: float = 30.0,
    reuse_port: bool = True,
    **gateway_options: Any,
) -> int:
    """Serve until SIGTERM/SIGINT, then finish in-flight requests and return 0."""
    gateway = Gateway(host, port, reuse_port=reuse_port, **gateway_options)
    follower = Follower(gateway, feed_url)
    following = asyncio.create_task(follower.run())
    await gateway.start()
    log.info("gateway worker on %s:%d following %s", host, gateway.port, feed_url)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    await gateway.stop(grace=grace)
    following.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await following
    return 0


def main(**options: Any) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    import uvloop

    return uvloop.run(run_worker(**options))

"""``coldbrew gateway``: one gateway process fed by a local server or by the cluster.

``--feed URL`` follows a local ``coldbrew serve`` (what ``serve --workers N`` runs);
``--kubernetes`` watches the API server itself (Services, Revisions, Pods) and routes to
pod IPs, so it keeps serving on its last state when the controller, the autoscaler or
the API server is away.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from gateway.server import Gateway


def run_gateway(args: argparse.Namespace) -> int:
    from gateway.worker import main as worker_main

    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "reuse_port": not args.no_reuse_port,
        "stats_url": args.stats_url,
        "admin_port": args.admin_port,
        "drain_delay": args.drain_delay,
        "metrics": not args.no_metrics,
        "cold_start_header": args.cold_start_header,
        "request_log": args.request_log,
    }
    if args.kubernetes:
        return worker_main(source=_ClusterSource.factory(args.kubeconfig), **options)
    return worker_main(feed_url=args.feed, **options)


class _ClusterSource:
    """A :class:`~coldbrew.cluster.mirror.mirroring.ClusterMirror` that owns its API client."""

    def __init__(self, gateway: Gateway, kubeconfig: str | None) -> None:
        self.gateway = gateway
        self.kubeconfig = kubeconfig
        self.synced = asyncio.Event()

    @classmethod
    def factory(cls, kubeconfig: str | None) -> Any:
        return lambda gateway: cls(gateway, kubeconfig)

    async def run(self) -> None:
        from coldbrew.cluster.kube.accessing import Kube, connect
        from coldbrew.cluster.mirror.mirroring import ClusterMirror

        async with await connect(self.kubeconfig) as api:
            await ClusterMirror(Kube(api), self.gateway, synced=self.synced).run()

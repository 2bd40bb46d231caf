"""``coldbrew gateway``: one gateway process fed by a local server or by the cluster.

``--feed URL`` follows a local ``coldbrew serve`` (what ``serve --workers N`` runs);
``--kubernetes`` watches the API server itself (Services, Revisions, Pods) and routes to
pod IPs, so it keeps serving on its last state when the controller, the autoscaler or
the API server is away.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any

from coldbrew.authorizing import TOKEN_ENV, with_token
from gateway.limits import ClientLimits
from gateway.server import Gateway
from gateway.tls import TlsFiles


def run_gateway(args: argparse.Namespace, tls: TlsFiles | None, limits: ClientLimits) -> int:
    """``tls`` and ``limits``: what the flags give (checked by the caller)."""
    from gateway.worker import main as worker_main

    token = os.environ.get(TOKEN_ENV)  # set by ``serve --workers N --admin-host ...``
    options: dict[str, Any] = {
        "limits": limits,
        "host": args.host,
        "port": args.port,
        "reuse_port": not args.no_reuse_port,
        "stats_url": with_token(args.stats_url, token) if args.stats_url else None,
        "admin_port": args.admin_port,
        "drain_delay": args.drain_delay,
        "metrics": not args.no_metrics,
        "cold_start_header": args.cold_start_header,
        "request_log": args.request_log,
    }
    if tls is not None:
        options.update(https_port=args.https_port, tls=tls)
    if args.kubernetes:
        # With HTTPS and --tls-dir, DomainMappings' Secrets are written into that directory.
        tls_dir = tls.directory if tls is not None else None
        return worker_main(source=_ClusterSource.factory(args.kubeconfig, tls_dir), **options)
    feed = with_token(args.feed, token) if args.feed else args.feed
    return worker_main(feed_url=feed, **options)


class _ClusterSource:
    """A :class:`~coldbrew.cluster.mirror.mirroring.ClusterMirror` that owns its API client."""

    def __init__(self, gateway: Gateway, kubeconfig: str | None, tls_dir: Path | None) -> None:
        self.gateway = gateway
        self.kubeconfig = kubeconfig
        self.tls_dir = tls_dir
        self.synced = asyncio.Event()

    @classmethod
    def factory(cls, kubeconfig: str | None, tls_dir: Path | None = None) -> Any:
        return lambda gateway: cls(gateway, kubeconfig, tls_dir)

    async def run(self) -> None:
        from coldbrew.cluster.kube.accessing import Kube, connect
        from coldbrew.cluster.mirror.mirroring import ClusterMirror

        async with await connect(self.kubeconfig) as api:
            mirror = ClusterMirror(
                Kube(api), self.gateway, synced=self.synced, tls_dir=self.tls_dir
            )
            await mirror.run()

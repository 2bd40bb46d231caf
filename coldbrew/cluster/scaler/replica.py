"""``coldbrew autoscaler``: the cluster KPA, leader-elected, with its admin endpoints.

Every replica watches Revisions and Deployments; the one holding the Lease
``coldbrew-autoscaler`` (in ``--lease-namespace``) autoscales and writes ``/scale``.
The admin port serves (``gateway.admin.admin_app``):

* ``/healthz``: 200 while the event loop runs (liveness);
* ``/readyz``: 200 only while this replica leads, else 503, so the autoscaler Service
  sends the gateways' metrics streams to the leader alone (the body names the Lease
  holder: ``{"ready": false, "leader": "autoscaler-1"}``);
* ``/autoscaler/stream``: the gateways' metrics websocket (docs/seams.md), on the
  leader only: a follower answers 503, and a replica that stops leading closes the streams
  it has, so the gateways reconnect (through the Service) to the new leader.
* ``/metrics``: the KPA's decisions per revision (autoscaler/exposition.py, Knative's
  ``autoscaler_*`` names; a follower has none) and the process's CPU and memory.

SIGTERM or SIGINT stops it: it steps down, releases the Lease (another replica takes
over at its next retry) and returns 0. A bad ``--config`` returns 1 at once, naming the key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from kubernetes_asyncio import client
from prometheus_client import ProcessCollector

from autoscaler.config import ConfigError
from autoscaler.exposition import AutoscalerCollector
from autoscaler.streaming import STREAM_PATH, add_routes
from coldbrew.platform_config import PlatformConfig, load_config
from gateway.admin import admin_app
from gateway.exposition import metrics_route, registry_of

from ..kube.accessing import Kube, connect
from ..kube.eventing import KubeRecorder
from ..kube.leasing import LeaderElector
from ..kube.running import run_with_admin
from .kpa import ClusterAutoscaler

log = logging.getLogger(__name__)

LEASE_NAME = "coldbrew-autoscaler"


class AutoscalerReplica:
    """One autoscaler replica: :class:`ClusterAutoscaler` + :class:`LeaderElector` + routes."""

    def __init__(
        self,
        api_client: client.ApiClient,
        platform: PlatformConfig | None = None,
        *,
        lease_namespace: str,
        identity: str,
        lease_name: str = LEASE_NAME,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        backoff: float = 0.1,
        record_events: bool = False,
    ) -> None:
        self.events = (
            KubeRecorder(Kube(api_client), "coldbrew-autoscaler", identity)
            if record_events
            else None
        )
        self.scaler = ClusterAutoscaler(
            api_client, platform, is_leader=self._is_leader, clock=clock, backoff=backoff,
            events=self.events,
        )  # fmt: skip
        self.elector = LeaderElector(
            Kube(api_client),
            namespace=lease_namespace,
            name=lease_name,
            identity=identity,
            lease_duration=lease_duration,
            renew_deadline=renew_deadline,
            retry_period=retry_period,
            on_started_leading=self.scaler.start_leading,
            on_stopped_leading=self._stopped_leading,
        )
        self._streams: set[asyncio.Task[Any]] = set()

    def _is_leader(self) -> bool:
        return self.elector.is_leader

    def _stopped_leading(self) -> None:
        self.scaler.stop_leading()
        for task in list(self._streams):
            task.cancel()  # closes the gateway's connection: it reconnects to the leader

    @web.middleware
    async def _leader_streams(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path != STREAM_PATH:
            response: web.StreamResponse = await handler(request)
            return response
        if not self.elector.is_leader:
            return web.Response(status=503, text="not the leader\n")
        task = asyncio.current_task()
        assert task is not None
        self._streams.add(task)
        try:
            response = await handler(request)
            return response
        finally:
            self._streams.discard(task)

    def admin_app(self) -> web.Application:
        """The admin app: ready only while leading; the metrics stream on the leader only."""
        app = admin_app(self._is_leader, self._lease_details)
        app.middlewares.append(self._leader_streams)
        add_routes(app, self.scaler.autoscaler)
        collectors = [AutoscalerCollector(self.scaler.autoscaler), ProcessCollector(registry=None)]
        app.router.add_routes([metrics_route(registry_of(collectors))])
        return app

    def _lease_details(self) -> dict[str, object]:
        return {"leader": self.elector.holder or None}

    async def run(self) -> None:
        """Until cancelled: watch; once both views listed, stand for leader too.

        On cancellation the elector goes first (step down, release the Lease).
        """
        scaling = asyncio.create_task(self.scaler.run())
        electing: asyncio.Task[None] | None = None
        try:
            synced = asyncio.create_task(self.scaler.synced.wait())
            await asyncio.wait({scaling, synced}, return_when=asyncio.FIRST_COMPLETED)
            synced.cancel()
            if not scaling.done():
                electing = asyncio.create_task(self.elector.run())
                await asyncio.wait({scaling, electing}, return_when=asyncio.FIRST_COMPLETED)
            for task in (scaling, electing):
                if task is not None and task.done():
                    task.result()  # a crash surfaces here
        finally:
            for task in (electing, scaling):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if self.events is not None:
                await self.events.close()  # an event still being written is dropped


async def serve_autoscaler(
    *,
    host: str,
    admin_port: int,
    config: Path | None,
    kubeconfig: str | None,
    lease_namespace: str,
    identity: str,
    api_client: client.ApiClient | None = None,
) -> int:
    try:
        platform = load_config(config)
    except ConfigError as exc:
        log.error("refusing to start: %s", exc)
        return 1
    owned = api_client is None
    try:
        api = api_client if api_client is not None else await connect(kubeconfig)
    except Exception as exc:
        log.error("refusing to start: no Kubernetes configuration: %s", exc)
        return 1
    replica = AutoscalerReplica(
        api, platform, lease_namespace=lease_namespace, identity=identity, record_events=True
    )
    try:
        return await run_with_admin(
            replica.admin_app(), host, admin_port, replica.run(), "autoscaler"
        )
    finally:
        if owned:
            await api.close()

"""A controller replica: reconciles only while it holds the ``coldbrew-controller`` Lease.

The chart may run more than one controller replica (rolling updates, node failures);
two controllers writing the same objects would fight over status and create work
twice. Each replica stands for the Lease (:class:`..kube.leasing.LeaderElector`); the one that
holds it runs a :class:`.loop.ClusterController` (which lists everything afresh,
so a new leader converges from the cluster's state, not from memory), and stops it the
moment it steps down. A follower only renews its view of the Lease.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kubernetes_asyncio import client

from ..kube.accessing import Kube
from ..kube.leasing import LeaderElector
from .loop import ClusterController
from .reconciling import Settings

log = logging.getLogger(__name__)

LEASE_NAME = "coldbrew-controller"


class ControllerReplica:
    """Elector plus, while leading, a running :class:`ClusterController`."""

    def __init__(
        self,
        api_client: client.ApiClient,
        settings: Settings | None = None,
        *,
        lease_namespace: str,
        identity: str,
        lease_name: str = LEASE_NAME,
        **elector_options: Any,
    ) -> None:
        self.api_client = api_client
        self.settings = settings
        self.controller: ClusterController | None = None
        self._task: asyncio.Task[None] | None = None
        self.elector = LeaderElector(
            Kube(api_client),
            namespace=lease_namespace,
            name=lease_name,
            identity=identity,
            on_started_leading=self._start,
            on_stopped_leading=self._stop,
            **elector_options,
        )

    def _start(self) -> None:
        self.controller = ClusterController(self.api_client, self.settings)
        self._task = asyncio.get_running_loop().create_task(self.controller.run())
        self._task.add_done_callback(self._ended)

    def _stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._task = None
        self.controller = None

    @staticmethod
    def _ended(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("the controller stopped", exc_info=task.exception())

    async def run(self) -> None:
        """Stand for the Lease until cancelled; then step down and release it."""
        try:
            await self.elector.run()
        finally:
            task = self._task
            self._stop()
            if task is not None:
                await asyncio.gather(task, return_exceptions=True)

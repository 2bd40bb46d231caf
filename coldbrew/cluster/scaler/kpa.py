"""The KPA against a cluster: Revisions in, ``/scale`` writes of their Deployments out.

:class:`ClusterAutoscaler` autoscales the Revisions of its :class:`.viewing.ClusterView`
with the engine :class:`autoscaler.autoscaling.Autoscaler`, under the key
``"{namespace}/{revision}"``. The KPA's ``ready_pods`` are the ready replicas of the
revision's standard Deployment (the reserve's do not count, as in local mode).

The engine's decisions (``scale(key, n)``: ``n`` standard pods) go through the reserve
hand-over (:func:`rulebook.reserve.hand_over`, carried out by :mod:`.handing`),
re-evaluated on every decision and every Deployment event, to
:class:`.scale_writing.ScaleWriter`, which patches ``{rev}-deployment`` and
``{rev}-deployment-reserve``'s ``/scale``.

Only the leader scales. A follower keeps its view warm but autoscales nothing (it gets no
metrics: the gateways stream to the ready replica, the leader). On becoming leader, every
known revision is autoscaled afresh and its decision applied: the engine starts a revision
from its ready standard pods (or its initial scale when it has none and is new), and a
revision whose standard Deployment already sits at zero replicas stays at zero (on its
reserve, or scaled to zero) until traffic says otherwise, so a fail-over wakes nothing up.
On losing the lead, every revision is dropped from the engine and nothing more is written.

As in local mode, the KPA owns only the revisions traffic can reach, a reserve is for
routed revisions, and the others are retired: no autoscaling, standard and reserve both
at zero (the rules: :mod:`rulebook.retirement`, read by :mod:`.retiring` from the watched
Services' status).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

from kubernetes_asyncio import client

from autoscaler.autoscaling import Autoscaler, KPAStatus
from coldbrew.events import EventRecorder
from coldbrew.events.emitting import HandOvers
from coldbrew.platform_config import PlatformConfig

from ..deployments import deployment_name
from ..kube.accessing import Kube
from .handing import deployment_replicas
from .scale_writing import Name, ScaleWriter
from .viewing import ClusterView, replicas_of

log = logging.getLogger(__name__)


def _activator(key: str, in_path: bool) -> None:
    """The engine's activator callback, a no-op in the cluster.

    Local mode takes the activator out of the request path when a revision has enough
    burst capacity. In the cluster every request passes through a gateway, which keeps
    its activator (queueing, per-pod limits) in the path at all times, so there is
    nothing to switch.
    """


class ClusterAutoscaler:
    """Autoscale the cluster's Revisions while ``is_leader()`` (see the module doc)."""

    def __init__(
        self,
        api_client: client.ApiClient,
        config: PlatformConfig | None = None,
        *,
        is_leader: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.monotonic,
        backoff: float = 0.1,
        events: EventRecorder | None = None,
    ) -> None:
        self.kube = Kube(api_client)
        self.config = config or PlatformConfig()
        self.autoscaler = Autoscaler(
            self.config.autoscaler,
            scale=self._decided,
            ready_pods=self.ready_pods,
            activator=_activator,
            clock=clock,
        )
        self.writer = ScaleWriter(self.kube, may_write=is_leader, backoff=backoff, events=events)
        self._hand_overs = None if events is None else HandOvers(events)
        self.view = ClusterView(
            self.kube,
            self.config,
            on_revision=self._refresh,
            on_forget=self._forget,
            on_deployment=self._on_deployment,
            on_service=self._refresh,
        )
        self.desired: dict[str, int] = {}  # the engine's decisions (standard pods)
        self.leading = False

    @property
    def synced(self) -> asyncio.Event:
        return self.view.synced

    @property
    def deployments(self) -> dict[Name, dict[str, Any]]:
        return self.view.deployments

    # -- leadership -----------------------------------------------------------------------

    def start_leading(self) -> None:
        """Autoscale every known revision afresh and apply its decision."""
        self.leading = True
        for key in sorted(self.view.revisions):
            self._refresh(key)

    def stop_leading(self) -> None:
        """Autoscale nothing; write nothing."""
        self.leading = False
        watched = self.autoscaler.keys()
        for key in watched:
            self.autoscaler.unwatch(key)
        self.desired.clear()

    # -- the engine's callbacks -----------------------------------------------------------

    def ready_pods(self, key: str) -> int:
        """Ready pods of the revision's standard Deployment (the reserve's do not count)."""
        return replicas_of(self.view.standard(key), "readyReplicas")

    def _decided(self, key: str, replicas: int) -> None:
        self.desired[key] = replicas
        self.settle(key)

    # -- deciding and writing -------------------------------------------------------------

    def _refresh(self, key: str, spec_changed: bool = False) -> None:
        """Autoscale ``key`` if wanted (with its current spec), else retire it."""
        if not self.leading:
            return
        watched = self.autoscaler.keys()
        if not self.view.wanted(key):
            if key in watched:
                self.autoscaler.unwatch(key)
            self.desired.pop(key, None)
            self.settle(key)
            return
        spec = self.view.revisions[key].spec
        if key in watched:
            if spec_changed:
                self.autoscaler.watch(key, spec)
            self.settle(key)  # its routes may have changed: a reserve or not
            return
        if self.view.standard(key) is not None and replicas_of(self.view.standard(key)) == 0:
            spec = dataclasses.replace(spec, initial_scale=0)  # at zero: stay there
        self.autoscaler.watch(key, spec)

    def settle(self, key: str) -> None:
        """Write what the hand-over rules make of the decision for ``key`` now."""
        if not self.leading:
            return
        retired = key in self.view.revisions and not self.view.wanted(key)
        replicas = 0 if retired else self.desired.get(key)
        standard = self.view.standard(key)
        if replicas is None or standard is None:
            return  # no decision, or no Deployment yet (its creation is an event)
        namespace, revision = key.split("/", 1)
        standard_name, reserve_name = deployment_name(revision), deployment_name(revision, True)
        reserve = self.view.reserve(key)
        if retired:
            out_standard, out_reserve = 0, 0
        else:
            record = self.view.revisions.get(key)
            out = deployment_replicas(
                replicas,
                standard,
                reserve,
                routed=self.view.routed(key),
                reserve_count=record.reserve_count if record else 1,
            )
            out_standard, out_reserve = out.standard, out.reserve
        self.writer.want(namespace, standard_name, out_standard)
        if reserve is not None:
            self.writer.want(namespace, reserve_name, out_reserve)
        if self._hand_overs is not None:  # the gateways route to standard pods, else the reserve
            ready, spare = (
                replicas_of(standard, "readyReplicas"),
                replicas_of(reserve, "readyReplicas"),
            )
            self._hand_overs.observe(namespace, revision, on_reserve=ready == 0 and spare > 0,
                                     pods=ready or spare)  # fmt: skip

    def _forget(self, key: str) -> None:
        self.desired.pop(key, None)
        self.autoscaler.unwatch(key)

    def _on_deployment(self, key: str, name: Name, replicas: int | None) -> None:
        self.writer.seen(*name, replicas)
        if key:
            self.settle(key)

    # -- running --------------------------------------------------------------------------

    def autoscaled(self) -> list[str]:
        """The keys the engine autoscales now (none on a follower)."""
        return self.autoscaler.keys()

    def status(self, key: str) -> KPAStatus:
        return self.autoscaler.status(key)

    async def run(self) -> None:
        """Watch, decide every tick and write, until cancelled."""
        watching = asyncio.create_task(self.view.run())
        try:
            await self.view.synced.wait()
            await self.autoscaler.run()
        finally:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
            await self.writer.close()

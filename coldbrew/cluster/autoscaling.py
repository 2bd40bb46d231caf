"""The KPA against a cluster: Revisions in, ``/scale`` writes of their Deployments out.

:class:`ClusterAutoscaler` keeps two watched views (resumable, see :mod:`.watching`):
the Revisions, each autoscaled by the engine :class:`autoscaler.autoscaling.Autoscaler`
under the key ``"{namespace}/{revision}"`` with the spec its template and the platform
config give (:func:`coldbrew.scaling.decider_spec`), and the Deployments the controller
made (``serving.knative.dev/service`` label), which say how many standard pods are ready
(the KPA's ``ready_pods``) and where the reserve stands.

The engine's decisions (``scale(key, n)``: ``n`` standard pods) go through the reserve
hand-over (:func:`.handing.hand_over`), re-evaluated on every decision and every Deployment
event, to :class:`.scaling.ScaleWriter`, which patches ``{rev}-deployment`` and
``{rev}-deployment-reserve``'s ``/scale``.

Only the leader scales. A follower keeps its views warm but autoscales nothing (it gets no
metrics: the gateways stream to the ready replica, the leader). On becoming leader, every
known revision is autoscaled afresh and its decision applied: the engine starts a revision
from its ready standard pods (or its initial scale when it has none and is new), and a
revision whose standard Deployment already sits at zero replicas stays at zero (on its
reserve, or scaled to zero) until traffic says otherwise, so a fail-over wakes nothing up.
On losing the lead, every revision is dropped from the engine and nothing more is written.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes_asyncio import client

from autoscaler.autoscaling import Autoscaler, KPAStatus
from autoscaler.spec import DeciderSpec
from coldbrew.config import PlatformConfig
from coldbrew.scaling import decider_spec

from .accessing import DEPLOYMENTS, REVISIONS, Kube
from .deployments import REVISION_LABEL, SERVICE_LABEL, deployment_name, reserve_instance
from .handing import hand_over
from .revisioning import template_of
from .scaling import Name, ScaleWriter
from .watching import Watcher

log = logging.getLogger(__name__)


def _activator(key: str, in_path: bool) -> None:
    """The engine's activator callback, a no-op in the cluster.

    Local mode takes the activator out of the request path when a revision has enough
    burst capacity. In the cluster every request passes through a gateway, which keeps
    its activator (queueing, per-pod limits) in the path at all times, so there is
    nothing to switch.
    """


@dataclass(slots=True)
class _Revision:
    spec: DeciderSpec
    reserve_count: int  # reserve replicas when it hands over (if it has a reserve)


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace", "default"), meta["name"]


def _replicas(deployment: dict[str, Any] | None, field: str) -> int:
    if deployment is None:
        return 0
    part = deployment.get("spec" if field == "replicas" else "status") or {}
    return int(part.get(field) or 0)


class ClusterAutoscaler:
    """Autoscale every Revision of the cluster while ``is_leader()`` (see the module doc)."""

    def __init__(
        self,
        api_client: client.ApiClient,
        config: PlatformConfig | None = None,
        *,
        is_leader: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.monotonic,
        backoff: float = 0.1,
    ) -> None:
        self.kube = Kube(api_client)
        self.config = config or PlatformConfig()
        self.is_leader = is_leader
        self.autoscaler = Autoscaler(
            self.config.autoscaler,
            scale=self._decided,
            ready_pods=self.ready_pods,
            activator=_activator,
            clock=clock,
        )
        self.writer = ScaleWriter(self.kube, may_write=is_leader, backoff=backoff)
        self.revisions: dict[str, _Revision] = {}
        self.deployments: dict[Name, dict[str, Any]] = {}
        self.desired: dict[str, int] = {}  # the engine's decisions (standard pods)
        self.leading = False
        self.deployment_watcher = Watcher(
            self.kube,
            DEPLOYMENTS,
            self._on_deployment,
            selector=SERVICE_LABEL,
            on_list=self._on_deployment_list,
        )
        self.revision_watcher = Watcher(
            self.kube, REVISIONS, self._on_revision, on_list=self._on_revision_list
        )
        self.synced = asyncio.Event()  # both views listed once

    # -- leadership -----------------------------------------------------------------------

    def start_leading(self) -> None:
        """Autoscale every known revision afresh and apply its decision."""
        self.leading = True
        for key in sorted(self.revisions):
            self._watch(key)

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
        namespace, revision = key.split("/", 1)
        standard = self.deployments.get((namespace, deployment_name(revision)))
        return _replicas(standard, "readyReplicas")

    def _decided(self, key: str, replicas: int) -> None:
        self.desired[key] = replicas
        self.settle(key)

    def settle(self, key: str) -> None:
        """Write what the hand-over rules make of the decision for ``key`` now."""
        replicas = self.desired.get(key)
        if not self.leading or replicas is None:
            return
        namespace, revision = key.split("/", 1)
        standard_name, reserve_name = deployment_name(revision), deployment_name(revision, True)
        standard = self.deployments.get((namespace, standard_name))
        if standard is None:
            return  # not made yet: its creation is an event, and we settle then
        reserve = self.deployments.get((namespace, reserve_name))
        info = self.revisions.get(key)
        out = hand_over(
            replicas,
            standard_ready=_replicas(standard, "readyReplicas"),
            reserve_ready=_replicas(reserve, "readyReplicas"),
            has_reserve=reserve is not None,
            reserve_count=info.reserve_count if info else 1,
            standard_spec=_replicas(standard, "replicas"),
            reserve_spec=_replicas(reserve, "replicas"),
        )
        self.writer.want(namespace, standard_name, out.standard)
        if reserve is not None:
            self.writer.want(namespace, reserve_name, out.reserve)

    # -- revisions ------------------------------------------------------------------------

    def _watch(self, key: str) -> None:
        info = self.revisions[key]
        spec = info.spec
        watched = self.autoscaler.keys()
        if key not in watched:
            namespace, revision = key.split("/", 1)
            standard = self.deployments.get((namespace, deployment_name(revision)))
            if standard is not None and _replicas(standard, "replicas") == 0:
                spec = dataclasses.replace(spec, initial_scale=0)  # at zero: stay there
        self.autoscaler.watch(key, spec)

    def _on_revision(self, kind: str, obj: dict[str, Any]) -> None:
        namespace, name = _key(obj)
        key = f"{namespace}/{name}"
        if kind == "DELETED":
            self._forget(key)
            return
        service = ((obj.get("metadata") or {}).get("labels") or {}).get(SERVICE_LABEL)
        if not service:
            return
        try:
            template = template_of(obj, service)
        except Exception as exc:
            log.warning("revision %s: cannot read its template (%s); not autoscaling it", key, exc)
            return
        platform = self.config
        spec = decider_spec(platform.autoscaler, template)
        reserve = reserve_instance(template, platform.reserve, platform.autoscaler)
        old = self.revisions.get(key)
        self.revisions[key] = _Revision(spec, reserve[2] if reserve else platform.reserve.replicas)
        if self.leading and (old is None or old.spec != spec):
            self._watch(key)

    def _on_revision_list(self, items: list[dict[str, Any]]) -> None:
        listed = {"{}/{}".format(*_key(item)) for item in items}
        for key in set(self.revisions) - listed:
            self._forget(key)
        for item in items:
            self._on_revision("LISTED", item)

    def _forget(self, key: str) -> None:
        self.revisions.pop(key, None)
        self.desired.pop(key, None)
        self.autoscaler.unwatch(key)

    # -- deployments ----------------------------------------------------------------------

    def _on_deployment(self, kind: str, obj: dict[str, Any]) -> None:
        name = _key(obj)
        if kind == "DELETED":
            self.deployments.pop(name, None)
            self.writer.seen(*name, None)
        else:
            self.deployments[name] = obj
            self.writer.seen(*name, _replicas(obj, "replicas"))
        revision = ((obj.get("metadata") or {}).get("labels") or {}).get(REVISION_LABEL)
        if revision:
            self.settle(f"{name[0]}/{revision}")

    def _on_deployment_list(self, items: list[dict[str, Any]]) -> None:
        listed = {_key(item): item for item in items}
        for name in set(self.deployments) - set(listed):
            self.writer.seen(*name, None)
        self.deployments = listed
        for name, obj in listed.items():
            self.writer.seen(*name, _replicas(obj, "replicas"))
        for key in list(self.desired):
            self.settle(key)

    # -- running --------------------------------------------------------------------------

    def autoscaled(self) -> list[str]:
        """The keys the engine autoscales now (none on a follower)."""
        return self.autoscaler.keys()

    def status(self, key: str) -> KPAStatus:
        return self.autoscaler.status(key)

    async def run(self) -> None:
        """Watch, decide every tick and write, until cancelled.

        Deployments are listed before Revisions, so a revision is first autoscaled
        knowing its pods.
        """
        tasks = [asyncio.create_task(self.deployment_watcher.run())]
        try:
            await self.deployment_watcher.synced.wait()
            tasks.append(asyncio.create_task(self.revision_watcher.run()))
            await self.revision_watcher.synced.wait()
            self.synced.set()
            await self.autoscaler.run()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.writer.close()

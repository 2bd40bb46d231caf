"""The autoscaler's view of the cluster: Revisions, Services and Deployments, watched.

Three resumable watches (:mod:`..kube.watching`) keep copies of the Deployments the controller
made (``serving.knative.dev/service`` label), the Services (their ``status`` routes) and
a record per Revision: its Service, the KPA spec its template and the platform config give
(:func:`coldbrew.scaling.decider_spec`), its reserve's replica count and whether it was
ever ready. Relists replace the copies whole, so objects deleted while a watch was away
disappear too. Every change calls back with what it concerns, for the autoscaler to act
on; the view itself decides nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autoscaler.spec import DeciderSpec
from coldbrew.platform_config import PlatformConfig
from coldbrew.reserve_choice import revision_reserve
from coldbrew.scaling import decider_spec

from ..deployments import REVISION_LABEL, SERVICE_LABEL, deployment_name
from ..kube.accessing import DEPLOYMENTS, REVISIONS, SERVICES, Kube
from ..kube.watching import Watcher
from ..revisioning import service_of, template_of, was_ready
from .retiring import routed, wanted

log = logging.getLogger(__name__)

Name = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True, slots=True)
class RevisionRecord:
    service: str
    spec: DeciderSpec
    reserve_count: int  # reserve replicas when it hands over (if it has a reserve)
    ready_once: bool  # its status said Ready at some point


def name_of(obj: dict[str, Any]) -> Name:
    meta = obj.get("metadata") or {}
    return meta.get("namespace", "default"), meta["name"]


def replicas_of(deployment: dict[str, Any] | None, field: str = "replicas") -> int:
    """``spec.replicas`` (``field="replicas"``) or a ``status`` count; 0 without one."""
    if deployment is None:
        return 0
    part = deployment.get("spec" if field == "replicas" else "status") or {}
    return int(part.get(field) or 0)


def _split(key: str) -> Name:
    namespace, revision = key.split("/", 1)
    return namespace, revision


class ClusterView:
    """Watched copies of the cluster's Revisions, Services and Deployments."""

    def __init__(
        self,
        kube: Kube,
        config: PlatformConfig,
        *,
        on_revision: Callable[[str, bool], None],  # (key, its record or spec changed)
        on_forget: Callable[[str], None],  # the Revision is gone
        on_deployment: Callable[[str, Name, int | None], None],  # (key, name, spec.replicas)
        on_service: Callable[[str], None],  # a revision whose Service changed
    ) -> None:
        self.config = config
        self.on_revision = on_revision
        self.on_forget = on_forget
        self.on_deployment = on_deployment
        self.on_service = on_service
        self.revisions: dict[str, RevisionRecord] = {}
        self.deployments: dict[Name, dict[str, Any]] = {}
        self.services: dict[Name, dict[str, Any]] = {}
        self.watchers = [
            Watcher(
                kube,
                DEPLOYMENTS,
                self._on_deployment,
                selector=SERVICE_LABEL,
                on_list=self._on_deployment_list,
            ),
            Watcher(kube, SERVICES, self._on_service, on_list=self._on_service_list),
            Watcher(kube, REVISIONS, self._on_revision, on_list=self._on_revision_list),
        ]
        self.synced = asyncio.Event()  # every view listed once

    async def run(self) -> None:
        """Watch until cancelled; Deployments and Services are listed before Revisions."""
        tasks: list[asyncio.Task[None]] = []
        try:
            for watcher in self.watchers:
                tasks.append(asyncio.create_task(watcher.run()))
                await watcher.synced.wait()
            self.synced.set()
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- queries --------------------------------------------------------------------------

    def standard(self, key: str) -> dict[str, Any] | None:
        namespace, revision = _split(key)
        return self.deployments.get((namespace, deployment_name(revision)))

    def reserve(self, key: str) -> dict[str, Any] | None:
        namespace, revision = _split(key)
        return self.deployments.get((namespace, deployment_name(revision, True)))

    def service_status(self, key: str) -> dict[str, Any] | None:
        record = self.revisions.get(key)
        if record is None:
            return None
        service = self.services.get((_split(key)[0], record.service))
        return None if service is None else service.get("status") or {}

    def routed(self, key: str) -> bool:
        return routed(self.service_status(key), _split(key)[1])

    def wanted(self, key: str) -> bool:
        record = self.revisions.get(key)
        if record is None:
            return False
        return wanted(self.service_status(key), _split(key)[1], record.ready_once)

    # -- revisions ------------------------------------------------------------------------

    def _on_revision(self, kind: str, obj: dict[str, Any]) -> None:
        namespace, name = name_of(obj)
        key = f"{namespace}/{name}"
        if kind == "DELETED":
            if self.revisions.pop(key, None) is not None:
                self.on_forget(key)
            return
        service = service_of(obj)
        if not service:
            log.warning("revision %s names no Service (label or owner); not autoscaling it", key)
            return
        try:
            template = template_of(obj, service)
        except Exception as exc:
            log.warning("revision %s: cannot read its template (%s); not autoscaling it", key, exc)
            return
        platform = self.config
        reserve = revision_reserve(template.scaling, platform.reserve, platform.autoscaler)
        old = self.revisions.get(key)
        new = RevisionRecord(
            service=service,
            spec=decider_spec(platform.autoscaler, template),
            reserve_count=reserve.replicas if reserve else platform.reserve.replicas,
            ready_once=was_ready(obj) or (old is not None and old.ready_once),
        )
        self.revisions[key] = new
        if old != new:
            self.on_revision(key, old is not None and old.spec != new.spec)

    def _on_revision_list(self, items: list[dict[str, Any]]) -> None:
        listed = {"{}/{}".format(*name_of(item)) for item in items}
        for key in set(self.revisions) - listed:
            del self.revisions[key]
            self.on_forget(key)
        for item in items:
            self._on_revision("LISTED", item)

    # -- services -------------------------------------------------------------------------

    def _on_service(self, kind: str, obj: dict[str, Any]) -> None:
        name = name_of(obj)
        if kind == "DELETED":
            self.services.pop(name, None)
        else:
            self.services[name] = obj
        self._service_changed(name)

    def _on_service_list(self, items: list[dict[str, Any]]) -> None:
        old = set(self.services)
        self.services = {name_of(item): item for item in items}
        for name in old | set(self.services):
            self._service_changed(name)

    def _service_changed(self, name: Name) -> None:
        namespace, service = name
        for key, record in list(self.revisions.items()):
            if record.service == service and _split(key)[0] == namespace:
                self.on_service(key)

    # -- deployments ----------------------------------------------------------------------

    def _on_deployment(self, kind: str, obj: dict[str, Any]) -> None:
        name = name_of(obj)
        if kind == "DELETED":
            self.deployments.pop(name, None)
        else:
            self.deployments[name] = obj
        self._deployment_changed(name, obj, None if kind == "DELETED" else replicas_of(obj))

    def _on_deployment_list(self, items: list[dict[str, Any]]) -> None:
        old = self.deployments
        self.deployments = {name_of(item): item for item in items}
        for name in set(old) - set(self.deployments):
            self._deployment_changed(name, old[name], None)
        for name, obj in self.deployments.items():
            self._deployment_changed(name, obj, replicas_of(obj))

    def _deployment_changed(self, name: Name, obj: dict[str, Any], replicas: int | None) -> None:
        revision = ((obj.get("metadata") or {}).get("labels") or {}).get(REVISION_LABEL) or ""
        self.on_deployment(f"{name[0]}/{revision}" if revision else "", name, replicas)

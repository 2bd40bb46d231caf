"""The cluster controller's run loop: watches in, one reconcile per dirty Service out.

Services and the Deployments the controller made are watched in all namespaces
(resumable, see :mod:`..kube.watching`). Any event marks its Service dirty (a
Deployment by its ``serving.knative.dev/service`` label); a single worker takes
dirty keys one at a time and runs :func:`.reconciling.reconcile`, which recomputes
the Service's whole world. DomainMappings are watched too: a mapping's event, or one
of its Service or of another mapping of the same host, marks it for
:func:`.mapping.reconcile_mapping` (its status). A key marked again while being reconciled is
reconciled again afterwards; a failed reconcile is retried with backoff. A Service in a
gradual rollout is marked again when its next step is due (one timer per Service).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kubernetes_asyncio import client

from ..deployments import SERVICE_LABEL
from ..kube.accessing import DEPLOYMENTS, DOMAIN_MAPPINGS, SERVICES, Kube, connect
from ..kube.eventing import KubeRecorder
from ..kube.watching import Watcher
from .mapping import reconcile_mapping
from .reconciling import Settings, reconcile

MAPPING = "domainmapping"  # the kind part of a dirty mapping's key

log = logging.getLogger(__name__)


class ClusterController:
    """Level-triggered controller of Knative Services against one API server."""

    def __init__(self, api_client: client.ApiClient, settings: Settings | None = None) -> None:
        self.kube = Kube(api_client)
        self.settings = settings or Settings()
        self.events = (
            KubeRecorder(self.kube, "coldbrew-controller") if self.settings.record_events else None
        )
        self.watchers = [
            Watcher(self.kube, SERVICES, self._on_service),
            Watcher(self.kube, DEPLOYMENTS, self._on_deployment, selector=SERVICE_LABEL),
            Watcher(self.kube, DOMAIN_MAPPINGS, self._on_mapping),
        ]
        # (kind, namespace, name): kind "" is a Service, MAPPING a DomainMapping.
        self._dirty: set[tuple[str, str, str]] = set()
        self._mappings: dict[tuple[str, str], tuple[str, str]] = {}  # (ns, host) -> (ns, svc)
        self._wake = asyncio.Event()
        for watcher in self.watchers:
            watcher.on_synced = self._wake.set
        self._idle = asyncio.Event()
        self._failures: dict[tuple[str, str, str], int] = {}
        self._steps: dict[tuple[str, str], asyncio.TimerHandle] = {}  # rollout wake-ups
        self.reconciles = 0

    def mark(self, namespace: str, name: str, kind: str = "") -> None:
        self._dirty.add((kind, namespace, name))
        self._idle.clear()
        self._wake.set()

    def _on_service(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        namespace, name = meta.get("namespace", "default"), meta["name"]
        self.mark(namespace, name)
        for (ns, host), target in self._mappings.items():
            if target == (namespace, name):
                self.mark(ns, host, MAPPING)

    def _on_mapping(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        namespace, host = meta.get("namespace", "default"), meta["name"]
        ref = (obj.get("spec") or {}).get("ref") or {}
        if kind == "DELETED":
            self._mappings.pop((namespace, host), None)
        else:
            self._mappings[(namespace, host)] = (namespace, str(ref.get("name")))
        self.mark(namespace, host, MAPPING)
        for ns, other in self._mappings:  # the other claims of the host may change
            if other == host and ns != namespace:
                self.mark(ns, other, MAPPING)

    def _on_deployment(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        service = (meta.get("labels") or {}).get(SERVICE_LABEL)
        if service:
            self.mark(meta.get("namespace", "default"), service)

    async def wait_idle(self) -> None:
        """Until every watch has listed and nothing is dirty or being reconciled."""
        for watcher in self.watchers:
            await watcher.synced.wait()
        await self._idle.wait()

    async def run(self) -> None:
        tasks = [asyncio.create_task(w.run()) for w in self.watchers]
        try:
            await self._work()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.events is not None:
                await self.events.close()  # an event still being written is dropped

    async def _work(self) -> None:
        while True:
            if not self._dirty:
                if all(w.synced.is_set() for w in self.watchers):
                    self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            key = min(self._dirty)
            self._dirty.discard(key)
            kind, namespace, name = key
            try:
                self.reconciles += 1
                if kind == MAPPING:
                    await reconcile_mapping(self.kube, namespace, name, self.settings)
                else:
                    due = await reconcile(self.kube, namespace, name, self.settings, self.events)
                    self._step_at(namespace, name, due)
                self._failures.pop(key, None)
            except asyncio.CancelledError:
                raise
            except Exception:
                count = self._failures[key] = self._failures.get(key, 0) + 1
                delay = min(0.1 * 2**count, 30.0)
                log.exception(
                    "reconcile of %s %s/%s failed; retrying in %.1fs", kind, namespace, name, delay
                )
                asyncio.get_running_loop().call_later(delay, self.mark, namespace, name, kind)

    def _step_at(self, namespace: str, name: str, delay: float | None) -> None:
        timer = self._steps.pop((namespace, name), None)
        if timer is not None:
            timer.cancel()
        if delay is not None:
            loop = asyncio.get_running_loop()
            self._steps[(namespace, name)] = loop.call_later(delay, self.mark, namespace, name)


async def run_controller(
    *,
    api_client: client.ApiClient | None = None,
    settings: Settings | None = None,
    kubeconfig: str | None = None,
    lease_namespace: str | None = None,
    identity: str = "",
) -> None:
    """Run the cluster controller until cancelled.

    With ``lease_namespace`` it reconciles only while it holds the controller Lease there
    (see :mod:`.electing`). Without ``api_client``: ``kubeconfig`` if given, else the
    in-cluster config, else ``~/.kube/config``.
    """
    if api_client is None:
        async with await connect(kubeconfig) as owned:
            await run_controller(
                api_client=owned,
                settings=settings,
                lease_namespace=lease_namespace,
                identity=identity,
            )
        return
    if lease_namespace is None:
        await ClusterController(api_client, settings).run()
        return
    from .electing import ControllerReplica

    replica = ControllerReplica(
        api_client, settings, lease_namespace=lease_namespace, identity=identity
    )
    await replica.run()

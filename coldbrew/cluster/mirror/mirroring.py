"""Mirror the cluster into one gateway: routes, revision settings and ready pod IPs.

A cluster gateway watches three things on the API server (resumable watches, see
:mod:`..kube.watching`) and drives its :class:`~gateway.Gateway` through the same public calls
the local control plane uses:

* Services: ``status.url``/``status.traffic`` become the host table (a ``set_routes``
  snapshot, then only the hosts that changed: gateway/route_deltas.py);
* DomainMappings: their hosts get their Service's main traffic (the first claim of a
  host wins; its ``http-protocol`` annotation may redirect it);
* Revisions: timeouts and container concurrency (``set_revision`` settings);
* Pods labelled with a revision: ready, not terminating pods become the revision's
  endpoints, addressed by pod IP. Requests held for a revision with no ready pod are
  released the moment a pod's Ready condition turns True.

A revision with ready standard pods is served by them; with none but a ready reserve
pod, by the reserve, with ``wake_on_request`` so every arrival pokes the autoscaler,
which brings standard pods back (the reserve keeps answering until one is ready).

Level-triggered: each change recomputes the affected revision or the route table and
pushes it only if it differs from what the gateway has. When the API server is away
the watches retry and the gateway keeps serving on its last state.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from gateway.route_deltas import RoutePublisher
from gateway.settings import GatewayControl, RevisionSettings
from rulebook.reserve import traffic_endpoints

from ..deployments import REVISION_LABEL
from ..kube.accessing import DOMAIN_MAPPINGS, PODS, REVISIONS, SECRETS, SERVICES, Kube
from ..kube.watching import Watcher
from .certificates import MappingCertificates
from .reading import (
    Address,
    Mapping,
    PodEndpoint,
    Routes,
    Unreadable,
    domain_mapping,
    mapped_routes,
    pod_endpoint,
    revision_settings,
    service_hosts,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


def _key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name')}"


def _read(parse: Callable[[dict[str, Any]], T], obj: dict[str, Any]) -> T | None:
    """``parse(obj)``, or None (logged) for an object the gateway cannot use."""
    try:
        return parse(obj)
    except Unreadable as exc:
        log.warning("ignoring %s %s: %s", obj.get("kind", "object"), _key(obj), exc)
        return None


def _relist(
    store: dict[str, T], items: list[dict[str, Any]], parse: Callable[[dict[str, Any]], T]
) -> set[str]:
    """A (re-)list replaces ``store``: objects gone meanwhile leave it, an unreadable one
    keeps its last good value. Returns every key that was or is in it."""
    old = dict(store)
    store.clear()
    for obj in items:
        key = _key(obj)
        value = _read(parse, obj)
        if value is None:
            value = old.get(key)
        if value is not None:
            store[key] = value
    return set(old) | set(store)


class ClusterMirror:
    """Keeps one gateway in step with the cluster; :attr:`synced` once all three listed."""

    def __init__(
        self,
        kube: Kube,
        gateway: GatewayControl,
        *,
        drain_timeout: float = 30.0,
        synced: asyncio.Event | None = None,
        tls_dir: Path | None = None,
    ) -> None:
        """``tls_dir``: also watch Secrets and write the DomainMappings' own certificates
        there (:mod:`.certificates`), for a gateway serving HTTPS from that directory."""
        self.gateway = gateway
        self.drain_timeout = drain_timeout
        # service key -> its hosts, and those redirected to https
        self._routes: dict[str, tuple[Routes, frozenset[str]]] = {}
        self._mappings: dict[str, Mapping] = {}  # domain mapping key -> mapping
        self._settings: dict[str, RevisionSettings] = {}  # revision key -> settings
        self._pods: dict[str, dict[str, PodEndpoint]] = {}  # revision key -> pod name -> pod
        self._pushed: dict[str, tuple[Any, ...]] = {}  # revision key -> what the gateway has
        self._published = RoutePublisher(gateway)  # a snapshot, then only what changed
        self._tasks: set[asyncio.Task[Any]] = set()
        self.watchers = [
            Watcher(kube, SERVICES, self._on_service, on_list=self._list_services),
            Watcher(kube, REVISIONS, self._on_revision, on_list=self._list_revisions),
            Watcher(kube, PODS, self._on_pod, on_list=self._list_pods, selector=REVISION_LABEL),
            Watcher(kube, DOMAIN_MAPPINGS, self._on_mapping, on_list=self._list_mappings),
        ]
        self.certificates = MappingCertificates(tls_dir) if tls_dir is not None else None
        if self.certificates is not None:
            certs = self.certificates
            self.watchers.append(
                Watcher(kube, SECRETS, certs.on_secret, on_list=certs.list_secrets)
            )
        self.synced = synced or asyncio.Event()
        for watcher in self.watchers:
            watcher.on_synced = self._maybe_synced

    async def run(self) -> None:
        tasks = [asyncio.create_task(w.run()) for w in self.watchers]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _maybe_synced(self) -> None:
        if not self.synced.is_set() and all(w.synced.is_set() for w in self.watchers):
            self.synced.set()
            hosts = len(self._published.table)
            log.info("gateway in step with the cluster: %d hosts", hosts)

    # -- Services -> routes ---------------------------------------------------------

    def _on_service(self, kind: str, obj: dict[str, Any]) -> None:
        if kind == "DELETED":
            self._routes.pop(_key(obj), None)
        elif (routes := _read(service_hosts, obj)) is not None:
            self._routes[_key(obj)] = routes
        self._publish_routes()

    def _list_services(self, items: list[dict[str, Any]]) -> None:
        _relist(self._routes, items, service_hosts)
        self._publish_routes()

    def _on_mapping(self, kind: str, obj: dict[str, Any]) -> None:
        if kind == "DELETED":
            self._mappings.pop(_key(obj), None)
        elif (mapping := _read(domain_mapping, obj)) is not None:
            self._mappings[_key(obj)] = mapping
        self._publish_routes()

    def _list_mappings(self, items: list[dict[str, Any]]) -> None:
        _relist(self._mappings, items, domain_mapping)
        self._publish_routes()

    def _publish_routes(self) -> None:
        table: Routes = {}
        redirected: set[str] = set()
        for routes, hosts in self._routes.values():
            table.update(routes)
            redirected |= hosts
        mapped, mapped_redirects = mapped_routes(self._mappings.values(), table)
        table.update(mapped)
        redirected |= mapped_redirects
        if self.certificates is not None:
            self.certificates.set_mappings(
                {
                    m.host: f"{m.namespace}/{m.tls_secret}"
                    for m in self._mappings.values()
                    if m.tls_secret and m.host in mapped
                }
            )
        self._published.publish(table, redirected)

    # -- Revisions -> settings ------------------------------------------------------

    def _on_revision(self, kind: str, obj: dict[str, Any]) -> None:
        if kind == "DELETED":
            self._settings.pop(_key(obj), None)
        elif (settings := _read(revision_settings, obj)) is not None:
            self._settings[_key(obj)] = settings
        self._push(_key(obj))

    def _list_revisions(self, items: list[dict[str, Any]]) -> None:
        for key in _relist(self._settings, items, revision_settings):
            self._push(key)

    # -- Pods -> endpoints ----------------------------------------------------------

    def _on_pod(self, kind: str, obj: dict[str, Any]) -> None:
        pod = _read(pod_endpoint, obj)
        if pod is None:
            return
        pods = self._pods.setdefault(pod.key, {})
        if kind == "DELETED":
            pods.pop(pod.name, None)
        else:
            pods[pod.name] = pod
        if not pods:
            del self._pods[pod.key]
        self._push(pod.key)

    def _list_pods(self, items: list[dict[str, Any]]) -> None:
        before = set(self._pods)
        self._pods.clear()
        for obj in items:
            if (pod := _read(pod_endpoint, obj)) is not None:
                self._pods.setdefault(pod.key, {})[pod.name] = pod
        for key in before | set(self._pods):
            self._push(key)

    # -- pushing --------------------------------------------------------------------

    def endpoints(self, key: str) -> tuple[list[Address], bool]:
        """The endpoints the revision is served by, and whether they are reserve pods."""
        pods = self._pods.get(key, {}).values()
        standard = sorted(p.address for p in pods if p.address and not p.reserve)
        reserve = sorted(p.address for p in pods if p.address and p.reserve)
        return traffic_endpoints(standard, reserve)

    def _push(self, key: str) -> None:
        settings = self._settings.get(key)
        old = self._pushed.get(key)
        if settings is None:
            if old is not None:
                del self._pushed[key]
                self.gateway.forget_revision(key)
            return
        endpoints, wake = self.endpoints(key)
        settings = dataclasses.replace(settings, wake_on_request=wake)
        state = (tuple(endpoints), settings)
        if state == old:
            return
        self._pushed[key] = state
        self.gateway.set_revision(key, endpoints, settings)
        for gone in set(old[0] if old else ()) - set(endpoints):
            self._spawn(self.gateway.drain_endpoint(gone, self.drain_timeout))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

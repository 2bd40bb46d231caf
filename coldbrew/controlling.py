"""The controller: applied services in, revisions, pods and routes out.

Level-triggered like a Kubernetes controller: every event (an apply, a
delete, a pod turning ready or failing) marks its service dirty, and one
reconcile pass recomputes that service's whole world from the store and the
runtime. Order matters for "a rollout drops no request": a new revision gets
pods first, the route moves to it only once it is ready, and the old
revision's pods are scaled away only after the route has moved (the runtime
drains each pod through the gateway before stopping it). With a rollout duration the
route moves to the new revision in steps (:mod:`coldbrew.rollouts`, a timer per step).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from autoscaler.autoscaling import Autoscaler
from autoscaler.config import AutoscalerConfig
from autoscaler.pricing import KNOWN_TYPES, PriceTable
from coldbrew.api import (
    ExistingRevision,
    RevisionState,
    RouteResult,
    Service,
    ValidationError,
    parse_service,
    plan,
    resolve_traffic,
    service_status,
)
from coldbrew.api.features import ALL_ALLOWED, KNATIVE_DEFAULTS, Features
from coldbrew.config_objects import ConfigObjects
from coldbrew.costing import Costing
from coldbrew.eventing import ScaleRecorder
from coldbrew.events import EventRecorder, MemoryRecorder
from coldbrew.events import emitting as emit
from coldbrew.events.pods import PodEvents
from coldbrew.mapping import DomainMappings
from coldbrew.network_config import DomainConfig, NetworkConfig
from coldbrew.platform_config import ReserveDefaults
from coldbrew.reserve_choice import revision_reserve
from coldbrew.reserving import ReservePlan, Reserver, reserve_template, revision_key_of
from coldbrew.rollouts import Rollouts
from coldbrew.runtime import PodResources
from coldbrew.scaling import decider_spec, ready_without_pods
from coldbrew.storing import (
    Repository,
    StoredDomainMapping,
    StoredRevision,
    StoredService,
    StoreError,
)
from coldbrew.storing.frozen import JsonManifest, thaw
from coldbrew.translating import pod_template
from coldbrew.warm_starting import DataPlaneState
from gateway.heap import bulk_work
from gateway.route_deltas import RoutePublisher
from gateway.settings import GatewayControl, RevisionSettings
from rulebook.hosts import domain_for, http_option, redirected_hosts, serving_hosts
from rulebook.reserve import reserve_serves
from rulebook.retirement import autoscaled
from rulebook.revision_settings import revision_settings

log = logging.getLogger(__name__)


@dataclass
class ServiceView:
    """What the controller knows of one service beyond its record."""

    service: Service
    # Host table of the last route that was ready: it keeps serving while a
    # newer traffic block cannot be resolved.
    hosts: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    # Its hosts answered with a 301 to https on plain HTTP (http-protocol: Redirected).
    redirected: frozenset[str] = frozenset()
    # Knative-shaped status, recomputed on every reconcile pass.
    status: dict[str, Any] = field(default_factory=dict)

    def routed(self) -> frozenset[str]:
        """Keys of the revisions the programmed route can send traffic to (computed when
        asked: a set kept per Service is 2 MB at 10,000 of them)."""
        return frozenset(key for targets in self.hosts.values() for key, _ in targets)


class Shown(NamedTuple):
    """What a pass computed a Service's status from: shown again, without a pass, when
    only the data plane's readiness changed."""

    rec: StoredService
    states: dict[str, RevisionState]
    route: RouteResult
    domain: str


class Controller:
    def __init__(
        self,
        store: Repository,
        runtime: Any,
        data_plane: GatewayControl,
        *,
        domain: str,
        config: AutoscalerConfig | None = None,
        reserve: ReserveDefaults | None = None,
        prices: PriceTable | None = None,
        features: Features = KNATIVE_DEFAULTS,
        network: NetworkConfig | None = None,
        domains: DomainConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        events: EventRecorder | None = None,
    ) -> None:
        self.store = store
        self.runtime = runtime
        self.events: EventRecorder = events if events is not None else MemoryRecorder()
        self._scaling = ScaleRecorder(runtime, self.events)  # scale() records ScalingReplicaSet
        pulls = getattr(runtime, "kind", "process") != "process"  # containers pull images
        self._pod_events = PodEvents(self.events, containers=pulls)
        self._hand_overs = emit.HandOvers(self.events)
        self._failed: dict[str, tuple[str, str] | None] = {}  # last failure shown, per revision
        self.data_plane = data_plane
        self.domain = domain
        self.network = network or NetworkConfig()
        self.domains = domains or DomainConfig()
        self.config = config or AutoscalerConfig()
        self.reserve = reserve or ReserveDefaults()
        self.features = features
        self.autoscaler = Autoscaler(
            self.config,
            scale=self._scale_revision,
            ready_pods=lambda key: int(self.runtime.revision_state(key).ready),
            activator=self._activator_in_path,
            clock=clock,
        )
        self._in_path: dict[str, bool] = {}
        self.reserver = Reserver(self._scaling)
        self.costing = Costing(runtime, prices or PriceTable())
        self.views: dict[str, ServiceView] = {}
        self._templates: dict[str, Any] = {}
        self._pod_templates: dict[str, Any] = {}
        self._pushed: dict[str, tuple[Any, Any]] = {}  # what set_revision was last given
        self._dirty: set[str] = set()
        # Services whose status shows their route held back (IngressNotConfigured), with
        # what to show again once the data plane has the table (_show).
        self._held: dict[str, Shown] = {}
        self._scheduled: asyncio.Handle | None = None
        self._listeners: list[Callable[[], None]] = []
        self.mappings = DomainMappings(store, self._mappings_changed)
        # The data plane gets a snapshot of the host table, then only what changed.
        self._routes = RoutePublisher(data_plane)
        # While a reconcile pass runs: the services whose hosts changed, published once
        # at its end, with their status inputs (None: publish at once).
        self._rerouted: dict[str, Shown | None] | None = None
        # Whether a certificate for the host is served over HTTPS (set by the platform).
        self.serves_https: Callable[[str], bool] = lambda host: False
        self.configs = ConfigObjects(store, on_change=self._config_changed)
        self.rollouts = Rollouts(store, self.network, self._mark)

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        """Bring back every stored service and start reconciling."""
        services = self.store.services.list()
        with bulk_work(len(services)):  # 10,000 services: no GC passes while parsing them
            for rec in services:
                # accepted when applied: re-read without the gate (flags may have changed)
                svc = parse_service(thaw(rec.manifest), features=ALL_ALLOWED)
                self.views[rec.key] = ServiceView(svc)
                for rev in self.store.revisions_of(rec.namespace, rec.name):
                    if rev.name == rec.latest_created and rev.manifest is rec.manifest:
                        self._templates[rev.key] = svc.template  # the same manifest
                    self._push_endpoints(rev.key)
                self._mark(rec.key)
        for key in [k for k in self._pushed if self.store.revisions.get(k) is None]:
            del self._pushed[key]  # kept from before the restart, gone since
            self.data_plane.forget_revision(key)
        if not services:
            self._publish_routes()  # no pass to wait for: the (empty) table is complete

    def data_plane_state(self) -> DataPlaneState:
        """What the data plane was last given (kept by a clean stop, :mod:`.warm_starting`)."""
        revisions = {key: settings for key, (_, settings) in self._pushed.items()}
        return DataPlaneState(self._routes.table, self._routes.redirected, revisions)

    def restore_data_plane(self, state: DataPlaneState) -> None:
        """Give the data plane the state a clean stop kept, before :meth:`start`: its
        revisions with no endpoints (held by the activator until their pods are up), then
        the route table. The first pass publishes what differs as a delta."""
        for key, kept in state.revisions.items():
            settings = dataclasses.replace(kept, activator_in_path=True, wake_on_request=False)
            self._set_revision(key, [], settings)
        self._routes.seed(state.routes, state.redirected)

    def domain_of(self, service: Service) -> str:
        """The Service's domain (config-domain by its labels; cluster-local's own)."""
        return domain_for(service.labels, self.domains.domains, self.domain)

    def namespaces(self) -> set[str]:
        """The namespaces of the services applied ("default" always)."""
        return {"default"} | {view.service.namespace for view in self.views.values()}

    def custom_hosts(self) -> set[str]:
        """Hosts served outside ``*.{namespace}.{domain}`` (DomainMappings)."""
        return self.mappings.hosts()

    def apply_domain_mapping(self, obj: dict[str, Any]) -> tuple[str, StoredDomainMapping]:
        """Create or configure a DomainMapping (a host claimed elsewhere is refused)."""
        return self.mappings.apply(obj)

    def delete_domain_mapping(self, namespace: str, name: str) -> bool:
        return self.mappings.delete(namespace, name)

    def _mappings_changed(self) -> None:
        self._publish_routes()
        self._notify()

    def cold_starts(self, key: str) -> int:
        """How often the revision's standard pods were scaled up from zero."""
        return self._scaling.cold_starts.get(key, 0)

    def on_routes_synced(self) -> None:
        """The data plane has every route: statuses held back on it can turn Ready."""
        held, self._held = self._held, {}
        if held:
            self._show_all(held)  # only the route's readiness changed: their statuses
            self._notify()

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call listener after every reconcile pass (tests and watchers)."""
        self._listeners.append(listener)

    # -- writes -----------------------------------------------------------

    def apply(self, obj: dict[str, Any]) -> tuple[str, StoredService]:
        """Create or configure a service. Returns (created|configured|unchanged, record)."""
        with self.store.transaction():
            result, rec, done = self._stage(obj, {})
        done()
        return result, rec

    def apply_many(self, objs: list[dict[str, Any]]) -> list[str | ValidationError]:
        """Apply Services in one transaction (one durable write), each in its own savepoint:
        per object its result, or the ValidationError that refused it (and only it).

        :class:`StoreError` if the write fails: then none of them is applied."""
        outcomes: list[str | ValidationError] = []
        staged: dict[str, Service] = {}  # applied in this batch: what "unchanged" compares to
        finish: list[Callable[[], None]] = []
        with self.store.transaction(), bulk_work(len(objs)):
            for obj in objs:
                try:
                    with self.store.transaction():
                        result, _, done = self._stage(obj, staged)
                except ValidationError as exc:
                    outcomes.append(exc)
                    continue
                outcomes.append(result)
                finish.append(done)
        for done in finish:  # only once it is all durable
            done()
        return outcomes

    def _stage(
        self, obj: dict[str, Any], staged: dict[str, Service]
    ) -> tuple[str, StoredService, Callable[[], None]]:
        """Write one Service's records (inside a transaction); returns its result, its
        record and what to do once the transaction is durable (views, events, reconcile)."""
        svc = parse_service(obj, instance_types=KNOWN_TYPES, features=self.features)
        try:
            http_option(svc.annotations)
        except ValueError as exc:
            raise ValidationError("metadata.annotations", str(exc)) from None
        key = f"{svc.namespace}/{svc.name}"
        rec = self.store.services.get(key)
        known_svc = staged.get(key) or (self.views[key].service if key in self.views else None)
        if rec is not None and known_svc == svc:
            return "unchanged", rec, lambda: None
        existing = self.store.revisions_of(svc.namespace, svc.name)
        known = [
            ExistingRevision(r.name, r.generation, r.template_hash, r.created) for r in existing
        ]
        decision = plan(
            svc,
            known,
            latest=rec.latest_created if rec else None,
            generation_floor=rec.revision_counter if rec else 0,
        )
        now = time.time()
        obj = JsonManifest.of(obj)  # once: the Service's record and its new revision's share it
        result = "configured"
        if rec is None:
            result = "created"
            rec = StoredService(svc.namespace, svc.name, obj, 0, str(uuid.uuid4()), now)
        counter = rec.revision_counter
        if decision.is_new:
            counter = max(counter, decision.generation)
            revision = StoredRevision(
                namespace=svc.namespace,
                name=decision.name,
                service=svc.name,
                generation=decision.generation,
                template_hash=decision.template_hash,
                manifest=obj,
                uid=str(uuid.uuid4()),
                created=now,
            )
            self.store.revisions.put(revision)
            self._templates[revision.key] = svc.template  # its manifest is obj: parsed once
        rec = dataclasses.replace(
            rec,
            manifest=obj,
            generation=rec.generation + 1,
            latest_created=decision.name,
            revision_counter=counter,
        )
        self.store.services.put(rec)
        staged[key] = svc
        uid, new_revision = rec.uid, decision.name if decision.is_new else None

        def done() -> None:
            view = self.views.get(key)
            if view is None:
                self.views[key] = ServiceView(svc)
            else:
                view.service = svc
            created = result == "created"
            emit.service_applied(
                self.events,
                svc.namespace,
                svc.name,
                uid,
                created=created,
                new_revision=new_revision,
            )
            self._mark(key)

        return result, rec, done

    def delete(self, namespace: str, name: str) -> bool:
        key = f"{namespace}/{name}"
        revisions = self.store.revisions_of(namespace, name)
        with self.store.transaction():
            if not self.store.services.delete(key):
                return False
            for rev in revisions:
                self.store.revisions.delete(rev.key)
        self.views.pop(key, None)
        self._held.pop(key, None)
        self.rollouts.forget(key)
        self._publish_routes()
        for rev in revisions:
            self._forget(rev.key)
        self._notify()
        return True

    def delete_revisions(self, keys: list[str]) -> None:
        """Delete unrouted revisions (revision GC): their records, pods and settings."""
        with self.store.transaction():
            for key in keys:
                self.store.revisions.delete(key)
        for key in keys:
            self._forget(key)
        if keys:
            self._notify()

    def _forget(self, key: str) -> None:
        self._retire(key)
        self.costing.forget(key)
        self._templates.pop(key, None)
        self._pod_templates.pop(key, None)
        self._failed.pop(key, None)
        self._pushed.pop(key, None)
        self.data_plane.forget_revision(key)

    def _left_route(self, keys: set[str]) -> None:
        """Stamp when the route stopped referencing these revisions (GC's last active)."""
        now = time.time()
        with self.store.transaction():
            for key in keys:
                rev = self.store.revisions.get(key)
                if rev is not None:
                    self.store.revisions.put(dataclasses.replace(rev, last_active=now))

    # -- events -----------------------------------------------------------

    def _config_changed(self, namespace: str) -> None:
        """A ConfigMap/Secret was applied or deleted: pods waiting on it retry, files follow."""
        changed = getattr(self.runtime, "config_changed", None)
        if changed is not None:
            changed(namespace)
        for key, view in self.views.items():
            if view.service.namespace == namespace:
                self._mark(key)

    def on_pods_changed(self, replica_set_key: str) -> None:
        """Runtime callback: a pod of this revision (standard or reserve) changed state."""
        key = revision_key_of(replica_set_key)
        pods = self.runtime.pods_of(replica_set_key)
        self._pod_events.observe(replica_set_key, pods)  # also a deleted revision's: Killing
        rev = self.store.revisions.get(key)
        if rev is None:
            return
        if not self.runtime.closed:  # shutting down: no hand-over
            self.reserver.settle(key)
        self.costing.sync(key)
        self._push_endpoints(key)
        self._mark(f"{rev.namespace}/{rev.service}")

    def _push_endpoints(self, key: str) -> None:
        rev = self.store.revisions.get(key)
        if rev is None:
            raise KeyError(key)
        tmpl = self.template_of(rev)
        endpoints, on_reserve = self.reserver.endpoints(key), self.reserver.on_reserve(key)
        settings = revision_settings(
            tmpl, activator_in_path=self._in_path.get(key, True), wake_on_request=on_reserve
        )
        self._set_revision(key, endpoints, settings)
        self._hand_overs.observe(
            rev.namespace, rev.name, on_reserve=on_reserve, pods=len(endpoints)
        )

    def _set_revision(
        self, key: str, endpoints: list[tuple[str, int]], settings: RevisionSettings
    ) -> None:
        """Give the data plane a revision's endpoints and settings, unless it has them."""
        if self._pushed.get(key) != (endpoints, settings):
            self._pushed[key] = (endpoints, settings)
            self.data_plane.set_revision(key, endpoints, settings)

    # -- autoscaler callbacks ---------------------------------------------

    def _scale_revision(self, key: str, replicas: int) -> None:
        rev = self.store.revisions.get(key)
        if rev is None:
            return
        plan = self._reserve_plan(rev)
        if replicas == 0 and plan is None and not self.reserver.knows(key):
            return  # nothing ran, nothing to keep warm: no pod template, no replica set
        self.reserver.scale(self._pod_template(rev), replicas, plan)

    def _activator_in_path(self, key: str, in_path: bool) -> None:
        self._in_path[key] = in_path
        if self.store.revisions.get(key) is not None:
            self._push_endpoints(key)

    def _reserve_plan(self, rev: StoredRevision) -> ReservePlan | None:
        """The revision's reserve, while it serves (:mod:`rulebook.reserve`)."""
        reserve = revision_reserve(self.template_of(rev).scaling, self.reserve, self.config)
        view = self.views.get(f"{rev.namespace}/{rev.service}")
        routed = view is not None and rev.key in view.routed()
        if reserve is None or not reserve_serves(configured=True, routed=routed):
            return None
        instance = reserve.instance
        template = reserve_template(
            self._pod_template(rev),
            instance_type=instance.name,
            cpu=instance.cpu,
            memory_gib=instance.memory_gib,
            use_specs=reserve.use_specs,
            resources=PodResources(
                cpu=instance.cpu, memory=instance.memory_gib * 2**30, instance_type=instance.name
            ),
        )
        return ReservePlan(template, reserve.replicas)

    def _pod_template(self, rev: StoredRevision) -> Any:
        pod_tmpl = self._pod_templates.get(rev.key)
        if pod_tmpl is None:
            pod_tmpl = self._pod_templates[rev.key] = pod_template(rev, self.template_of(rev))
        return pod_tmpl

    def _mark(self, service_key: str) -> None:
        self._dirty.add(service_key)
        if self._scheduled is None:
            self._scheduled = asyncio.get_running_loop().call_soon(self._run)

    def _run(self) -> None:
        """One pass over the dirty services: one durable write and one route table for all
        of them (each service's writes are a savepoint of the pass's transaction)."""
        self._scheduled = None
        dirty, self._dirty = self._dirty, set()
        self._rerouted = {}
        try:
            with self.store.transaction(), bulk_work(len(dirty)):
                self._reconcile_all(dirty)
        except StoreError:  # not saved: the next pass that marks them writes it again
            log.exception("saving the reconcile pass of %d services failed", len(dirty))
        finally:
            rerouted, self._rerouted = self._rerouted, None
        if rerouted:
            # One table (one delta) for the whole pass, not one per service: bringing
            # back 10,000 services stays linear. The pass is synchronous, so nothing saw
            # the statuses computed before this; where the data plane has not applied
            # the table yet, those services are shown again held back (IngressNotConfigured).
            self._publish_routes()
            if not self.data_plane.routes_synced():
                self._show_all(rerouted)  # their statuses again, held back (not a pass)
        self._notify()

    def _reconcile_all(self, keys: set[str]) -> None:
        for key in sorted(keys):
            try:
                self.reconcile(key)
            except Exception:  # one broken service must not stop the others
                log.exception("reconcile of %s failed", key)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    # -- reconcile --------------------------------------------------------

    def template_of(self, rev: StoredRevision) -> Any:
        tmpl = self._templates.get(rev.key)
        if tmpl is None:
            tmpl = parse_service(thaw(rev.manifest), features=ALL_ALLOWED).template  # accepted
            self._templates[rev.key] = tmpl
        return tmpl

    def revision_states(self, rec: StoredService) -> dict[str, RevisionState]:
        states: dict[str, RevisionState] = {}
        for rev in self.store.revisions_of(rec.namespace, rec.name):
            pods = self.runtime.revision_state(rev.key)
            states[rev.name] = RevisionState(ready=rev.ever_ready, failure=pods.failure)
            if pods.failure != self._failed.get(rev.key):
                self._failed[rev.key] = pods.failure
                if pods.failure is not None:
                    emit.revision_failed(self.events, rev.namespace, rev.name, *pods.failure)
        return states

    def _became_ready(self, rev: StoredRevision) -> bool:
        """A pod of it is ready, or it is Ready with none (initial-scale 0, no min)."""
        if self.runtime.revision_state(rev.key).ready > 0:
            return True
        return ready_without_pods(self.config, self.template_of(rev))

    def reconcile(self, key: str) -> None:
        rec = self.store.services.get(key)
        view = self.views.get(key)
        if rec is None or view is None:
            return
        with self.store.transaction():  # saves only if something changed
            for rev in self.store.revisions_of(rec.namespace, rec.name):
                if not rev.ever_ready and self._became_ready(rev):
                    self.store.revisions.put(dataclasses.replace(rev, ever_ready=True))
                    emit.revision_ready(self.events, rev.namespace, rev.name)
            latest = self.store.revisions.get(f"{rec.namespace}/{rec.latest_created}")
            if latest is not None and latest.ever_ready and rec.latest_ready != latest.name:
                rec = dataclasses.replace(rec, latest_ready=latest.name)
                self.store.services.put(rec)
        revisions = self.store.revisions_of(rec.namespace, rec.name)

        states = self.revision_states(rec)
        domain = self.domain_of(view.service)
        route = resolve_traffic(view.service, states, rec.latest_created, rec.latest_ready, domain)
        route = self.rollouts.roll(rec, view.service, route)  # a gradual rollout's split
        if route.ready:
            public = route.gateway_routes()
            svc = view.service
            hosts = serving_hosts(public, route.host, svc.name, svc.namespace)
            option = http_option(svc.annotations, self.network.http_protocol)
            redirected = redirected_hosts(public, option, svc.labels)
            if hosts != view.hosts or redirected != view.redirected:
                before = view.routed()
                view.hosts, view.redirected = hosts, redirected
                if self._rerouted is None:
                    self._publish_routes()
                else:
                    self._rerouted[key] = None  # its status inputs follow
                self._left_route(before - view.routed())
        shown = Shown(rec, states, route, domain)
        if self._rerouted is not None and key in self._rerouted:
            self._rerouted[key] = shown  # shown again once its table is published
        self._show(key, shown)

        routed = view.routed()
        for rev in revisions:
            is_latest = latest is not None and rev.key == latest.key
            if autoscaled(routed=rev.key in routed, latest=is_latest, ever_ready=rev.ever_ready):
                # The KPA owns the replica count of every revision that can get traffic.
                self.autoscaler.watch(rev.key, decider_spec(self.config, self.template_of(rev)))
            else:
                self._retire(rev.key)

    def _show(self, key: str, inputs: Shown) -> None:
        """The Service's status from a pass's inputs, its route held back (not Ready) while
        the data plane has not applied the newest table."""
        view = self.views.get(key)
        if view is None:
            return
        rec, states, route, domain = inputs
        shown = route
        self._held.pop(key, None)
        if route.ready and not self.data_plane.routes_synced():
            self._held[key] = inputs
            # As Knative probes its ingress before RoutesReady: not Ready until every
            # gateway worker has the route.
            shown = dataclasses.replace(
                route,
                ready=False,
                status="Unknown",
                reason="IngressNotConfigured",
                message="Ingress has not yet been reconciled.",
            )
        view.status = service_status(
            view.service,
            generation=rec.generation,
            domain=domain,
            latest_created=rec.latest_created,
            latest_ready=rec.latest_ready,
            revisions=states,
            route=shown,
            now=time.time(),
            previous=view.status,
        )

    def _show_all(self, shown: Mapping[str, Shown | None]) -> None:
        for key in sorted(shown):
            inputs = shown[key]
            if inputs is None:  # its reconcile failed before it got that far
                continue
            try:
                self._show(key, inputs)
            except Exception:  # as _reconcile_all: one must not stop the others
                log.exception("status of %s failed", key)

    def _retire(self, key: str) -> None:
        """No traffic can reach this revision: no autoscaling, no pods."""
        self.autoscaler.unwatch(key)
        self.reserver.retire(key)
        self._in_path.pop(key, None)
        self._hand_overs.forget(*key.split("/", 1))
        pod_tmpl = self._pod_templates.get(key)
        if pod_tmpl is not None:
            self._scaling.scale(pod_tmpl, 0)

    def _publish_routes(self) -> None:
        table: dict[str, list[tuple[str, int]]] = {}
        redirected: set[str] = set()
        for view in self.views.values():
            table.update(view.hosts)
            redirected |= view.redirected
        mapped, mapped_redirects = self.mappings.routes(table, self.network.http_protocol)
        for host, targets in mapped.items():
            table.setdefault(host, targets)  # a Service's own host wins over a mapping
        redirected |= mapped_redirects & set(mapped)
        self._routes.publish(table, redirected)

    @property
    def published(self) -> dict[str, list[tuple[str, int]]]:
        """The host table the data plane was last given."""
        return self._routes.table


__all__ = ["Controller", "ServiceView", "ValidationError"]

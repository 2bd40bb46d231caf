"""Reconciling one Service: its whole world, recomputed on every event (level-triggered).

1. Validate with :func:`coldbrew.api.parse_service` (what local mode and Knative's webhook
   do); an invalid spec gets ``Ready=False`` reason ``InvalidSpec`` naming the field, and
   nothing is created.
2. Plan the revision with :func:`coldbrew.api.plan` against the Revision objects labelled
   ``serving.knative.dev/service=<name>``; create it if new (owned by the Service).
3. Ensure every revision's Deployment (and reserve Deployment) exists and matches.
4. Write each Revision's status and the Service's status (``coldbrew.api.service_status``,
   traffic resolved by ``coldbrew.api.resolve_traffic``; a gradual rollout's split by
   ``coldbrew.api.rolling.roll_route``, its state kept in ``status.annotations`` under
   Knative's ``networking.internal.knative.dev/rollout``; :func:`reconcile` returns when
   the next step is due, for the loop to wake).
5. Once the route is resolved: label each Revision's routing state and delete the ones
   revision GC collects (:mod:`.collecting`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from autoscaler.config import AutoscalerConfig
from autoscaler.pricing import KNOWN_TYPES
from coldbrew.api import (
    RevisionState,
    ValidationError,
    condition,
    parse_service,
    plan,
    resolve_traffic,
    revision_status,
    service_status,
)
from coldbrew.api.features import KNATIVE_DEFAULTS, Features
from coldbrew.api.rolling import roll_route
from coldbrew.api.rollout_duration import rollout_seconds
from coldbrew.api.status import stamp
from coldbrew.events import EventRecorder
from coldbrew.events.emitting import service_applied
from coldbrew.platform_config import ReserveDefaults
from coldbrew.reserve_choice import revision_reserve
from coldbrew.scaling import ready_without_pods
from rulebook.gc import GCConfig
from rulebook.hosts import domain_for
from rulebook.rollout import ROLLOUT_STATE, Rollout

from ..deployments import SERVICE_LABEL, build_deployment, initial_replicas
from ..kube.accessing import DEPLOYMENTS, REVISIONS, SERVICES, Kube
from ..kube.writing import ensure, write_status
from ..revisioning import build_revision, record_of, revision_state, template_of
from .collecting import collect, mark_routing

INVALID_SPEC = "InvalidSpec"
KEEP = ("replicas", "selector")  # the autoscaler owns replicas; selectors are immutable


@dataclass(frozen=True)
class Settings:
    domain: str = "example.com"
    # config-domain: domain -> label selector (rulebook.hosts.domain_for); {}: ``domain``.
    domains: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    autoscaler: AutoscalerConfig = field(default_factory=AutoscalerConfig)
    reserve: ReserveDefaults = field(default_factory=ReserveDefaults)
    features: Features = KNATIVE_DEFAULTS
    gc: GCConfig = field(default_factory=GCConfig)
    clock: Callable[[], float] = time.time
    record_events: bool = False  # write Events (Created, Updated) to the API server
    rollout_seconds: int = 0  # config-network rollout-duration (the annotation wins)


def invalid_status(obj: dict[str, Any], error: ValidationError, now: float) -> dict[str, Any]:
    """The previous status with Ready/ConfigurationsReady False ``InvalidSpec``."""
    previous = obj.get("status") or {}
    message = str(error)
    conditions = [
        condition("Ready", "False", INVALID_SPEC, message),
        condition("ConfigurationsReady", "False", INVALID_SPEC, message),
    ]
    others = [c for c in previous.get("conditions") or [] if c.get("type") == "RoutesReady"]
    return {
        **previous,
        "observedGeneration": obj["metadata"].get("generation", 1),
        "conditions": stamp(conditions, now, previous) + others,
    }


def _owned(revision: dict[str, Any], service_uid: str) -> bool:
    refs = revision["metadata"].get("ownerReferences") or []
    return any(r.get("uid") == service_uid for r in refs)


async def reconcile(
    kube: Kube, namespace: str, name: str, settings: Settings, events: EventRecorder | None = None
) -> float | None:
    """Reconcile one Service; returns in how many seconds a rollout step is due (or None)."""
    svc_obj = await kube.get(SERVICES, namespace, name)
    if svc_obj is None or svc_obj["metadata"].get("deletionTimestamp"):
        return None  # the garbage collector removes what it owned
    generation = svc_obj["metadata"].get("generation", 1)

    async def refuse(error: ValidationError) -> None:
        def compute(obj: dict[str, Any]) -> dict[str, Any] | None:
            if obj["metadata"].get("generation", 1) != generation:
                return None  # a newer spec: its own event reconciles it
            return invalid_status(obj, error, settings.clock())

        await write_status(kube, SERVICES, svc_obj, compute)

    try:
        service = parse_service(
            svc_obj, instance_types=KNOWN_TYPES, features=settings.features, keep_raw=True
        )
    except ValidationError as error:
        await refuse(error)
        return None
    listing = await kube.list(REVISIONS, namespace, f"{SERVICE_LABEL}={name}")
    uid = svc_obj["metadata"]["uid"]
    revisions = {r["metadata"]["name"]: r for r in listing["items"] if _owned(r, uid)}
    previous = svc_obj.get("status") or {}
    try:
        planned = plan(
            service,
            [record_of(r) for r in revisions.values()],
            latest=previous.get("latestCreatedRevisionName"),
        )
    except ValidationError as error:
        await refuse(error)
        return None
    if planned.name not in revisions:
        revisions[planned.name] = await ensure(
            kube, REVISIONS, build_revision(svc_obj, service, planned)
        )
        if events is not None:
            first = generation == 1  # the Service as created, not a later spec
            service_applied(events, namespace, name, uid, created=first, new_revision=planned.name)

    states: dict[str, RevisionState] = {}
    for rev_name, rev in sorted(revisions.items()):
        states[rev_name] = await _revision(kube, rev, rev_name, planned.name, service, settings)

    latest_created = planned.name
    latest_ready = previous.get("latestReadyRevisionName")
    if states[latest_created].ready:
        latest_ready = latest_created
    elif latest_ready not in states or not states[latest_ready].ready:
        latest_ready = None
    domain = domain_for(service.labels, settings.domains, settings.domain)
    route = resolve_traffic(service, states, latest_created, latest_ready, domain)
    duration = rollout_seconds(service.annotations) or settings.rollout_seconds
    stored = (previous.get("annotations") or {}).get(ROLLOUT_STATE)
    now = settings.clock()
    route, rollout, due = roll_route(route, Rollout.from_json(stored), now, duration)
    state = rollout.to_json() if rollout is not None and duration > 0 else None

    def compute(obj: dict[str, Any]) -> dict[str, Any] | None:
        if obj["metadata"].get("generation", 1) != generation:
            return None
        status = service_status(
            service,
            generation=generation,
            domain=domain,
            latest_created=latest_created,
            latest_ready=latest_ready,
            revisions=states,
            route=route,
            now=settings.clock(),
            previous=obj.get("status"),
        )
        annotations = dict((obj.get("status") or {}).get("annotations") or {})
        annotations.pop(ROLLOUT_STATE, None)
        if state is not None:
            annotations[ROLLOUT_STATE] = state
        if annotations:
            status["annotations"] = annotations
        return status

    await write_status(kube, SERVICES, svc_obj, compute)
    if route.ready:
        routed = {t.revision_name for t in route.targets}
        await mark_routing(kube, namespace, revisions, routed, settings.clock())
        await collect(
            kube, namespace, revisions, routed=routed, latest_created=latest_created,
            latest_ready=latest_ready, cfg=settings.gc, now=settings.clock(),
        )  # fmt: skip
    return None if due is None else max(0.0, due - now)


async def _revision(
    kube: Kube,
    rev: dict[str, Any],
    rev_name: str,
    latest: str,
    service: Any,
    settings: Settings,
) -> RevisionState:
    """Ensure the revision's Deployments, write its status, return its state."""
    template = service.template if rev_name == latest else template_of(rev, service.name)
    replicas = initial_replicas(template, settings.autoscaler)
    standard = await ensure(
        kube, DEPLOYMENTS, build_deployment(rev, template, replicas=replicas), keep=KEEP
    )
    reserve = None
    plan_reserve = revision_reserve(template.scaling, settings.reserve, settings.autoscaler)
    if plan_reserve is not None:
        desired = build_deployment(rev, template, replicas=0, reserve=plan_reserve)
        reserve = await ensure(kube, DEPLOYMENTS, desired, keep=KEEP)
    at_zero = ready_without_pods(settings.autoscaler, template)
    state = revision_state(rev, standard, reserve, without_pods=at_zero)
    deployment_status = standard.get("status") or {}

    def compute(obj: dict[str, Any]) -> dict[str, Any]:
        return revision_status(
            state,
            now=settings.clock(),
            desired_replicas=(standard.get("spec") or {}).get("replicas", 0),
            actual_replicas=deployment_status.get("readyReplicas") or 0,
            previous=obj.get("status"),
        )

    await write_status(kube, REVISIONS, rev, compute)
    return state

"""Pure builders for Knative-shaped ``status`` blocks.

Conditions follow Knative: a Service is Ready only when ConfigurationsReady and
RoutesReady are both True; it is False if either is False, Unknown otherwise.
``now`` is a Unix timestamp; pass the previous status to keep each
condition's ``lastTransitionTime`` while its status does not change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .model import Service
from .objects import revision_object, rfc3339, service_object
from .resolving import FALSE, TRUE, UNKNOWN, RevisionState, RouteResult

DEPLOYING = "Deploying"
REVISION_FAILED = "RevisionFailed"
NO_TRAFFIC = "NoTraffic"


def condition(
    type: str, status: str, reason: str = "", message: str = "", last_transition_time: str = ""
) -> dict[str, str]:
    """A Knative condition dict: type, status ("True"/"False"/"Unknown"), reason, message, time."""
    return {
        "type": type,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": last_transition_time,
    }


def aggregate(type: str, parts: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """Happy condition from sub-conditions: first False, else first Unknown, else True."""
    for status in (FALSE, UNKNOWN):
        for part in parts:
            if part["status"] == status:
                return condition(type, status, part["reason"], part["message"])
    return condition(type, TRUE)


def service_status(
    service: Service,
    *,
    generation: int,
    domain: str,
    latest_created: str | None,
    latest_ready: str | None,
    revisions: Mapping[str, RevisionState],
    route: RouteResult | None,
    now: float,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Service ``status``: observedGeneration, url, latest revisions, conditions, traffic.

    ``revisions`` holds the state of (at least) ``latest_created``. When the
    route is not ready, ``traffic`` keeps ``previous["traffic"]`` (Knative
    keeps serving the last good assignment).
    """
    configurations = _configurations_ready(latest_created, revisions)
    if route is None:
        routes = condition("RoutesReady", UNKNOWN)
    else:
        routes = condition("RoutesReady", route.status, route.reason, route.message)
    ready = aggregate("Ready", [configurations, routes])
    if route is not None and route.ready:
        traffic = [
            _traffic_entry(t.revision_name, t.percent, t.latest_revision, t.tag, t.url)
            for t in route.targets
        ]
    else:
        traffic = list((previous or {}).get("traffic", []))
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "url": f"http://{service.name}.{service.namespace}.{domain}".lower(),
        # Knative's cluster-local address: every Service answers on it (rulebook.hosts).
        "address": {"url": f"http://{service.name}.{service.namespace}.svc.cluster.local".lower()},
        "conditions": stamp([ready, configurations, routes], now, previous),
        "traffic": traffic,
    }
    if latest_created is not None:
        status["latestCreatedRevisionName"] = latest_created
    if latest_ready is not None:
        status["latestReadyRevisionName"] = latest_ready
    return status


def revision_status(
    state: RevisionState | None,
    *,
    now: float,
    generation: int = 1,
    desired_replicas: int | None = None,
    actual_replicas: int | None = None,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Revision ``status`` with Ready, ContainerHealthy, ResourcesAvailable (and Active).

    ``Active`` is included when replica counts are given: True with ready pods,
    False ``NoTraffic`` when a ready revision is scaled to zero.
    """
    if state is not None and state.ready:
        parts = [condition(t, TRUE) for t in ("ContainerHealthy", "ResourcesAvailable")]
    elif state is not None and state.failed:
        reason, message = state.failure_reason, state.failure_message
        parts = [
            condition(t, FALSE, reason, message) for t in ("ContainerHealthy", "ResourcesAvailable")
        ]
    else:
        reason, message = (state.progress if state else None) or (DEPLOYING, "")
        kinds = ("ContainerHealthy", "ResourcesAvailable")
        parts = [condition(t, UNKNOWN, reason, message) for t in kinds]
    conditions = [aggregate("Ready", parts), *parts]
    status: dict[str, Any] = {"observedGeneration": generation}
    if desired_replicas is not None or actual_replicas is not None:
        actual, desired = actual_replicas or 0, desired_replicas or 0
        if actual > 0:
            active = condition("Active", TRUE)
        elif state is not None and state.ready:
            active = condition("Active", FALSE, NO_TRAFFIC, "The target is not receiving traffic.")
        else:
            active = condition("Active", UNKNOWN, DEPLOYING)
        conditions.append(active)
        status.update(actualReplicas=actual, desiredReplicas=desired)
    status["conditions"] = stamp(conditions, now, previous)
    return status


def stamp(
    conditions: list[dict[str, str]], now: float, previous: Mapping[str, Any] | None
) -> list[dict[str, str]]:
    """Fill ``lastTransitionTime``: keep the previous time if the status did not change."""
    before = {c.get("type"): c for c in (previous or {}).get("conditions", [])}
    stamped = []
    for cond in conditions:
        old = before.get(cond["type"])
        if (
            old is not None
            and old.get("status") == cond["status"]
            and old.get("lastTransitionTime")
        ):
            time = old["lastTransitionTime"]
            if len(old) == len(cond) + 1 and all(old.get(k) == v for k, v in cond.items()):
                stamped.append(old)  # unchanged: the same dict (a pass allocates nothing)
                continue
        else:
            time = rfc3339(now)
        stamped.append(_shared({**cond, "lastTransitionTime": time}))
    return stamped


_SHARED: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
_SHARED_MAX = 4096


def _shared(cond: dict[str, str]) -> dict[str, str]:
    """One dict for equal conditions: 10,000 Services brought up in the same second have the
    same few (a status is read, never changed in place)."""
    key = tuple(cond.items())
    found = _SHARED.get(key)
    if found is not None:
        return found
    if len(_SHARED) >= _SHARED_MAX:
        _SHARED.clear()  # a new second's conditions: start over (no unbounded growth)
    _SHARED[key] = cond
    return cond


def _configurations_ready(
    latest_created: str | None, revisions: Mapping[str, RevisionState]
) -> dict[str, str]:
    state = revisions.get(latest_created) if latest_created else None
    if state is None:
        return condition("ConfigurationsReady", UNKNOWN, DEPLOYING)
    if state.ready:
        return condition("ConfigurationsReady", TRUE)
    if state.failed:
        message = f'Revision "{latest_created}" failed with message: {state.failure_message}.'
        return condition("ConfigurationsReady", FALSE, REVISION_FAILED, message)
    return condition(
        "ConfigurationsReady", UNKNOWN, DEPLOYING, f'Revision "{latest_created}" is not yet ready.'
    )


def _traffic_entry(
    revision: str, percent: int, latest: bool, tag: str | None, url: str | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"revisionName": revision, "percent": percent, "latestRevision": latest}
    if tag is not None:
        entry["tag"] = tag
        entry["url"] = url
    return entry


__all__ = [
    "aggregate",
    "condition",
    "revision_object",
    "revision_status",
    "rfc3339",
    "service_object",
    "service_status",
    "stamp",
]

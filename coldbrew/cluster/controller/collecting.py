"""Cluster revision GC: Revision objects deleted by :mod:`rulebook.gc`, as Knative's gc.

Knative's route labeler labels each Revision ``serving.knative.dev/routingState``
(``active`` while the route references it, else ``reserve``) and stamps
``serving.knative.dev/routingStateModified`` when that changes; its gc reconciler reads the
stamp as the revision's last active time. Here both are written by the Service's reconcile
(only on a change), then the rule runs on the Service's Revisions and the stale ones are
deleted (their Deployments follow by ownerReferences). Active beyond Knative, as in local
mode: the latest created revision. Nothing is collected while the route is not resolved.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from coldbrew.api.objects import ROUTING_STATE_LABEL, rfc3339
from rulebook.gc import GCConfig, RevisionFacts, collectable, no_gc

from ..kube.accessing import REVISIONS, Kube

log = logging.getLogger(__name__)

MODIFIED_ANNOTATION = "serving.knative.dev/routingStateModified"


def _time(text: Any) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


async def mark_routing(
    kube: Kube, namespace: str, revisions: dict[str, dict[str, Any]], routed: set[str], now: float
) -> None:
    """Label each Revision active/reserve; stamp the time of a change."""
    for name, rev in revisions.items():
        meta = rev["metadata"]
        state = "active" if name in routed else "reserve"
        if (meta.get("labels") or {}).get(ROUTING_STATE_LABEL) == state:
            continue
        patch = {
            "metadata": {
                "labels": {ROUTING_STATE_LABEL: state},
                "annotations": {MODIFIED_ANNOTATION: rfc3339(now)},
            }
        }
        revisions[name] = await kube.patch(REVISIONS, namespace, name, patch)


async def collect(
    kube: Kube,
    namespace: str,
    revisions: dict[str, dict[str, Any]],
    *,
    routed: set[str],
    latest_created: str,
    latest_ready: str | None,
    cfg: GCConfig,
    now: float,
) -> list[str]:
    """Delete the Service's Revisions the rule says; their names."""
    if cfg.disabled:
        return []
    facts = []
    for name, rev in revisions.items():
        meta = rev["metadata"]
        created = _time(meta.get("creationTimestamp"))
        if created is None:
            continue  # not stored yet: nothing to judge
        facts.append(
            RevisionFacts(
                name=name,
                created=created,
                last_active=_time((meta.get("annotations") or {}).get(MODIFIED_ANNOTATION)),
                routed=name in routed or name == latest_created,
                latest_ready=name == latest_ready,
                no_gc=no_gc(meta.get("annotations")),
            )
        )
    doomed = collectable(cfg, facts, now)
    for name in doomed:
        log.info("revision GC: deleting %s/%s", namespace, name)
        await kube.delete(REVISIONS, namespace, name)
        revisions.pop(name, None)
    return doomed

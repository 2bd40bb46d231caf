"""Which revisions the KPA owns in a cluster: :func:`rulebook.retirement.autoscaled`, read
from the Service's status.

The route is the Service's ``status.traffic`` (every entry names its ``revisionName``,
tagged 0 % entries too) and the latest revision is ``status.latestCreatedRevisionName``.
What the status cannot tell is passed on as unknown, so a revision is not retired on stale
information: with no Service in view its route is unknown; a revision that has never been
ready may be newer than the status's latest (the status may not name it yet).

A revision's readiness counts only once the Service's status has caught up with it: the
controller writes the Revision's Ready status first and the Service's
``latestReadyRevisionName`` and ``traffic`` after, so for a moment the autoscaler sees a
ready latest revision that no traffic names yet. Knative's revision is ``pending`` until
its route is resolved; here too: while the status names it the latest created but not
yet the latest ready, it is still coming up (not retired, which would take its first pod
away just as the route is about to send it traffic).
"""

from __future__ import annotations

from typing import Any

from rulebook.retirement import autoscaled


def routed(service_status: dict[str, Any] | None, revision: str) -> bool:
    """The Service's traffic reaches ``revision`` (no Service in view: assumed so)."""
    if service_status is None:
        return True
    return any(t.get("revisionName") == revision for t in service_status.get("traffic") or [])


def wanted(service_status: dict[str, Any] | None, revision: str, ready_once: bool) -> bool:
    """The KPA owns ``revision``'s replicas; False: it is retired (both Deployments at 0)."""
    if service_status is None:
        return autoscaled(routed=None, latest=None, ever_ready=ready_once)
    latest = service_status.get("latestCreatedRevisionName") == revision
    if latest and service_status.get("latestReadyRevisionName") != revision:
        # The route was not yet resolved knowing it is ready: the status writes
        # latestReadyRevisionName together with its traffic. Still coming up.
        ready_once = False
    return autoscaled(
        routed=routed(service_status, revision),
        # Not the latest created: a never-ready revision may be newer than the status knows.
        latest=True if latest else (False if ready_once else None),
        ever_ready=ready_once,
    )

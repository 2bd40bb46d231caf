"""Which revisions the KPA owns in a cluster: :func:`rulebook.retirement.autoscaled`, read
from the Service's status.

The route is the Service's ``status.traffic`` (every entry names its ``revisionName``,
tagged 0 % entries too) and the latest revision is ``status.latestCreatedRevisionName``.
What the status cannot tell is passed on as unknown, so a revision is not retired on stale
information: with no Service in view its route is unknown; a revision that has never been
ready may be newer than the status's latest (the status may not name it yet).
"""

from __future__ import annotations

from typing import Any

from rulebook.retirement import autoscaled


def routed(service_status: dict[str, Any] | None, revision: str) -> bool:
    """The Service's traffic reaches ``revision`` (no Service in view: assumed so)."""
    if service_status is None:
        return True
    return any(t.get("revisionName") == revision for t in service_status.get("traffic") or [])


def _latest(service_status: dict[str, Any], revision: str, ready_once: bool) -> bool | None:
    if service_status.get("latestCreatedRevisionName") == revision:
        return True
    return False if ready_once else None


def wanted(service_status: dict[str, Any] | None, revision: str, ready_once: bool) -> bool:
    """The KPA owns ``revision``'s replicas; False: it is retired (both Deployments at 0)."""
    if service_status is None:
        return autoscaled(routed=None, latest=None, ever_ready=ready_once)
    return autoscaled(
        routed=routed(service_status, revision),
        latest=_latest(service_status, revision, ready_once),
        ever_ready=ready_once,
    )

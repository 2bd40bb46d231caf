"""Which revisions the KPA owns in a cluster, and which are retired (local mode's rule).

Local mode autoscales the revisions its programmed route can send traffic to, and the
latest created revision while it comes up; every other revision is retired: no
autoscaling, no pods, no reserve. In a cluster the route is the Service's
``status.traffic`` (every entry names its ``revisionName``, tagged 0 % entries too) and the
latest revision is ``status.latestCreatedRevisionName``. Two cluster-specific guards keep a
revision from being retired on stale information: a revision that has never been ready is
kept (the Service's status may not name it yet), and so is any revision whose Service is
not in view.
"""

from __future__ import annotations

from typing import Any


def routed(service_status: dict[str, Any] | None, revision: str) -> bool:
    """The Service's traffic reaches ``revision`` (no Service in view: assumed so)."""
    if service_status is None:
        return True
    return any(t.get("revisionName") == revision for t in service_status.get("traffic") or [])


def wanted(service_status: dict[str, Any] | None, revision: str, ready_once: bool) -> bool:
    """The KPA owns ``revision``'s replicas; False: it is retired (both Deployments at 0)."""
    if service_status is None or not ready_once:
        return True
    latest = service_status.get("latestCreatedRevisionName") == revision
    return latest or routed(service_status, revision)

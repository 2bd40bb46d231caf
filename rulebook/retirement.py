"""Which revisions the KPA owns; the others are retired (no autoscaling, no pods).

Source: Knative's route labeler and revision reconciler (knative/serving
``pkg/reconciler/labeler``, ``pkg/reconciler/revision``): a revision the route references is
``routingState: active`` (reachable); a new revision is ``pending`` until its route is
resolved (reachability unknown: min- and initial-scale apply); every other one is
``reserve`` (unreachable: ``ScaleBounds`` ignores its min, the KPA takes it to zero). Here an
unreachable revision is retired at once: it keeps no pods and no reserve.

A mode that cannot tell yet passes None: a revision whose route is unknown (its Service is
not in view) is kept, and so is a never-ready revision that may be the newest.
"""

from __future__ import annotations


def autoscaled(*, routed: bool | None, latest: bool | None, ever_ready: bool) -> bool:
    """True: the KPA owns the revision's replicas. False: it is retired.

    ``routed``: the route's traffic (any entry, tagged 0 % ones too) names it.
    ``latest``: it is the Service's latest created revision.
    ``ever_ready``: it was ready at some point; until then a latest revision is coming up.
    """
    if routed is None or routed:
        return True
    return not ever_ready and latest is not False

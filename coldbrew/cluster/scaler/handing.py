"""The reserve hand-over in a cluster: the rule of :func:`rulebook.reserve.hand_over`,
carried out on the revision's two Deployments.

The autoscaler re-evaluates it on every Deployment event and every KPA decision
(level-triggered). What the cluster looks like is read from the Deployments: ``spec.replicas``
is what a side that must wait keeps, ``status.readyReplicas`` its ready pods. A reserve
Deployment exists only for a revision configured with a reserve
(:func:`coldbrew.reserve_choice.revision_reserve`), and it serves only while the revision is routed.
"""

from __future__ import annotations

from typing import Any

from rulebook.reserve import Replicas, hand_over, reserve_serves

from .viewing import replicas_of


def deployment_replicas(
    desired: int,
    standard: dict[str, Any],
    reserve: dict[str, Any] | None,
    *,
    routed: bool,
    reserve_count: int,
) -> Replicas:
    """``spec.replicas`` to write for a KPA decision of ``desired`` standard pods."""
    return hand_over(
        desired,
        standard_ready=replicas_of(standard, "readyReplicas"),
        reserve_ready=replicas_of(reserve, "readyReplicas"),
        has_reserve=reserve_serves(configured=reserve is not None, routed=routed),
        reserve_count=reserve_count,
        standard_spec=replicas_of(standard),
        reserve_spec=replicas_of(reserve),
    )

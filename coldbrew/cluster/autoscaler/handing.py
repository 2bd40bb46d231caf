"""The reserve hand-over in a cluster: how many standard and reserve replicas, now.

The same rules as local mode's :class:`coldbrew.reserving.Reserver`, restated as a
pure function of what the cluster looks like, so the autoscaler can re-evaluate it
on every Deployment event and every KPA decision (level-triggered):

* the KPA wants no standard pods and the revision has a reserve: the reserve goes to
  its replica count first; the standard pods stay until that many reserve pods are
  ready, and only then go to zero;
* the KPA wants ``n > 0`` standard pods: the standard Deployment goes to ``n`` at
  once; the reserve keeps answering (its replica count is left as it is) until a
  standard pod is ready, and only then goes to zero;
* a revision without a reserve simply gets what the KPA wants.

In both directions the side taking the traffic is ready before the other side
leaves, so a revision that had a ready pod never has none.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Replicas:
    """``spec.replicas`` to write: the standard Deployment's and the reserve's."""

    standard: int
    reserve: int


def hand_over(
    desired: int,
    *,
    standard_ready: int,
    reserve_ready: int,
    has_reserve: bool,
    reserve_count: int = 1,
    standard_spec: int = 0,
    reserve_spec: int = 0,
) -> Replicas:
    """The replica counts for a KPA decision of ``desired`` standard pods.

    ``standard_spec`` and ``reserve_spec`` are the Deployments' current
    ``spec.replicas``: what a side that must wait keeps until the other is ready.
    """
    desired = max(0, desired)
    if not has_reserve:
        return Replicas(standard=desired, reserve=0)
    count = max(1, reserve_count)
    if desired == 0:
        handed = reserve_ready >= count
        return Replicas(standard=0 if handed else max(0, standard_spec), reserve=count)
    taken_back = standard_ready >= 1
    return Replicas(standard=desired, reserve=0 if taken_back else max(0, reserve_spec))

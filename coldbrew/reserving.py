"""Reserved instances in local mode: an idle revision hands over to cheap pods, and back.

The KPA decides how many *standard* pods a revision needs; the :class:`Reserver` carries
out the hand-over rule of :func:`rulebook.reserve.hand_over` on the pod runtime: where
the KPA would take a revision with a reserve to zero, the reserve pods start first and the
standard pods go once the reserve's are ready; when the KPA asks for standard pods again,
the reserve keeps answering until a standard pod is ready, and only then leaves. Every pod
that leaves is drained by the runtime first, so no request is dropped in either direction.

Reserve pods are their own replica set in the runtime (key
``"{namespace}/{revision}/reserve"``); they do not count as ready pods for the
KPA's capacity, but their concurrency is in the revision's metrics like any
other pod's, which is how traffic to a reserved revision wakes it up.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from coldbrew.runtime import PodTemplate
from rulebook.ask import RESERVE_LABEL, reserve_pod_annotations
from rulebook.reserve import hand_over, traffic_endpoints

RESERVE_SUFFIX = "/reserve"


@dataclass(frozen=True, slots=True)
class ReservePlan:
    """How an idle revision is kept warm: this template, this many replicas."""

    template: PodTemplate
    replicas: int


def revision_key_of(replica_set_key: str) -> str:
    """``ns/rev/reserve`` -> ``ns/rev``; a standard key is returned as it is."""
    return replica_set_key.removesuffix(RESERVE_SUFFIX)


def reserve_template(
    standard: PodTemplate,
    *,
    instance_type: str,
    cpu: float,
    memory_gib: float,
    use_specs: str,
    resources: Any,
) -> PodTemplate:
    """The reserve pods' template: the standard one, sized and annotated as ASK does."""
    annotations = dict(standard.annotations)
    annotations.update(
        reserve_pod_annotations(
            instance=instance_type, cpu=cpu, memory_gib=memory_gib, use_specs=use_specs
        )
    )
    labels = dict(standard.labels)
    labels[RESERVE_LABEL] = "true"
    return dataclasses.replace(
        standard,
        role="reserve",
        resources=resources,
        annotations=annotations,
        labels=labels,
    )


class Reserver:
    """Standard and reserve replica counts of every autoscaled revision."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self._wanted: dict[str, int] = {}
        self._standard: dict[str, PodTemplate] = {}
        self._plans: dict[str, ReservePlan | None] = {}

    def scale(self, standard: PodTemplate, replicas: int, plan: ReservePlan | None) -> None:
        """The KPA wants ``replicas`` standard pods; ``plan`` is the reserve, if any."""
        key = standard.key
        old = self._plans.get(key)
        self._standard[key], self._plans[key], self._wanted[key] = standard, plan, replicas
        if old is not None and (plan is None or old.template.key != plan.template.key):
            self.runtime.scale(old.template, 0)
        self._apply(key, decided=True)

    def knows(self, key: str) -> bool:
        """Whether the KPA has scaled this revision since it was (last) retired."""
        return key in self._standard

    def settle(self, key: str) -> None:
        """Hand over once the side taking the traffic has a ready pod."""
        self._apply(key, decided=False)

    def _apply(self, key: str, decided: bool) -> None:
        """Scale both sides as the hand-over rule says now; ``decided``: a new KPA decision."""
        standard = self._standard.get(key)
        if standard is None:
            return
        plan = self._plans.get(key)
        wanted = self._wanted.get(key, 0)
        pods = self.runtime.revision_state(key)
        reserve = None if plan is None else self.runtime.revision_state(plan.template.key)
        out = hand_over(
            wanted,
            standard_ready=pods.ready,
            reserve_ready=0 if reserve is None else reserve.ready,
            has_reserve=plan is not None,
            reserve_count=1 if plan is None else plan.replicas,
            standard_spec=pods.desired,
            reserve_spec=0 if reserve is None else reserve.desired,
        )
        if plan is not None and reserve is not None and out.reserve != reserve.desired:
            self.runtime.scale(plan.template, out.reserve)  # on the way down: warm it first
        if out.standard != pods.desired or (decided and out.standard == wanted):
            self.runtime.scale(standard, out.standard)

    def endpoints(self, key: str) -> list[tuple[str, int]]:
        """Where the revision's traffic goes: standard pods, else the reserve."""
        return self._traffic(key)[0]

    def on_reserve(self, key: str) -> bool:
        """True while the revision's traffic goes to its reserve pods."""
        return self._traffic(key)[1]

    def _traffic(self, key: str) -> tuple[list[tuple[str, int]], bool]:
        plan = self._plans.get(key)
        reserve = [] if plan is None else self.runtime.endpoints(plan.template.key)
        return traffic_endpoints(self.runtime.endpoints(key), reserve)

    def reserve_state(self, key: str) -> Any:
        plan = self._plans.get(key)
        return None if plan is None else self.runtime.revision_state(plan.template.key)

    def retire(self, key: str) -> None:
        """The revision gets no traffic any more: neither kind of pod."""
        plan = self._plans.pop(key, None)
        standard = self._standard.pop(key, None)
        self._wanted.pop(key, None)
        if plan is not None:
            self.runtime.scale(plan.template, 0)
        if standard is not None:
            self.runtime.scale(standard, 0)

"""Reserved instances: an idle revision hands over to one cheap pod, and back.

The KPA decides how many *standard* pods a revision needs. Where it would
take a revision to zero and the revision has a reserve, the :class:`Reserver`
starts the reserve pod(s) first and removes the standard pods only once a
reserve pod is ready; when the KPA asks for standard pods again, the reserve
keeps answering until a standard pod is ready, and only then leaves. Every pod
that leaves is drained by the runtime first, so no request is dropped in
either direction.

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

RESERVE_SUFFIX = "/reserve"
SPEC_ANNOTATION = "k8s.aliyun.com/eci-instance-spec"
CPU_ANNOTATION = "k8s.aliyun.com/eci-instance-cpu"
MEM_ANNOTATION = "k8s.aliyun.com/eci-instance-mem"
USE_SPECS_ANNOTATION = "k8s.aliyun.com/eci-use-specs"


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
        {
            SPEC_ANNOTATION: instance_type,
            CPU_ANNOTATION: f"{cpu:.3f}",
            MEM_ANNOTATION: f"{memory_gib:.2f}",
            USE_SPECS_ANNOTATION: use_specs,
        }
    )
    labels = dict(standard.labels)
    labels["knative.aliyun.com/reserve-instance"] = "true"
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
        if plan is None or replicas > 0:
            self.runtime.scale(standard, replicas)
        else:
            self.runtime.scale(plan.template, plan.replicas)  # warm the reserve first
        self.settle(key)

    def settle(self, key: str) -> None:
        """Hand over once the side taking the traffic has a ready pod."""
        plan = self._plans.get(key)
        standard = self._standard.get(key)
        if plan is None or standard is None:
            return
        reserve = self.runtime.revision_state(plan.template.key)
        if self._wanted.get(key, 0) == 0:
            if reserve.ready >= 1 and self.runtime.revision_state(key).desired > 0:
                self.runtime.scale(standard, 0)
        elif self.runtime.revision_state(key).ready >= 1 and reserve.desired > 0:
            self.runtime.scale(plan.template, 0)

    def endpoints(self, key: str) -> list[tuple[str, int]]:
        """Where the revision's traffic goes: standard pods, else the reserve."""
        endpoints: list[tuple[str, int]] = self.runtime.endpoints(key)
        plan = self._plans.get(key)
        if endpoints or plan is None:
            return endpoints
        return list(self.runtime.endpoints(plan.template.key))

    def on_reserve(self, key: str) -> bool:
        """True while the revision's traffic goes to its reserve pods."""
        plan = self._plans.get(key)
        return (
            plan is not None
            and not self.runtime.endpoints(key)
            and bool(self.runtime.endpoints(plan.template.key))
        )

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

"""What coldbrew reports, worded once for both modes (reasons as Kubernetes and Knative)."""

from __future__ import annotations

from .recording import EventRecorder, ObjectRef


def deployment_ref(namespace: str, revision: str, reserve: bool = False) -> ObjectRef:
    name = f"{revision}-deployment" + ("-reserve" if reserve else "")
    return ObjectRef("Deployment", namespace, name)


def scaled(
    rec: EventRecorder, namespace: str, revision: str, old: int, new: int, *, reserve: bool
) -> None:
    """The Deployment controller's ``ScalingReplicaSet`` (local mode is that controller)."""
    if old == new:
        return
    ref = deployment_ref(namespace, revision, reserve)
    way = "up" if new > old else "down"
    rec.record(ref, "Normal", "ScalingReplicaSet",
               f"Scaled {way} replica set {ref.name} from {old} to {new}")  # fmt: skip


def rescaled(rec: EventRecorder, namespace: str, deployment: str, new: int, why: str) -> None:
    """The autoscaler wrote a Deployment's ``/scale`` (the HPA's ``SuccessfulRescale``)."""
    rec.record(ObjectRef("Deployment", namespace, deployment), "Normal", "SuccessfulRescale",
               f"New size: {new}; reason: {why}")  # fmt: skip


def handed_over(
    rec: EventRecorder, namespace: str, revision: str, *, to_reserve: bool, pods: int
) -> None:
    """Traffic moved between the standard pods and the reserve (ASK's reserved instances)."""
    ref = ObjectRef("Revision", namespace, revision)
    if to_reserve:
        message = f"Traffic handed over to {pods} reserve pod(s); standard pods scale to zero"
        rec.record(ref, "Normal", "HandedOverToReserve", message)
    else:
        message = f"Traffic handed back to {pods} standard pod(s); the reserve stands by"
        rec.record(ref, "Normal", "HandedBackFromReserve", message)


class HandOvers:
    """Records a hand-over when the side taking a revision's traffic changes."""

    def __init__(self, recorder: EventRecorder) -> None:
        self.recorder = recorder
        self._on_reserve: dict[str, bool] = {}

    def observe(self, namespace: str, revision: str, *, on_reserve: bool, pods: int) -> None:
        """``on_reserve``: the reserve takes the traffic; ``pods``: ready pods taking it."""
        key = f"{namespace}/{revision}"
        if on_reserve == self._on_reserve.get(key, False) or pods == 0:
            return  # no change, or nobody takes the traffic yet (nothing handed over)
        self._on_reserve[key] = on_reserve
        handed_over(self.recorder, namespace, revision, to_reserve=on_reserve, pods=pods)

    def forget(self, namespace: str, revision: str) -> None:
        self._on_reserve.pop(f"{namespace}/{revision}", None)


def service_applied(
    rec: EventRecorder,
    namespace: str,
    name: str,
    uid: str,
    *,
    created: bool,
    new_revision: str | None,
) -> None:
    """Knative's events: the Service made its Configuration and Route; a Revision was made."""
    svc = ObjectRef("Service", namespace, name, uid)
    if created:
        rec.record(svc, "Normal", "Created", f'Created Configuration "{name}"')
        rec.record(svc, "Normal", "Created", f'Created Route "{name}"')
    else:
        rec.record(svc, "Normal", "Updated", f'Updated Service "{name}"')
    if new_revision is not None:
        rec.record(ObjectRef("Configuration", namespace, name), "Normal", "Created",
                   f'Created Revision "{new_revision}"')  # fmt: skip


def revision_failed(
    rec: EventRecorder, namespace: str, revision: str, reason: str, message: str
) -> None:
    rec.record(ObjectRef("Revision", namespace, revision), "Warning", "RevisionFailed",
               f"Revision failed: {reason}: {message}")  # fmt: skip


def revision_ready(rec: EventRecorder, namespace: str, revision: str) -> None:
    rec.record(ObjectRef("Revision", namespace, revision), "Normal", "RevisionReady",
               "Revision becomes ready upon all resources being ready")  # fmt: skip

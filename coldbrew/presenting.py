"""Kubernetes-shaped views of what the controller and runtime hold (for the control API)."""

from __future__ import annotations

import time
from typing import Any

from coldbrew.api import (
    RevisionState,
    condition,
    revision_object,
    revision_status,
    rfc3339,
    service_object,
)
from coldbrew.controlling import Controller
from coldbrew.events import MemoryRecorder, event_object
from coldbrew.storing import StoredRevision

PID_ANNOTATION = "coldbrew.dev/pid"
PORT_ANNOTATION = "coldbrew.dev/port"
TYPE_ANNOTATION = "coldbrew.dev/instance-type"


class Presenter:
    def __init__(self, controller: Controller, events: MemoryRecorder | None = None) -> None:
        self.controller = controller
        if events is None:
            recorder = controller.events
            events = recorder if isinstance(recorder, MemoryRecorder) else MemoryRecorder()
        self.events = events
        # Last status shown per revision: keeps lastTransitionTime while nothing changes.
        self._revision_status: dict[str, dict[str, Any]] = {}

    def revision_status(self, rev: StoredRevision) -> dict[str, Any]:
        """The revision's Knative status, with live replica counts."""
        pods = self.controller.runtime.revision_state(rev.key)
        state = RevisionState(ready=rev.ever_ready, failure=pods.failure, progress=pods.progress)
        status = revision_status(
            state,
            now=time.time(),
            desired_replicas=pods.desired,
            actual_replicas=pods.ready,
            previous=self._revision_status.get(rev.key),
        )
        self._revision_status[rev.key] = status
        reserve = self.controller.reserver.reserve_state(rev.key)
        status["coldbrew"] = {
            "cost": self.controller.costing.summary(rev.key),
            "reserveReplicas": reserve.ready if reserve is not None else 0,
        }
        return status

    def service(self, namespace: str, name: str) -> dict[str, Any] | None:
        key = f"{namespace}/{name}"
        rec = self.controller.store.services.get(key)
        view = self.controller.views.get(key)
        if rec is None or view is None:
            return None
        return service_object(
            view.service,
            uid=rec.uid,
            generation=rec.generation,
            created=rec.created,
            status=view.status,
        )

    def services(self, namespace: str | None) -> list[dict[str, Any]]:
        recs = self.controller.store.services.list(namespace)
        objs = (self.service(r.namespace, r.name) for r in recs)
        return [o for o in objs if o is not None]

    def revision(self, namespace: str, name: str) -> dict[str, Any] | None:
        rev = self.controller.store.revisions.get(f"{namespace}/{name}")
        if rev is None:
            return None
        service = self.controller.store.services.get(f"{namespace}/{rev.service}")
        view = self.controller.views.get(f"{namespace}/{rev.service}")
        routed = view is not None and rev.key in view.routed()
        return revision_object(
            rev.service,
            namespace,
            rev.name,
            self.controller.template_of(rev),
            generation=rev.generation,
            uid=rev.uid,
            created=rev.created,
            service_uid=service.uid if service else None,
            routing_state="active" if routed else "reserve",
            status=self.revision_status(rev),
        )

    def _revisions_in(self, namespace: str | None) -> list[StoredRevision]:
        """Revisions of one namespace (None: all), by service and generation."""
        return self.controller.store.revisions.list(namespace)

    def revisions(self, namespace: str | None) -> list[dict[str, Any]]:
        revs = self._revisions_in(namespace)
        return [o for r in revs if (o := self.revision(r.namespace, r.name)) is not None]

    def kpa(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The revision's PodAutoscaler: the KPA's decision and what it observed."""
        key = f"{namespace}/{name}"
        rev = self.controller.store.revisions.get(key)
        if rev is None:
            return None
        template = self.controller.template_of(rev)
        try:
            kpa = self.controller.autoscaler.status(key)
        except KeyError:  # not routed: no autoscaling, no pods
            desired, actual, metrics = 0, self.controller.runtime.revision_state(key).ready, {}
        else:
            desired, actual = max(kpa.desired, 0), kpa.actual
            metrics = {
                "stableValue": kpa.stable_value,
                "panicValue": kpa.panic_value,
                "panicking": kpa.panicking,
                "excessBurstCapacity": kpa.excess_burst_capacity,
                "activatorInPath": kpa.in_path,
                "phase": kpa.phase,
                "recommendedScale": kpa.recommended,
                "decision": kpa.reason,
            }
        if actual > 0:
            ready = condition("Ready", "True")
        elif desired == 0:
            ready = condition("Ready", "False", "NoTraffic", "The target is not receiving traffic.")
        else:
            ready = condition(
                "Ready",
                "Unknown",
                "Queued",
                "Requests to the target are being buffered as resources are provisioned.",
            )
        labels = {
            "serving.knative.dev/service": rev.service,
            "serving.knative.dev/configuration": rev.service,
            "serving.knative.dev/revision": rev.name,
        }
        return {
            "apiVersion": "autoscaling.internal.knative.dev/v1alpha1",
            "kind": "PodAutoscaler",
            "metadata": {
                "name": rev.name,
                "namespace": namespace,
                "labels": labels,
                "annotations": {"autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev"},
                "creationTimestamp": rfc3339(rev.created),
            },
            "spec": {
                "scaleTargetRef": {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": f"{rev.name}-deployment",
                },
                "containerConcurrency": template.container_concurrency,
                "protocolType": "http1",
            },
            "status": {
                "desiredScale": desired,
                "actualScale": actual,
                "conditions": [ready],
                "coldbrew": metrics,
            },
        }

    def kpas(self, namespace: str | None) -> list[dict[str, Any]]:
        revs = self._revisions_in(namespace)
        return [o for r in revs if (o := self.kpa(r.namespace, r.name)) is not None]

    def domain_mapping(self, namespace: str, name: str) -> dict[str, Any] | None:
        rec = self.controller.store.domain_mappings.get(f"{namespace}/{name}")
        if rec is None:
            return None
        ctl = self.controller
        dm = ctl.mappings.parsed(rec)
        return ctl.mappings.present(
            rec,
            resolved=f"{namespace}/{dm.service}" in ctl.views,
            routed=name in ctl.published,
            https=ctl.serves_https(name),
        )

    def domain_mappings(self, namespace: str | None) -> list[dict[str, Any]]:
        recs = self.controller.store.domain_mappings.list(namespace)
        objs = (self.domain_mapping(r.namespace, r.name) for r in recs)
        return [o for o in objs if o is not None]

    def pods(self, namespace: str | None) -> list[dict[str, Any]]:
        out = []
        for pod in sorted(self.controller.runtime.pods(), key=lambda p: p.name):
            if namespace not in (None, pod.namespace):
                continue
            obj = pod.to_k8s()
            if pod.pid is not None:
                obj["metadata"]["annotations"][PID_ANNOTATION] = str(pod.pid)
            obj["metadata"]["annotations"][PORT_ANNOTATION] = str(pod.port)
            res = pod.resources
            obj["metadata"]["annotations"][TYPE_ANNOTATION] = (
                res.instance_type if res is not None and res.instance_type else "standard"
            )
            out.append(obj)
        return out

    def pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        return next((p for p in self.pods(namespace) if p["metadata"]["name"] == name), None)

    def event_list(
        self, namespace: str | None, after: int = 0, involved: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """An ``EventList``: events changed after resource version ``after``, matching
        ``involved`` (``kind``/``name``/``namespace`` of ``involvedObject``), oldest first."""
        items = []
        for ev in self.events.since(after, namespace):
            ref = ev.regarding.to_k8s()
            if involved and any(ref.get(k) != v for k, v in involved.items()):
                continue
            items.append(event_object(ev))
        return {
            "apiVersion": "v1",
            "kind": "EventList",
            "metadata": {"resourceVersion": str(self.events.resource_version)},
            "items": items,
        }

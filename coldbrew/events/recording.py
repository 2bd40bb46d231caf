"""Events as Kubernetes records them: one recorder Protocol, an in-memory implementation.

An event says what happened to one object (``involvedObject``): its ``type`` (``Normal``
or ``Warning``), a CamelCase ``reason`` and a human ``message``. As client-go's event
correlator does, events with the same object, type, reason and message are one event
whose ``count`` grows and whose ``lastTimestamp`` moves; ``firstTimestamp`` stays.

:class:`MemoryRecorder` (``coldbrew serve``) keeps at most ``MAX_EVENTS`` of them, and
none whose last occurrence is older than ``RETENTION_SECONDS`` (the API server's
default event TTL is one hour); the oldest go first. Every change gets the next
``resourceVersion``, a cursor: :meth:`MemoryRecorder.since` returns what changed after
one, which is how ``coldbrew get events -w`` follows them. In a cluster the recorder is
:class:`coldbrew.cluster.kube.eventing.KubeRecorder`, which writes ``v1`` Event objects.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from coldbrew.api import rfc3339

EventType = Literal["Normal", "Warning"]
MAX_EVENTS = 1000
RETENTION_SECONDS = 3600.0

API_VERSIONS = {
    "Service": "serving.knative.dev/v1",
    "Configuration": "serving.knative.dev/v1",
    "Route": "serving.knative.dev/v1",
    "Revision": "serving.knative.dev/v1",
    "PodAutoscaler": "autoscaling.internal.knative.dev/v1alpha1",
    "Deployment": "apps/v1",
    "Pod": "v1",
}


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """The involved object: kind, namespace, name (and uid when known)."""

    kind: str
    namespace: str
    name: str
    uid: str = ""

    def to_k8s(self) -> dict[str, str]:
        out = {"kind": self.kind, "namespace": self.namespace, "name": self.name}
        if self.kind in API_VERSIONS:
            out["apiVersion"] = API_VERSIONS[self.kind]
        if self.uid:
            out["uid"] = self.uid
        return out


@dataclass(frozen=True, slots=True)
class Event:
    name: str  # metadata.name: "{object}.{random hex}", as client-go names events
    regarding: ObjectRef
    type: EventType
    reason: str
    message: str
    component: str
    first: float
    last: float
    count: int = 1
    resource_version: int = 0


class EventRecorder(Protocol):
    """Where a component reports what happened; must not block (called from callbacks)."""

    def record(self, regarding: ObjectRef, type: EventType, reason: str, message: str) -> None: ...


def event_object(ev: Event, instance: str = "") -> dict[str, Any]:
    """A core ``v1`` Event object (what ``kubectl get events -o yaml`` shows)."""
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": ev.name,
            "namespace": ev.regarding.namespace,
            "resourceVersion": str(ev.resource_version),
            "creationTimestamp": rfc3339(ev.first),
        },
        "involvedObject": ev.regarding.to_k8s(),
        "type": ev.type,
        "reason": ev.reason,
        "message": ev.message,
        "count": ev.count,
        "firstTimestamp": rfc3339(ev.first),
        "lastTimestamp": rfc3339(ev.last),
        "source": {"component": ev.component},
        "reportingComponent": ev.component,
        "reportingInstance": instance,
    }


Key = tuple[str, str, str, str, str, str]  # kind, namespace, name, type, reason, message


class MemoryRecorder:
    """The events of ``coldbrew serve``: deduplicated, bounded, followed by a cursor."""

    def __init__(
        self,
        component: str = "coldbrew",
        *,
        max_events: int = MAX_EVENTS,
        retention: float = RETENTION_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.component = component
        self.max_events = max_events
        self.retention = retention
        self.clock = clock
        self._events: OrderedDict[Key, Event] = OrderedDict()  # least recently seen first
        self._versions = itertools.count(1)
        self.resource_version = 0
        self._listeners: list[Callable[[Event], None]] = []

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def record(self, regarding: ObjectRef, type: EventType, reason: str, message: str) -> None:
        now = self.clock()
        key: Key = (regarding.kind, regarding.namespace, regarding.name, type, reason, message)
        self.resource_version = next(self._versions)
        old = self._events.pop(key, None)
        if old is None:
            name = f"{regarding.name}.{uuid.uuid4().hex[:16]}"
            ev = Event(name, regarding, type, reason, message, self.component, now, now,
                       1, self.resource_version)  # fmt: skip
        else:
            ev = replace(old, last=now, count=old.count + 1, regarding=regarding,
                         resource_version=self.resource_version)  # fmt: skip
        self._events[key] = ev
        self._trim(now)
        for listener in list(self._listeners):
            listener(ev)

    def _trim(self, now: float) -> None:
        while self._events:
            oldest = next(iter(self._events.values()))
            if len(self._events) <= self.max_events and now - oldest.last <= self.retention:
                return
            self._events.popitem(last=False)

    def events(self, namespace: str | None = None) -> list[Event]:
        """Every event kept (of one namespace), oldest last occurrence first."""
        self._trim(self.clock())
        return [e for e in self._events.values() if namespace in (None, e.regarding.namespace)]

    def since(self, resource_version: int, namespace: str | None = None) -> list[Event]:
        """Events created or repeated after ``resource_version``, in that order."""
        return [e for e in self.events(namespace) if e.resource_version > resource_version]

    def about(self, kind: str, namespace: str, names: set[str]) -> list[Event]:
        """Events of objects of one kind named one of ``names`` (for describe)."""
        return [
            e
            for e in self.events(namespace)
            if e.regarding.kind == kind and e.regarding.name in names
        ]

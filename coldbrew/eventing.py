"""Local mode's events: the runtime's scale calls and pod changes, seen by the controller.

:class:`ScaleRecorder` stands in for the pod runtime where replica counts are set (the
reserve hand-over, retirement) and records a ``ScalingReplicaSet`` event whenever a
replica set's desired count changes, as the Deployment controller does; everything else
is the runtime's. Pod events come from :class:`coldbrew.events.pods.PodEvents`.
"""

from __future__ import annotations

from typing import Any

from coldbrew.events import EventRecorder
from coldbrew.events.emitting import scaled
from coldbrew.runtime import PodTemplate


class ScaleRecorder:
    """The runtime, with a ``ScalingReplicaSet`` event for each change of a desired count."""

    def __init__(self, runtime: Any, recorder: EventRecorder) -> None:
        self.runtime = runtime
        self.recorder = recorder
        self.cold_starts: dict[str, int] = {}  # revision key -> standard scale-ups from zero

    def scale(self, template: PodTemplate, replicas: int) -> None:
        old = self.runtime.revision_state(template.key).desired
        # recorded first: the pods' own events (Scheduled...) follow from the scale
        scaled(self.recorder, template.namespace, template.revision, old, replicas,
               reserve=template.role == "reserve")  # fmt: skip
        if old == 0 < replicas and template.role == "standard":
            self.cold_starts[template.key] = self.cold_starts.get(template.key, 0) + 1
        self.runtime.scale(template, replicas)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.runtime, name)
        if callable(value):
            # The runtime's methods are bound once: __getattr__ runs only after a failed
            # lookup, which costs an exception, and its queries run for every revision of
            # every pass. Properties (``closed``) are read afresh each time.
            setattr(self, name, value)
        return value

"""Kubernetes-style Events, recorded by both modes (see :mod:`.recording`)."""

from .recording import (
    MAX_EVENTS,
    RETENTION_SECONDS,
    Event,
    EventRecorder,
    MemoryRecorder,
    ObjectRef,
    event_object,
)

__all__ = [
    "MAX_EVENTS",
    "RETENTION_SECONDS",
    "Event",
    "EventRecorder",
    "MemoryRecorder",
    "ObjectRef",
    "event_object",
]

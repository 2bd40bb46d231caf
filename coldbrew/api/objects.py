"""Full Kubernetes-shaped Service and Revision objects (for ``kubectl get -o yaml`` views)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .model import RevisionTemplate, Service

API_VERSION = "serving.knative.dev/v1"
SERVICE_LABEL = "serving.knative.dev/service"
SERVICE_UID_LABEL = "serving.knative.dev/serviceUID"
CONFIGURATION_LABEL = "serving.knative.dev/configuration"
CONFIGURATION_GENERATION_LABEL = "serving.knative.dev/configurationGeneration"
ROUTING_STATE_LABEL = "serving.knative.dev/routingState"
ROUTES_ANNOTATION = "serving.knative.dev/routes"


def rfc3339(timestamp: float) -> str:
    """Unix time -> ``2024-05-01T12:00:00Z`` (whole seconds, UTC), as Kubernetes writes it."""
    return _rfc3339(int(timestamp))


@functools.lru_cache(maxsize=256)
def _rfc3339(seconds: int) -> str:
    # cached: a pass over 10,000 services stamps them all within the same few seconds
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _metadata(
    name: str,
    namespace: str,
    uid: str,
    generation: int,
    created: float,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "uid": uid,
        "generation": generation,
        "creationTimestamp": rfc3339(created),
        "labels": dict(labels),
        "annotations": dict(annotations),
    }


def service_object(
    service: Service,
    *,
    uid: str,
    generation: int,
    created: float,
    status: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``serving.knative.dev/v1`` Service with the defaulted spec and the given status."""
    return {
        "apiVersion": API_VERSION,
        "kind": "Service",
        "metadata": _metadata(
            service.name,
            service.namespace,
            uid,
            generation,
            created,
            service.labels,
            service.annotations,
        ),
        "spec": service.spec_dict(),
        "status": dict(status or {}),
    }


def revision_object(
    service_name: str,
    namespace: str,
    name: str,
    template: RevisionTemplate,
    *,
    generation: int,
    uid: str,
    created: float,
    service_uid: str | None = None,
    routing_state: str | None = None,
    status: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``serving.knative.dev/v1`` Revision made from ``template``.

    ``generation`` is the configuration generation it was created at (label
    ``serving.knative.dev/configurationGeneration``); ``routing_state`` is
    ``"active"`` (referenced by the route) or ``"reserve"``. The revision's own
    ``metadata.generation`` is always 1: revisions are immutable.
    """
    labels = {
        **template.labels,
        SERVICE_LABEL: service_name,
        CONFIGURATION_LABEL: service_name,
        CONFIGURATION_GENERATION_LABEL: str(generation),
    }
    if service_uid is not None:
        labels[SERVICE_UID_LABEL] = service_uid
    annotations = dict(template.annotations)
    if routing_state is not None:
        labels[ROUTING_STATE_LABEL] = routing_state
        if routing_state == "active":
            annotations[ROUTES_ANNOTATION] = service_name
    metadata = _metadata(name, namespace, uid, 1, created, labels, annotations)
    metadata["ownerReferences"] = [
        {
            "apiVersion": API_VERSION,
            "kind": "Configuration",
            "name": service_name,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    return {
        "apiVersion": API_VERSION,
        "kind": "Revision",
        "metadata": metadata,
        "spec": template.revision_spec(),
        "status": dict(status or {}),
    }

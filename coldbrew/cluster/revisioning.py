"""Revision objects in the cluster: planning records, the object to create, readiness.

A Revision remembers the template it was made from by the hash annotation
``serving.coldbrew.dev/template-hash`` and its configuration generation by
Knative's ``serving.knative.dev/configurationGeneration`` label, so
:func:`coldbrew.api.plan` sees the same records after a controller restart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coldbrew.api import (
    ExistingRevision,
    RevisionPlan,
    RevisionState,
    RevisionTemplate,
    Service,
    parse_service,
    revision_object,
)
from coldbrew.api.features import ALL_ALLOWED
from coldbrew.api.objects import (
    CONFIGURATION_GENERATION_LABEL,
    ROUTES_ANNOTATION,
    SERVICE_UID_LABEL,
)

from .deployments import SERVICE_LABEL
from .kube.accessing import REVISIONS, SERVICES

HASH_ANNOTATION = "serving.coldbrew.dev/template-hash"


def _timestamp(text: str | None) -> float:
    if not text:
        return 0.0
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def record_of(obj: dict[str, Any]) -> ExistingRevision:
    meta = obj["metadata"]
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    return ExistingRevision(
        name=meta["name"],
        generation=int(labels.get(CONFIGURATION_GENERATION_LABEL, "0") or 0),
        template_hash=annotations.get(HASH_ANNOTATION, ""),
        created=_timestamp(meta.get("creationTimestamp")),
    )


def build_revision(
    service_obj: dict[str, Any], service: Service, planned: RevisionPlan
) -> dict[str, Any]:
    """The Revision object for ``planned``, owned (controller=true) by the Service object."""
    meta = service_obj["metadata"]
    obj = revision_object(
        service.name,
        service.namespace,
        planned.name,
        service.template,
        generation=planned.generation,
        uid="",
        created=0,
        service_uid=meta["uid"],
    )
    out_meta = obj["metadata"]
    for server_set in ("uid", "creationTimestamp", "generation"):
        out_meta.pop(server_set, None)
    out_meta["annotations"][HASH_ANNOTATION] = planned.template_hash
    out_meta["ownerReferences"] = [
        {
            "apiVersion": SERVICES.api_version,
            "kind": SERVICES.kind,
            "name": service.name,
            "uid": meta["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    obj.pop("status", None)
    assert obj["apiVersion"] == REVISIONS.api_version
    assert out_meta["labels"][SERVICE_UID_LABEL] == meta["uid"]
    return obj


def was_ready(revision: dict[str, Any]) -> bool:
    """The Revision's status already says Ready (readiness is kept once reached)."""
    for cond in (revision.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready" and cond.get("status") == "True":
            return True
    return False


def deployment_ready(deployment: dict[str, Any] | None) -> bool:
    status = (deployment or {}).get("status") or {}
    return max(status.get("readyReplicas") or 0, status.get("availableReplicas") or 0) >= 1


def deployment_failure(deployment: dict[str, Any] | None) -> tuple[str, str] | None:
    """``(reason, message)`` when the Deployment gave up (progress deadline exceeded)."""
    for cond in ((deployment or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("status") == "False":
            return str(cond.get("reason", "ProgressDeadlineExceeded")), str(cond.get("message", ""))
    return None


def revision_state(
    revision: dict[str, Any],
    standard: dict[str, Any] | None,
    reserve: dict[str, Any] | None,
    *,
    without_pods: bool = False,
) -> RevisionState:
    """``without_pods``: it is Ready with none (:func:`coldbrew.scaling.ready_without_pods`)."""
    ready = without_pods or was_ready(revision)
    ready = ready or deployment_ready(standard) or deployment_ready(reserve)
    return RevisionState(ready=ready, failure=None if ready else deployment_failure(standard))


def template_of(revision: dict[str, Any], service_name: str) -> RevisionTemplate:
    """The template a Revision object was made from (for revisions older than the latest)."""
    meta = revision["metadata"]
    labels = {
        k: v
        for k, v in (meta.get("labels") or {}).items()
        if not k.startswith("serving.knative.dev/")
    }
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if k not in (HASH_ANNOTATION, ROUTES_ANNOTATION)
    }
    template_meta: dict[str, Any] = {"labels": labels, "annotations": annotations}
    manifest = {
        "apiVersion": SERVICES.api_version,
        "kind": SERVICES.kind,
        "metadata": {"name": service_name, "namespace": meta["namespace"]},
        "spec": {"template": {"metadata": template_meta, "spec": revision["spec"]}},
    }
    # validated (with the flags of its day) when it was made: re-read it as written
    return parse_service(manifest, features=ALL_ALLOWED, keep_raw=True).template


def service_of(revision: dict[str, Any]) -> str | None:
    """The revision's Service: its ``serving.knative.dev/service`` label, else its owner.

    The controller sets both; the ownerReference (a ``serving.knative.dev`` Service) is
    the fallback for a Revision whose labels were edited or made by another tool.
    """
    meta = revision.get("metadata") or {}
    label = (meta.get("labels") or {}).get(SERVICE_LABEL)
    if label:
        return str(label)
    for ref in meta.get("ownerReferences") or []:
        group = str(ref.get("apiVersion") or "").split("/", 1)[0]
        if ref.get("kind") == SERVICES.kind and group == SERVICES.group and ref.get("name"):
            return str(ref["name"])
    return None

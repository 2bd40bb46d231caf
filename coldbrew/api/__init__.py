"""coldbrew's API model: Knative ``serving.knative.dev/v1`` Services, validated and normalized.

Pure logic, no I/O (apart from parsing a given YAML string)::

    from coldbrew.api import load_documents, parse_service
    svc = parse_service(load_documents(text)[0])   # raises ValidationError(field, message)
"""

from .annotations import parse_scaling
from .documents import load_documents
from .errors import ValidationError
from .model import (
    Container,
    Probe,
    ReserveSpecs,
    RevisionTemplate,
    Scaling,
    Service,
    TrafficTarget,
)
from .objects import revision_object, rfc3339, service_object
from .resolving import ResolvedTarget, RevisionState, RouteResult, resolve_traffic
from .revisions import ExistingRevision, RevisionPlan, plan, plan_revision
from .status import condition, revision_status, service_status
from .validation import parse_service

__all__ = [
    "Container",
    "ExistingRevision",
    "Probe",
    "ReserveSpecs",
    "ResolvedTarget",
    "RevisionPlan",
    "RevisionState",
    "RevisionTemplate",
    "RouteResult",
    "Scaling",
    "Service",
    "TrafficTarget",
    "ValidationError",
    "condition",
    "load_documents",
    "parse_scaling",
    "parse_service",
    "plan",
    "plan_revision",
    "resolve_traffic",
    "revision_object",
    "revision_status",
    "rfc3339",
    "service_object",
    "service_status",
]

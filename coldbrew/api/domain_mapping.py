"""``serving.knative.dev/v1beta1`` DomainMapping: a custom host mapped to a Service.

As Knative's: ``metadata.name`` is the host (a lower-case DNS name, not under the
cluster domain), ``spec.ref`` names a ``serving.knative.dev/v1`` Service in the same
namespace, ``spec.tls.secretName`` optionally names a ``kubernetes.io/tls`` Secret with
its certificate. :func:`domain_mapping_status` gives Knative's conditions (Ready from
DomainClaimed, ReferenceResolved, CertificateProvisioned and IngressReady).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .checks import check_keys, get_mapping, get_str, is_dns1123_label, string_map
from .errors import ValidationError, invalid_value
from .resolving import FALSE, TRUE, UNKNOWN
from .status import aggregate, condition, stamp

API_VERSION = "serving.knative.dev/v1beta1"
KIND = "DomainMapping"
REF_API_VERSION = "serving.knative.dev/v1"
HOST_HELP = "must be a DNS name: lower-case labels of [a-z0-9-] joined by '.', at most 253"
_NUMERIC = re.compile(r"[0-9.]+")


@dataclass(frozen=True)
class DomainMapping:
    name: str  # the host
    namespace: str
    service: str  # spec.ref.name
    tls_secret: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def is_dns_name(host: str) -> bool:
    parts = host.split(".")
    return (
        0 < len(host) <= 253
        and len(parts) >= 2
        and all(is_dns1123_label(p) for p in parts)
        and not _NUMERIC.fullmatch(host)
    )


def parse_domain_mapping(obj: Any) -> DomainMapping:
    """Validate a DomainMapping manifest; :class:`ValidationError` names the field."""
    if not isinstance(obj, dict):
        raise ValidationError("", "expected a mapping")
    check_keys(obj, ("apiVersion", "kind", "metadata", "spec", "status"), "")
    for key, want in (("apiVersion", API_VERSION), ("kind", KIND)):
        value = get_str(obj, key, "", required=True)
        if value != want:
            raise invalid_value(value, key, f'expected "{want}"')
    metadata = get_mapping(obj, "metadata", "", required=True) or {}
    check_keys(
        metadata,
        ("name", "namespace", "labels", "annotations", "uid", "resourceVersion",
         "generation", "creationTimestamp", "managedFields"),
        "metadata",
    )  # fmt: skip
    name = get_str(metadata, "name", "metadata", required=True) or ""
    if not is_dns_name(name):
        raise invalid_value(name, "metadata.name", HOST_HELP)
    if name.endswith((".svc.cluster.local", ".svc")):
        raise invalid_value(name, "metadata.name", "must not be a cluster-local name")
    namespace = get_str(metadata, "namespace", "metadata") or "default"
    if not is_dns1123_label(namespace):
        raise invalid_value(namespace, "metadata.namespace", "must be a DNS-1123 label")
    labels = string_map(metadata, "labels", "metadata", labels=True)
    annotations = string_map(metadata, "annotations", "metadata", labels=False)
    spec = get_mapping(obj, "spec", "", required=True) or {}
    check_keys(spec, ("ref", "tls"), "spec")
    ref = get_mapping(spec, "ref", "spec", required=True) or {}
    check_keys(ref, ("name", "namespace", "kind", "apiVersion"), "spec.ref")
    service = get_str(ref, "name", "spec.ref", required=True) or ""
    if not is_dns1123_label(service):
        raise invalid_value(service, "spec.ref.name", "must be a DNS-1123 label")
    kind = get_str(ref, "kind", "spec.ref", required=True)
    if kind != "Service":
        raise invalid_value(kind, "spec.ref.kind", 'expected "Service"')
    api_version = get_str(ref, "apiVersion", "spec.ref", required=True)
    if api_version != REF_API_VERSION:
        raise invalid_value(api_version, "spec.ref.apiVersion", f'expected "{REF_API_VERSION}"')
    ref_ns = get_str(ref, "namespace", "spec.ref") or namespace
    if ref_ns != namespace:
        raise invalid_value(ref_ns, "spec.ref.namespace", f'must be "{namespace}" (the mapping\'s)')
    secret = None
    tls = get_mapping(spec, "tls", "spec")
    if tls is not None:
        check_keys(tls, ("secretName",), "spec.tls")
        secret = get_str(tls, "secretName", "spec.tls", required=True)
    return DomainMapping(name, namespace, service, secret, labels, annotations)


def domain_mapping_object(
    dm: DomainMapping, *, uid: str, created: str, status: Mapping[str, Any]
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": dm.name,
        "namespace": dm.namespace,
        "uid": uid,
        "generation": 1,
        "creationTimestamp": created,
    }
    if dm.labels:
        metadata["labels"] = dict(dm.labels)
    if dm.annotations:
        metadata["annotations"] = dict(dm.annotations)
    spec: dict[str, Any] = {
        "ref": {
            "apiVersion": REF_API_VERSION,
            "kind": "Service",
            "name": dm.service,
            "namespace": dm.namespace,
        }
    }
    if dm.tls_secret:
        spec["tls"] = {"secretName": dm.tls_secret}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "spec": spec,
        "status": dict(status),
    }


def domain_mapping_status(
    dm: DomainMapping,
    *,
    resolved: bool,
    routed: bool,
    https: bool,
    now: float,
    previous: Mapping[str, Any] | None = None,
    claimed: bool = True,
) -> dict[str, Any]:
    """Knative's DomainMapping status. ``resolved``: the Service exists; ``routed``: the
    gateway serves the host; ``https``: a certificate for the host is served;
    ``claimed``: no earlier mapping holds the host (locally a second one is refused)."""
    if claimed:
        claim = condition("DomainClaimed", TRUE)
    else:
        claim = condition(
            "DomainClaimed", FALSE, "DomainAlreadyClaimed",
            f"The domain name {dm.name} is already in use by another DomainMapping.",
        )  # fmt: skip
    if resolved:
        reference = condition("ReferenceResolved", TRUE)
    else:
        reference = condition(
            "ReferenceResolved", FALSE, "ResolveFailed",
            f'services.serving.knative.dev "{dm.service}" not found',
        )  # fmt: skip
    if https:
        certificate = condition("CertificateProvisioned", TRUE)
    else:
        certificate = condition(
            "CertificateProvisioned", TRUE, "TLSNotEnabled",
            "No HTTPS listener serves a certificate for this host.",
        )  # fmt: skip
    if routed:
        ingress = condition("IngressReady", TRUE)
    else:
        ingress = condition(
            "IngressReady", UNKNOWN if resolved else FALSE, "IngressNotConfigured",
            "Ingress has not yet been reconciled.",
        )  # fmt: skip
    parts = [claim, reference, certificate, ingress]
    ready = aggregate("Ready", parts)
    url = f"{'https' if https else 'http'}://{dm.name}"
    return {
        "observedGeneration": 1,
        "url": url,
        "address": {"url": url},
        "conditions": stamp([ready, *parts], now, previous),
    }

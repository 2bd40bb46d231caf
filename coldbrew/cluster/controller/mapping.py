"""DomainMapping status in the cluster: claimed, reference resolved, routed.

The gateways route a mapping's host by themselves (:mod:`..mirror.reading`); the
controller only reports on it, as Knative's DomainMapping reconciler: DomainClaimed is
False for every mapping of a host but the first claim (by creationTimestamp, then
namespace: the rule the gateways route by), ReferenceResolved is False while the Service
does not exist, IngressReady is True once the Service has traffic to route. Certificates
come from the gateway's own TLS configuration (the chart's Secrets), so
CertificateProvisioned says TLSNotEnabled and the URL is http.
"""

from __future__ import annotations

from typing import Any

from coldbrew.api import ValidationError
from coldbrew.api.domain_mapping import domain_mapping_status, parse_domain_mapping
from coldbrew.api.status import condition

from ..kube.accessing import DOMAIN_MAPPINGS, SERVICES, Kube
from ..kube.writing import write_status
from ..mirror.reading import claim_order
from .reconciling import INVALID_SPEC, Settings


async def reconcile_mapping(kube: Kube, namespace: str, name: str, settings: Settings) -> None:
    obj = await kube.get(DOMAIN_MAPPINGS, namespace, name)
    if obj is None:
        return
    try:
        dm = parse_domain_mapping(obj)
    except ValidationError as exc:
        message = str(exc)

        def invalid(current: dict[str, Any]) -> dict[str, Any]:
            return {"conditions": [condition("Ready", "False", INVALID_SPEC, message)]}

        await write_status(kube, DOMAIN_MAPPINGS, obj, invalid)
        return
    claims = (await kube.list(DOMAIN_MAPPINGS)).get("items") or []
    same = [o for o in claims if (o.get("metadata") or {}).get("name") == name]
    first = min(same, key=claim_order) if same else obj
    claimed = claim_order(first) == claim_order(obj)
    service = await kube.get(SERVICES, namespace, dm.service)
    traffic = ((service or {}).get("status") or {}).get("traffic")
    routed = claimed and bool(traffic)

    def compute(current: dict[str, Any]) -> dict[str, Any]:
        return domain_mapping_status(
            dm,
            resolved=service is not None,
            routed=routed,
            https=False,
            now=settings.clock(),
            previous=current.get("status"),
            claimed=claimed,
        )

    await write_status(kube, DOMAIN_MAPPINGS, obj, compute)

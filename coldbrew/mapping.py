"""DomainMappings in local mode: stored, claimed once, routed to their Service's revisions.

A mapping's host answers with the traffic of the Service's main route (the targets of
its ``{name}.{namespace}.svc.cluster.local`` host, which every routed Service has), so
it follows rollouts. A host is claimed by the first mapping applied for it: a second
one, in any namespace, is refused at apply naming ``metadata.name`` (Knative refuses it
through a ClusterDomainClaim). The mapping's own ``networking.knative.dev/http-protocol``
annotation, else the ``network:`` config, says whether plain HTTP is redirected.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from coldbrew.api import ValidationError
from coldbrew.api.domain_mapping import (
    DomainMapping,
    domain_mapping_object,
    domain_mapping_status,
    parse_domain_mapping,
)
from coldbrew.api.objects import rfc3339
from coldbrew.storing import Repository, StoredDomainMapping
from rulebook.hosts import http_option, internal_hosts, redirected_hosts

Table = dict[str, list[tuple[str, int]]]


class DomainMappings:
    """The stored mappings and what they add to the gateway's host table."""

    def __init__(self, store: Repository, on_change: Callable[[], None]) -> None:
        self.store = store
        self.on_change = on_change  # republish the routes
        self._parsed: dict[str, DomainMapping] = {}
        self._status: dict[str, dict[str, Any]] = {}

    def parsed(self, rec: StoredDomainMapping) -> DomainMapping:
        dm = self._parsed.get(rec.key)
        if dm is None:
            dm = self._parsed[rec.key] = parse_domain_mapping(dict(rec.manifest))
        return dm

    def all(self) -> list[DomainMapping]:
        return [self.parsed(rec) for rec in self.store.domain_mappings.list()]

    def hosts(self) -> set[str]:
        return {rec.name for rec in self.store.domain_mappings.list()}

    def apply(self, obj: dict[str, Any]) -> tuple[str, StoredDomainMapping]:
        dm = parse_domain_mapping(obj)
        try:
            http_option(dm.annotations)
        except ValueError as exc:
            raise ValidationError("metadata.annotations", str(exc)) from None
        for other in self.store.domain_mappings.list():
            if other.name == dm.name and other.namespace != dm.namespace:
                raise ValidationError(
                    "metadata.name",
                    f'domain "{dm.name}" is already claimed by the DomainMapping in '
                    f'namespace "{other.namespace}"',
                    "a host is mapped by one DomainMapping only (DomainClaimed)",
                )
        rec = self.store.domain_mappings.get(dm.key)
        if rec is not None and self.parsed(rec) == dm:
            return "unchanged", rec
        result = "created" if rec is None else "configured"
        if rec is None:
            rec = StoredDomainMapping(dm.namespace, dm.name, obj, str(uuid.uuid4()), time.time())
        else:
            rec = dataclasses.replace(rec, manifest=obj)
        with self.store.transaction():
            self.store.domain_mappings.put(rec)
        self._parsed[dm.key] = dm
        self.on_change()
        return result, rec

    def delete(self, namespace: str, name: str) -> bool:
        key = f"{namespace}/{name}"
        with self.store.transaction():
            if not self.store.domain_mappings.delete(key):
                return False
        self._parsed.pop(key, None)
        self._status.pop(key, None)
        self.on_change()
        return True

    def routes(
        self, table: Mapping[str, Sequence[tuple[str, int]]], default_protocol: str
    ) -> tuple[Table, set[str]]:
        """The mapped hosts' routes (from ``table``, the Services' hosts) and redirects."""
        out: Table = {}
        redirected: set[str] = set()
        for dm in self.all():
            targets = table.get(internal_hosts(dm.service, dm.namespace)[0])
            if not targets:
                continue
            out[dm.name] = list(targets)
            option = http_option(dm.annotations, default_protocol)
            redirected |= redirected_hosts({dm.name: targets}, option, {})
        return out, redirected

    def present(
        self,
        rec: StoredDomainMapping,
        *,
        resolved: bool,
        routed: bool,
        https: bool,
    ) -> dict[str, Any]:
        dm = self.parsed(rec)
        status = domain_mapping_status(
            dm,
            resolved=resolved,
            routed=routed,
            https=https,
            now=time.time(),
            previous=self._status.get(rec.key),
        )
        self._status[rec.key] = status
        return domain_mapping_object(dm, uid=rec.uid, created=rfc3339(rec.created), status=status)

"""What a gateway needs from the cluster's objects, read defensively from raw dicts.

* a Service's ``status`` -> its hosts' routes (``status.url`` and ``status.traffic``, as
  the controller wrote them: the main host gets every entry with percent > 0, each tagged
  entry its own ``url`` host at 100%); :func:`service_hosts` adds the cluster-local names
  and the hosts its ``http-protocol: Redirected`` annotation redirects
  (:mod:`rulebook.hosts`);
* a Revision -> its request-path settings (timeouts, container concurrency);
* a Pod -> its revision, role (standard or reserve) and, when it can take requests, its
  ``(podIP, containerPort)``.

Objects are written by other programs; a malformed one raises :class:`Unreadable` (the
caller logs it and ignores the object) and never takes the gateway down.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from coldbrew.api import ValidationError
from coldbrew.api.domain_mapping import parse_domain_mapping
from gateway.settings import RevisionSettings
from rulebook.hosts import http_option, internal_hosts, redirected_hosts, serving_hosts
from rulebook.revision_settings import revision_settings as settings_of

from ..deployments import DEFAULT_PORT, REVISION_LABEL, ROLE_LABEL
from ..revisioning import service_of, template_of

Routes = dict[str, list[tuple[str, int]]]
Address = tuple[str, int]


class Unreadable(ValueError):
    """An object the gateway cannot use (it says which field is wrong)."""


def _host(url: Any, where: str) -> str:
    if not isinstance(url, str):
        raise Unreadable(f"{where} must be a URL, got {url!r}")
    host = urlsplit(url if "//" in url else f"//{url}").hostname
    if not host:
        raise Unreadable(f"{where} has no host: {url!r}")
    return host.lower()


def service_routes(obj: dict[str, Any]) -> Routes:
    """``host -> [("namespace/revision", percent)]`` of one Service; {} before its first route."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace") or "default"
    status = obj.get("status") or {}
    traffic = status.get("traffic") or []
    if not traffic or not status.get("url"):
        return {}
    if not isinstance(traffic, list):
        raise Unreadable("status.traffic must be a list")
    main = _host(status["url"], "status.url")
    weights: dict[str, int] = {}
    table: Routes = {}
    for i, entry in enumerate(traffic):
        where = f"status.traffic[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("revisionName"), str):
            raise Unreadable(f"{where}.revisionName must be a string")
        key = f"{namespace}/{entry['revisionName']}"
        percent = entry.get("percent") or 0
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            raise Unreadable(f"{where}.percent must be an integer 0-100, got {percent!r}")
        if percent:
            weights[key] = weights.get(key, 0) + percent
        if entry.get("url"):
            table[_host(entry["url"], f"{where}.url")] = [(key, 100)]
    if weights:
        table[main] = list(weights.items())
    return table


def service_hosts(obj: dict[str, Any]) -> tuple[Routes, frozenset[str]]:
    """:func:`service_routes` with the cluster-local names, and the redirected hosts."""
    public = service_routes(obj)
    if not public:
        return {}, frozenset()
    meta = obj.get("metadata") or {}
    name, namespace = str(meta.get("name")), meta.get("namespace") or "default"
    main = _host((obj.get("status") or {}).get("url"), "status.url")
    labels = meta.get("labels") or {}
    try:
        option = http_option(meta.get("annotations") or {})
    except ValueError as exc:
        raise Unreadable(str(exc)) from exc
    redirected = frozenset(redirected_hosts(public, option, labels))
    return serving_hosts(public, main, name, namespace), redirected


@dataclass(frozen=True, slots=True)
class Mapping:
    """A DomainMapping as the gateway routes it: ``host`` -> the Service's main traffic."""

    host: str
    namespace: str
    service: str
    claimed_at: tuple[str, str]  # (creationTimestamp, namespace): the first claim wins
    redirect: bool
    tls_secret: str | None = None  # spec.tls.secretName (in ``namespace``)


def domain_mapping(obj: dict[str, Any]) -> Mapping:
    """A DomainMapping's host and target (validated as the local API validates it)."""
    meta = obj.get("metadata") or {}
    try:
        dm = parse_domain_mapping(obj)
        redirect = http_option(dm.annotations) == "redirected"
    except (ValidationError, ValueError) as exc:
        raise Unreadable(f"domainmapping {meta.get('name')!r}: {exc}") from exc
    claimed = claim_order(obj)
    return Mapping(dm.name, dm.namespace, dm.service, claimed, redirect, dm.tls_secret)


def claim_order(obj: dict[str, Any]) -> tuple[str, str]:
    """Where a DomainMapping stands among its host's claims: (creationTimestamp,
    namespace), the least first. The gateways route by it, the controller reports by it."""
    meta = obj.get("metadata") or {}
    return (str(meta.get("creationTimestamp") or ""), str(meta.get("namespace") or "default"))


def mapped_routes(mappings: Iterable[Mapping], table: Routes) -> tuple[Routes, set[str]]:
    """Each mapped host to its Service's main traffic (its svc.cluster.local host in
    ``table``); a host claimed twice goes to the first claim. Also the redirected hosts."""
    out: Routes = {}
    redirected: set[str] = set()
    for m in sorted(mappings, key=lambda m: m.claimed_at):
        targets = table.get(internal_hosts(m.service, m.namespace)[0])
        if m.host in out or m.host in table or not targets:
            continue
        out[m.host] = list(targets)
        if m.redirect:
            redirected.add(m.host)
    return out, redirected


def revision_settings(obj: dict[str, Any]) -> RevisionSettings:
    """The gateway settings of a Revision (:func:`rulebook.revision_settings.revision_settings`)."""
    meta = obj.get("metadata") or {}
    service = service_of(obj)
    if not service:
        raise Unreadable(f"revision {meta.get('name')!r} names no Service (label or owner)")
    try:
        template = template_of(obj, service)
    except Exception as exc:  # a ValidationError or a shape it cannot read
        raise Unreadable(f"revision {meta.get('name')!r}: {exc}") from exc
    return settings_of(template)  # wake_on_request: set by the mirror from the pods


@dataclass(frozen=True, slots=True)
class PodEndpoint:
    """One pod of a revision; ``address`` is None while it cannot take requests."""

    key: str  # "namespace/revision"
    name: str
    reserve: bool
    address: Address | None


def _port(spec: dict[str, Any]) -> int:
    containers = spec.get("containers") or []
    ordered = sorted(containers, key=lambda c: c.get("name") != "user-container")
    for container in ordered:
        for port in container.get("ports") or []:
            if isinstance(port.get("containerPort"), int):
                return int(port["containerPort"])
    return DEFAULT_PORT


def _ready(status: dict[str, Any]) -> bool:
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def pod_endpoint(obj: dict[str, Any]) -> PodEndpoint:
    """A Pod as an endpoint: ready, with an IP and not terminating, else ``address`` None."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    revision = labels.get(REVISION_LABEL)
    if not revision or not meta.get("name"):
        raise Unreadable(f"pod {meta.get('name')!r} has no {REVISION_LABEL} label")
    status = obj.get("status") or {}
    ip = status.get("podIP")
    usable = bool(ip) and not meta.get("deletionTimestamp") and _ready(status)
    return PodEndpoint(
        key=f"{meta.get('namespace') or 'default'}/{revision}",
        name=meta["name"],
        reserve=labels.get(ROLE_LABEL) == "reserve",
        address=(str(ip), _port(obj.get("spec") or {})) if usable else None,
    )

"""Which hosts a Service answers on: domains, visibility, cluster-local names, http-protocol.

- Domain (Knative's config-domain, ``LookupDomainForLabels``): each domain has a label
  selector; the matching selector with the most labels wins (ties: the domain first in
  alphabetical order); the empty selector matches everything. A Service labelled
  ``networking.knative.dev/visibility: cluster-local`` (or the obsolete
  ``serving.knative.dev/visibility``) gets ``svc.cluster.local`` instead.
- Hosts: every Service answers on ``{name}.{namespace}.svc.cluster.local``,
  ``{name}.{namespace}.svc`` and ``{name}.{namespace}`` (Knative's cluster-local
  gateway); a public one also on its domain's host and tag hosts, a cluster-local one not
  (its tag hosts are cluster-local names too).
- http-protocol (Knative's ``GetHTTPOption``): the annotation
  ``networking.knative.dev/http-protocol`` (or ``.../httpOption``) overrides the
  ``network:`` config's ``http-protocol``; ``Redirected`` sends plain HTTP on the public
  hosts to https with a 301, cluster-local names are never redirected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

VISIBILITY_LABEL = "networking.knative.dev/visibility"
VISIBILITY_LABEL_OBSOLETE = "serving.knative.dev/visibility"
CLUSTER_LOCAL = "cluster-local"
CLUSTER_DOMAIN = "svc.cluster.local"
HTTP_PROTOCOL_ANNOTATION = "networking.knative.dev/http-protocol"
HTTP_OPTION_ANNOTATION = "networking.knative.dev/httpOption"
ENABLED, REDIRECTED = "enabled", "redirected"
HTTP_PROTOCOLS = (ENABLED, REDIRECTED)

Targets = Sequence[tuple[str, int]]
Selector = Mapping[str, str]


def is_cluster_local(labels: Mapping[str, str]) -> bool:
    """The Service is labelled cluster-local (current or obsolete label key)."""
    return CLUSTER_LOCAL in (labels.get(VISIBILITY_LABEL), labels.get(VISIBILITY_LABEL_OBSOLETE))


def domain_for(labels: Mapping[str, str], domains: Mapping[str, Selector], default: str) -> str:
    """The Service's domain: config-domain's most specific match, else ``default``."""
    if is_cluster_local(labels):
        return CLUSTER_DOMAIN
    best, specificity = "", -1
    for domain, selector in domains.items():
        if any(labels.get(k) != v for k, v in selector.items()):
            continue
        if len(selector) > specificity or (len(selector) == specificity and domain < best):
            best, specificity = domain, len(selector)
    return best or default


def internal_hosts(name: str, namespace: str) -> tuple[str, ...]:
    """The cluster-local names of a Service, longest first."""
    base = f"{name}.{namespace}".lower()
    return (f"{base}.{CLUSTER_DOMAIN}", f"{base}.svc", base)


def _short_forms(host: str) -> list[str]:
    if host.endswith(f".{CLUSTER_DOMAIN}"):
        stem = host[: -len(CLUSTER_DOMAIN) - 1]
        return [host, f"{stem}.svc", stem]
    return [host]


def serving_hosts(
    table: Mapping[str, Targets], main: str, name: str, namespace: str
) -> dict[str, list[tuple[str, int]]]:
    """A Service's host table with its cluster-local names added.

    ``table`` has ``main`` (the ``status.url`` host) and the tag hosts; the main
    targets also answer on :func:`internal_hosts`, and every ``.svc.cluster.local``
    host on its ``.svc`` and bare forms.
    """
    out: dict[str, list[tuple[str, int]]] = {}
    shared: dict[str, list[tuple[str, int]]] = {}  # one list per entry, whatever its forms
    for host, targets in table.items():
        shared[host] = list(targets)
        for form in _short_forms(host):
            out[form] = shared[host]
    if main in table:
        for host in internal_hosts(name, namespace):
            out.setdefault(host, shared[main])
    return out


def http_option(annotations: Mapping[str, str], default: str = ENABLED) -> str:
    """``enabled`` or ``redirected``; ValueError naming the annotation if it is neither."""
    for key in (HTTP_PROTOCOL_ANNOTATION, HTTP_OPTION_ANNOTATION):
        value = annotations.get(key)
        if value is not None:
            option = value.strip().lower()
            if option not in HTTP_PROTOCOLS:
                raise ValueError(f"incorrect http-protocol annotation {key}: {value!r}")
            return option
    return default


def redirected_hosts(
    table: Mapping[str, Targets], option: str, labels: Mapping[str, str]
) -> frozenset[str]:
    """The hosts of ``table`` (before :func:`serving_hosts`) answered with a 301 to https:
    all of them when ``redirected`` and the Service is public, else none."""
    if option != REDIRECTED or is_cluster_local(labels):
        return NONE  # one empty set for all (each frozenset() is a new 216 bytes)
    return frozenset(host for host in table if not host.endswith(f".{CLUSTER_DOMAIN}"))


NONE: frozenset[str] = frozenset()

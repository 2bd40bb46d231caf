"""The ``network:`` and ``domain:`` sections of ``coldbrew serve --config FILE``.

- ``network:`` as Knative's config-network: ``http-protocol: Enabled | Redirected``, the
  default for Services without the ``networking.knative.dev/http-protocol`` annotation.
- ``domain:`` as Knative's config-domain: domain -> ``""`` (the default, matching every
  Service) or ``{selector: {label: value, ...}}``, e.g.
  ``{"example.com": "", "svc.example.org": {"selector": {"app": "prod"}}}``; the most
  specific match wins (:func:`rulebook.hosts.domain_for`). Without the section every
  Service gets ``--domain``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from autoscaler.pricing import SectionError
from coldbrew.api.checks import is_dns1123_label
from rulebook.hosts import ENABLED, HTTP_PROTOCOLS, Selector


@dataclass(frozen=True)
class NetworkConfig:
    http_protocol: str = ENABLED  # enabled | redirected (lower-case)

    @classmethod
    def from_mapping(cls, m: Any) -> NetworkConfig:
        if m is None:
            return cls()
        if not isinstance(m, dict):
            raise SectionError("network", "must be a mapping of config-network keys")
        values: dict[str, Any] = {}
        for key, raw in m.items():
            where = f"network.{key}"
            if key == "http-protocol":
                option = raw.strip().lower() if isinstance(raw, str) else None
                if option not in HTTP_PROTOCOLS:
                    raise SectionError(where, f"must be Enabled or Redirected, got {raw!r}")
                values["http_protocol"] = option
            else:
                raise SectionError(where, "unknown key (known: http-protocol)")
        return cls(**values)


@dataclass(frozen=True)
class DomainConfig:
    """Domain -> label selector; empty: every Service gets the ``--domain``."""

    domains: dict[str, Selector] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, m: Any) -> DomainConfig:
        if m is None:
            return cls()
        if not isinstance(m, dict):
            raise SectionError("domain", "must be a mapping of domain -> selector")
        domains: dict[str, Selector] = {}
        for domain, raw in m.items():
            where = f"domain.{domain}"
            name = str(domain).lower().rstrip(".")
            if not name or not all(is_dns1123_label(part) for part in name.split(".")):
                raise SectionError(where, "must be a DNS domain name")
            domains[name] = _selector(where, raw)
        return cls(domains)


def _selector(where: str, raw: Any) -> dict[str, str]:
    if raw is None or raw == "" or raw == {}:
        return {}
    if not isinstance(raw, dict) or set(raw) != {"selector"}:
        raise SectionError(where, 'must be "" (the default) or {selector: {label: value}}')
    selector = raw["selector"]
    if not isinstance(selector, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in selector.items()
    ):
        raise SectionError(f"{where}.selector", "must map label names to string values")
    return dict(selector)

"""The ``network:`` and ``domain:`` sections of ``coldbrew serve --config FILE``.

- ``network:`` as Knative's config-network: ``http-protocol: Enabled | Redirected``, the
  default for Services without the ``networking.knative.dev/http-protocol`` annotation;
  ``rollout-duration``: the gradual rollout's default for Services without the
  ``serving.knative.dev/rollout-duration`` annotation (:mod:`rulebook.rollout`), whole
  seconds as Knative's config-network (``380``) or a Go duration (``"380s"``); 0: none.
- ``domain:`` as Knative's config-domain: domain -> ``""`` (the default, matching every
  Service) or ``{selector: {label: value, ...}}``, e.g.
  ``{"example.com": "", "svc.example.org": {"selector": {"app": "prod"}}}``; the most
  specific match wins (:func:`rulebook.hosts.domain_for`). Without the section every
  Service gets ``--domain``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from autoscaler.durations import SECOND, DurationError, parse_duration_ns
from autoscaler.pricing import SectionError
from coldbrew.api.checks import is_dns1123_label
from rulebook.hosts import ENABLED, HTTP_PROTOCOLS, Selector


@dataclass(frozen=True)
class NetworkConfig:
    http_protocol: str = ENABLED  # enabled | redirected (lower-case)
    rollout_seconds: int = 0  # gradual rollout default; 0: the new revision at once

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
            elif key == "rollout-duration":
                values["rollout_seconds"] = _rollout_seconds(where, raw)
            else:
                raise SectionError(where, "unknown key (known: http-protocol, rollout-duration)")
        return cls(**values)


def _rollout_seconds(where: str, raw: Any) -> int:
    """Whole seconds (Knative's integer) or a Go duration at second precision, >= 0."""
    if isinstance(raw, bool):
        raise SectionError(where, f"must be whole seconds or a Go duration, got {raw!r}")
    if isinstance(raw, int) or (isinstance(raw, str) and raw.strip().isdigit()):
        seconds = int(raw)
    else:
        try:
            ns = parse_duration_ns(raw)
        except DurationError as exc:
            raise SectionError(where, f"must be whole seconds or a Go duration: {exc}") from None
        if ns % SECOND:
            raise SectionError(where, f"{raw!r} is not at second precision")
        seconds = ns // SECOND
    if seconds < 0:
        raise SectionError(where, f"must not be negative, got {raw!r}")
    return seconds


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

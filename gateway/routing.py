"""Host -> revision routing with weighted traffic splits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from random import random


def normalize_host(raw: bytes) -> bytes:
    """Lower-case a Host header value and strip any ``:port`` and trailing dot."""
    host = raw.strip().lower()
    if host.startswith(b"["):  # IPv6 literal: [::1]:8080
        end = host.find(b"]")
        return host[: end + 1] if end >= 0 else host
    colon = host.rfind(b":")
    if colon >= 0:
        host = host[:colon]
    if host.endswith(b"."):
        host = host[:-1]
    return host


def _encode_host(host: str) -> bytes:
    try:
        return host.encode("idna")
    except UnicodeError:
        return host.encode("utf-8")


class Route:
    """The revisions serving one host, with a precomputed cumulative weight table."""

    __slots__ = ("_cumulative", "_keys", "_single")

    def __init__(self, targets: Sequence[tuple[str, int]]) -> None:
        live = [(key, float(weight)) for key, weight in targets if weight > 0]
        total = sum(weight for _, weight in live)
        self._keys = tuple(key for key, _ in live)
        running = 0.0
        cumulative = []
        for _, weight in live:
            running += weight / total
            cumulative.append(running)
        if cumulative:
            cumulative[-1] = 1.0  # guard against float drift
        self._cumulative = tuple(cumulative)
        self._single = self._keys[0] if len(self._keys) == 1 else None

    @property
    def keys(self) -> tuple[str, ...]:
        return self._keys

    def pick(self) -> str | None:
        """Pick a revision key by weight; None when every weight is 0."""
        if self._single is not None:
            return self._single
        if not self._keys:
            return None
        r = random()
        for key, bound in zip(self._keys, self._cumulative, strict=True):
            if r < bound:
                return key
        return self._keys[-1]


class RouteTable:
    """Immutable host -> Route map; replaced as a whole by ``Gateway.set_routes``."""

    __slots__ = ("_routes",)

    def __init__(self, routes: Mapping[str, Sequence[tuple[str, int]]] | None = None) -> None:
        self._routes: dict[bytes, Route] = {}
        for host, targets in (routes or {}).items():
            self._routes[normalize_host(_encode_host(host))] = Route(targets)

    def lookup(self, raw_host: bytes) -> Route | None:
        """The route for a raw Host header value (case and port insensitive)."""
        route = self._routes.get(raw_host)  # already normalized: the usual case, no copies
        if route is None:
            route = self._routes.get(normalize_host(raw_host))
        return route

    def hosts(self) -> list[bytes]:
        return list(self._routes)

"""Route table deltas: what changed between two host tables, and who publishes them.

Whatever programs a gateway (the local controller, the cluster mirror) computes a whole
host table on every change; sending that table to every gateway worker per change costs
O(services) per change and O(services^2) to bring services up one by one. Instead
:class:`RoutePublisher` keeps the table it last published and hands the data plane only
the difference (:meth:`GatewayControl.update_routes`); the first table it publishes is a
snapshot (``set_routes``).

A delta (:class:`RouteDelta`):

- ``changed``: host -> [(revision key, percent)], hosts added or whose targets or redirect
  flag changed; each replaces that host's entry whole;
- ``removed``: hosts that leave the table;
- ``redirected``: the hosts of ``changed`` that are redirected (http-protocol: Redirected);
  a host of ``changed`` not listed is not.

On the worker feed a delta travels as ``{"op": "update_routes", "version": N, "args":
{"set": {...}, "remove": [...], "redirected": [...]}}`` (:func:`delta_args` /
:func:`read_delta_args`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from gateway.settings import GatewayControl, Routes

Targets = list[tuple[str, int]]


@dataclass(frozen=True, slots=True)
class RouteDelta:
    changed: dict[str, Targets] = field(default_factory=dict)
    removed: frozenset[str] = frozenset()
    redirected: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.changed or self.removed)


def diff_routes(
    old: Mapping[str, Sequence[tuple[str, int]]],
    old_redirected: Collection[str],
    new: Mapping[str, Sequence[tuple[str, int]]],
    new_redirected: Collection[str],
) -> RouteDelta:
    """The delta that turns table ``old`` into ``new`` (redirect flags included)."""
    changed: dict[str, Targets] = {}
    for host, targets in new.items():
        redirect = host in new_redirected
        before = old.get(host)
        if before is None or (host in old_redirected) != redirect or not _same(before, targets):
            changed[host] = as_list(targets)
    removed = frozenset(host for host in old if host not in new)
    redirected = frozenset(host for host in changed if host in new_redirected)
    return RouteDelta(changed, removed, redirected)


def as_list(targets: Sequence[tuple[str, int]]) -> Targets:
    """``targets`` as a list: the very list when it is one. Tables share their target lists
    rather than copy them (at 10,000 services a copy is megabytes): a list in a published
    table is never changed in place, each change hands over a new one."""
    return targets if type(targets) is list else list(targets)


def _same(a: Sequence[tuple[str, int]], b: Sequence[tuple[str, int]]) -> bool:
    return a is b or as_list(a) == as_list(b)


def delta_args(delta: RouteDelta) -> dict[str, object]:
    """The feed's ``update_routes`` arguments (JSON-ready)."""
    return {
        "set": {host: [[key, weight] for key, weight in t] for host, t in delta.changed.items()},
        "remove": sorted(delta.removed),
        "redirected": sorted(delta.redirected),
    }


def read_targets(targets: object) -> Targets:
    """``[[key, percent], ...]`` from the feed; malformed raises ValueError."""
    if not isinstance(targets, list):
        raise ValueError(f"route targets must be a list, got {targets!r}")
    out: Targets = []
    for target in targets:
        if not (isinstance(target, list | tuple) and len(target) == 2):
            raise ValueError(f"a route target is [key, percent], got {target!r}")
        out.append((str(target[0]), int(target[1])))
    return out


def read_delta_args(args: Mapping[str, object]) -> RouteDelta:
    """The inverse of :func:`delta_args`; a malformed frame raises ValueError."""
    changed, removed = args.get("set", {}), args.get("remove", [])
    redirected = args.get("redirected", [])
    if not isinstance(changed, Mapping):
        raise ValueError("update_routes needs a set object")
    if not isinstance(removed, list) or not isinstance(redirected, list):
        raise ValueError("update_routes needs remove and redirected lists")
    table = {str(host): read_targets(targets) for host, targets in changed.items()}
    return RouteDelta(table, frozenset(map(str, removed)), frozenset(map(str, redirected)))


class RoutePublisher:
    """Publish whole tables to a :class:`GatewayControl` as a snapshot, then deltas."""

    def __init__(self, control: GatewayControl) -> None:
        self.control = control
        self.table: dict[str, Targets] = {}
        self.redirected: frozenset[str] = frozenset()
        self._started = False

    def seed(self, table: Routes, redirected: Collection[str] = ()) -> None:
        """Program ``table`` as the snapshot (a table kept from before a restart): what
        :meth:`publish` is given next goes as a delta from it."""
        self._started = False
        self.publish(table, redirected)

    def publish(self, table: Routes, redirected: Collection[str] = ()) -> RouteDelta | None:
        """Program ``table``; returns the delta sent (None for the first, a snapshot)."""
        new = {host: as_list(targets) for host, targets in table.items()}
        flags = frozenset(host for host in redirected if host in new)
        if not self._started:
            self._started = True
            self.table, self.redirected = new, flags
            self.control.set_routes(new, flags)
            return None
        delta = diff_routes(self.table, self.redirected, new, flags)
        self.table, self.redirected = new, flags
        if delta:
            self.control.update_routes(delta.changed, delta.removed, delta.redirected)
        return delta

"""Route table deltas: RouteTable.update, diff_routes, RoutePublisher, Gateway.update_routes."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import aiohttp

from gateway import Gateway
from gateway.handling import RouteTable
from gateway.route_deltas import (
    RouteDelta,
    RoutePublisher,
    delta_args,
    diff_routes,
    read_delta_args,
)
from gateway.settings import Address, RevisionSettings, Routes
from tests.gateway.conftest import HOST, KEY, Upstream

A, B = "a.default.example.com", "b.default.example.com"


def keys(table: RouteTable, host: str) -> tuple[str, ...] | None:
    route = table.lookup(host.encode())
    return None if route is None else route.keys


def redirect(table: RouteTable, host: str) -> bool:
    route = table.lookup(host.encode())
    assert route is not None
    return route.redirect


def test_update_adds_replaces_and_removes_hosts_leaving_others_alone() -> None:
    table = RouteTable({A: [("default/a-1", 100)], B: [("default/b-1", 100)]}, {B})
    other = table.lookup(B.encode())
    table.update({"c.default.example.com": [("default/c-1", 100)], A: [("default/a-2", 100)]})
    assert keys(table, A) == ("default/a-2",)
    assert keys(table, "c.default.example.com") == ("default/c-1",)
    assert table.lookup(B.encode()) is other  # untouched: the same Route object
    table.update({}, removed=[B, "never.example.com"])
    assert table.lookup(B.encode()) is None
    assert sorted(table.hosts()) == [A.encode(), b"c.default.example.com"]


def test_update_sets_the_redirect_flag_of_each_changed_host() -> None:
    table = RouteTable({A: [("default/a-1", 100)]}, {A})
    assert redirect(table, A)
    table.update({A: [("default/a-1", 100)]})  # listed without it: no longer redirected
    assert not redirect(table, A)
    table.update({A: [("default/a-1", 100)], B: [("default/b-1", 100)]}, redirected={B})
    assert not redirect(table, A) and redirect(table, B)


def test_update_normalizes_hosts_as_the_constructor_does() -> None:
    table = RouteTable({"Caf\u00e9.example.com": [("default/x", 100)]})
    table.update({}, removed=["Caf\u00e9.example.com"])
    assert table.hosts() == []


def test_diff_names_only_what_changed() -> None:
    old = {A: [("k/a", 100)], B: [("k/b", 100)], "c": [("k/c", 100)]}
    new = {A: [("k/a", 100)], B: [("k/b", 50), ("k/b2", 50)], "d": [("k/d", 100)]}
    delta = diff_routes(old, {"c"}, new, {"d"})
    assert delta.changed == {B: [("k/b", 50), ("k/b2", 50)], "d": [("k/d", 100)]}
    assert delta.removed == {"c"} and delta.redirected == {"d"}
    assert not diff_routes(new, {"d"}, dict(new), {"d"})  # nothing changed: empty, falsy
    flag = diff_routes(new, set(), new, {A})  # only the redirect flag moved
    assert flag.changed == {A: [("k/a", 100)]} and flag.redirected == {A}


def test_delta_frame_round_trips() -> None:
    delta = RouteDelta({A: [("k/a", 60), ("k/b", 40)]}, frozenset({B}), frozenset({A}))
    assert read_delta_args(delta_args(delta)) == delta


class Recorder:
    """A GatewayControl that records the route calls it gets."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object, frozenset[str], frozenset[str]]] = []

    def set_routes(self, routes: Routes, redirected: Collection[str] = ()) -> None:
        self.calls.append(("set", dict(routes), frozenset(), frozenset(redirected)))

    def update_routes(
        self, changed: Routes, removed: Collection[str] = (), redirected: Collection[str] = ()
    ) -> None:
        self.calls.append(("update", dict(changed), frozenset(removed), frozenset(redirected)))

    def set_revision(
        self, key: str, endpoints: Sequence[Address], settings: RevisionSettings
    ) -> None: ...

    def forget_revision(self, key: str) -> None: ...

    def routes_synced(self) -> bool:
        return True

    async def drain_endpoint(self, endpoint: Address, timeout: float = 30.0) -> bool:  # noqa: ASYNC109
        return True


def test_publisher_sends_a_snapshot_then_deltas_and_nothing_when_unchanged() -> None:
    control = Recorder()
    publisher = RoutePublisher(control)
    table = {f"s{i}.default.example.com": [(f"default/s{i}-1", 100)] for i in range(100)}
    publisher.publish(table, {"s1.default.example.com", "not-a-host"})
    assert control.calls == [("set", table, frozenset(), {"s1.default.example.com"})]
    table = dict(table)
    table["s7.default.example.com"] = [("default/s7-2", 100)]
    del table["s8.default.example.com"]
    publisher.publish(table, {"s1.default.example.com"})
    assert control.calls[1:] == [
        (
            "update",
            {"s7.default.example.com": [("default/s7-2", 100)]},
            {"s8.default.example.com"},
            frozenset(),
        )
    ]
    publisher.publish(table, {"s1.default.example.com"})
    assert len(control.calls) == 2
    assert publisher.table == table


async def test_a_gateway_serves_an_added_host_and_404s_a_removed_one(
    gateway: Gateway, upstream: Upstream
) -> None:
    gateway.set_revision(KEY, [upstream.address], RevisionSettings(timeout_seconds=30))
    gateway.set_routes({HOST: [(KEY, 100)]})
    url = f"http://127.0.0.1:{gateway.port}/"
    async with aiohttp.ClientSession() as client:
        gateway.update_routes({A: [(KEY, 100)]})
        for host in (HOST, A):
            async with client.get(url, headers={"Host": host}) as resp:
                assert resp.status == 200, host
        gateway.update_routes({}, removed=[HOST])
        async with client.get(url, headers={"Host": HOST}) as resp:
            assert resp.status == 404
        async with client.get(url, headers={"Host": A}) as resp:
            assert resp.status == 200

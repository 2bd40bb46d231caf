from __future__ import annotations

from collections import Counter

from gateway.handling import Route, RouteTable, normalize_host


def test_normalize_host() -> None:
    assert normalize_host(b"Coffee.Example.COM:8080") == b"coffee.example.com"
    assert normalize_host(b"coffee.example.com.") == b"coffee.example.com"
    assert normalize_host(b"[::1]:80") == b"[::1]"
    assert normalize_host(b" a.b ") == b"a.b"


def test_lookup_case_and_port() -> None:
    table = RouteTable({"coffee.default.example.com": [("default/a", 100)]})
    route = table.lookup(b"COFFEE.default.example.com:31380")
    assert route is not None and route.pick() == "default/a"
    assert table.lookup(b"tea.default.example.com") is None


def test_weighted_split_70_30() -> None:
    route = Route([("a", 70), ("b", 30)])
    counts = Counter(route.pick() for _ in range(3000))
    assert abs(counts["a"] / 3000 - 0.70) < 0.03
    assert abs(counts["b"] / 3000 - 0.30) < 0.03


def test_zero_weight_never_picked() -> None:
    route = Route([("a", 0), ("b", 100), ("c", 0)])
    assert {route.pick() for _ in range(1000)} == {"b"}
    assert Route([("a", 0)]).pick() is None

"""The change feed: changes numbered in order, live figures ignored, a bounded history."""

from __future__ import annotations

from typing import Any

import pytest

from coldbrew.watching import BACKLOG, TOO_SLOW, Gone, WatchHub


def obj(name: str, ready: str = "False", cost: float = 0.0) -> dict[str, Any]:
    status = {"conditions": [{"type": "Ready", "status": ready}], "coldbrew": {"cost": cost}}
    return {"metadata": {"name": name, "namespace": "default"}, "status": status}


def test_changes_are_numbered_and_live_figures_are_not_changes() -> None:
    shown: list[dict[str, Any]] = [obj("a")]
    hub = WatchHub({"services": lambda: shown})
    hub.sync()
    assert hub.version == 1 and hub.items("services")[0]["metadata"]["resourceVersion"] == "1"
    shown[:] = [obj("a", cost=3.0)]
    hub.sync()
    assert hub.version == 1  # only status.coldbrew moved
    assert hub.items("services")[0]["status"]["coldbrew"]["cost"] == 3.0  # shown fresh
    shown[:] = [obj("a", ready="True"), obj("b")]
    hub.sync()
    shown[:] = [obj("b")]
    hub.sync()
    assert [(c.version, c.type, c.key) for c in hub.since("services", 1)] == [
        (2, "MODIFIED", "default/a"),
        (3, "ADDED", "default/b"),
        (4, "DELETED", "default/a"),
    ]
    assert set(hub.at("services", 1)) == {"default/a"}
    assert hub.at("services", 1)["default/a"]["status"]["conditions"][0]["status"] == "False"
    assert set(hub.at("services", 3)) == {"default/a", "default/b"}


def test_a_version_older_than_the_history_is_gone() -> None:
    shown: list[dict[str, Any]] = []
    hub = WatchHub({"configmaps": lambda: shown}, history=3)
    for i in range(6):
        shown[:] = [obj(f"m{i}")]  # each sync: one ADDED and one DELETED
        hub.sync()
    assert hub.version == 11
    assert [c.version for c in hub.since("configmaps", 8)] == [9, 10, 11]
    with pytest.raises(Gone):
        hub.since("configmaps", 7)
    with pytest.raises(Gone):
        hub.at("configmaps", 0)


async def test_a_watcher_that_stops_reading_is_dropped_not_buffered() -> None:
    shown: list[dict[str, Any]] = []
    hub = WatchHub({"services": lambda: shown})
    slow, quick = hub.subscribe(), hub.subscribe()
    for n in range(BACKLOG + 5):
        shown[:] = [obj(f"s{n}")]
        hub.sync()
        while not quick.empty():  # this one keeps up
            quick.get_nowait()
    assert slow.qsize() == 1 and slow.get_nowait() is TOO_SLOW  # held one item, not 2000
    shown[:] = []
    hub.sync()
    assert slow.empty()  # no longer fed
    assert quick.get_nowait().type == "DELETED"
    hub.close()
    assert quick.get_nowait() is None

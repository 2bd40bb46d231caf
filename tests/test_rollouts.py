"""Local mode's rollout keeping (coldbrew.rollouts): state in the store, a timer per step.

A real state.json repository; a "restart" is a new repository loaded from the same folder
with a new ``Rollouts``. The clock is virtual; the timer is checked by its due time.
"""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import pytest

from coldbrew.api import RevisionState, RouteResult, parse_service, resolve_traffic
from coldbrew.network_config import NetworkConfig
from coldbrew.rollouts import Rollouts, stored_state
from coldbrew.storing import JsonFileRepository, StoredService

DOC: dict[str, Any] = {
    "apiVersion": "serving.knative.dev/v1",
    "kind": "Service",
    "metadata": {"name": "coffee", "annotations": {}},
    "spec": {"template": {"spec": {"containers": [{"image": "registry.example.com/a"}]}}},
}
READY = RevisionState(ready=True)


def doc(duration: str | None) -> dict[str, Any]:
    d = copy.deepcopy(DOC)
    if duration is not None:
        d["metadata"]["annotations"]["serving.knative.dev/rollout-duration"] = duration
    return d


class Local:
    def __init__(self, state_dir: Path, network: NetworkConfig | None = None) -> None:
        self.repo = JsonFileRepository(state_dir)
        self.repo.load()
        self.now = [1000.0]
        self.woken: list[str] = []
        self.rollouts = Rollouts(
            self.repo, network or NetworkConfig(), self.woken.append, clock=lambda: self.now[0]
        )

    def put(self, manifest: dict[str, Any]) -> StoredService:
        old = self.repo.services.get("default/coffee")
        rec = StoredService("default", "coffee", manifest, (old.generation if old else 0) + 1,
                            "uid", 0.0)  # fmt: skip
        with self.repo.transaction():
            self.repo.services.put(rec)
        return rec

    def roll(self, latest: str, manifest: dict[str, Any]) -> RouteResult:
        rec = self.repo.services.get("default/coffee")
        assert rec is not None
        svc = parse_service(manifest)
        states = {"coffee-00001": READY, "coffee-00002": READY}
        route = resolve_traffic(svc, states, latest, latest, "example.com")
        return self.rollouts.roll(rec, svc, route)


def split(route: RouteResult) -> list[tuple[str, int]]:
    return [(t.revision_name, t.percent) for t in route.targets]


async def test_the_state_is_stored_and_a_restart_goes_on_from_it(tmp_path: Path) -> None:
    first = Local(tmp_path)
    first.put(doc("20s"))
    assert split(first.roll("coffee-00001", doc("20s"))) == [("coffee-00001", 100)]
    shown = first.roll("coffee-00002", doc("20s"))
    assert split(shown) == [("coffee-00001", 99), ("coffee-00002", 1)]
    assert shown.status == "Unknown" and shown.reason == "RolloutInProgress" and shown.ready
    timer = first.rollouts._timers["default/coffee"]
    assert timer.when() - asyncio.get_running_loop().time() == pytest.approx(1.0, abs=0.2)
    first.now[0] += 3.0
    assert split(first.roll("coffee-00002", doc("20s"))) == [
        ("coffee-00001", 94),
        ("coffee-00002", 6),
    ]
    first.rollouts.forget("default/coffee")  # the process goes away

    again = Local(tmp_path)
    again.now[0] = first.now[0] + 2.0
    rec = again.repo.services.get("default/coffee")
    assert rec is not None and stored_state(rec) is not None
    assert split(again.roll("coffee-00002", doc("20s"))) == [
        ("coffee-00001", 89),
        ("coffee-00002", 11),
    ]
    again.now[0] += 100.0
    for _ in range(20):
        done = again.roll("coffee-00002", doc("20s"))
        again.now[0] += 1.0
    assert split(done) == [("coffee-00002", 100)] and done.status == "True"
    assert "default/coffee" not in again.rollouts._timers
    again.rollouts.forget("default/coffee")


async def test_without_a_duration_nothing_is_stored(tmp_path: Path) -> None:
    local = Local(tmp_path)
    local.put(doc(None))
    local.roll("coffee-00001", doc(None))
    assert split(local.roll("coffee-00002", doc(None))) == [("coffee-00002", 100)]
    rec = local.repo.services.get("default/coffee")
    assert rec is not None and "status" not in rec.manifest
    assert local.rollouts._timers == {}


async def test_the_network_default_applies_and_the_annotation_wins(tmp_path: Path) -> None:
    local = Local(tmp_path, NetworkConfig.from_mapping({"rollout-duration": 380}))
    assert local.rollouts.duration(parse_service(doc(None))) == 380
    assert local.rollouts.duration(parse_service(doc("20s"))) == 20
    assert local.rollouts.duration(parse_service(doc("0"))) == 380  # 0: the default, as Knative
    local.put(doc(None))
    local.roll("coffee-00001", doc(None))
    assert split(local.roll("coffee-00002", doc(None)))[-1] == ("coffee-00002", 1)
    local.rollouts.forget("default/coffee")

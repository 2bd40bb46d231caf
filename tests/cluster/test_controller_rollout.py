"""A gradual rollout in cluster mode: the Service's status.traffic moves in steps.

The controller wakes for each step on its own timer; the test watches the emulator's
change notifications (each step is a status write) and records every split it shows.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from coldbrew.cluster import Settings
from tests.cluster.test_controller import EXAMPLES, Cluster, cluster, ready  # noqa: F401

pytestmark = pytest.mark.timeout(60)

STATE = "networking.internal.knative.dev/rollout"
Split = tuple[tuple[str, int], ...]


def coffee(target: str, duration: str | None) -> dict[str, Any]:
    doc = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    if duration is not None:
        doc["metadata"]["annotations"] = {"serving.knative.dev/rollout-duration": duration}
    doc["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = target
    return doc  # type: ignore[no-any-return]


def split_of(c: Cluster) -> Split:
    status = (c.obj("services", "coffee") or {}).get("status") or {}
    return tuple((t["revisionName"][-1], t["percent"]) for t in status.get("traffic") or [])


async def record_until(c: Cluster, seen: list[Split], end: Split, within: float) -> None:
    """Append each new split the status shows until it shows ``end``."""

    def changed() -> bool:
        now = split_of(c)
        if not seen or seen[-1] != now:
            seen.append(now)
        return now == end

    await c.emu.wait_for(changed, within=within)


async def start_v2(c: Cluster, settings: Settings | None, duration: str | None) -> None:
    await c.start(settings)
    await c.apply_doc(coffee("v1", duration))
    await c.make_ready("coffee-00001")
    await c.wait_status("coffee", ready)
    await c.apply_doc(coffee("v2", duration))
    await c.make_ready("coffee-00002")


async def test_route_traffic_moves_in_steps_and_survives_a_restart(cluster: Cluster) -> None:  # noqa: F811
    await start_v2(cluster, None, "4s")  # 1 %, then 3 steps of 33 % a second apart
    seen: list[Split] = []
    await record_until(cluster, seen, (("1", 66), ("2", 34)), within=10)
    status = (cluster.obj("services", "coffee") or {})["status"]
    routes = next(c for c in status["conditions"] if c["type"] == "RoutesReady")
    assert (routes["status"], routes["reason"]) == ("Unknown", "RolloutInProgress")
    assert all(t["latestRevision"] for t in status["traffic"])
    state = json.loads(status["annotations"][STATE])
    assert [r["revisionName"] for r in state[0]["revisions"]] == ["coffee-00001", "coffee-00002"]

    await cluster.stop()  # a new controller goes on from the stored state
    await cluster.start()
    await record_until(cluster, seen, (("2", 100),), within=10)
    started = seen.index((("1", 99), ("2", 1)))
    assert seen[started:] == [
        (("1", 99), ("2", 1)),
        (("1", 66), ("2", 34)),
        (("1", 33), ("2", 67)),
        (("2", 100),),
    ]
    assert seen[:started] in ([(("1", 100),)], [])  # before: all on coffee-00001
    final = await cluster.wait_status("coffee", ready)
    assert final["traffic"] == [
        {"revisionName": "coffee-00002", "percent": 100, "latestRevision": True}
    ]


async def test_network_rollout_duration_is_the_default(cluster: Cluster) -> None:  # noqa: F811
    await start_v2(cluster, Settings(rollout_seconds=2), None)  # 1 %, then the rest
    seen: list[Split] = []
    await record_until(cluster, seen, (("2", 100),), within=10)
    assert (("1", 99), ("2", 1)) in seen


async def test_a_bad_rollout_duration_is_refused_naming_the_annotation(
    cluster: Cluster,  # noqa: F811
) -> None:
    await cluster.start()
    await cluster.apply_doc(coffee("v1", "20"))
    status = await cluster.wait_status("coffee", lambda s: s.get("conditions"))
    [cond] = [c for c in status["conditions"] if c["type"] == "Ready"]
    assert cond["reason"] == "InvalidSpec"
    assert "metadata.annotations.serving.knative.dev/rollout-duration" in cond["message"]
    assert cluster.obj("revisions", "coffee-00001") is None

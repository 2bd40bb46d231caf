"""A gradual rollout (serving.knative.dev/rollout-duration) under a trickle of requests."""

from __future__ import annotations

import time
from typing import Any

import yaml

from tests.e2e.harness import EXAMPLES, Server, wait_for
from tests.e2e.test_reserve import COFFEE, Trickle


def manifest(target: str) -> str:
    obj = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    obj["metadata"]["annotations"] = {"serving.knative.dev/rollout-duration": "20s"}
    obj["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "TARGET", "value": target}]
    return yaml.safe_dump(obj)


def traffic(server: Server) -> list[dict[str, Any]]:
    return list(server.service("coffee")["status"].get("traffic", []))


def routes_ready(server: Server) -> dict[str, Any]:
    conds = server.service("coffee")["status"]["conditions"]
    return next(c for c in conds if c["type"] == "RoutesReady")


def test_a_20s_rollout_moves_traffic_in_steps(server: Server) -> None:
    assert server.cli("apply", "-f", "-", stdin=manifest("v1")).returncode == 0
    server.wait_ready("coffee")
    with Trickle(server) as trickle:
        wait_for(lambda: len(trickle.seen) >= 3, what="the trickle to start")
        assert server.cli("apply", "-f", "-", stdin=manifest("v2")).returncode == 0
        split = wait_for(lambda: len(t := traffic(server)) == 2 and t, timeout=30, what="split")
        began = time.monotonic()
        assert [t["revisionName"] for t in split] == ["coffee-00001", "coffee-00002"]
        assert all(t["latestRevision"] for t in split) and sum(t["percent"] for t in split) == 100
        cond = routes_ready(server)
        assert (cond["status"], cond["reason"]) == ("Unknown", "RolloutInProgress")
        shares: list[int] = []

        def ended() -> list[dict[str, Any]] | None:  # records each split the status shows
            now = traffic(server)
            shares.append(now[-1]["percent"])
            return now if len(now) == 1 else None

        now = wait_for(ended, timeout=40, interval=0.5, what="the rollout to end")
        done = time.monotonic()
        assert now == [{"revisionName": "coffee-00002", "percent": 100, "latestRevision": True}]
        assert shares == sorted(shares) and len(set(shares)) >= 5  # in steps, up only
        assert done - began >= 10  # over the duration, not at once
        wait_for(lambda: sum(s > done for s, _, _ in trickle.seen) >= 10, what="after the end")
    assert server.ready("coffee") is not None
    bad = [s for s in trickle.seen if s[1] != 200]
    assert not bad, bad[:5]
    midway = {body for sent, _, body in trickle.seen if began <= sent < done}
    assert midway == {"Hello v1!", "Hello v2!"}
    after = {body for sent, _, body in trickle.seen if sent > done}
    assert after == {"Hello v2!"}


def test_a_rollout_goes_on_after_a_restart(server: Server) -> None:
    # 60 s: 2 % a second, far from its end whatever the restart takes on a loaded machine.
    v1, v2 = manifest("v1").replace("20s", "60s"), manifest("v2").replace("20s", "60s")
    assert server.cli("apply", "-f", "-", stdin=v1).returncode == 0
    server.wait_ready("coffee")
    assert server.cli("apply", "-f", "-", stdin=v2).returncode == 0
    moved = wait_for(lambda: len(t := traffic(server)) == 2 and t[1]["percent"] > 1 and t,
                     timeout=30, what="a step")  # fmt: skip
    assert server.stop() == 0
    server.start()
    again = wait_for(lambda: traffic(server), what="the status after the restart")
    assert [t["revisionName"] for t in again] == ["coffee-00001", "coffee-00002"]
    assert moved[1]["percent"] <= again[1]["percent"] < 100  # neither back to 1 % nor done
    assert {server.request(COFFEE).status_code for _ in range(5)} == {200}

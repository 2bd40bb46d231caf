"""Leader election on a Lease against the emulated API server.

The API server is :mod:`tests.cluster.emulator` (get/create/replace with 409 on a stale
``resourceVersion``, injected faults); each replica reaches it through its own
:class:`~tests.cluster.autoscaler_helpers.Front`, which can cut that replica off alone.
Timings are shrunk (lease 1 s, renew deadline 0.5 s, retry 0.1 s); synchronisation is by
the electors' events and polling with deadlines, and a watchdog task checks throughout
that two replicas never both count themselves leader.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from kubernetes_asyncio import client

from coldbrew.cluster.kube.accessing import Kube
from coldbrew.cluster.kube.leasing import MICROTIME, LeaderElector
from tests.cluster.autoscaler_helpers import Front, cancel, eventually, fronts, lease
from tests.cluster.emulator import Emulator

pytestmark = pytest.mark.timeout(30)

NS, NAME = "knative-serving", "coldbrew-autoscaler"
FAST = {"lease_duration": 1.0, "renew_deadline": 0.5, "retry_period": 0.1}


class Replica:
    def __init__(self, identity: str, front: Front, api: client.ApiClient, **timing: Any) -> None:
        self.front = front
        self.events: list[str] = []
        self.elector = LeaderElector(
            Kube(api),
            namespace=NS,
            name=NAME,
            identity=identity,
            on_started_leading=lambda: self.events.append("started"),
            on_stopped_leading=lambda: self.events.append("stopped"),
            **(timing or FAST),
        )
        self.task: asyncio.Task[None] | None = None

    def start(self) -> Replica:
        self.task = asyncio.create_task(self.elector.run())
        return self

    async def stop(self) -> None:
        await cancel(self.task)


@pytest.fixture
async def make() -> AsyncIterator[Any]:
    emulator = Emulator()
    replicas: list[Replica] = []
    violations: list[str] = []

    async def watchdog() -> None:
        while True:
            leaders = [r.elector.identity for r in replicas if r.elector.is_leader]
            if len(leaders) > 1:
                violations.append(",".join(leaders))
            await asyncio.sleep(0.005)

    guard = asyncio.create_task(watchdog())
    async with fronts(emulator, 3) as made:

        def replica(identity: str, **timing: Any) -> Replica:
            front, api = made[len(replicas)]
            r = Replica(identity, front, api, **timing)
            replicas.append(r)
            return r

        replica.emulator = emulator  # type: ignore[attr-defined]
        try:
            yield replica
        finally:
            for r in replicas:
                await r.stop()
            await cancel(guard)
    assert not violations, f"two leaders at once: {violations[:3]}"


def parse(text: str) -> datetime:
    return datetime.strptime(text, MICROTIME)


async def test_acquires_by_creating_the_lease_and_renews_it(make: Any) -> None:
    a = make("a").start()
    await asyncio.wait_for(a.elector.leading.wait(), 5)
    assert a.elector.is_leader and a.events == ["started"]
    spec = lease(make.emulator)
    assert spec is not None
    assert spec["holderIdentity"] == "a"
    assert spec["leaseDurationSeconds"] == 1
    assert spec["leaseTransitions"] == 0
    assert parse(spec["acquireTime"]) <= parse(spec["renewTime"])
    first = spec["renewTime"]
    await make.emulator.wait_for(lambda: (lease(make.emulator) or {}).get("renewTime") != first)
    renewed = lease(make.emulator)
    assert renewed is not None
    assert parse(renewed["renewTime"]) > parse(first)
    assert renewed["acquireTime"] == spec["acquireTime"]  # renewal keeps the acquire time
    assert a.elector.is_leader


async def test_a_second_replica_follows_while_the_lease_is_renewed(make: Any) -> None:
    a = make("a").start()
    await asyncio.wait_for(a.elector.leading.wait(), 5)
    b = make("b").start()
    await eventually(lambda: b.elector.holder == "a")
    # several renewals later (more than a lease duration), b still follows
    renewals = 0

    def renewed() -> bool:
        nonlocal renewals
        renewals += 1
        return renewals > 15

    await make.emulator.wait_for(renewed, within=10)
    assert a.elector.is_leader and not b.elector.is_leader
    assert b.events == [] and b.elector.following.is_set()


async def test_two_replicas_racing_for_a_missing_lease_one_wins(make: Any) -> None:
    a, b = make("a").start(), make("b").start()
    done, _ = await asyncio.wait(
        {asyncio.create_task(r.elector.leading.wait()) for r in (a, b)},
        timeout=5,
        return_when=asyncio.FIRST_COMPLETED,
    )
    assert done
    leader, other = (a, b) if a.elector.is_leader else (b, a)
    await eventually(lambda: other.elector.holder == leader.elector.identity)
    assert not other.elector.is_leader
    assert make.emulator.creates("/leases") >= 1
    spec = lease(make.emulator)
    assert spec is not None and spec["holderIdentity"] == leader.elector.identity


async def test_expired_lease_fails_over_and_counts_a_transition(make: Any) -> None:
    a = make("a").start()
    await asyncio.wait_for(a.elector.leading.wait(), 5)
    b = make("b").start()
    await eventually(lambda: b.elector.holder == "a")
    a.front.down = True  # a can no longer reach the API server: it cannot renew
    await asyncio.wait_for(a.elector.following.wait(), 2)  # stepped down by renew deadline
    assert a.events == ["started", "stopped"]
    await asyncio.wait_for(b.elector.leading.wait(), 5)  # b took over after the lease expired
    spec = lease(make.emulator)
    assert spec is not None
    assert spec["holderIdentity"] == "b"
    assert spec["leaseTransitions"] == 1
    a.front.down = False
    await eventually(lambda: a.elector.holder == "b")
    assert not a.elector.is_leader  # the old leader comes back as a follower


async def test_release_on_shutdown_hands_over_at_once(make: Any) -> None:
    slow = {"lease_duration": 20.0, "renew_deadline": 10.0, "retry_period": 0.1}
    a = make("a", **slow).start()
    await asyncio.wait_for(a.elector.leading.wait(), 5)
    b = make("b", **slow).start()
    await eventually(lambda: b.elector.holder == "a")
    await a.stop()
    assert a.events == ["started", "stopped"]
    spec = lease(make.emulator)
    assert spec is not None and not spec.get("holderIdentity")  # released
    # far sooner than the 20 s lease would have expired
    await asyncio.wait_for(b.elector.leading.wait(), 3)
    spec = lease(make.emulator)
    assert spec is not None
    assert spec["holderIdentity"] == "b" and spec["leaseDurationSeconds"] == 20


async def test_steps_down_when_the_api_server_fails_and_recovers(make: Any) -> None:
    a = make("a").start()
    await asyncio.wait_for(a.elector.leading.wait(), 5)
    path = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases/{NAME}"
    for method in ("GET", "PUT"):
        make.emulator.fail_next(method, lambda p: p == path, code=500, times=1000)
    await asyncio.wait_for(a.elector.following.wait(), 2)
    assert not a.elector.is_leader
    make.emulator.faults.clear()
    await asyncio.wait_for(a.elector.leading.wait(), 5)  # still its lease: renewed again
    assert a.events == ["started", "stopped", "started"]
    spec = lease(make.emulator)
    assert spec is not None and spec["holderIdentity"] == "a"


async def test_a_hanging_api_server_cannot_extend_leadership(make: Any) -> None:
    """A renewal that never answers ends leadership at the renew deadline, not later."""
    a = make("a").start()
    await asyncio.wait_for(a.elector.leading.wait(), 5)
    gate = asyncio.Event()
    original = a.elector.kube.get

    async def hanging(*args: Any, **kw: Any) -> Any:
        await gate.wait()
        return await original(*args, **kw)

    a.elector.kube.get = hanging  # type: ignore[method-assign]
    loop = asyncio.get_running_loop()
    began = loop.time()
    await asyncio.wait_for(a.elector.following.wait(), 2)
    assert loop.time() - began <= FAST["renew_deadline"] + 0.2
    gate.set()


def test_timings_must_leave_room_for_a_safe_hand_over() -> None:
    with pytest.raises(ValueError):
        LeaderElector(
            None,  # type: ignore[arg-type]
            namespace=NS,
            name=NAME,
            identity="a",
            lease_duration=5,
            renew_deadline=10,
        )

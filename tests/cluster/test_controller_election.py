"""Two controller replicas: only the Lease holder reconciles; the other takes over.

The API server is the test emulator (:mod:`tests.cluster.emulator`, Leases are plain
objects there with resourceVersion checks on replace). Lease timings are shortened so a
take-over happens within a second; no sleeps: the test waits on the electors' events and
on the emulator's change notifications.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from coldbrew.cluster.controller.electing import ControllerReplica
from tests.cluster.emulator import Emulator
from tests.cluster.objects import KSVC, api_client, api_server

pytestmark = pytest.mark.timeout(30)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LEASES = "coordination.k8s.io/v1"
TIMINGS = {"lease_duration": 1.5, "renew_deadline": 1.0, "retry_period": 0.1}


async def test_only_the_leader_reconciles_and_a_follower_takes_over() -> None:
    emu = Emulator()
    async with api_server(emu) as port:
        api = api_client(port)
        a = ControllerReplica(api, lease_namespace="knative-serving", identity="a", **TIMINGS)
        b = ControllerReplica(api, lease_namespace="knative-serving", identity="b", **TIMINGS)
        runs = {r: asyncio.create_task(r.run()) for r in (a, b)}
        try:
            done, _ = await asyncio.wait(
                [asyncio.create_task(r.elector.leading.wait()) for r in (a, b)],
                timeout=10,
                return_when=asyncio.FIRST_COMPLETED,
            )
            assert done
            leader, follower = (a, b) if a.elector.is_leader else (b, a)
            assert leader.controller is not None and follower.controller is None

            coffee = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
            coffee["metadata"]["namespace"] = "default"
            await emu.put(KSVC, "services", coffee)
            await emu.wait_for(lambda: emu.get(KSVC, "revisions", "default", "coffee-00001"))
            assert follower.controller is None  # it never reconciled anything

            runs[leader].cancel()  # the leader goes away and releases the Lease
            await asyncio.gather(runs[leader], return_exceptions=True)
            await asyncio.wait_for(follower.elector.leading.wait(), 10)
            assert follower.controller is not None
            lease = emu.get(LEASES, "leases", "knative-serving", "coldbrew-controller")
            assert lease is not None
            assert lease["spec"]["holderIdentity"] == follower.elector.identity

            tea = yaml.safe_load((EXAMPLES / "tea.yaml").read_text())
            tea["metadata"]["namespace"] = "default"
            await emu.put(KSVC, "services", tea)
            await emu.wait_for(lambda: emu.get(KSVC, "revisions", "default", "tea-00001"))
        finally:
            for task in runs.values():
                task.cancel()
            await asyncio.gather(*runs.values(), return_exceptions=True)
            await api.close()

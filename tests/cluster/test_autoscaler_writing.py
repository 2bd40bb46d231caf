"""The ``/scale`` writer on its own: coalescing, skipping, retrying, leader gating.

Nothing is emulated: a stand-in for :class:`coldbrew.cluster.kube.accessing.Kube` records the
``scale`` calls, can hold them (a write in flight) and fail them. Synchronisation is by
events and the writer's counters, polled with deadlines.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from coldbrew.cluster.scaler.scale_writing import ScaleWriter
from tests.cluster.autoscaler_helpers import eventually

pytestmark = pytest.mark.timeout(10)


class FakeKube:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.failures: list[int] = []  # statuses to raise, first ones first

    async def scale(self, res: Any, ns: str, name: str, replicas: int) -> dict[str, Any]:
        self.calls.append((name, replicas))
        await self.gate.wait()
        if self.failures:
            raise ApiException(status=self.failures.pop(0))
        return {"spec": {"replicas": replicas}}


@pytest.fixture
async def kube() -> AsyncIterator[FakeKube]:
    yield FakeKube()


async def test_one_write_in_flight_and_the_latest_count_wins(kube: FakeKube) -> None:
    writer = ScaleWriter(kube)  # type: ignore[arg-type]
    kube.gate.clear()
    writer.want("default", "a-deployment", 1)
    await eventually(lambda: kube.calls)
    writer.want("default", "a-deployment", 2)
    writer.want("default", "a-deployment", 3)
    writer.want("default", "b-deployment", 5)  # another Deployment is not held up
    await eventually(lambda: ("b-deployment", 5) in kube.calls)
    assert [c for c in kube.calls if c[0] == "a-deployment"] == [("a-deployment", 1)]
    kube.gate.set()
    await eventually(lambda: writer.writes == 3)
    assert [c for c in kube.calls if c[0] == "a-deployment"] == [
        ("a-deployment", 1),
        ("a-deployment", 3),
    ]
    assert writer.pending() == {}
    await writer.close()


async def test_a_count_the_deployment_already_has_is_not_written(kube: FakeKube) -> None:
    writer = ScaleWriter(kube)  # type: ignore[arg-type]
    writer.seen("default", "a-deployment", 3)
    writer.want("default", "a-deployment", 3)
    writer.want("default", "a-deployment", 4)
    await eventually(lambda: writer.writes == 1)
    writer.want("default", "a-deployment", 4)  # what we just wrote: skipped too
    await eventually(lambda: not writer.pending())
    assert kube.calls == [("a-deployment", 4)]
    await writer.close()


async def test_failed_writes_are_retried_with_backoff(kube: FakeKube) -> None:
    writer = ScaleWriter(kube, backoff=0.01)  # type: ignore[arg-type]
    kube.failures = [500, 503, 409]
    writer.want("default", "a-deployment", 2)
    await eventually(lambda: writer.writes == 1)
    assert writer.failures == 3
    assert kube.calls == [("a-deployment", 2)] * 4
    await writer.close()


async def test_a_deployment_that_is_gone_is_dropped(kube: FakeKube) -> None:
    writer = ScaleWriter(kube)  # type: ignore[arg-type]
    kube.failures = [404]
    writer.want("default", "a-deployment", 2)
    await eventually(lambda: kube.calls and not writer.pending())
    assert writer.writes == 0 and writer.failures == 0
    await writer.close()


async def test_nothing_is_written_unless_may_write(kube: FakeKube) -> None:
    leader = False
    writer = ScaleWriter(kube, may_write=lambda: leader, backoff=0.3)  # type: ignore[arg-type]
    writer.want("default", "a-deployment", 2)
    assert writer.pending() == {}
    leader = True
    kube.failures = [500]
    writer.want("default", "a-deployment", 2)
    await eventually(lambda: writer.failures == 1)
    leader = False  # lost the lead during the backoff: the retry does not happen
    await eventually(lambda: not writer.pending())
    assert kube.calls == [("a-deployment", 2)]
    await writer.close()


async def test_close_cancels_a_write_in_flight(kube: FakeKube) -> None:
    writer = ScaleWriter(kube)  # type: ignore[arg-type]
    kube.gate.clear()
    writer.want("default", "a-deployment", 1)
    await eventually(lambda: kube.calls)
    await asyncio.wait_for(writer.close(), 1)
    assert writer.writes == 0

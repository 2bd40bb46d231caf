"""containerConcurrency as a hard limit, FIFO release, endpoints arriving: real sockets."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from gateway import Gateway
from gateway.settings import RevisionSettings
from tests.gateway.conftest import wait_for

from .conftest import KEY, Pod, fetch, held, in_flight


@pytest.mark.parametrize("in_path", [True, False])
async def test_cc1_never_two_at_once(
    gateway: Gateway, pods: list[Pod], session: aiohttp.ClientSession, in_path: bool
) -> None:
    pod = pods[0]
    gateway.set_revision(
        KEY, [pod.address], RevisionSettings(30, container_concurrency=1, activator_in_path=in_path)
    )
    results = await asyncio.gather(*(fetch(session, gateway, f"/{i}") for i in range(20)))
    assert [status for status, _ in results] == [200] * 20
    assert pod.max == 1
    assert pod.served == 20
    assert gateway.snapshot()[KEY] == {"in_flight": 0, "held": 0}


@pytest.mark.parametrize("in_path", [True, False])
async def test_cc3_two_pods_at_most_three_each(
    gateway: Gateway, pods: list[Pod], session: aiohttp.ClientSession, in_path: bool
) -> None:
    gateway.set_revision(
        KEY,
        [p.address for p in pods],
        RevisionSettings(30, container_concurrency=3, activator_in_path=in_path),
    )
    results = await asyncio.gather(*(fetch(session, gateway, f"/{i}") for i in range(40)))
    assert all(status == 200 for status, _ in results)
    assert max(p.max for p in pods) == 3  # saturated, never above
    assert sum(p.served for p in pods) == 40


async def test_slot_goes_to_queue_when_freed_and_held_counted(
    gateway: Gateway, pods: list[Pod], session: aiohttp.ClientSession
) -> None:
    pod = pods[0]
    pod.gate = asyncio.Event()
    gateway.set_revision(KEY, [pod.address], RevisionSettings(30, container_concurrency=2))
    tasks = [asyncio.create_task(fetch(session, gateway, f"/{i}")) for i in range(5)]
    await wait_for(lambda: pod.current == 2 and held(gateway) == 3)
    assert in_flight(gateway) == 2
    # capacity grows
    gateway.set_revision(KEY, [pod.address], RevisionSettings(30, container_concurrency=4))
    await wait_for(lambda: pod.current == 4 and held(gateway) == 1)
    pod.gate.set()
    assert [s for s, _ in await asyncio.gather(*tasks)] == [200] * 5
    assert pod.max == 4


async def test_held_released_fifo_when_endpoints_arrive(
    gateway: Gateway, pods: list[Pod], session: aiohttp.ClientSession
) -> None:
    gateway.set_revision(KEY, [], RevisionSettings(30, container_concurrency=1))
    tasks = []
    for i in range(6):
        tasks.append(asyncio.create_task(fetch(session, gateway, f"/{i}")))
        await wait_for(lambda i=i: held(gateway) == i + 1)  # type: ignore[misc]
    pod = pods[0]
    gateway.set_revision(KEY, [pod.address], RevisionSettings(30, container_concurrency=1))
    assert [s for s, _ in await asyncio.gather(*tasks)] == [200] * 6
    assert pod.order == [f"/{i}" for i in range(6)]


async def test_held_released_at_once_unlimited(
    gateway: Gateway, pods: list[Pod], session: aiohttp.ClientSession
) -> None:
    gateway.set_revision(KEY, [], RevisionSettings(30))
    tasks = [asyncio.create_task(fetch(session, gateway, f"/{i}")) for i in range(50)]
    await wait_for(lambda: held(gateway) == 50)
    started = time.monotonic()
    gateway.set_revision(KEY, [p.address for p in pods], RevisionSettings(30))
    results = await asyncio.gather(*tasks)
    assert time.monotonic() - started < 2.0  # event-driven, not the 30 s timeout
    assert all(s == 200 for s, _ in results)
    assert pods[0].served > 0 and pods[1].served > 0


async def test_endpoint_change_keeps_limit_for_in_flight(
    gateway: Gateway, pods: list[Pod], session: aiohttp.ClientSession
) -> None:
    a, b = pods
    a.gate = asyncio.Event()
    b.gate = asyncio.Event()
    gateway.set_revision(KEY, [a.address], RevisionSettings(30, container_concurrency=1))
    first = asyncio.create_task(fetch(session, gateway, "/first"))
    second = asyncio.create_task(fetch(session, gateway, "/second"))
    await wait_for(lambda: a.current == 1 and held(gateway) == 1)
    gateway.set_revision(KEY, [a.address, b.address], RevisionSettings(30, container_concurrency=1))
    await wait_for(lambda: b.current == 1 and held(gateway) == 0)  # the new pod's slot
    third = asyncio.create_task(fetch(session, gateway, "/third"))
    await wait_for(lambda: held(gateway) == 1)  # both pods full: it waits
    a.gate.set()
    b.gate.set()
    assert [s for s, _ in await asyncio.gather(first, second, third)] == [200] * 3
    assert a.max == 1 and b.max == 1

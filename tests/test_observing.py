"""``coldbrew serve``'s /metrics sums: workers' last totals kept, dead ones' gauges dropped."""

from __future__ import annotations

from coldbrew.observing import STALE, WorkerTotals
from gateway.tally import RevisionTally, merge_frames

KEY = "default/coffee-00001"


def frame(worker: str, requests: int, in_flight: int) -> dict:
    tally = RevisionTally()
    for _ in range(requests):
        tally.done(200, 0.004)
    entry = {**tally.frame(), "in_flight": in_flight, "queued": 0, "concurrency": 1.0}
    return {"type": "stats", "worker": worker, "time": 1.0, "stats": [], "totals": {KEY: entry}}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_sums_workers_and_keeps_the_last_totals_of_a_silent_one() -> None:
    clock = Clock()
    totals = WorkerTotals(clock)
    totals.record(frame("gw-1", 5, 2))
    totals.record(frame("gw-2", 3, 1))
    totals.record(frame("gw-1", 7, 2))  # cumulative: replaces gw-1's previous frame
    merged = totals.merged()[KEY]
    assert merged["latency"]["200"][0] == 10
    assert merged["latency"]["200"][2] == 10  # all in the first bucket (<= 5 ms)
    assert merged["in_flight"] == 3
    clock.now += STALE + 1  # gw-2 died; gw-1 keeps reporting
    totals.record(frame("gw-1", 8, 1))
    merged = totals.merged()[KEY]
    assert merged["latency"]["200"][0] == 11  # gw-2's 3 are still counted
    assert merged["in_flight"] == 1  # but not its gauges


def test_malformed_frames_are_ignored() -> None:
    totals = WorkerTotals()
    totals.record({"type": "stats", "worker": "gw-1", "totals": {KEY: {"held": "x"}}})
    totals.record({"type": "stats", "worker": 7, "totals": {}})
    totals.record({"type": "poke", "worker": "gw-1"})
    totals.record("nonsense")
    assert totals.workers == []
    assert merge_frames([]) == {}

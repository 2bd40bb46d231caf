"""Pod-seconds and cost per revision, integrated over time from pod running/stopped events.

Each event is O(1): per revision and instance type the ledger keeps the closed total and, for
the pods still running, their count and the sum of their start times (and the same weighted by
price), so a running total at ``now`` is ``closed + count * now - sum(starts)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from autoscaler.pricing import PriceTable

Kind = Literal["standard", "reserve"]
KINDS = ("standard", "reserve")
STANDARD_TYPE = "standard"  # by_type label of a standard pod not on a named instance type


@dataclass(slots=True)
class _Total:
    closed_seconds: float = 0.0
    closed_cost: float = 0.0
    running: int = 0
    starts: float = 0.0  # sum of the running pods' start times
    rate: float = 0.0  # sum of the running pods' prices per second
    rate_starts: float = 0.0  # sum of price per second x start time

    def add(self, start: float, rate: float, sign: int) -> None:
        self.running += sign
        self.starts += sign * start
        self.rate += sign * rate
        self.rate_starts += sign * rate * start

    def at(self, now: float) -> dict[str, float]:
        seconds = self.closed_seconds + self.running * now - self.starts
        cost = self.closed_cost + self.rate * now - self.rate_starts
        return {"pod_seconds": seconds, "cost": cost}


@dataclass(frozen=True, slots=True)
class _Pod:
    label: str
    kind: str
    start: float
    rate: float


class CostLedger:
    """What each revision's pods have run for and cost; feed it the runtime's pod events."""

    def __init__(self, prices: PriceTable, clock: Callable[[], float] = time.monotonic) -> None:
        self.prices = prices
        self._clock = clock
        self._pods: dict[tuple[str, str], _Pod] = {}
        self._totals: dict[str, dict[tuple[str, str], _Total]] = {}

    def running(
        self,
        key: str,
        pod_name: str,
        kind: Kind,
        instance_type: str | None,
        cpu: float | None,
        memory_gib: float | None,
    ) -> None:
        """``pod_name`` of revision ``key`` is running (billed) from now; repeats are ignored."""
        if kind not in KINDS:
            raise ValueError(f"kind must be standard or reserve, got {kind!r}")
        if (key, pod_name) in self._pods:
            return
        if instance_type is not None:
            label, hourly = instance_type, self.prices.price_per_hour(instance_type)
        elif kind == "reserve":
            # A reserve pod sized only by CPU/memory runs on a burstable instance of that size.
            hourly = self.prices.standard_price_per_hour(cpu, memory_gib)
            label, hourly = "reserve", hourly * (1.0 - self.prices.burstable_discount)
        else:
            label, hourly = STANDARD_TYPE, self.prices.standard_price_per_hour(cpu, memory_gib)
        pod = _Pod(label, kind, self._clock(), hourly / 3600.0)
        self._pods[(key, pod_name)] = pod
        totals = self._totals.setdefault(key, {})
        for bucket in ((pod.label, "type"), (pod.kind, "kind")):
            totals.setdefault(bucket, _Total()).add(pod.start, pod.rate, +1)

    def stopped(self, key: str, pod_name: str) -> None:
        """``pod_name`` stopped now; an unknown pod is ignored."""
        pod = self._pods.pop((key, pod_name), None)
        if pod is None:
            return
        elapsed = max(0.0, self._clock() - pod.start)
        for bucket in ((pod.label, "type"), (pod.kind, "kind")):
            total = self._totals[key][bucket]
            total.add(pod.start, pod.rate, -1)
            total.closed_seconds += elapsed
            total.closed_cost += elapsed * pod.rate

    def forget(self, key: str) -> None:
        """Drop a deleted revision's totals and pods."""
        self._totals.pop(key, None)
        for pod_key in [k for k in self._pods if k[0] == key]:
            del self._pods[pod_key]

    def summary(self, key: str) -> dict[str, Any]:
        """``{"by_type": {type: {"pod_seconds", "cost"}}, "by_kind": {...}, "pod_seconds",
        "cost", "currency"}`` up to now (running pods included)."""
        now = self._clock()
        by_type: dict[str, dict[str, float]] = {}
        by_kind: dict[str, dict[str, float]] = {k: {"pod_seconds": 0.0, "cost": 0.0} for k in KINDS}
        for (name, what), total in self._totals.get(key, {}).items():
            (by_type if what == "type" else by_kind)[name] = total.at(now)
        return {
            "by_type": by_type,
            "by_kind": by_kind,
            "pod_seconds": sum(v["pod_seconds"] for v in by_type.values()),
            "cost": sum(v["cost"] for v in by_type.values()),
            "currency": self.prices.currency,
        }

"""What each revision's pods cost: the runtime's pods fed into a cost ledger.

A pod is billed while its process exists (from start to removal), as a
cloud bills an instance from creation: standard pods by their CPU and memory
(the container's resources, else 1 vCPU and 2 GiB), reserve pods by their
instance type.
"""

from __future__ import annotations

from typing import Any

from autoscaler.accounting import CostLedger
from autoscaler.pricing import PriceTable
from coldbrew.reserving import RESERVE_SUFFIX, revision_key_of

GIB = float(2**30)
DEFAULT_CPU, DEFAULT_MEMORY_GIB = 1.0, 2.0


class Costing:
    def __init__(self, runtime: Any, prices: PriceTable) -> None:
        self.runtime = runtime
        self.ledger = CostLedger(prices)
        self._billed: dict[str, set[str]] = {}  # revision key -> pod names being billed

    def sync(self, replica_set_key: str) -> None:
        """Bring the ledger in line with the runtime's pods of one revision."""
        key = revision_key_of(replica_set_key)
        live = {}
        for pod in self.runtime.pods_of(key, key + RESERVE_SUFFIX):
            if pod.pid is not None:
                live[pod.name] = pod
        billed = self._billed.setdefault(key, set())
        for name in billed - live.keys():
            self.ledger.stopped(key, name)
        for name in live.keys() - billed:
            pod = live[name]
            res = pod.resources
            cpu = res.cpu if res is not None and res.cpu else DEFAULT_CPU
            memory = res.memory / GIB if res is not None and res.memory else DEFAULT_MEMORY_GIB
            kind = "reserve" if pod.role == "reserve" else "standard"
            itype = res.instance_type if res is not None else None
            self.ledger.running(key, name, kind, itype, cpu, memory)
        self._billed[key] = set(live)

    def summary(self, key: str) -> dict[str, Any]:
        return self.ledger.summary(key)

    def forget(self, key: str) -> None:
        self.ledger.forget(key)
        self._billed.pop(key, None)

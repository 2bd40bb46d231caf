"""``coldbrew serve``'s ``GET /metrics``: every component's figures in one exposition.

- The gateway workers' request figures: each worker sends its cumulative totals in every
  ``stats`` frame of the metrics stream (docs/seams.md); :class:`WorkerTotals` keeps the
  last frame of each worker, dead ones included, and sums them at scrape time, so a
  counter never goes down when a worker dies or restarts (a restarted worker is a new
  worker id starting from zero). A worker silent for ``STALE`` seconds adds no gauges.
- The autoscaler's decisions and the pods' cost (autoscaler/exposition.py).
- The pods: ready and not ready by kind, restarts, and how long each took from created to
  ready (:class:`PodStartups`, observed when the runtime reports the change).

Labels are Knative's revision labels, from the state (a revision's service).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from autoscaler.exposition import AutoscalerCollector, CostCollector
from coldbrew.reserving import revision_key_of
from coldbrew.storing import Repository
from gateway.exposition import (
    REVISION_LABELS,
    RequestCollector,
    histogram,
    registry_of,
    revision_labels,
)
from gateway.tally import WAIT_BOUNDS_S, merge_frames, new_row, observe

STALE = 5.0  # seconds without a stats frame after which a worker's gauges count as 0
GAUGES = ("in_flight", "queued", "concurrency")


class WorkerTotals:
    """The last cumulative totals each gateway worker reported, summed on demand."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: dict[str, tuple[float, dict[str, dict[str, Any]]]] = {}

    def record(self, message: Any) -> None:
        """A metrics-stream frame (anything but a well-formed ``stats`` frame is ignored)."""
        if not isinstance(message, dict) or message.get("type") != "stats":
            return
        worker, totals = message.get("worker"), message.get("totals")
        if not isinstance(worker, str) or not isinstance(totals, dict):
            return
        try:
            merge_frames([totals])  # well-formed, or dropped here rather than at a scrape
        except (TypeError, ValueError, AttributeError, IndexError):
            return
        self._last[worker] = (self._clock(), totals)

    @property
    def workers(self) -> list[str]:
        return list(self._last)

    def merged(self) -> dict[str, dict[str, Any]]:
        now = self._clock()
        frames = []
        for when, totals in self._last.values():
            if now - when > STALE:
                totals = {k: {**v, **dict.fromkeys(GAUGES, 0)} for k, v in totals.items()}
            frames.append(totals)
        return merge_frames(frames)


class PodStartups:
    """Pod start-up time (created -> first ready), once per pod, by revision and kind."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.rows: dict[tuple[str, str], list[float]] = {}
        self._seen: dict[str, set[str]] = {}  # per replica set: its pods observed ready

    def changed(self, replica_set_key: str) -> None:
        """The runtime reported a change of one replica set: observe its pods that turned
        ready for the first time (only its own: a change costs its pods, not all)."""
        now = time.time()
        seen = self._seen.get(replica_set_key, set())
        live = set()
        for pod in self.runtime.pods_of(replica_set_key):
            ident = pod.uid or pod.name
            live.add(ident)
            if pod.ready and ident not in seen:
                seen.add(ident)
                key = (revision_key_of(pod.revision_key), pod.role)
                row = self.rows.setdefault(key, new_row(WAIT_BOUNDS_S))
                observe(row, WAIT_BOUNDS_S, max(0.0, now - pod.created))
        seen &= live
        if seen:
            self._seen[replica_set_key] = seen
        else:
            self._seen.pop(replica_set_key, None)


class PodsCollector(Collector):
    """Pods by revision, kind and readiness; restarts; start-up times."""

    def __init__(self, runtime: Any, startups: PodStartups, labeller: Callable[[str], Any]):
        self.runtime = runtime
        self.startups = startups
        self.labeller = labeller

    def collect(self) -> Iterator[Metric]:
        labels = list(REVISION_LABELS)
        pods = GaugeMetricFamily(
            "coldbrew_pods", "Pods by kind and readiness", labels=[*labels, "kind", "state"]
        )
        restarts = CounterMetricFamily(
            "coldbrew_pod_restarts", "Container restarts per pod", labels=[*labels, "kind", "pod"]
        )
        startup = HistogramMetricFamily(
            "coldbrew_pod_startup_seconds",
            "Pod created to first ready (the pod's own share of a cold start)",
            labels=[*labels, "kind"],
        )
        counts: dict[tuple[str, str, str], int] = {}
        for pod in self.runtime.pods():
            key = revision_key_of(pod.revision_key)
            for state in ("ready", "not_ready"):
                counts.setdefault((key, pod.role, state), 0)
            counts[(key, pod.role, "ready" if pod.ready else "not_ready")] += 1
            restarts.add_metric([*self.labeller(key), pod.role, pod.name], pod.restarts)
        for (key, kind, state), n in sorted(counts.items()):
            pods.add_metric([*self.labeller(key), kind, state], n)
        for (key, kind), row in sorted(self.startups.rows.items()):
            histogram(startup, [*self.labeller(key), kind], row, WAIT_BOUNDS_S)
        yield from (pods, restarts, startup)


def store_labeller(store: Repository) -> Callable[[str], tuple[str, str, str, str]]:
    """Knative's labels for a revision key, its service from the state when known."""

    def labels(key: str) -> tuple[str, str, str, str]:
        rev = store.revisions.get(key)
        if rev is None:
            return revision_labels(key)
        return rev.namespace, rev.service, rev.service, rev.name

    return labels


class Observer:
    """Everything ``/metrics`` of ``coldbrew serve`` shows, wired to one registry."""

    def __init__(self, controller: Any, runtime: Any) -> None:
        self.workers = WorkerTotals()
        self.startups = PodStartups(runtime)
        labeller = store_labeller(controller.store)
        self.registry = registry_of(
            [
                RequestCollector(self.workers.merged, labeller),
                AutoscalerCollector(controller.autoscaler, labeller),
                CostCollector(controller.costing.ledger, controller.autoscaler.keys, labeller),
                PodsCollector(runtime, self.startups, labeller),
                ProcessCollector(registry=None),
            ]
        )

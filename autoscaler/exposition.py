"""Prometheus exposition of the KPA's decisions and of pod cost (read at scrape time).

Knative's autoscaler metric names (serving-metrics docs): ``autoscaler_desired_pods``,
``autoscaler_actual_pods``, ``autoscaler_stable_request_concurrency``,
``autoscaler_panic_request_concurrency``, ``autoscaler_stable_requests_per_second``,
``autoscaler_panic_requests_per_second`` (the pair for the revision's metric),
``autoscaler_target_concurrency_per_pod`` / ``autoscaler_target_requests_per_second``,
``autoscaler_excess_burst_capacity``, ``autoscaler_panic_mode``; cost is ours
(``coldbrew_pod_seconds``, ``coldbrew_cost``, by instance type). Labels: Knative's revision
labels from the ``labeller`` (gateway.exposition.revision_labels by default).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from autoscaler.accounting import CostLedger
from autoscaler.autoscaling import Autoscaler
from gateway.exposition import REVISION_LABELS, Labeller, revision_labels


def _gauge(name: str, doc: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(REVISION_LABELS))


class AutoscalerCollector(Collector):
    """Per watched revision: what the KPA sees and decides."""

    def __init__(self, autoscaler: Autoscaler, labeller: Labeller = revision_labels) -> None:
        self.autoscaler = autoscaler
        self.labeller = labeller

    def collect(self) -> Iterator[Metric]:
        g = {
            "desired": _gauge("autoscaler_desired_pods", "Pods the autoscaler asks for"),
            "actual": _gauge("autoscaler_actual_pods", "Ready pods the autoscaler counts"),
            "stable_c": _gauge(
                "autoscaler_stable_request_concurrency", "Average concurrency, stable window"
            ),
            "panic_c": _gauge(
                "autoscaler_panic_request_concurrency", "Average concurrency, panic window"
            ),
            "stable_r": _gauge(
                "autoscaler_stable_requests_per_second", "Average requests/s, stable window"
            ),
            "panic_r": _gauge(
                "autoscaler_panic_requests_per_second", "Average requests/s, panic window"
            ),
            "target_c": _gauge("autoscaler_target_concurrency_per_pod", "Target concurrency"),
            "target_r": _gauge("autoscaler_target_requests_per_second", "Target requests/s"),
            "ebc": _gauge("autoscaler_excess_burst_capacity", "Excess burst capacity"),
            "panic": _gauge("autoscaler_panic_mode", "1 while in panic mode"),
        }
        scaler = self.autoscaler
        for key in sorted(scaler.keys()):
            try:
                status, spec = scaler.status(key), scaler.spec(key)
            except KeyError:  # unwatched since keys()
                continue
            labels = list(self.labeller(key))
            g["desired"].add_metric(labels, max(status.desired, 0))
            g["actual"].add_metric(labels, status.actual)
            rps = spec.metric == "rps"
            g["stable_r" if rps else "stable_c"].add_metric(labels, status.stable_value)
            g["panic_r" if rps else "panic_c"].add_metric(labels, status.panic_value)
            g["target_r" if rps else "target_c"].add_metric(labels, spec.target_value)
            g["ebc"].add_metric(labels, status.excess_burst_capacity)
            g["panic"].add_metric(labels, 1.0 if status.panicking else 0.0)
        yield from g.values()


class CostCollector(Collector):
    """Pod-seconds and cost so far per revision and instance type (``CostLedger``)."""

    def __init__(
        self,
        ledger: CostLedger,
        keys: Callable[[], list[str]],
        labeller: Labeller = revision_labels,
    ) -> None:
        self.ledger = ledger
        self.keys = keys
        self.labeller = labeller

    def collect(self) -> Iterator[Metric]:
        names = [*REVISION_LABELS, "instance_type"]
        seconds = CounterMetricFamily(
            "coldbrew_pod_seconds", "Seconds pods ran, by instance type", labels=names
        )
        cost = CounterMetricFamily(
            "coldbrew_cost",
            "What pods cost so far, by instance type (currency label)",
            labels=[*names, "currency"],
        )
        for key in sorted(self.keys()):
            summary = self.ledger.summary(key)
            labels = list(self.labeller(key))
            for itype, total in sorted(summary["by_type"].items()):
                seconds.add_metric([*labels, itype], total["pod_seconds"])
                cost.add_metric([*labels, itype, summary["currency"]], total["cost"])
        yield from (seconds, cost)

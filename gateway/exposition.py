"""Prometheus exposition of the gateway's request figures (prometheus-client, at scrape time).

Nothing here runs per request: :class:`RequestCollector` reads ``{revision key: totals}``
maps (``Gateway.totals``, or several workers' summed by ``gateway.tally.merge_frames``)
when Prometheus scrapes, and renders them as metric families. Names follow Knative's
serving metrics where Knative has one (``revision_request_count``,
``revision_request_latencies`` in milliseconds, ``revision_queue_depth``,
``activator_request_concurrency``), ``coldbrew_`` ones otherwise; every family carries
Knative's revision labels (:data:`REVISION_LABELS`). prometheus-client adds ``_total`` to
counter names, as OpenMetrics wants. The README's "Metrics" section lists them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from gateway.tally import LATENCY_BOUNDS_MS, WAIT_BOUNDS_S

REVISION_LABELS = ("namespace_name", "service_name", "configuration_name", "revision_name")
METRICS_PATH = "/metrics"
Labeller = Callable[[str], tuple[str, str, str, str]]
Totals = Callable[[], dict[str, dict[str, Any]]]
_GENERATION = re.compile(r"-\d{5}$")


def revision_labels(key: str) -> tuple[str, str, str, str]:
    """Labels from a key alone: ``ns/coffee-00001`` -> (ns, coffee, coffee, coffee-00001).

    A revision's service (and configuration, named after it) is its name less Knative's
    ``-NNNNN`` generation suffix; the control plane passes a labeller that knows better.
    """
    namespace, _, revision = key.partition("/")
    service = _GENERATION.sub("", revision)
    return namespace, service, service, revision


def code_class(code: str) -> str:
    return f"{code[0]}xx" if code[:1] in "12345" and len(code) == 3 else "5xx"


def histogram(
    family: HistogramMetricFamily, labels: list[str], row: list[Any], bounds: tuple[float, ...]
) -> None:
    """Add one ``[count, sum, n_0..n_k]`` row (gateway/tally.py) as cumulative buckets."""
    running = 0.0
    buckets: list[tuple[str, float]] = []
    for bound, n in zip(bounds, row[2:], strict=False):
        running += n
        buckets.append((repr(float(bound)), running))
    buckets.append(("+Inf", float(row[0])))
    family.add_metric(labels, buckets, float(row[1]))


class RequestCollector(Collector):
    """Per-revision request metrics from ``totals()`` (labels from ``labeller``)."""

    def __init__(self, totals: Totals, labeller: Labeller = revision_labels) -> None:
        self.totals = totals
        self.labeller = labeller

    def collect(self) -> Iterator[Metric]:
        labels = list(REVISION_LABELS)
        coded = [*labels, "response_code", "response_code_class"]
        count = CounterMetricFamily(
            "revision_request_count", "Requests answered, by response code", labels=coded
        )
        latency = HistogramMetricFamily(
            "revision_request_latencies",
            "Arrival to the end of the response, in milliseconds",
            labels=coded,
        )
        errors = CounterMetricFamily(
            "coldbrew_gateway_errors",
            "502/503/504 answers the gateway gave itself, by cause",
            labels=[*labels, "response_code", "cause"],
        )
        held = HistogramMetricFamily(
            "coldbrew_request_held_seconds",
            "Time requests waited in the activator's queue for a pod slot",
            labels=labels,
        )
        cold = HistogramMetricFamily(
            "coldbrew_cold_start_seconds",
            "Arrival of a request that found no ready pod to its response start",
            labels=labels,
        )
        cold_starts = CounterMetricFamily(
            "coldbrew_cold_starts",
            "Arrivals that found no ready pod and no request already waiting for one",
            labels=labels,
        )
        wakeups = CounterMetricFamily(
            "coldbrew_reserve_wakeups", "Arrivals that woke an idle reserve pod", labels=labels
        )
        in_flight = GaugeMetricFamily(
            "coldbrew_requests_in_flight", "Requests in flight to pods now", labels=labels
        )
        queue = GaugeMetricFamily(
            "revision_queue_depth", "Requests held by the activator now", labels=labels
        )
        concurrency = GaugeMetricFamily(
            "activator_request_concurrency",
            "Time-weighted requests in flight or held, over the last second",
            labels=labels,
        )
        for key, entry in sorted(self.totals().items()):
            values = list(self.labeller(key))
            for code, row in sorted(entry.get("latency", {}).items()):
                code_labels = [*values, code, code_class(code)]
                count.add_metric(code_labels, float(row[0]))
                histogram(latency, code_labels, row, LATENCY_BOUNDS_MS)
            for cause_key, n in sorted(entry.get("failures", {}).items()):
                code, _, cause = cause_key.partition(":")
                errors.add_metric([*values, code, cause], float(n))
            histogram(held, values, entry["held"], WAIT_BOUNDS_S)
            histogram(cold, values, entry["cold"], WAIT_BOUNDS_S)
            cold_starts.add_metric(values, float(entry.get("cold_starts", 0)))
            wakeups.add_metric(values, float(entry.get("wakeups", 0)))
            in_flight.add_metric(values, float(entry.get("in_flight", 0)))
            queue.add_metric(values, float(entry.get("queued", 0)))
            concurrency.add_metric(values, float(entry.get("concurrency", 0.0)))
        yield from (count, latency, errors, held, cold, cold_starts, wakeups)
        yield from (in_flight, queue, concurrency)


def registry_of(collectors: Iterable[Collector]) -> CollectorRegistry:
    """A fresh registry (not the library's global one) holding ``collectors``."""
    registry = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        registry.register(collector)
    return registry


def metrics_route(registry: CollectorRegistry) -> web.RouteDef:
    """``GET /metrics``: ``registry`` in Prometheus' text format (for ``admin_app`` routes)."""

    async def metrics(_: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return web.get(METRICS_PATH, metrics)

"""One second of the platform, as the console draws it.

Per service: URL, readiness, traffic split. Per revision: ready standard and reserve pods,
the KPA's desired count, stable and panic concurrency against the target, the requests
per second and concurrency of the last whole second the gateways reported (the
autoscaler's trace of the metrics stream), the mean latency from those two (Little's law:
concurrency / arrival rate), scale-ups from zero, and the cost so far. Per revision, per
service and overall: the p50 and p99 latency of the requests that ended in the last 10 s
(``p50Ms``, ``p99Ms``; ``None`` when none did), read off the gateways' latency histograms
by :mod:`.quantiles`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from coldbrew.controlling import Controller
from coldbrew.scaling import decider_spec

from .quantiles import Buckets, LatencyWindow, add, quantiles_ms

Totals = Callable[[], dict[str, dict[str, Any]]]


class Snapshotter:
    def __init__(
        self, controller: Controller, clock: Any = time.monotonic, totals: Totals | None = None
    ) -> None:
        self.controller = controller
        self.clock = clock  # the autoscaler's clock (its trace is keyed by it)
        # the gateways' merged request totals (coldbrew.observing.WorkerTotals.merged)
        self.latency = LatencyWindow(totals or dict, clock)

    def state(self) -> dict[str, Any]:
        c = self.controller
        now = self.clock()
        recent = self.latency.recent()
        services, totals = [], {"standard": 0, "reserve": 0, "rps": 0.0, "coldStarts": 0,
                                "cost": 0.0, "currency": ""}  # fmt: skip
        for rec in c.store.services.list():
            view = c.views.get(rec.key)
            if view is None:
                continue
            status = view.status
            ready = next((x for x in status.get("conditions", []) if x["type"] == "Ready"), {})
            revs = c.store.revisions_of(rec.namespace, rec.name)
            revisions = [self._revision(rev, now, recent.get(rev.key)) for rev in revs]
            mine = add(recent[r.key] for r in revs if r.key in recent)
            for r in revisions:
                for k in ("standard", "reserve", "rps", "coldStarts", "cost"):
                    totals[k] += r[k]
                totals["currency"] = r["currency"]
            services.append({
                "namespace": rec.namespace,
                "name": rec.name,
                "url": status.get("url", ""),
                "ready": ready.get("status", "Unknown"),
                "reason": ready.get("reason", ""),
                "traffic": [
                    {"revision": t.get("revisionName", ""), "percent": t.get("percent", 0),
                     "tag": t.get("tag", "")}
                    for t in status.get("traffic", [])
                ],
                **quantiles_ms(mine),
                "revisions": revisions,
            })  # fmt: skip
        totals.update(quantiles_ms(add(recent.values())))
        return {"time": time.time(), "services": services, "totals": totals}

    def _revision(self, rev: Any, now: float, recent: Buckets | None) -> dict[str, Any]:
        c = self.controller
        pods = c.runtime.revision_state(rev.key)
        reserve = c.reserver.reserve_state(rev.key)
        template = c.template_of(rev)
        try:
            kpa = c.autoscaler.status(rev.key)
        except KeyError:
            stable = panic = 0.0
            panicking, desired = False, 0
        else:
            stable, panic, panicking = kpa.stable_value, kpa.panic_value, kpa.panicking
            desired = max(kpa.desired, 0)
        concurrency, rps = c.autoscaler.tracer.last_second(rev.key, now)
        cost = c.costing.summary(rev.key)
        return {
            "name": rev.name,
            "key": rev.key,
            "standard": pods.ready,
            "reserve": 0 if reserve is None else reserve.ready,
            "desired": desired,
            "stable": round(stable, 3),
            "panic": round(panic, 3),
            "panicking": panicking,
            "target": decider_spec(c.config, template).target_value,
            "concurrency": round(concurrency, 3),
            "rps": rps,
            "latencyMs": round(1000 * concurrency / rps, 1) if rps > 0 else None,
            **quantiles_ms(recent),
            "coldStarts": c.cold_starts(rev.key),
            "cost": cost["cost"],
            "currency": cost["currency"],
        }

"""Compare idle policies on one trace: scale to zero, a reserve instance, min-scale 1.

Each policy replays the trace through the same :class:`Autoscaler` as
:mod:`autoscaler.simulating`, with a cost ledger on the virtual clock and a
count of cold starts (episodes of load while no pod, standard or reserve, is
ready).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from autoscaler.accounting import CostLedger
from autoscaler.autoscaling import Autoscaler
from autoscaler.config import AutoscalerConfig
from autoscaler.pricing import DEFAULT_RESERVE_TYPE, PriceTable
from autoscaler.simulating import SIM_KEY, TracePoint, VirtualPods, replay
from autoscaler.spec import DeciderSpec

POLICIES = ("scale-to-zero", "reserve", "min-scale-1")


def compare_policies(
    spec: DeciderSpec,
    config: AutoscalerConfig,
    trace: list[TracePoint],
    pod_start_seconds: float = 0.0,
    *,
    prices: PriceTable,
    reserve_type: str = DEFAULT_RESERVE_TYPE,
    reserve_replicas: int = 1,
    standard_cpu: float = 1.0,
    standard_memory_gib: float = 2.0,
    tail_seconds: float = 0.0,
) -> dict[str, dict[str, Any]]:
    """Replay ``trace`` under each of :data:`POLICIES`; per policy: pod-seconds by kind, cost,
    and cold starts (episodes of load while no pod, standard or reserve, is ready).

    ``scale-to-zero`` is ``spec`` as is; ``reserve`` replaces a scale to zero with
    ``reserve_replicas`` reserve pods of ``reserve_type``; ``min-scale-1`` keeps a standard pod.
    Pods are billed from when they are asked for until they are removed.
    """
    points = sorted(trace, key=lambda p: p.second)
    runs = {
        "scale-to-zero": (spec, 0),
        "reserve": (spec, reserve_replicas),
        "min-scale-1": (replace(spec, min_scale=max(1, spec.min_scale)), 0),
    }
    return {
        name: _run_policy(
            policy_spec,
            config,
            points,
            pod_start_seconds,
            tail_seconds,
            prices,
            reserve,
            reserve_type,
            (standard_cpu, standard_memory_gib),
        )
        for name, (policy_spec, reserve) in runs.items()
    }


def _run_policy(
    spec: DeciderSpec,
    config: AutoscalerConfig,
    points: list[TracePoint],
    pod_start_seconds: float,
    tail_seconds: float,
    prices: PriceTable,
    reserve: int,
    reserve_type: str,
    standard_size: tuple[float, float],
) -> dict[str, Any]:
    pods = VirtualPods(pod_start_seconds, reserve=reserve)
    ledger = CostLedger(prices, clock=lambda: pods.now)
    pods.ledger, pods.reserve_type, pods.standard_size = ledger, reserve_type, standard_size
    cold = {"starts": 0, "seconds": 0, "in_episode": False}

    def before_load(p: TracePoint) -> None:
        if pods.serving(SIM_KEY):
            cold["in_episode"] = False
        elif p.concurrency > 0 or p.rps:
            cold["seconds"] += 1
            if not cold["in_episode"]:
                cold["starts"] += 1
                cold["in_episode"] = True

    def after_tick(_t: float, _a: Autoscaler) -> None:
        if pods.serving(SIM_KEY):
            cold["in_episode"] = False

    replay(spec, config, points, pods, tail_seconds, after_tick=after_tick, before_load=before_load)
    totals = ledger.summary(SIM_KEY)
    kinds = totals["by_kind"]
    return {
        "standard_pod_seconds": round(kinds["standard"]["pod_seconds"], 3),
        "reserve_pod_seconds": round(kinds["reserve"]["pod_seconds"], 3),
        "standard_cost": round(kinds["standard"]["cost"], 8),
        "reserve_cost": round(kinds["reserve"]["cost"], 8),
        "cost": round(totals["cost"], 8),
        "currency": totals["currency"],
        "cold_starts": cold["starts"],
        "cold_start_seconds": cold["seconds"],
        "seconds": pods.now,
    }

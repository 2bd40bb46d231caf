"""One revision's KPA state and the reconciler's rules for its phase and scale to zero.

Ports ``kpa/scaler.go``'s ``handleScaleToZero`` and ``kpa/kpa.go``'s Active
condition: when an idle revision may go to zero (stable window, grace period,
pod retention, activator in path) and when it is activating, active or
inactive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from autoscaler.collecting import MetricCollector
from autoscaler.deciding import INVALID, Decider, ScaleResult
from autoscaler.spec import DeciderSpec
from rulebook.scale_bounds import reachable_min


class Phase(Enum):
    """The PodAutoscaler's ``Active`` condition."""

    ACTIVATING = "activating"  # Unknown: pods wanted, not ready yet
    ACTIVE = "active"
    INACTIVE = "inactive"  # idle: activator in path, may be at zero


@dataclass(slots=True)
class ScaledRevision:
    spec: DeciderSpec
    collector: MetricCollector
    decider: Decider
    want: int  # decider status: last valid desired count (after bounds), -1 unknown
    ebc: int  # decider status: last excess burst capacity
    applied: int  # last count passed to scale(); -1 none
    phase: Phase
    phase_since: float
    in_path: bool
    in_path_since: float
    initialized: bool = False
    recommended: int = -1
    result: ScaleResult = INVALID
    reason: str = "waiting for metrics"
    # Per worker, the second its last stat was filed under (see _record_stat).
    worker_seconds: dict[str, int] = field(default_factory=dict)
    # At zero with no pods, no metrics and the activator in the path: a tick would decide
    # nothing new, so ticks skip it until a stat, a spec change or a poke.
    resting: bool = False


def scale_to_zero(
    rev: ScaledRevision, desired: int, now: float, activation_timeout: float
) -> tuple[int, bool]:
    """``handleScaleToZero``: ``(scale, apply)``."""
    spec = rev.spec
    if desired != 0:
        return desired, True
    if not spec.enable_scale_to_zero:
        rev.reason += "; scale-to-zero disabled, keeping 1"
        return 1, True
    since = now - rev.phase_since
    if rev.phase is Phase.ACTIVATING:
        if since >= activation_timeout:
            rev.reason = f"activation timed out after {since:.0f}s"
            return 0, True
        return -1, False
    if rev.phase is Phase.ACTIVE:
        if since >= spec.stable_window:
            rev.reason = "idle for the stable window: marked inactive"
            return 0, False
        rev.reason = f"idle, active for only {since:.0f}s < stable window: keeping 1"
        return 1, True
    retention = spec.scale_to_zero_pod_retention_period if spec.reachable else 0.0
    grace = spec.scale_to_zero_grace_period
    if since >= max(grace, retention):
        rev.reason = "scaled to zero"
        return 0, True
    if retention > 0 and since < retention:
        rev.reason = f"idle: pod retention keeps the last pod {retention - since:.0f}s more"
        return 0, False
    proxy_for = now - rev.in_path_since if rev.in_path else 0.0
    if rev.in_path and grace - proxy_for <= 0:
        rev.reason = "scaled to zero (activator in path for the grace period)"
        return 0, True
    rev.reason = f"idle: scale-to-zero grace period, {grace - proxy_for:.0f}s left"
    return 0, False


def update_phase(rev: ScaledRevision, want: int, ready: int, now: float) -> None:
    """``computeActiveCondition``."""
    spec = rev.spec
    low = reachable_min(spec.min_scale, reachable=spec.reachable)
    min_ready = max(low, 1) if rev.initialized else max(low, spec.initial_scale)
    if ready >= min_ready:
        rev.initialized = True
    if want == 0 or min_ready == 0:
        new = Phase.INACTIVE
    elif want <= 0 and rev.phase is Phase.INACTIVE:
        return
    else:
        new = Phase.ACTIVATING if ready < min_ready else Phase.ACTIVE
    if new is not rev.phase:
        rev.phase = new
        rev.phase_since = now

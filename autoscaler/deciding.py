"""The per-revision decider: a port of Knative's ``autoscaler.Scale`` (scaling/autoscaler.go).

Stable/panic modes, panic threshold, max scale-up/down rates, activation-scale,
scale-down-delay (max over a window) and excess burst capacity, then the min/max bounds that
Knative applies in the KPA reconciler (``applyBounds``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from autoscaler.buckets import MaxTimeWindow
from autoscaler.collecting import NoDataError
from autoscaler.spec import DeciderSpec

TICK_INTERVAL = 2.0  # scaling.tickInterval: granularity of the scale-down-delay window


@dataclass(frozen=True, slots=True)
class ScaleResult:
    """One decision. ``desired_pod_count`` is after the min/max bounds (when valid)."""

    desired_pod_count: int = 0
    excess_burst_capacity: int = 0
    scale_valid: bool = False
    stable_value: float = 0.0
    panic_value: float = 0.0
    panicking: bool = False
    unbounded_pod_count: int = 0  # Knative's ScaleResult.DesiredPodCount, before bounds


INVALID = ScaleResult()


class MetricSource(Protocol):
    """Knative's ``MetricClient``; :class:`~autoscaler.collecting.MetricCollector` is one."""

    def stable_and_panic(self, metric: str, now: float) -> tuple[float, float]:
        """``(stable, panic)`` averages; raises :class:`NoDataError` without data."""
        ...


def apply_bounds(min_scale: int, max_scale: int, x: int) -> int:
    """KPA ``applyBounds``: ``max_scale == 0`` means unbounded."""
    if x < min_scale:
        return min_scale
    if max_scale != 0 and x > max_scale:
        return max_scale
    return x


class Decider:
    """Scales one revision from its :class:`MetricCollector`; keeps the panic state."""

    def __init__(
        self,
        spec: DeciderSpec,
        collector: MetricSource,
        *,
        now: float = 0.0,
        ready_pods: int = 0,
        tick_interval: float = TICK_INTERVAL,
    ) -> None:
        self.collector = collector
        self.tick_interval = tick_interval
        self._spec = spec
        self._delay = self._make_delay_window(spec)
        # Knative starts in panic mode when more than one pod is already up, so an
        # autoscaler restart (which loses metric history) does not scale down at once.
        self.panic_time: float | None = now if ready_pods > 1 else None
        self.max_panic_pods = ready_pods

    @property
    def spec(self) -> DeciderSpec:
        return self._spec

    def _make_delay_window(self, spec: DeciderSpec) -> MaxTimeWindow | None:
        if spec.scale_down_delay > 0:
            return MaxTimeWindow(spec.scale_down_delay, self.tick_interval)
        return None

    def update(self, spec: DeciderSpec) -> None:
        """Reconfigure; a changed scale-down-delay starts a fresh delay window."""
        if spec.scale_down_delay != self._spec.scale_down_delay:
            self._delay = self._make_delay_window(spec)
        self._spec = spec

    @property
    def panicking(self) -> bool:
        return self.panic_time is not None

    def scale(self, now: float, ready_pods: int) -> ScaleResult:
        """Knative's ``Scale``: the desired pod count for ``ready_pods`` ready pods at ``now``."""
        spec = self._spec
        ready = float(max(1, ready_pods))  # use 1 if there are zero current pods
        try:
            stable, panic = self.collector.stable_and_panic(spec.metric, now)
        except NoDataError:
            return INVALID

        # Grow by at least one pod even with a conservative rate (ceil), and the same for
        # the opposite direction (floor).
        max_scale_up = math.ceil(spec.max_scale_up_rate * ready)
        max_scale_down = math.floor(ready / spec.max_scale_down_rate) if spec.reachable else 0

        dspc = math.ceil(stable / spec.target_value)
        dppc = math.ceil(panic / spec.target_value)
        desired_stable = int(min(max(dspc, max_scale_down), max_scale_up))
        desired_panic = int(min(max(dppc, max_scale_down), max_scale_up))

        if spec.activation_scale > 1:
            if dspc > 0 and spec.activation_scale > desired_stable:
                desired_stable = spec.activation_scale
            if dppc > 0 and spec.activation_scale > desired_panic:
                desired_panic = spec.activation_scale

        over_threshold = dppc / ready >= spec.panic_threshold
        if over_threshold:
            # Begin panicking, or extend the panic window while still over the threshold.
            self.panic_time = now
        elif self.panic_time is not None and self.panic_time + spec.stable_window < now:
            # Stop panicking once the surge has made its way into the stable metric.
            self.panic_time = None
            self.max_panic_pods = 0

        desired = desired_stable
        if self.panic_time is not None:
            # Provision for the larger of the two, and never scale down while panicking.
            desired = max(desired, desired_panic)
            self.max_panic_pods = max(self.max_panic_pods, desired)
            desired = self.max_panic_pods

        if spec.reachable and self._delay is not None:
            self._delay.record(now, desired)
            desired = self._delay.current()

        if spec.target_burst_capacity == 0:
            ebc = 0.0
        elif spec.target_burst_capacity > 0:
            total_capacity = float(ready_pods) * spec.total_value
            ebc = math.floor(total_capacity - spec.target_burst_capacity - panic)
        else:
            ebc = -1.0  # TBC -1: the activator always stays in the path

        return ScaleResult(
            desired_pod_count=apply_bounds(spec.min_scale, spec.max_scale, desired),
            excess_burst_capacity=int(ebc),
            scale_valid=True,
            stable_value=stable,
            panic_value=panic,
            panicking=self.panic_time is not None,
            unbounded_pod_count=desired,
        )

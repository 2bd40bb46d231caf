"""The multi-revision KPA engine: deciders + the KPA reconciler's scale-to-zero rules.

Ports ``scaling.MultiScaler`` (one decider per revision, ticks, pokes) together with the parts
of the KPA reconciler that turn a decision into a replica count (``kpa/scaler.go``:
``applyBounds``, initial scale, ``handleScaleToZero``; ``kpa/kpa.go``: the Active condition
and when the activator is put in the request path).

Everything is driven by :meth:`Autoscaler.tick` with an explicit or injected clock, so the same
object runs under asyncio (:meth:`Autoscaler.run`) or inside a simulator.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autoscaler.collecting import MetricCollector
from autoscaler.config import AutoscalerConfig
from autoscaler.deciding import Decider, ScaleResult, apply_bounds
from autoscaler.phasing import Phase, ScaledRevision, scale_to_zero, update_phase
from autoscaler.spec import DeciderSpec
from autoscaler.tracing import Tracer
from rulebook.scale_bounds import kpa_floor

log = logging.getLogger(__name__)

# Knative: ProgressDeadline (600s default) + activationTimeoutBuffer (30s).
DEFAULT_ACTIVATION_TIMEOUT = 630.0
SHARED_SPECS = 4096  # distinct specs kept shared (see Autoscaler.watch)


@dataclass(frozen=True, slots=True)
class KPAStatus:
    """What the autoscaler knows and decided about one revision."""

    desired: int  # the replica count last asked for (-1: never asked)
    actual: int  # ready pods
    stable_value: float
    panic_value: float
    panicking: bool
    reason: str
    excess_burst_capacity: int
    in_path: bool  # activator in the request path
    phase: str = Phase.ACTIVATING.value
    recommended: int = -1  # decider count after bounds, before scale-to-zero timing


def _noop_activator(key: str, in_path: bool) -> None:
    return None


class MalformedMessageError(ValueError):
    """A metrics-stream message that does not follow docs/seams.md."""


def _initial_ebc(spec: DeciderSpec) -> int:
    """``MultiScaler.createScaler``: EBC before the first decision."""
    if spec.target_burst_capacity in (-1, 0):
        return int(spec.target_burst_capacity)
    return int(spec.initial_scale * spec.total_value - spec.target_burst_capacity)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedMessageError(f"{what} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise MalformedMessageError(f"{what} must be a finite non-negative number")
    return float(value)


class Autoscaler:
    """KPA for many revisions (keys ``"namespace/revision"``)."""

    def __init__(
        self,
        config: AutoscalerConfig,
        *,
        scale: Callable[[str, int], None],
        ready_pods: Callable[[str], int],
        activator: Callable[[str, bool], None] = _noop_activator,
        clock: Callable[[], float] = time.monotonic,
        activation_timeout: float = DEFAULT_ACTIVATION_TIMEOUT,
    ) -> None:
        self.config = config
        self._scale = scale
        self._ready_pods = ready_pods
        self._activator = activator
        self._clock = clock
        self.activation_timeout = activation_timeout
        self._revisions: dict[str, ScaledRevision] = {}
        # Equal specs as one object: 10,000 revisions of the same annotations hold one.
        self._specs: dict[DeciderSpec, DeciderSpec] = {}
        self.workers: set[str] = set()
        self.tracer = Tracer()

    # -- revisions ------------------------------------------------------------------------

    def keys(self) -> list[str]:
        return list(self._revisions)

    def watch(self, key: str, spec: DeciderSpec) -> None:
        """Start autoscaling ``key`` (at its initial scale); a changed spec is applied."""
        if len(self._specs) >= SHARED_SPECS:
            self._specs.clear()  # a bound, not a cache policy: sharing is only a saving
        spec = self._specs.setdefault(spec, spec)
        rev = self._revisions.get(key)
        now = self._clock()
        if rev is not None:
            if rev.spec != spec:
                rev.resting = False
                rev.collector.resize(spec.stable_window, spec.panic_window, now)
                rev.decider.update(spec)
                rev.spec = spec
            return
        ready = self._ready_count(key)
        collector = MetricCollector(spec.stable_window, spec.panic_window)
        decider = Decider(
            spec, collector, now=now, ready_pods=ready, tick_interval=self.config.tick_interval
        )
        zero_start = spec.initial_scale == 0
        rev = ScaledRevision(
            spec=spec,
            collector=collector,
            decider=decider,
            want=-1,
            ebc=_initial_ebc(spec),
            applied=-1,
            phase=Phase.INACTIVE if zero_start else Phase.ACTIVATING,
            phase_since=now,
            in_path=True,
            in_path_since=now,
        )
        self._revisions[key] = rev
        self._call_activator(key, True)
        # A new revision starts at its initial scale; existing pods (autoscaler restart) stay.
        self._apply(key, rev, ready if ready > 0 else spec.initial_scale)

    def spec(self, key: str) -> DeciderSpec:
        """The spec ``key`` is scaled by; raises KeyError when not watched."""
        return self._revisions[key].spec

    def unwatch(self, key: str) -> None:
        self._revisions.pop(key, None)
        self.tracer.forget(key)

    # -- metrics --------------------------------------------------------------------------

    def record(self, message: dict[str, Any], now: float | None = None) -> None:
        """Take one metrics-stream message (docs/seams.md); raises MalformedMessageError."""
        if not isinstance(message, dict):
            raise MalformedMessageError("message must be a JSON object")
        kind = message.get("type")
        worker = message.get("worker")
        if worker is not None and not isinstance(worker, str):
            raise MalformedMessageError("worker must be a string")
        t = self._clock() if now is None else now
        if kind == "hello":
            if worker is not None:
                self.workers.add(worker)
        elif kind == "stats":
            entries = message.get("stats")
            if not isinstance(entries, list):
                raise MalformedMessageError("stats must be a list")
            parsed: list[tuple[str, float, float]] = []
            for entry in entries:
                if not isinstance(entry, dict) or not isinstance(entry.get("revision"), str):
                    raise MalformedMessageError("each stat needs a revision")
                concurrency = _number(entry.get("concurrency", 0.0), "concurrency")
                requests = _number(entry.get("requests", 0), "requests")
                parsed.append((entry["revision"], concurrency, requests))
            for key, concurrency, requests in parsed:
                self._record_stat(key, t, concurrency, requests, worker, poke=False)
        elif kind == "poke":
            key = message.get("revision")
            if not isinstance(key, str):
                raise MalformedMessageError("poke needs a revision")
            concurrency = _number(message.get("concurrency", 1.0), "concurrency")
            self._record_stat(key, t, concurrency, 0.0, worker, poke=True)
        else:
            raise MalformedMessageError(f"unknown message type {kind!r}")

    def _record_stat(
        self, key: str, now: float, concurrency: float, rps: float, worker: str | None, poke: bool
    ) -> None:
        rev = self._revisions.get(key)
        if rev is None:
            return  # unknown revision: ignored
        if not poke and worker is not None:
            # Each stat covers one second of one worker. Network jitter can deliver two
            # in the same second of our clock; summing them would double the load, so a
            # worker's stat goes to the second after its previous one when they collide.
            second = math.floor(now)
            last = rev.worker_seconds.get(worker)
            if last is not None and second <= last < second + 1:
                now = float(last + 1)
            rev.worker_seconds[worker] = math.floor(now)
        rev.collector.record(now, concurrency, rps, worker)
        rev.resting = False
        if not poke:
            self.tracer.load(key, now, concurrency, rps)
        # MultiScaler.Poke: decide at once when scaled to zero and traffic arrives.
        at_zero = rev.want == 0 or rev.applied <= 0
        if poke or (at_zero and concurrency > 0):
            self._tick_one(key, rev, now)

    def poke(self, key: str, now: float | None = None) -> None:
        """Decide for ``key`` immediately (scale-from-zero does not wait for the tick)."""
        rev = self._revisions.get(key)
        if rev is not None:
            self._tick_one(key, rev, self._clock() if now is None else now)

    # -- deciding -------------------------------------------------------------------------

    def tick(self, now: float | None = None) -> None:
        """Decide for every revision at ``now`` (default: the clock)."""
        t = self._clock() if now is None else now
        for key, rev in list(self._revisions.items()):
            if rev.resting and self._ready_count(key) == 0:
                continue  # 10,000 idle revisions: their ticks would change nothing
            try:
                self._tick_one(key, rev, t)
            except Exception:
                log.exception("autoscaler tick failed for %s", key)

    async def run(self) -> None:
        """Tick every ``tick-interval`` until cancelled."""
        while True:
            self.tick()
            await asyncio.sleep(self.config.tick_interval)

    def _ready_count(self, key: str) -> int:
        try:
            return max(0, int(self._ready_pods(key)))
        except Exception:
            log.exception("ready_pods failed for %s", key)
            return 0

    def _tick_one(self, key: str, rev: ScaledRevision, now: float) -> None:
        spec = rev.spec
        ready = self._ready_count(key)
        if ready > 0:
            # Knative scrapes the pods when there are any, so silence counts as zero load.
            rev.collector.record(now - 1.0, 0.0, 0.0)
        result = rev.decider.scale(now, ready)
        rev.result = result
        if result.scale_valid:
            rev.want = result.desired_pod_count
            rev.ebc = result.excess_burst_capacity
            rev.reason = self._decision_reason(result, ready)
        else:
            rev.reason = "no metrics in the stable window"
        want = rev.want

        final = want
        if want >= 0 or rev.phase is Phase.ACTIVATING:
            low = kpa_floor(
                spec.min_scale,
                spec.initial_scale,
                initialized=rev.initialized,
                reachable=spec.reachable,
            )
            bounded = apply_bounds(low, spec.max_scale, want)
            rev.recommended = bounded
            self.tracer.decision(key, now, bounded, ready, result.panicking)
            final, apply = scale_to_zero(rev, bounded, now, self.activation_timeout)
            if apply and final >= 0:
                self._apply(key, rev, final)
        update_phase(rev, final, ready, now)
        in_path = not (final > 0 and rev.ebc >= 0)
        if in_path != rev.in_path:
            rev.in_path = in_path
            rev.in_path_since = now
            self._call_activator(key, in_path)
        rev.resting = (
            ready == 0
            and rev.applied == 0
            and rev.phase is Phase.INACTIVE
            and rev.in_path
            and rev.collector.is_empty(now)
        )

    @staticmethod
    def _decision_reason(result: ScaleResult, ready: int) -> str:
        mode = "panic" if result.panicking else "stable"
        return (
            f"{mode} mode: stable {result.stable_value:g}, panic {result.panic_value:g} "
            f"over {ready} ready pod(s) -> {result.desired_pod_count}"
        )

    def _apply(self, key: str, rev: ScaledRevision, count: int) -> None:
        if count == rev.applied:
            return
        try:
            self._scale(key, count)
        except Exception:
            log.exception("scale(%s, %d) failed; retrying next tick", key, count)
            return
        rev.applied = count

    def _call_activator(self, key: str, in_path: bool) -> None:
        try:
            self._activator(key, in_path)
        except Exception:
            log.exception("activator(%s, %s) failed", key, in_path)

    # -- status ---------------------------------------------------------------------------

    def status(self, key: str) -> KPAStatus:
        """Current state of ``key``; raises KeyError when not watched."""
        rev = self._revisions[key]
        return KPAStatus(
            desired=rev.applied,
            actual=self._ready_count(key),
            stable_value=rev.result.stable_value,
            panic_value=rev.result.panic_value,
            panicking=rev.decider.panicking,
            reason=rev.reason,
            excess_burst_capacity=rev.ebc,
            in_path=rev.in_path,
            phase=rev.phase.value,
            recommended=rev.recommended,
        )

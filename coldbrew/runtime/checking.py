"""A container run's probes: startup first, then readiness and liveness side by side.

As the kubelet: a ``startupProbe`` holds the other two until it succeeds once; failing it
``failureThreshold`` times in a row, or the ``livenessProbe`` likewise, asks for a restart
(``unhealthy``); readiness flips the container's ``ready`` after ``successThreshold``
successes or ``failureThreshold`` failures. Before a container is first ready its readiness
is probed every few milliseconds whatever the period, to keep cold starts short (Knative's
queue-proxy does the same); no readiness probe means Knative's default, a TCP connect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from coldbrew.runtime import probing
from coldbrew.runtime.specs import ContainerSpec, ProbeSpec

log = logging.getLogger(__name__)


class Checks:
    """Probe one run of ``container``; ``port_of(spec)`` is where a probe connects."""

    def __init__(
        self,
        container: ContainerSpec,
        *,
        port_of: Callable[[ProbeSpec | None], int],
        changed: Callable[[], None],
        unhealthy: Callable[[str], None],
        hold: float = 0.0,
        run_exec: probing.RunExec | None = None,
        default_readiness: bool = True,
    ) -> None:
        self.container, self._port_of, self._changed = container, port_of, changed
        self._unhealthy, self._hold, self._run_exec = unhealthy, hold, run_exec
        self._default_readiness = default_readiness  # False: ready once started (no port)
        self.ready = False
        self.ever_ready = False
        self.started = container.startup_probe is None

    async def run(self) -> None:
        if not await self._startup():
            return
        tasks = [asyncio.ensure_future(self._readiness())]
        if self.container.liveness_probe is not None:
            tasks.append(asyncio.ensure_future(self._liveness(self.container.liveness_probe)))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _once(self, spec: ProbeSpec | None) -> bool:
        try:
            return await probing.probe_once(spec, self._port_of(spec), self._hold, self._run_exec)
        except Exception:  # a probe bug must not silently stop the checks
            log.exception("probing container %s failed", self.container.name)
            return False

    def _set(self, ready: bool) -> None:
        if ready != self.ready:
            self.ready = ready
            self.ever_ready = self.ever_ready or ready
            self._changed()

    async def _startup(self) -> bool:
        spec = self.container.startup_probe
        if spec is None:
            return True
        if spec.initial_delay_seconds:
            await asyncio.sleep(spec.initial_delay_seconds)
        failures = 0
        while True:
            if await self._once(spec):
                self.started = True
                return True
            failures += 1
            if failures >= (spec.failure_threshold or 3):
                self._unhealthy(f"Startup probe failed {failures} times")
                return False
            await asyncio.sleep(spec.period_seconds or 10)

    async def _liveness(self, spec: ProbeSpec) -> None:
        if spec.initial_delay_seconds:
            await asyncio.sleep(spec.initial_delay_seconds)
        failures = 0
        while True:
            failures = 0 if await self._once(spec) else failures + 1
            if failures >= (spec.failure_threshold or 3):
                self._unhealthy(f"Liveness probe failed {failures} times")
                return
            await asyncio.sleep(spec.period_seconds or 10)

    async def _readiness(self) -> None:
        spec = self.container.readiness_probe
        if spec is None and not self._default_readiness:
            self._set(True)
            return
        loop = asyncio.get_running_loop()
        began = loop.time()
        if spec and spec.initial_delay_seconds:
            await asyncio.sleep(spec.initial_delay_seconds)
        need_ok = (spec.success_threshold if spec else 0) or 1
        need_fail = (spec.failure_threshold if spec else 0) or 3
        successes = failures = 0
        while True:
            ok = await self._once(spec)
            successes, failures = (successes + 1, 0) if ok else (0, failures + 1)
            if not self.ready and successes >= need_ok:
                self._set(True)
            elif self.ready and failures >= need_fail:
                self._set(False)
            if self.ever_ready:
                await asyncio.sleep(probing.ready_period(spec))
            else:
                await asyncio.sleep(probing.startup_period(loop.time() - began, spec))

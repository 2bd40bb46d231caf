"""Local mode's gradual rollouts: the state kept per Service, its timer, its record.

The rule is :mod:`rulebook.rollout` (via :func:`coldbrew.api.rolling.roll_route`). The
duration is the Service's ``serving.knative.dev/rollout-duration``, else the ``network:``
section's ``rollout-duration`` (as Knative: an annotation of 0 falls back to it). The state
survives a restart in the stored manifest's ``status.annotations`` under Knative's key
``networking.internal.knative.dev/rollout`` (the manifest's status is never shown or
parsed); it is written only for Services that roll out, and only when it changes. The
controller is woken for the next step by a timer (no polling).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable

from coldbrew.api import RouteResult, Service
from coldbrew.api.rolling import roll_route
from coldbrew.api.rollout_duration import rollout_seconds
from coldbrew.network_config import NetworkConfig
from coldbrew.storing import Repository, StoredService
from coldbrew.storing.frozen import thaw
from rulebook.rollout import ROLLOUT_STATE, Rollout


def stored_state(rec: StoredService) -> str | None:
    status = thaw(rec.manifest).get("status") or {}
    value = (status.get("annotations") or {}).get(ROLLOUT_STATE)
    return value if isinstance(value, str) else None


class Rollouts:
    def __init__(
        self,
        store: Repository,
        network: NetworkConfig,
        wake: Callable[[str], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.network = network
        self.wake = wake  # marks the Service dirty
        self.clock = clock  # Unix seconds: the state is compared across restarts
        self._state: dict[str, Rollout | None] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def duration(self, service: Service) -> int:
        return rollout_seconds(service.annotations) or self.network.rollout_seconds

    def roll(self, rec: StoredService, service: Service, route: RouteResult) -> RouteResult:
        """The route to program and show now; schedules the next step, stores the state."""
        key = rec.key
        if key not in self._state:
            self._state[key] = Rollout.from_json(stored_state(rec))
        duration = self.duration(service)
        now = self.clock()
        shown, state, due = roll_route(route, self._state[key], now, duration)
        self._state[key] = state
        self._schedule(key, None if due is None else due - now)
        stored = stored_state(rec)
        if duration > 0 or stored is not None:  # else nothing is stored: no JSON to make
            text = None if state is None else state.to_json()
            if text != stored:
                self._store(rec, text)
        return shown

    def forget(self, key: str) -> None:
        self._state.pop(key, None)
        self._schedule(key, None)

    def in_progress(self, key: str) -> bool:
        state = self._state.get(key)
        return state is not None and not state.done

    def _schedule(self, key: str, delay: float | None) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        if delay is not None:
            loop = asyncio.get_running_loop()
            self._timers[key] = loop.call_later(max(0.0, delay), self.wake, key)

    def _store(self, rec: StoredService, text: str | None) -> None:
        manifest = thaw(rec.manifest)
        status = manifest.setdefault("status", {})
        if not isinstance(status, dict):
            status = manifest["status"] = {}
        annotations = status.setdefault("annotations", {})
        if text is None:
            annotations.pop(ROLLOUT_STATE, None)
        else:
            annotations[ROLLOUT_STATE] = text
        with self.store.transaction():
            current = self.store.services.get(rec.key)
            if current is not None and current.generation == rec.generation:
                self.store.services.put(dataclasses.replace(current, manifest=manifest))

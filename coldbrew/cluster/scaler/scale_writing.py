"""Writing replica counts: PATCHes of Deployments' ``/scale`` subresource, coalesced.

:meth:`ScaleWriter.want` records the replica count wanted for one Deployment and
returns at once. Each Deployment has at most one write in flight; a count wanted while
one is in flight replaces any not yet written (the latest wins), and is written after
it. A write is skipped when the Deployment's ``spec.replicas``, as last seen (from the
watch, or from the answer to our own write), already equals the count. Failed writes are
retried with exponential backoff; a 404 drops the count (the Deployment is gone; a new
one is seen by the watch and wanted again). Nothing is written while ``may_write()``
is false (this replica is not the leader); counts wanted meanwhile are forgotten, as
a new leader computes them afresh.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from coldbrew.events import EventRecorder
from coldbrew.events.emitting import rescaled

from ..kube.accessing import DEPLOYMENTS, Kube, status_of

log = logging.getLogger(__name__)

Name = tuple[str, str]  # (namespace, deployment)


class ScaleWriter:
    """One coalescing ``/scale`` writer per Deployment name."""

    def __init__(
        self,
        kube: Kube,
        *,
        may_write: Callable[[], bool] = lambda: True,
        backoff: float = 0.1,
        max_backoff: float = 10.0,
        events: EventRecorder | None = None,
    ) -> None:
        self.kube = kube
        self.events = events  # a SuccessfulRescale event per write
        self.may_write = may_write
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._wanted: dict[Name, int] = {}
        self._spec: dict[Name, int] = {}  # spec.replicas as last seen
        self._tasks: dict[Name, asyncio.Task[None]] = {}
        self.writes = 0  # successful /scale writes
        self.failures = 0  # failed ones (retried)

    def seen(self, namespace: str, name: str, replicas: int | None) -> None:
        """The watch saw ``spec.replicas`` of a Deployment (None: it was deleted)."""
        key = (namespace, name)
        if replicas is None:
            self._spec.pop(key, None)
            self._wanted.pop(key, None)
        else:
            self._spec[key] = replicas

    def want(self, namespace: str, name: str, replicas: int) -> None:
        """Have ``spec.replicas`` of ``namespace/name`` set to ``replicas`` (latest wins)."""
        key = (namespace, name)
        if not self.may_write():
            return
        self._wanted[key] = replicas
        task = self._tasks.get(key)
        if task is None or task.done():
            self._tasks[key] = asyncio.get_running_loop().create_task(self._drain(key))

    def pending(self) -> dict[Name, int]:
        """Counts wanted and not yet written."""
        return dict(self._wanted)

    async def _drain(self, key: Name) -> None:
        failures = 0
        while (target := self._wanted.get(key)) is not None:
            if not self.may_write():
                self._wanted.pop(key, None)
                return
            if self._spec.get(key) == target:
                if self._wanted.get(key) == target:
                    del self._wanted[key]
                continue
            try:
                scale = await self.kube.scale(DEPLOYMENTS, key[0], key[1], target)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if status_of(exc) == 404:
                    log.info("deployment %s/%s is gone; not scaling it", *key)
                    self._wanted.pop(key, None)
                    return
                self.failures += 1
                failures += 1
                delay = min(self.backoff * 2 ** (failures - 1), self.max_backoff)
                log.warning(
                    "scaling %s/%s to %d failed (%r); retrying in %.1fs",
                    key[0],
                    key[1],
                    target,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            failures = 0
            self.writes += 1
            written = (scale.get("spec") or {}).get("replicas", target)
            self._spec[key] = int(written)
            log.info("scaled %s/%s to %d", key[0], key[1], target)
            if self.events is not None:
                rescaled(self.events, key[0], key[1], target, "the KPA's decision")

    async def close(self) -> None:
        """Cancel every write in flight."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

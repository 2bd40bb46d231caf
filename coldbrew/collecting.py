"""Local mode's revision garbage collection: a periodic sweep by :mod:`rulebook.gc`.

Every sweep asks the rule, per Service (Knative's per-Configuration), which revisions to
delete, and deletes them with their pods through the controller. Active for the rule: the
revisions the programmed route references, the latest ready one, one annotated
``serving.knative.dev/no-gc: "true"`` and, beyond Knative, the latest created one (the
Service's rollout target; Knative's configuration would just cut it again). A Service not
in the controller's view yet is skipped. The sweep period follows the retention: half the
shortest retain time, between 1 s and 60 s.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from coldbrew.controlling import Controller
from coldbrew.storing import StoredRevision, StoredService
from coldbrew.storing.frozen import thaw
from rulebook.gc import GCConfig, RevisionFacts, collectable, no_gc

log = logging.getLogger(__name__)


def sweep_period(cfg: GCConfig) -> float:
    times = [t for t in (cfg.retain_since_create, cfg.retain_since_last_active) if t is not None]
    return min(60.0, max(1.0, min(times, default=60.0) / 2))


def revision_annotations(rev: StoredRevision) -> Any:
    spec = thaw(rev.manifest).get("spec") or {}
    template = spec.get("template") or {}
    return (template.get("metadata") or {}).get("annotations")


class RevisionCollector:
    def __init__(
        self, controller: Controller, cfg: GCConfig, clock: Callable[[], float] = time.time
    ) -> None:
        self.controller = controller
        self.cfg = cfg
        self.clock = clock

    def doomed(self, rec: StoredService) -> list[str]:
        """Keys of this Service's revisions the rule deletes now."""
        view = self.controller.views.get(rec.key)
        if view is None:
            return []
        routed = view.routed()
        facts = []
        for rev in self.controller.store.revisions_of(rec.namespace, rec.name):
            active = rev.key in routed or rev.name == rec.latest_created
            facts.append(
                RevisionFacts(
                    name=rev.key,
                    created=rev.created,
                    last_active=rev.last_active,
                    routed=active,
                    latest_ready=rev.name == rec.latest_ready,
                    # read (its manifest decoded) only where it can matter: a routed
                    # revision is kept whatever its annotations say
                    no_gc=not active and no_gc(revision_annotations(rev)),
                )
            )
        return collectable(self.cfg, facts, self.clock())

    def sweep(self) -> list[str]:
        """Delete what the rule says for every Service; the deleted keys."""
        if self.cfg.disabled:
            return []
        keys = [k for rec in self.controller.store.services.list() for k in self.doomed(rec)]
        if keys:
            log.info("revision GC: deleting %s", ", ".join(keys))
            self.controller.delete_revisions(keys)
        return keys

    async def run(self) -> None:
        period = sweep_period(self.cfg)
        while True:
            await asyncio.sleep(period)  # a period, not synchronisation
            try:
                self.sweep()
            except Exception:  # the next sweep tries again
                log.exception("revision GC sweep failed")

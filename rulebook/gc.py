"""Which revisions of a configuration to garbage-collect: Knative's ``config-gc``.

Source: knative/serving ``pkg/gc/config.go`` and ``pkg/reconciler/gc/gc.go``. Per
configuration (a Service's revisions):

- *active* revisions are never collected and count for nothing: the latest ready one, one
  the route references (any traffic target, a tagged 0 % one too, the latest ready through
  ``latestRevision: true``), one annotated ``serving.knative.dev/no-gc: "true"``;
- the non-active ones are sorted by last active time, oldest first (last active: when the
  route last referenced it -- Knative's ``routingStateModified`` -- else its creation);
- while more than ``min_non_active`` remain, each *stale* one is deleted, oldest first;
  stale: created at least ``retain_since_create`` ago AND last active at least
  ``retain_since_last_active`` ago (a disabled check passes; both disabled: never stale);
- then, while more than ``max_non_active`` remain (unless disabled), the oldest go, stale
  or not.

Durations are seconds; ``None`` is Knative's ``disabled`` (-1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

NO_GC_ANNOTATION = "serving.knative.dev/no-gc"


@dataclass(frozen=True)
class GCConfig:
    """The ``gc:`` section, Knative's defaults; ``None`` = disabled."""

    retain_since_create: float | None = 48 * 3600.0
    retain_since_last_active: float | None = 15 * 3600.0
    min_non_active: int = 20
    max_non_active: int | None = 1000

    @property
    def disabled(self) -> bool:
        """Nothing can ever be collected (Knative returns early)."""
        return (
            self.max_non_active is None
            and self.retain_since_create is None
            and self.retain_since_last_active is None
        )


@dataclass(frozen=True)
class RevisionFacts:
    """What the rule needs of one revision (times in seconds since the epoch)."""

    name: str
    created: float
    last_active: float | None = None  # None: never routed since creation
    routed: bool = False
    latest_ready: bool = False
    no_gc: bool = False

    @property
    def active(self) -> bool:
        return self.routed or self.latest_ready or self.no_gc

    @property
    def last_active_time(self) -> float:
        return self.created if self.last_active is None else self.last_active


def no_gc(annotations: object) -> bool:
    """``serving.knative.dev/no-gc: "true"`` (any case) among a revision's annotations."""
    if not isinstance(annotations, dict):
        return False
    value = annotations.get(NO_GC_ANNOTATION)
    return isinstance(value, str) and value.strip().lower() == "true"


def is_stale(cfg: GCConfig, rev: RevisionFacts, now: float) -> bool:
    since_create, since_active = cfg.retain_since_create, cfg.retain_since_last_active
    if since_create is None and since_active is None:
        return False
    if since_create is not None and now - rev.created < since_create:
        return False
    return not (since_active is not None and now - rev.last_active_time < since_active)


def collectable(cfg: GCConfig, revisions: Iterable[RevisionFacts], now: float) -> list[str]:
    """Names of the revisions to delete, in the order Knative deletes them."""
    if cfg.disabled:
        return []
    kept = sorted(
        (r for r in revisions if not r.active), key=lambda r: (r.last_active_time, r.name)
    )
    doomed: list[str] = []
    remaining: list[RevisionFacts] = []
    for rev in kept:
        if len(kept) - len(doomed) > cfg.min_non_active and is_stale(cfg, rev, now):
            doomed.append(rev.name)
        else:
            remaining.append(rev)
    if cfg.max_non_active is not None and len(remaining) > cfg.max_non_active:
        doomed.extend(r.name for r in remaining[: len(remaining) - cfg.max_non_active])
    return doomed

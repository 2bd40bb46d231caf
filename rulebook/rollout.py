"""Gradual rollout: the ``@latest`` share moves to a new latest revision in steps.

Source: Knative's rollout orchestrator (knative/serving ``pkg/reconciler/route/traffic/
rollout.go`` with ``reconcile_resources.go`` ``reconcileRollout``), our own code:

- Only ``latestRevision: true`` targets roll out, one rollout per tag: ``""`` carries the
  main route's whole @latest percent, each tag of an @latest target its own at 100 %.
- A new latest revision starts at 1 %, taken from the newest previous revision that still
  has traffic; the older revisions keep the rest. A rollout starting while one is in
  progress stacks: the revisions of the running one keep their shares and give them up
  newest first, the new one joins at 1 %.
- Step sizing (``computeProperties``): the 1 % move is taken to last 1 s (Knative measures
  it, at least 1 s); the remaining ``duration - 1`` seconds are cut into
  ``min(percent - 1, duration - 1)`` steps of ``round((percent - 1) / steps)`` % each, one
  every ``(duration - 1) / steps`` seconds (so at least 1 s apart and at least 1 %).
- A step (``stepRevisions``) takes the step size from the previous revisions (the newest of
  them first) and gives it to the new one; when only the new one is left the rollout is over.
- A changed percent (``adjustPercentage``): more goes to the newest revision, less is taken
  from the oldest. A duration of 0 (none set) moves everything at once.

The state is plain data (:meth:`Rollout.to_json` / :meth:`Rollout.from_json`), kept by the
caller between passes; times are Unix seconds; ``now`` is always passed in.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Any

# Knative's Ingress annotation holding the rollout state (here on the Service's status).
ROLLOUT_STATE = "networking.internal.knative.dev/rollout"
DURATION_ANNOTATION = "serving.knative.dev/rollout-duration"


@dataclass(frozen=True)
class Share:
    """A revision's percent of the whole route (not of its rollout)."""

    revision: str
    percent: int


@dataclass(frozen=True)
class TagRollout:
    """The rollout of one tag's @latest share; ``shares`` oldest to newest."""

    tag: str
    percent: int
    shares: tuple[Share, ...]
    start: float = 0.0  # when the newest revision joined (0: no rollout)
    next_step: float = 0.0
    step_seconds: float = 0.0
    step_size: int = 0

    @property
    def done(self) -> bool:
        return len(self.shares) < 2


@dataclass(frozen=True)
class Rollout:
    """Every tag's rollout, sorted by tag."""

    tags: tuple[TagRollout, ...] = ()

    def by_tag(self, tag: str) -> TagRollout | None:
        return next((t for t in self.tags if t.tag == tag), None)

    @property
    def done(self) -> bool:
        return all(t.done for t in self.tags)

    def to_json(self) -> str:
        return json.dumps([_tag_dict(t) for t in self.tags], sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> Rollout | None:
        """The stored state, or None when absent or inconsistent (Knative discards it)."""
        if not text:
            return None
        try:
            tags = tuple(_tag_of(d) for d in json.loads(text))
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        for t in tags:
            if t.percent > 100 or not 0 <= t.step_size <= t.percent:
                return None
            if sum(s.percent for s in t.shares) != t.percent:
                return None
        return cls(tuple(sorted(tags, key=lambda t: t.tag)))


def goal(targets: list[tuple[str, int, str]]) -> Rollout:
    """The desired shape: ``(tag or "", percent, revision)`` per tag's @latest share.

    Percent-0 shares are left out (they roll nothing), as Knative's ``BuildRollout``.
    """
    tags = [TagRollout(tag, pct, (Share(rev, pct),)) for tag, pct, rev in targets if pct > 0]
    return Rollout(tuple(sorted(tags, key=lambda t: t.tag)))


def step(
    want: Rollout, prev: Rollout | None, now: float, duration: float
) -> tuple[Rollout, float | None]:
    """The traffic shape at ``now`` and when the next step is due (None: nothing scheduled).

    ``want`` is :func:`goal`'s shape, ``prev`` the state the last pass returned, ``duration``
    the rollout duration in seconds (0: no gradual rollout, ``want`` at once).
    """
    if duration <= 0 or prev is None:
        return want, None
    out: list[TagRollout] = []
    for cur in want.tags:
        before = prev.by_tag(cur.tag)
        if before is None or cur.percent <= 1:
            out.append(cur)  # a new tag, or a 1 % A/B share: nothing to roll
            continue
        out.append(_step_tag(cur, before, now, duration))
    nexts = [t.next_step for t in out if not t.done and t.next_step > 0]
    return Rollout(tuple(out)), (min(nexts) if nexts else None)


def _step_tag(cur: TagRollout, prev: TagRollout, now: float, duration: float) -> TagRollout:
    if not prev.shares:
        return cur
    shares = _adjust(cur.percent, list(prev.shares))
    newest = cur.shares[0].revision
    if shares[-1].revision == newest:
        if len(shares) < 2:
            return cur  # no rollout, or it ended
        moving = replace(prev, percent=cur.percent, shares=tuple(shares))
        return _step_shares(moving, now) if moving.step_size > 0 else moving
    # A new latest revision: it takes 1 % from the newest previous one still serving.
    for i in range(len(shares) - 1, -1, -1):
        if shares[i].percent > 0:
            shares[i] = Share(shares[i].revision, shares[i].percent - 1)
            break
    kept = tuple(s for s in shares if s.percent > 0)
    started = TagRollout(cur.tag, cur.percent, (*kept, Share(newest, 1)), start=now)
    return _properties(started, now, duration)


def _adjust(percent: int, shares: list[Share]) -> list[Share]:
    """The previous shares summing to ``percent``: the newest gains, the oldest lose."""
    diff = percent - sum(s.percent for s in shares)
    if percent == 0:
        return []
    if diff > 0:
        last = shares[-1]
        shares[-1] = Share(last.revision, last.percent + diff)
    elif diff < 0:
        cut = -diff
        while cut > 0 and shares:
            if shares[0].percent > cut:
                shares[0] = Share(shares[0].revision, shares[0].percent - cut)
                break
            cut -= shares.pop(0).percent
    return shares


def _properties(t: TagRollout, now: float, duration: float, first_step: float = 1.0) -> TagRollout:
    """Knative's ``computeProperties``: step count, size and interval for the rest."""
    seconds = max(1.0, duration - first_step)
    steps = max(1.0, seconds / first_step)
    remaining = float(t.percent - 1)
    steps = min(steps, remaining) if remaining > 0 else 1.0
    size = math.floor(remaining / steps + 0.5) if remaining > 0 else 0  # Go's math.Round
    interval = seconds / steps
    if size <= 0:  # nothing left to move after the first 1 %
        return replace(t, step_size=0, step_seconds=0.0, next_step=0.0)
    return replace(t, step_size=size, step_seconds=interval, next_step=now + interval)


def _step_shares(t: TagRollout, now: float) -> TagRollout:
    """Knative's ``stepRevisions``: move one step to the newest revision when it is due."""
    if now < t.next_step or t.done:
        return t
    shares = list(t.shares)
    newest = shares.pop()
    remaining = t.step_size
    while remaining > 0 and shares:
        last = shares[-1]
        if last.percent > remaining:
            shares[-1] = Share(last.revision, last.percent - remaining)
            break
        remaining -= last.percent
        shares.pop()
    grown = Share(newest.revision, min(t.percent, newest.percent + t.step_size))
    shares.append(grown)
    if len(shares) < 2:
        return TagRollout(t.tag, t.percent, tuple(shares))  # done: the parameters clear
    return replace(t, shares=tuple(shares), next_step=now + t.step_seconds)


def _tag_dict(t: TagRollout) -> dict[str, Any]:
    return {
        "tag": t.tag,
        "percent": t.percent,
        "revisions": [{"revisionName": s.revision, "percent": s.percent} for s in t.shares],
        "stepParams": {
            "startTime": t.start,
            "nextStepTime": t.next_step,
            "stepDuration": t.step_seconds,
            "stepSize": t.step_size,
        },
    }


def _tag_of(d: dict[str, Any]) -> TagRollout:
    params = d.get("stepParams") or {}
    shares = tuple(Share(str(r["revisionName"]), int(r["percent"])) for r in d["revisions"])
    return TagRollout(
        tag=str(d.get("tag") or ""),
        percent=int(d["percent"]),
        shares=shares,
        start=float(params.get("startTime", 0)),
        next_step=float(params.get("nextStepTime", 0)),
        step_seconds=float(params.get("stepDuration", 0)),
        step_size=int(params.get("stepSize", 0)),
    )


def shares_at(rollout: Rollout, tag: str, revision: str, percent: int) -> list[Share]:
    """What a tag's @latest target serves: the rollout's shares, else all to ``revision``."""
    t = rollout.by_tag(tag)
    if t is None or t.done:
        return [Share(revision, percent)]
    return list(t.shares)

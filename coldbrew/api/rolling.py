"""A resolved route during a gradual rollout (:mod:`rulebook.rollout`), for both modes.

:func:`roll_route` takes the route :func:`.resolving.resolve_traffic` resolved, the rollout
state the last pass kept, ``now`` and the duration, and returns the route to program and
show, the state to keep, and when the next step is due:

- the main host's ``@latest`` share (every ``latestRevision: true`` entry's percent) is
  split over the rollout's revisions; ``status.traffic`` shows the split as Knative does
  (one entry per revision, ``latestRevision: true``), the shares handed out to the @latest
  entries in order, oldest revision first;
- each tag host of an @latest entry rolls on its own (Knative rolls each tag at 100 %);
- while a rollout moves, RoutesReady is Unknown ``RolloutInProgress`` (the route still
  serves: ``ready`` stays True).
"""

from __future__ import annotations

import dataclasses

from rulebook.rollout import Rollout, Share, goal, shares_at, step

from .resolving import UNKNOWN, ResolvedTarget, RouteResult

ROLLOUT_IN_PROGRESS = "RolloutInProgress"
ROLLOUT_MESSAGE = "A gradual rollout of the latest revision(s) is in progress."


def roll_route(
    route: RouteResult, prev: Rollout | None, now: float, duration: float
) -> tuple[RouteResult, Rollout | None, float | None]:
    """``(route to program and show, state to keep, next step time or None)``."""
    if not route.ready:
        return route, prev, None  # the last programmed route keeps serving, and its state
    latest = [t for t in route.targets if t.latest_revision]
    if not latest:
        return route, None, None
    revision = latest[0].revision_name  # every @latest entry resolves to the latest ready
    wants = [("", sum(t.percent for t in latest), revision)]
    wants += [(t.tag, 100, revision) for t in latest if t.tag is not None]
    rollout, wake = step(goal(wants), prev, now, duration)
    if rollout.done:
        return route, rollout, None
    main = shares_at(rollout, "", revision, wants[0][1])
    targets: list[ResolvedTarget] = []
    for t in route.targets:
        if t.latest_revision and t.percent > 0:
            taken, main = _take(main, t.percent)
            targets += [dataclasses.replace(t, revision_name=s.revision, percent=s.percent)
                        for s in taken]  # fmt: skip
        else:
            targets.append(t)
    splits = tuple(
        (t.tag, tuple((s.revision, s.percent) for s in shares_at(rollout, t.tag, revision, 100)))
        for t in latest
        if t.tag is not None
    )
    moving = dataclasses.replace(
        route,
        targets=tuple(targets),
        tag_splits=splits,
        status=UNKNOWN,
        reason=ROLLOUT_IN_PROGRESS,
        message=ROLLOUT_MESSAGE,
    )
    return moving, rollout, wake


def _take(shares: list[Share], percent: int) -> tuple[list[Share], list[Share]]:
    """The first ``percent`` of ``shares`` (oldest first), and what is left."""
    taken: list[Share] = []
    rest = list(shares)
    while percent > 0 and rest:
        head = rest[0]
        part = min(percent, head.percent)
        taken.append(Share(head.revision, part))
        percent -= part
        if part == head.percent:
            rest.pop(0)
        else:
            rest[0] = Share(head.revision, head.percent - part)
    return taken, rest

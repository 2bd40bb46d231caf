"""Revision GC (rulebook.gc): Knative's config-gc cases on a virtual clock."""

from __future__ import annotations

import pytest

from rulebook.gc import GCConfig, RevisionFacts, collectable, is_stale, no_gc

H = 3600.0
NOW = 1_000_000.0


def rev(name: str, age_h: float, idle_h: float | None = None, **kw: bool) -> RevisionFacts:
    """A revision created ``age_h`` hours before NOW, last routed ``idle_h`` hours ago."""
    last = None if idle_h is None else NOW - idle_h * H
    return RevisionFacts(name=name, created=NOW - age_h * H, last_active=last, **kw)


DEFAULT = GCConfig()
TINY = GCConfig(
    retain_since_create=1.0, retain_since_last_active=1.0, min_non_active=1, max_non_active=2
)


@pytest.mark.parametrize(
    ("cfg", "revs", "expected"),
    [
        # Knative defaults: 48h since create AND 15h since active, keep 20, at most 1000.
        (DEFAULT, [rev(f"r{i}", 100) for i in range(20)], []),  # only min remain
        (
            DEFAULT,
            [rev(f"r{i:02}", 100 - i) for i in range(22)],
            ["r00", "r01"],  # the two oldest go, 20 stay
        ),
        (DEFAULT, [rev(f"r{i:02}", 10) for i in range(25)], []),  # too young
        (  # old but recently routed: not stale
            DEFAULT,
            [rev(f"r{i:02}", 100, idle_h=1) for i in range(25)],
            [],
        ),
        # min 0: each stale one goes, the fresh stays.
        (
            GCConfig(min_non_active=0),
            [rev("old", 49), rev("young", 47), rev("idle", 60, idle_h=16), rev("busy", 60, 14)],
            ["old", "idle"],
        ),
        # Exactly at the limit counts as stale (Knative: since < retain keeps).
        (GCConfig(min_non_active=0), [rev("edge", 48, idle_h=15)], ["edge"]),
        # Active revisions are never collected and do not count toward min.
        (
            GCConfig(min_non_active=1),
            [
                rev("routed", 100, routed=True),
                rev("latest", 100, latest_ready=True),
                rev("pinned", 100, no_gc=True),
                rev("a", 100),
                rev("b", 99),
            ],
            ["a"],
        ),
        # Oldest by last active goes first, whatever the creation order.
        (
            GCConfig(min_non_active=1),
            [rev("created-first", 100, idle_h=20), rev("created-last", 90)],
            ["created-last"],
        ),
        # max caps non-stale ones too, oldest first.
        (
            GCConfig(min_non_active=0, max_non_active=2),
            [rev(f"r{i}", 10 - i) for i in range(5)],
            ["r0", "r1", "r2"],
        ),
        # stale pass first, then max on the rest.
        (
            GCConfig(min_non_active=1, max_non_active=2),
            [rev("s1", 100), rev("s2", 99), rev("f1", 3), rev("f2", 2), rev("f3", 1)],
            ["s1", "s2", "f1"],
        ),
        # max disabled: no cap.
        (
            GCConfig(min_non_active=0, max_non_active=None),
            [rev(f"r{i}", 1) for i in range(2000)],
            [],
        ),
        # max 0: every non-active one goes.
        (
            GCConfig(min_non_active=0, max_non_active=0),
            [rev("a", 1), rev("b", 1, routed=True)],
            ["a"],
        ),
        # Create time disabled: only the last-active check.
        (
            GCConfig(retain_since_create=None, min_non_active=0),
            [rev("idle", 1, idle_h=16), rev("fresh", 20, idle_h=1)],
            ["idle"],
        ),
        # Last-active disabled: only the create check.
        (
            GCConfig(retain_since_last_active=None, min_non_active=0),
            [rev("old", 49, idle_h=0), rev("young", 1)],
            ["old"],
        ),
        # Both times disabled: nothing is stale; max still applies.
        (
            GCConfig(
                retain_since_create=None,
                retain_since_last_active=None,
                min_non_active=0,
                max_non_active=1,
            ),
            [rev("a", 100), rev("b", 50)],
            ["a"],
        ),
        # Everything disabled: nothing ever goes.
        (
            GCConfig(
                retain_since_create=None,
                retain_since_last_active=None,
                min_non_active=0,
                max_non_active=None,
            ),
            [rev("a", 1000)],
            [],
        ),
    ],
)
def test_collectable(cfg: GCConfig, revs: list[RevisionFacts], expected: list[str]) -> None:
    assert collectable(cfg, revs, NOW) == expected


def test_tiny_config_on_a_virtual_clock() -> None:
    """Rollouts one second apart: the routed, the no-gc and one non-active stay."""
    clock = 0.0
    revs: dict[str, RevisionFacts] = {}
    pinned = RevisionFacts("svc-00001", created=clock, no_gc=True)
    revs[pinned.name] = pinned
    for n in range(2, 8):
        clock += 1.0
        # The previous routed one leaves the route now; the new one is routed.
        for name, r in list(revs.items()):
            if r.routed:
                revs[name] = RevisionFacts(name, r.created, last_active=clock)
        revs[f"svc-{n:05}"] = RevisionFacts(f"svc-{n:05}", created=clock, routed=True)
        for name in collectable(TINY, revs.values(), clock):
            del revs[name]
        non_active = [r for r in revs.values() if not r.active]
        assert len(non_active) <= 2
    clock += 5.0
    for name in collectable(TINY, revs.values(), clock):
        del revs[name]
    assert sorted(revs) == ["svc-00001", "svc-00006", "svc-00007"]


def test_is_stale_boundaries() -> None:
    cfg = GCConfig(retain_since_create=10.0, retain_since_last_active=5.0)
    r = RevisionFacts("a", created=0.0, last_active=8.0)
    assert not is_stale(cfg, r, 9.9)  # too young
    assert not is_stale(cfg, r, 12.9)  # active 4.9 s ago
    assert is_stale(cfg, r, 13.0)


def test_no_gc_annotation() -> None:
    assert no_gc({"serving.knative.dev/no-gc": "true"})
    assert no_gc({"serving.knative.dev/no-gc": "True"})
    assert not no_gc({"serving.knative.dev/no-gc": "false"})
    assert not no_gc({})
    assert not no_gc(None)

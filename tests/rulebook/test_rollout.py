"""Gradual rollout (rulebook.rollout): tables of cases on a virtual clock."""

from __future__ import annotations

import pytest

from rulebook.rollout import Rollout, Share, TagRollout, goal, shares_at, step


def split(r: Rollout, tag: str = "") -> list[tuple[str, int]]:
    t = r.by_tag(tag)
    assert t is not None
    return [(s.revision, s.percent) for s in t.shares]


def run(want: Rollout, prev: Rollout, start: float, duration: float) -> list[tuple[float, Rollout]]:
    """Step on a virtual clock from ``start``, waking only when a step is due."""
    now, state, seen = start, prev, []
    for _ in range(500):
        state, wake = step(want, state, now, duration)
        seen.append((now, state))
        if wake is None:
            return seen
        assert wake > now
        now = wake
    raise AssertionError("the rollout never ended")


A100 = goal([("", 100, "a")])
B100 = goal([("", 100, "b")])


@pytest.mark.parametrize(
    ("want", "prev", "duration", "expected", "wake"),
    [
        (B100, A100, 0, [("b", 100)], None),  # no duration: at once
        (B100, None, 20, [("b", 100)], None),  # nothing before: at once (first deployment)
        (A100, A100, 20, [("a", 100)], None),  # steady: nothing scheduled
        (B100, A100, 20, [("a", 99), ("b", 1)], 1.0),  # starts at 1 %
        (B100, A100, 1, [("a", 99), ("b", 1)], 1.0),  # shorter than two steps: one more
        (B100, A100, 200, [("a", 99), ("b", 1)], 199 / 99),  # 99 steps of 1 %
        (goal([("", 1, "b")]), goal([("", 1, "a")]), 20, [("b", 1)], None),  # 1 % A/B share
        (goal([("x", 100, "b")]), A100, 20, [("b", 100)], None),  # a new tag: at once
    ],
)
def test_first_pass(
    want: Rollout,
    prev: Rollout | None,
    duration: float,
    expected: list[tuple[str, int]],
    wake: float | None,
) -> None:
    tag = want.tags[0].tag
    got, next_step = step(want, prev, 0.0, duration)
    assert split(got, tag) == expected
    assert next_step == pytest.approx(wake) if wake is not None else next_step is None


def test_a_20s_rollout_moves_5_percent_a_second_and_ends_at_20s() -> None:
    seen = run(B100, A100, 1000.0, 20)
    times = [t - 1000.0 for t, _ in seen]
    assert times == [float(i) for i in range(21)]
    news = [dict(split(r)).get("b", 0) for _, r in seen]
    assert news == [1 + 5 * i for i in range(20)] + [100]
    assert all(sum(p for _, p in split(r)) == 100 for _, r in seen)
    assert seen[-1][1].done and seen[-1][1].tags[0].step_size == 0


@pytest.mark.parametrize(
    ("duration", "size", "steps", "last"),
    [(20, 5, 20, 20.0), (2, 99, 1, 1.0), (10, 11, 9, 9.0), (60, 2, 50, 50.0), (300, 1, 99, 299.0)],
)
def test_step_size_count_and_end(duration: float, size: int, steps: int, last: float) -> None:
    # Steps are rounded (Knative: 1.9 -> 2, not 1), so a rollout may end before its duration.
    seen = run(B100, A100, 0.0, duration)
    assert seen[0][1].tags[0].step_size == size
    assert len(seen) - 1 == steps
    assert seen[-1][0] == pytest.approx(last)
    assert split(seen[-1][1]) == [("b", 100)]


def test_not_due_yet_keeps_the_split() -> None:
    started, wake = step(B100, A100, 0.0, 20)
    same, again = step(B100, started, 0.5, 20)
    assert split(same) == [("a", 99), ("b", 1)] and again == wake


def test_a_rollout_starting_during_one_stacks_and_drains_the_newest_first() -> None:
    seen = run(B100, A100, 0.0, 20)
    midway = next(r for t, r in seen if t == 5.0)
    assert split(midway) == [("a", 74), ("b", 26)]
    c100 = goal([("", 100, "c")])
    stacked, wake = step(c100, midway, 5.0, 20)
    assert split(stacked) == [("a", 74), ("b", 25), ("c", 1)]
    assert stacked.tags[0].start == 5.0 and wake == 6.0
    after = run(c100, stacked, 6.0, 20)
    first = split(after[0][1])
    assert first == [("a", 74), ("b", 20), ("c", 6)]  # b (the newer) gives first
    shapes = [dict(split(r)) for _, r in after]
    drained = next(i for i, s in enumerate(shapes) if "b" not in s)
    assert all(s["a"] == 74 for s in shapes[:drained])
    assert split(after[-1][1]) == [("c", 100)]


def test_a_changed_percent_takes_from_the_oldest_and_gives_to_the_newest() -> None:
    started, _ = step(B100, A100, 0.0, 20)
    half, _ = step(goal([("", 50, "b")]), started, 0.5, 20)
    assert split(half) == [("a", 49), ("b", 1)]
    more, _ = step(goal([("", 100, "b")]), half, 0.6, 20)
    assert split(more) == [("a", 49), ("b", 51)]


def test_duration_removed_mid_rollout_moves_at_once() -> None:
    started, _ = step(B100, A100, 0.0, 20)
    assert split(step(B100, started, 3.0, 0)[0]) == [("b", 100)]


def test_tags_roll_separately() -> None:
    prev = goal([("", 60, "a"), ("latest", 100, "a")])
    want = goal([("", 60, "b"), ("latest", 100, "b")])
    got, wake = step(want, prev, 0.0, 20)
    assert split(got) == [("a", 59), ("b", 1)]
    assert split(got, "latest") == [("a", 99), ("b", 1)]
    assert got.tags[0].step_size == 3 and wake == 1.0  # round(59 / 19)


def test_state_round_trips_and_bad_state_is_dropped() -> None:
    started, _ = step(B100, A100, 7.0, 20)
    assert Rollout.from_json(started.to_json()) == started
    assert Rollout.from_json(None) is None
    assert Rollout.from_json("{not json") is None
    bad = Rollout((TagRollout("", 100, (Share("a", 50), Share("b", 1))),))
    assert Rollout.from_json(bad.to_json()) is None  # shares do not add up


def test_shares_at() -> None:
    started, _ = step(B100, A100, 0.0, 20)
    assert shares_at(started, "", "b", 100) == [Share("a", 99), Share("b", 1)]
    assert shares_at(started, "other", "b", 30) == [Share("b", 30)]
    assert shares_at(B100, "", "b", 100) == [Share("b", 100)]


def test_a_half_step_rounds_up_as_go_does() -> None:
    # 99 % over 22 steps is 4.5 % a step: Go's math.Round gives 5 (Python's round, 4).
    started, _ = step(B100, A100, 0.0, 23)
    assert started.tags[0].step_size == 5

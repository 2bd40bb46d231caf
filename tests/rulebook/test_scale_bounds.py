"""Min-, max- and initial scale (rulebook.scale_bounds), one table per rule."""

from __future__ import annotations

import pytest

from rulebook import scale_bounds


@pytest.mark.parametrize(
    ("annotation", "default", "expected"),
    [
        (None, 0, 0),
        (None, 2, 2),  # no annotation: the global min-scale
        (3, 0, 3),
        (3, 1, 3),
        (0, 1, 0),  # an explicit "0" wins over a global min-scale of 1 (was 1: `or`)
        (0, 0, 0),
    ],
)
def test_min_scale_annotation_wins_even_zero(
    annotation: int | None, default: int, expected: int
) -> None:
    assert scale_bounds.min_scale(annotation, default) == expected


@pytest.mark.parametrize(
    ("annotation", "default", "expected"),
    [(None, 0, 0), (None, 10, 10), (5, 10, 5), (0, 10, 0), (7, 0, 7)],
)
def test_max_scale_annotation_wins(annotation: int | None, default: int, expected: int) -> None:
    assert scale_bounds.max_scale(annotation, default) == expected


@pytest.mark.parametrize(
    ("resolved", "reachable", "expected"),
    [(2, True, 2), (2, False, 0), (0, True, 0), (0, False, 0)],
)
def test_an_unreachable_revisions_min_is_zero(
    resolved: int, reachable: bool, expected: int
) -> None:
    assert scale_bounds.reachable_min(resolved, reachable=reachable) == expected


@pytest.mark.parametrize(
    ("annotation", "default", "allow_zero", "expected"),
    [
        (None, 1, False, 1),
        (None, 0, True, 0),
        (3, 1, False, 3),
        (0, 1, False, 1),  # "0" not allowed by the cluster: the global initial scale
        (0, 2, False, 2),
        (0, 1, True, 0),  # allow-zero-initial-scale: honoured
        (5, 0, True, 5),
    ],
)
def test_initial_scale_zero_only_when_allowed(
    annotation: int | None, default: int, allow_zero: bool, expected: int
) -> None:
    assert scale_bounds.initial_scale(annotation, default, allow_zero=allow_zero) == expected


@pytest.mark.parametrize(
    ("resolved_min", "resolved_initial", "expected"),
    [(0, 1, 1), (0, 0, 0), (3, 1, 3), (1, 4, 4), (2, 0, 2)],
)
def test_initial_replicas_are_at_least_the_min(
    resolved_min: int, resolved_initial: int, expected: int
) -> None:
    got = scale_bounds.initial_replicas(
        resolved_min=resolved_min, resolved_initial=resolved_initial
    )
    assert got == expected


@pytest.mark.parametrize(
    ("resolved_min", "resolved_initial", "initialized", "reachable", "expected"),
    [
        (0, 1, False, True, 0),  # an initial scale of 1 never raises the floor
        (0, 3, False, True, 3),  # not yet initialized: the initial scale
        (5, 3, False, True, 5),  # min above the initial scale: min
        (0, 3, True, True, 0),  # initialized: initial scale ignored
        (2, 3, True, True, 2),
        (2, 3, False, False, 0),  # unreachable: neither min nor initial scale
        (2, 0, True, False, 0),
    ],
)
def test_kpa_floor(
    resolved_min: int, resolved_initial: int, initialized: bool, reachable: bool, expected: int
) -> None:
    got = scale_bounds.kpa_floor(
        resolved_min, resolved_initial, initialized=initialized, reachable=reachable
    )
    assert got == expected


@pytest.mark.parametrize(
    ("resolved_min", "resolved_initial", "expected"),
    [
        (0, 0, True),  # initial-scale "0", no min: initialized with no pod
        (0, 1, False),  # the default: Ready once a pod is
        (1, 0, False),  # activeThreshold is max(min, initial): the min's pod first
        (2, 3, False),
    ],
)
def test_ready_without_pods_when_max_of_min_and_initial_is_zero(
    resolved_min: int, resolved_initial: int, expected: bool
) -> None:
    got = scale_bounds.ready_without_pods(
        resolved_min=resolved_min, resolved_initial=resolved_initial
    )
    assert got is expected

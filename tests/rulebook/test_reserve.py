"""ASK reserved instances (rulebook.reserve): eligibility, choice, hand-over, traffic."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from rulebook.reserve import (
    Replicas,
    Reserve,
    choose_reserve,
    hand_over,
    reserve_configured,
    reserve_serves,
    traffic_endpoints,
)


@pytest.mark.parametrize(
    ("enabled", "default", "resolved_min", "expected"),
    [
        (None, True, 0, True),  # on by default
        (None, False, 0, False),  # platform default: disable
        (True, False, 0, True),  # the annotation wins over the default
        (False, True, 0, False),
        (None, True, 1, False),  # "reserve at least one standard instance": no reserve
        (True, True, 2, False),
        (True, True, 0, True),  # min-scale "0" resolved over a global 1 (see scale_bounds)
    ],
)
def test_reserve_configured(
    enabled: bool | None, default: bool, resolved_min: int, expected: bool
) -> None:
    assert reserve_configured(enabled, default, resolved_min) is expected


@pytest.mark.parametrize(
    ("configured", "routed", "expected"),
    [(True, True, True), (True, False, False), (False, True, False), (False, False, False)],
)
def test_a_reserve_serves_only_routed_revisions(
    configured: bool, routed: bool, expected: bool
) -> None:
    assert reserve_serves(configured=configured, routed=routed) is expected


@dataclass(frozen=True)
class Inst:
    name: str


@dataclass(frozen=True)
class Specs:
    types: tuple[str, ...] = ()
    size: str | None = None


def resolve(specs: Specs) -> Inst:
    return Inst(specs.types[0] if specs.types else specs.size or "ecs.t5-lc1m2.small")


DEFAULT = Specs(("ecs.t5-lc1m2.small",))


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({}, Reserve(Inst("ecs.t5-lc1m2.small"), "ecs.t5-lc1m2.small", 1)),
        ({"replicas": 3}, Reserve(Inst("ecs.t5-lc1m2.small"), "ecs.t5-lc1m2.small", 3)),
        (
            {"specs": Specs(("ecs.t5-c1m2.large", "ecs.c6.large"))},
            Reserve(Inst("ecs.t5-c1m2.large"), "ecs.t5-c1m2.large,ecs.c6.large", 1),
        ),
        ({"specs": Specs(size="1-2Gi")}, Reserve(Inst("1-2Gi"), "1-2Gi", 1)),
        ({"enabled": False}, None),
        ({"resolved_min": 1}, None),
        ({"default_enabled": False}, None),
        (
            {"default_enabled": False, "enabled": True, "default_replicas": 2},
            Reserve(Inst("ecs.t5-lc1m2.small"), "ecs.t5-lc1m2.small", 2),
        ),
    ],
)
def test_choose_reserve(kw: dict[str, object], expected: Reserve[Inst] | None) -> None:
    args: dict[str, object] = {
        "enabled": None,
        "replicas": None,
        "specs": None,
        "default_enabled": True,
        "default_replicas": 1,
        "default_specs": DEFAULT,
        "resolved_min": 0,
        "resolve": resolve,
        "instance_types": lambda s: s.types,
    }
    args.update(kw)
    assert choose_reserve(**args) == expected  # type: ignore[arg-type]


# -- the hand-over --------------------------------------------------------------------------
# (desired, standard_ready, reserve_ready, has_reserve, reserve_count, standard_spec,
#  reserve_spec) -> Replicas
HAND_OVER = [
    # without a reserve the KPA decides alone
    ((3, 0, 0, False, 1, 0, 0), Replicas(3, 0)),
    ((0, 2, 0, False, 1, 2, 0), Replicas(0, 0)),
    ((-1, 0, 0, False, 1, 0, 0), Replicas(0, 0)),
    # to zero: warm the reserve first and keep the standard pods
    ((0, 2, 0, True, 1, 2, 0), Replicas(2, 1)),
    # ... drop them once the reserve is ready
    ((0, 2, 1, True, 1, 2, 1), Replicas(0, 1)),
    # ... once every reserve replica is ready
    ((0, 1, 1, True, 2, 1, 2), Replicas(1, 2)),
    ((0, 1, 2, True, 2, 1, 2), Replicas(0, 2)),
    # waking: standard at once, the reserve stays until a standard pod is ready
    ((3, 0, 1, True, 1, 0, 1), Replicas(3, 1)),
    ((3, 1, 1, True, 1, 0, 1), Replicas(3, 0)),
    # a reserve that was not running is not started on the way up
    ((2, 0, 0, True, 1, 1, 0), Replicas(2, 0)),
]


@pytest.mark.parametrize(("state", "expected"), HAND_OVER)
def test_hand_over(state: tuple[int, int, int, bool, int, int, int], expected: Replicas) -> None:
    desired, standard_ready, reserve_ready, has_reserve, count, standard_spec, reserve_spec = state
    out = hand_over(
        desired,
        standard_ready=standard_ready,
        reserve_ready=reserve_ready,
        has_reserve=has_reserve,
        reserve_count=count,
        standard_spec=standard_spec,
        reserve_spec=reserve_spec,
    )
    assert out == expected


@pytest.mark.parametrize("desired", [0, 1, 4])
@pytest.mark.parametrize("standard_ready", [0, 1, 3])
@pytest.mark.parametrize("reserve_ready", [0, 1])
def test_a_revision_with_a_ready_pod_never_loses_its_last_one(
    desired: int, standard_ready: int, reserve_ready: int
) -> None:
    out = hand_over(
        desired,
        standard_ready=standard_ready,
        reserve_ready=reserve_ready,
        has_reserve=True,
        standard_spec=standard_ready,
        reserve_spec=reserve_ready,
    )
    if standard_ready:
        assert out.standard >= 1 or (out.reserve >= 1 and reserve_ready >= 1)
    if reserve_ready and not standard_ready:
        assert out.reserve >= 1


def test_level_triggered_the_rule_reaches_a_fixed_point() -> None:
    """Feeding the outcome back as the state (spec == ready: a perfect kubelet) settles."""
    standard, reserve = 2, 0
    for desired, settled in ((0, (0, 1)), (1, (1, 0))):
        for _ in range(4):
            out = hand_over(
                desired,
                standard_ready=standard,
                reserve_ready=reserve,
                has_reserve=True,
                standard_spec=standard,
                reserve_spec=reserve,
            )
            standard, reserve = out.standard, out.reserve
        assert (standard, reserve) == settled


A, B, R = ("10.0.0.1", 8080), ("10.0.0.2", 8080), ("10.0.0.9", 8080)


@pytest.mark.parametrize(
    ("standard", "reserve", "expected"),
    [
        ([A, B], [R], ([A, B], False)),  # standard pods first, even with a reserve up
        ([], [R], ([R], True)),  # only the reserve: it serves, and arrivals wake the KPA
        ([], [], ([], False)),
        ([A], [], ([A], False)),
    ],
)
def test_traffic_endpoints(
    standard: list[tuple[str, int]],
    reserve: list[tuple[str, int]],
    expected: tuple[list[tuple[str, int]], bool],
) -> None:
    assert traffic_endpoints(standard, reserve) == expected

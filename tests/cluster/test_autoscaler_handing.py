"""The cluster's reserve hand-over and retirement rules, pure functions (nothing emulated).

The same semantics as local mode's ``Reserver``: the side taking the traffic is ready
before the other side leaves, in both directions.
"""

from __future__ import annotations

import pytest

from coldbrew.cluster.autoscaler.handing import Replicas, hand_over
from coldbrew.cluster.autoscaler.retiring import routed, wanted


def test_without_a_reserve_the_kpa_decides_alone() -> None:
    assert hand_over(3, standard_ready=0, reserve_ready=0, has_reserve=False) == Replicas(3, 0)
    assert hand_over(0, standard_ready=2, reserve_ready=0, has_reserve=False) == Replicas(0, 0)


def test_to_zero_warms_the_reserve_first_and_keeps_the_standard_pods() -> None:
    out = hand_over(
        0, standard_ready=2, reserve_ready=0, has_reserve=True, standard_spec=2, reserve_spec=0
    )
    assert out == Replicas(standard=2, reserve=1)


def test_to_zero_drops_the_standard_pods_once_the_reserve_is_ready() -> None:
    out = hand_over(
        0, standard_ready=2, reserve_ready=1, has_reserve=True, standard_spec=2, reserve_spec=1
    )
    assert out == Replicas(standard=0, reserve=1)


def test_to_zero_waits_for_every_reserve_replica() -> None:
    kw = {"has_reserve": True, "reserve_count": 2, "standard_spec": 1, "reserve_spec": 2}
    assert hand_over(0, standard_ready=1, reserve_ready=1, **kw) == Replicas(1, 2)
    assert hand_over(0, standard_ready=1, reserve_ready=2, **kw) == Replicas(0, 2)


def test_waking_scales_standard_at_once_and_keeps_the_reserve_until_a_pod_is_ready() -> None:
    kw = {"has_reserve": True, "standard_spec": 0, "reserve_spec": 1}
    assert hand_over(3, standard_ready=0, reserve_ready=1, **kw) == Replicas(3, 1)
    assert hand_over(3, standard_ready=1, reserve_ready=1, **kw) == Replicas(3, 0)


def test_a_reserve_that_was_not_running_is_not_started_on_the_way_up() -> None:
    out = hand_over(
        2, standard_ready=0, reserve_ready=0, has_reserve=True, standard_spec=1, reserve_spec=0
    )
    assert out == Replicas(standard=2, reserve=0)


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


def test_level_triggered_the_rules_reach_a_fixed_point() -> None:
    """Feeding the outcome back as the cluster's state settles where local mode does."""
    standard, reserve = 2, 0  # spec == ready: a perfect kubelet
    for _ in range(4):
        out = hand_over(
            0,
            standard_ready=standard,
            reserve_ready=reserve,
            has_reserve=True,
            standard_spec=standard,
            reserve_spec=reserve,
        )
        standard, reserve = out.standard, out.reserve
    assert (standard, reserve) == (0, 1)
    for _ in range(4):
        out = hand_over(
            1,
            standard_ready=standard,
            reserve_ready=reserve,
            has_reserve=True,
            standard_spec=standard,
            reserve_spec=reserve,
        )
        standard, reserve = out.standard, out.reserve
    assert (standard, reserve) == (1, 0)


# --- which revisions the KPA owns (coldbrew.cluster.autoscaler.retiring) ---------------


def status(*routed: str, latest: str = "coffee-00003") -> dict[str, object]:
    return {
        "latestCreatedRevisionName": latest,
        "traffic": [{"revisionName": r, "percent": 100 // len(routed)} for r in routed],
    }


def test_routed_revisions_and_the_latest_are_autoscaled_others_retired() -> None:
    s = status("coffee-00002")
    assert routed(s, "coffee-00002") and wanted(s, "coffee-00002", ready_once=True)
    assert wanted(s, "coffee-00003", ready_once=True)  # latest, traffic pinned elsewhere
    assert not routed(s, "coffee-00003")  # ... but no reserve for it
    assert not wanted(s, "coffee-00001", ready_once=True)  # retired


def test_a_tagged_zero_percent_target_is_routed() -> None:
    s = {"traffic": [{"revisionName": "coffee-00001", "percent": 0, "tag": "v1"}]}
    assert routed(s, "coffee-00001") and wanted(s, "coffee-00001", ready_once=True)


def test_never_ready_or_unknown_service_is_not_retired_on_a_guess() -> None:
    assert wanted(status("coffee-00002"), "coffee-00004", ready_once=False)
    assert wanted(None, "coffee-00001", ready_once=True) and routed(None, "coffee-00001")

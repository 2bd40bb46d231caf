"""The cluster's reading of the hand-over and retirement rules, pure (nothing emulated).

The rules themselves are tested once, in ``tests/rulebook``; here: that the cluster feeds
them what its Deployments and Services say.
"""

from __future__ import annotations

from coldbrew.cluster.scaler.handing import deployment_replicas
from coldbrew.cluster.scaler.retiring import routed, wanted
from rulebook.reserve import Replicas
from tests.cluster.autoscaler_helpers import deployment


def test_the_hand_over_reads_spec_and_ready_replicas_of_both_deployments() -> None:
    standard = deployment("coffee-00001", replicas=2, ready=2)
    reserve = deployment("coffee-00001", reserve=True, replicas=1, ready=0)
    out = deployment_replicas(0, standard, reserve, routed=True, reserve_count=1)
    assert out == Replicas(standard=2, reserve=1)  # the reserve is not ready yet
    reserve = deployment("coffee-00001", reserve=True, replicas=1, ready=1)
    assert deployment_replicas(0, standard, reserve, routed=True, reserve_count=1) == Replicas(0, 1)
    waking = deployment("coffee-00001", replicas=0, ready=0)
    assert deployment_replicas(3, waking, reserve, routed=True, reserve_count=1) == Replicas(3, 1)


def test_no_reserve_deployment_or_no_route_means_no_reserve() -> None:
    standard = deployment("coffee-00001", replicas=2, ready=2)
    assert deployment_replicas(0, standard, None, routed=True, reserve_count=1) == Replicas(0, 0)
    reserve = deployment("coffee-00001", reserve=True, replicas=1, ready=1)
    assert deployment_replicas(0, standard, reserve, routed=False, reserve_count=1) == Replicas(
        0, 0
    )


# --- which revisions the KPA owns (coldbrew.cluster.scaler.retiring) ---------------


def status(
    *routed: str, latest: str = "coffee-00003", latest_ready: str | None = None
) -> dict[str, object]:
    out: dict[str, object] = {
        "latestCreatedRevisionName": latest,
        "traffic": [{"revisionName": r, "percent": 100 // len(routed)} for r in routed],
    }
    if latest_ready is not None:
        out["latestReadyRevisionName"] = latest_ready
    return out


def test_routed_revisions_are_autoscaled_others_retired() -> None:
    s = status("coffee-00002")
    assert routed(s, "coffee-00002") and wanted(s, "coffee-00002", ready_once=True)
    assert not routed(s, "coffee-00001")
    assert not wanted(s, "coffee-00001", ready_once=True)  # retired


def test_the_latest_is_autoscaled_while_it_comes_up_then_retired_if_unrouted() -> None:
    """As in local mode and Knative (an unrouted revision is unreachable, min 0): a latest
    revision that was ready and that traffic is pinned away from is retired."""
    s = status("coffee-00002")
    assert wanted(s, "coffee-00003", ready_once=False)  # latest, coming up
    assert not routed(s, "coffee-00003")  # ... no reserve for it
    s = status("coffee-00002", latest_ready="coffee-00003")
    assert not wanted(s, "coffee-00003", ready_once=True)  # ready, traffic pinned elsewhere


def test_a_ready_latest_is_not_retired_before_the_service_status_catches_up() -> None:
    """The controller writes the Revision's Ready first, the Service's latest ready and
    traffic after: in between, the first revision is ready and routed nowhere. Retiring it
    then took its only pod away just as the route sent it traffic (Knative: ``pending``
    until the route is resolved)."""
    first = {"latestCreatedRevisionName": "coffee-00001"}  # no traffic, no latest ready yet
    assert wanted(first, "coffee-00001", ready_once=True)
    pinned = status("coffee-00002", latest_ready="coffee-00002")  # 00003 ready, status behind
    assert wanted(pinned, "coffee-00003", ready_once=True)
    assert not wanted(pinned, "coffee-00001", ready_once=True)  # not the latest: retired


def test_a_tagged_zero_percent_target_is_routed() -> None:
    s = {"traffic": [{"revisionName": "coffee-00001", "percent": 0, "tag": "v1"}]}
    assert routed(s, "coffee-00001") and wanted(s, "coffee-00001", ready_once=True)


def test_never_ready_or_unknown_service_is_not_retired_on_a_guess() -> None:
    assert wanted(status("coffee-00002"), "coffee-00004", ready_once=False)
    assert wanted(None, "coffee-00001", ready_once=True) and routed(None, "coffee-00001")

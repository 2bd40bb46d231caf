"""The in-memory recorder: deduplication, bounds, the cursor, and pod events from snapshots."""

from __future__ import annotations

from dataclasses import dataclass

from coldbrew.events import MemoryRecorder, ObjectRef, event_object
from coldbrew.events.emitting import HandOvers, scaled
from coldbrew.events.pods import PodEvents

POD = ObjectRef("Pod", "default", "coffee-00001-deployment-abc-x1")


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_same_object_reason_and_message_is_one_event_with_a_count() -> None:
    clock = Clock()
    rec = MemoryRecorder(clock=clock)
    rec.record(POD, "Warning", "Unhealthy", "Readiness probe failed")
    clock.now += 5
    rec.record(POD, "Warning", "Unhealthy", "Readiness probe failed")
    rec.record(POD, "Warning", "Unhealthy", "Liveness probe failed")  # another message
    [first, other] = rec.events()
    assert (first.count, other.count) == (2, 1)
    obj = event_object(first)
    assert obj["count"] == 2
    assert obj["firstTimestamp"] == "2023-11-14T22:13:20Z"
    assert obj["lastTimestamp"] == "2023-11-14T22:13:25Z"
    assert obj["involvedObject"] == {"kind": "Pod", "namespace": "default",
                                     "name": POD.name, "apiVersion": "v1"}  # fmt: skip
    assert obj["source"] == {"component": "coldbrew"}
    assert obj["metadata"]["name"].startswith(f"{POD.name}.")


def test_the_cursor_returns_what_changed_after_it_repeats_included() -> None:
    rec = MemoryRecorder()
    rec.record(POD, "Normal", "Started", "Started container user-container")
    cursor = rec.resource_version
    rec.record(POD, "Normal", "Ready", "ready")
    rec.record(POD, "Normal", "Started", "Started container user-container")  # a repeat
    assert [e.reason for e in rec.since(cursor)] == ["Ready", "Started"]
    assert rec.since(rec.resource_version) == []
    assert rec.since(0, namespace="other") == []


def test_events_are_bounded_in_number_and_age_oldest_first() -> None:
    clock = Clock()
    rec = MemoryRecorder(max_events=3, retention=3600, clock=clock)
    for i in range(5):
        rec.record(POD, "Normal", "Scaled", f"to {i}")
    assert [e.message for e in rec.events()] == ["to 2", "to 3", "to 4"]
    clock.now += 1800
    rec.record(POD, "Normal", "Scaled", "to 3")  # seen again: kept longer
    clock.now += 1801
    assert [e.message for e in rec.events()] == ["to 3"]


def test_scaling_and_hand_over_wording() -> None:
    rec = MemoryRecorder()
    scaled(rec, "default", "coffee-00001", 0, 0, reserve=False)  # no change: no event
    scaled(rec, "default", "coffee-00001", 0, 3, reserve=False)
    scaled(rec, "default", "coffee-00001", 1, 0, reserve=True)
    assert [(e.regarding.name, e.message) for e in rec.events()] == [
        ("coffee-00001-deployment",
         "Scaled up replica set coffee-00001-deployment from 0 to 3"),
        ("coffee-00001-deployment-reserve",
         "Scaled down replica set coffee-00001-deployment-reserve from 1 to 0"),
    ]  # fmt: skip
    hands = HandOvers(rec)
    hands.observe("default", "coffee-00001", on_reserve=False, pods=1)  # standard from the start
    hands.observe("default", "coffee-00001", on_reserve=True, pods=0)  # nobody ready: not yet
    hands.observe("default", "coffee-00001", on_reserve=True, pods=1)
    hands.observe("default", "coffee-00001", on_reserve=True, pods=1)
    hands.observe("default", "coffee-00001", on_reserve=False, pods=2)
    assert [e.reason for e in rec.events() if e.regarding.kind == "Revision"] == [
        "HandedOverToReserve",
        "HandedBackFromReserve",
    ]


@dataclass
class FakePod:
    name: str = "coffee-00001-deployment-abc-x1"
    namespace: str = "default"
    uid: str = "u1"
    ready: bool = False
    status: str = "ContainerCreating"
    restarts: int = 0
    image: str = "registry.example.com/coffee:1"
    message: str = ""
    exit_code: int | None = None
    deleting: float | None = None


def test_pod_events_follow_the_kubelet_from_snapshots() -> None:
    rec = MemoryRecorder()
    seen: list[str] = []
    rec.subscribe(lambda ev: seen.append(ev.reason))
    events = PodEvents(rec, containers=True)
    pod = FakePod()
    key = "default/coffee-00001"
    events.observe(key, [pod])
    pod.status = "Running"
    events.observe(key, [pod])
    pod.ready = True
    events.observe(key, [pod])
    pod.ready = False  # the readiness probe failed on a running pod
    events.observe(key, [pod])
    pod.status, pod.exit_code = "CrashLoopBackOff", 1
    events.observe(key, [pod])
    pod.status, pod.restarts = "Running", 1
    events.observe(key, [pod])
    pod.deleting = 1.0
    events.observe(key, [pod])
    events.observe(key, [pod])  # nothing new while it stops
    assert seen == ["Scheduled", "Pulled", "Created", "Started", "Ready", "Unhealthy",
                    "BackOff", "Created", "Started", "Restarted", "Killing"]  # fmt: skip
    started = next(e for e in rec.events() if e.reason == "Started")
    assert started.count == 2  # the restart started it again
    pulled = next(e for e in rec.events() if e.reason == "Pulled")
    assert pulled.message == (
        'Container image "registry.example.com/coffee:1" already present on machine'
    )
    failing = FakePod(name="tea-00001-deployment-def-y2", status="ErrImagePull",
                      message='failed to pull image "registry.example.com/tea:1"')  # fmt: skip
    events.observe("default/tea-00001", [failing])
    failed = [e for e in rec.events() if e.reason == "Failed"]
    assert [e.message for e in failed] == ['failed to pull image "registry.example.com/tea:1"']
    assert failed[0].type == "Warning"


def test_a_pull_is_pulling_then_pulled_or_failed_and_retried() -> None:
    rec = MemoryRecorder()
    events = PodEvents(rec, containers=True)
    image = "registry.example.com/tea:2"
    pod = FakePod(name="tea-00002-deployment-abc-z1", image=image)
    key = "default/tea-00002"
    events.observe(key, [pod])
    pod.message = f'Pulling image "{image}"'
    events.observe(key, [pod])
    events.observe(key, [pod])  # still pulling: no second Pulling
    pod.status, pod.message = "ErrImagePull", f'failed to pull image "{image}": no such host'
    events.observe(key, [pod])
    pod.status, pod.message = "ImagePullBackOff", f'Back-off pulling image "{image}"'
    events.observe(key, [pod])
    pod.message = f'Pulling image "{image}"'  # the retry
    events.observe(key, [pod])
    pod.status, pod.message = "Running", ""
    events.observe(key, [pod])
    seen = [(e.reason, e.count) for e in rec.events()]
    # in the order of their last occurrence: the second Pulling came after the back-off
    assert seen == [("Scheduled", 1), ("Failed", 1), ("BackOff", 1), ("Pulling", 2),
                    ("Pulled", 1), ("Created", 1), ("Started", 1)], seen  # fmt: skip
    pulled = next(e for e in rec.events() if e.reason == "Pulled")
    assert pulled.message == f'Successfully pulled image "{image}"'
    assert PodEvents(MemoryRecorder()).containers is False  # process pods pull nothing

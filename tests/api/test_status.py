"""Knative-shaped status and object builders."""

from __future__ import annotations

from coldbrew.api import (
    RevisionState,
    condition,
    parse_service,
    resolve_traffic,
    revision_object,
    revision_status,
    rfc3339,
    service_object,
    service_status,
)

NOW = 1_700_000_000.0
LATER = NOW + 60
DOMAIN = "example.com"
READY = RevisionState(ready=True)
PENDING = RevisionState(ready=False)
FAILED = RevisionState(False, ("ExitCode1", "Container failed with: boom"))


def conditions(status: dict) -> dict[str, dict]:
    return {c["type"]: c for c in status["conditions"]}


def build(manifest, revisions, created, ready, traffic=None, previous=None, now=NOW) -> dict:
    svc = parse_service(manifest(traffic=traffic))
    route = resolve_traffic(svc, revisions, created, ready, DOMAIN)
    return service_status(
        svc,
        generation=3,
        domain=DOMAIN,
        latest_created=created,
        latest_ready=ready,
        revisions=revisions,
        route=route,
        now=now,
        previous=previous,
    )


def test_condition_helper() -> None:
    assert condition("Ready", "True") == {
        "type": "Ready",
        "status": "True",
        "reason": "",
        "message": "",
        "lastTransitionTime": "",
    }


def test_rfc3339() -> None:
    assert rfc3339(0) == "1970-01-01T00:00:00Z"
    assert rfc3339(NOW + 0.7) == "2023-11-14T22:13:20Z"


def test_ready_service(manifest) -> None:
    status = build(manifest, {"coffee-00001": READY}, "coffee-00001", "coffee-00001")
    assert status["observedGeneration"] == 3
    assert status["url"] == "http://coffee.default.example.com"
    assert status["latestCreatedRevisionName"] == "coffee-00001"
    assert status["latestReadyRevisionName"] == "coffee-00001"
    conds = conditions(status)
    assert [c["type"] for c in status["conditions"]] == [
        "Ready",
        "ConfigurationsReady",
        "RoutesReady",
    ]
    assert all(c["status"] == "True" for c in conds.values())
    assert conds["Ready"]["lastTransitionTime"] == rfc3339(NOW)
    assert status["traffic"] == [
        {"revisionName": "coffee-00001", "percent": 100, "latestRevision": True}
    ]


def test_deploying_service(manifest) -> None:
    status = build(manifest, {"coffee-00001": PENDING}, "coffee-00001", None)
    conds = conditions(status)
    assert conds["ConfigurationsReady"]["status"] == "Unknown"
    assert conds["ConfigurationsReady"]["reason"] == "Deploying"
    assert conds["RoutesReady"]["status"] == "Unknown"
    assert conds["RoutesReady"]["reason"] == "RevisionMissing"
    assert conds["Ready"]["status"] == "Unknown"
    assert "latestReadyRevisionName" not in status
    assert status["traffic"] == []


def test_failed_latest_revision(manifest) -> None:
    revisions = {"coffee-00001": READY, "coffee-00002": FAILED}
    status = build(manifest, revisions, "coffee-00002", "coffee-00001")
    conds = conditions(status)
    assert conds["ConfigurationsReady"]["status"] == "False"
    assert conds["ConfigurationsReady"]["reason"] == "RevisionFailed"
    assert conds["ConfigurationsReady"]["message"] == (
        'Revision "coffee-00002" failed with message: Container failed with: boom.'
    )
    assert conds["RoutesReady"]["status"] == "True"  # still serving coffee-00001
    assert conds["Ready"]["status"] == "False"
    assert conds["Ready"]["reason"] == "RevisionFailed"


def test_missing_traffic_target_keeps_previous_traffic(manifest) -> None:
    good = build(manifest, {"coffee-00001": READY}, "coffee-00001", "coffee-00001")
    traffic = [{"revisionName": "coffee-v9", "percent": 100}]
    status = build(
        manifest,
        {"coffee-00001": READY},
        "coffee-00001",
        "coffee-00001",
        traffic=traffic,
        previous=good,
        now=LATER,
    )
    conds = conditions(status)
    assert conds["RoutesReady"]["status"] == "False"
    assert conds["Ready"]["message"] == 'Revision "coffee-v9" referenced in traffic not found.'
    assert conds["Ready"]["lastTransitionTime"] == rfc3339(LATER)
    assert conds["ConfigurationsReady"]["lastTransitionTime"] == rfc3339(NOW)  # unchanged
    assert status["traffic"] == good["traffic"]


def test_tagged_traffic_has_url(manifest) -> None:
    traffic = [{"latestRevision": True, "percent": 100, "tag": "current"}]
    status = build(manifest, {"coffee-00001": READY}, "coffee-00001", "coffee-00001", traffic)
    assert status["traffic"] == [
        {
            "revisionName": "coffee-00001",
            "percent": 100,
            "latestRevision": True,
            "tag": "current",
            "url": "http://current-coffee.default.example.com",
        }
    ]


def test_revision_status() -> None:
    ready = conditions(revision_status(READY, now=NOW, desired_replicas=1, actual_replicas=1))
    assert {c["status"] for c in ready.values()} == {"True"}
    assert set(ready) == {"Ready", "ContainerHealthy", "ResourcesAvailable", "Active"}

    idle = revision_status(READY, now=NOW, desired_replicas=0, actual_replicas=0)
    active = conditions(idle)["Active"]
    assert (active["status"], active["reason"]) == ("False", "NoTraffic")
    assert conditions(idle)["Ready"]["status"] == "True"
    assert (idle["actualReplicas"], idle["desiredReplicas"]) == (0, 0)

    failed = conditions(revision_status(FAILED, now=NOW))
    assert failed["Ready"]["status"] == "False"
    assert failed["Ready"]["reason"] == "ExitCode1"
    assert failed["Ready"]["message"] == "Container failed with: boom"
    assert "Active" not in failed

    pending = conditions(revision_status(PENDING, now=NOW))
    assert (pending["Ready"]["status"], pending["Ready"]["reason"]) == ("Unknown", "Deploying")
    assert conditions(revision_status(None, now=NOW))["Ready"]["status"] == "Unknown"


def test_service_object(manifest) -> None:
    svc = parse_service(manifest())
    obj = service_object(svc, uid="u-1", generation=2, created=NOW, status={"url": "x"})
    assert obj["apiVersion"] == "serving.knative.dev/v1" and obj["kind"] == "Service"
    assert obj["metadata"] == {
        "name": "coffee",
        "namespace": "default",
        "uid": "u-1",
        "generation": 2,
        "creationTimestamp": "2023-11-14T22:13:20Z",
        "labels": {},
        "annotations": {},
    }
    assert obj["spec"]["traffic"] == [{"latestRevision": True, "percent": 100}]
    assert obj["spec"]["template"]["spec"]["timeoutSeconds"] == 300
    assert obj["status"] == {"url": "x"}


def test_revision_object(manifest) -> None:
    svc = parse_service(manifest(annotations={"autoscaling.knative.dev/target": "10"}))
    obj = revision_object(
        "coffee",
        "default",
        "coffee-00002",
        svc.template,
        generation=2,
        uid="r-2",
        created=NOW,
        service_uid="u-1",
        routing_state="active",
    )
    assert obj["kind"] == "Revision"
    meta = obj["metadata"]
    assert meta["name"] == "coffee-00002" and meta["generation"] == 1
    assert meta["labels"] == {
        "serving.knative.dev/service": "coffee",
        "serving.knative.dev/configuration": "coffee",
        "serving.knative.dev/configurationGeneration": "2",
        "serving.knative.dev/serviceUID": "u-1",
        "serving.knative.dev/routingState": "active",
    }
    assert meta["annotations"]["autoscaling.knative.dev/target"] == "10"
    assert meta["annotations"]["serving.knative.dev/routes"] == "coffee"
    assert obj["spec"] == svc.template.revision_spec()
    assert obj["spec"]["containers"][0]["image"] == "registry.example.com/coffee:v1"

"""Traffic resolution and the gateway host table."""

from __future__ import annotations

from coldbrew.api import RevisionState, RouteResult, parse_service, resolve_traffic

DOMAIN = "example.com"
READY = RevisionState(ready=True)
PENDING = RevisionState(ready=False)
FAILED = RevisionState(False, ("ExitCode1", "Container failed with: boom"))


def resolve(manifest, traffic=None, revisions=None, created=None, ready=None) -> RouteResult:
    svc = parse_service(manifest(traffic=traffic))
    return resolve_traffic(svc, revisions or {}, created, ready, DOMAIN)


def test_default_goes_to_latest_ready(manifest) -> None:
    route = resolve(
        manifest, revisions={"coffee-00001": READY}, created="coffee-00001", ready="coffee-00001"
    )
    assert route.ready and route.status == "True" and route.reason == ""
    assert route.hosts("default", "coffee") == {
        "coffee.default.example.com": [("coffee-00001", 100)]
    }
    assert route.hosts() == route.hosts("default", "coffee")
    assert route.gateway_routes() == {"coffee.default.example.com": [("default/coffee-00001", 100)]}
    assert route.url == "http://coffee.default.example.com"
    (target,) = route.targets
    assert target.latest_revision and target.url is None


def test_default_keeps_older_ready_while_new_one_deploys(manifest) -> None:
    revisions = {"coffee-00001": READY, "coffee-00002": PENDING}
    route = resolve(manifest, revisions=revisions, created="coffee-00002", ready="coffee-00001")
    assert route.ready
    assert route.hosts()["coffee.default.example.com"] == [("coffee-00001", 100)]


def test_no_ready_revision_yet(manifest) -> None:
    route = resolve(manifest, revisions={"coffee-00001": PENDING}, created="coffee-00001")
    assert not route.ready and route.status == "Unknown"
    assert route.reason == "RevisionMissing"
    assert route.message == 'Configuration "coffee" is waiting for a Revision to become ready.'
    assert route.targets == () and route.hosts() == {}


def test_no_ready_revision_and_latest_failed(manifest) -> None:
    route = resolve(manifest, revisions={"coffee-00001": FAILED}, created="coffee-00001")
    assert route.status == "False"
    assert route.message == 'Configuration "coffee" does not have any ready Revision.'


def test_named_revisions_and_tags(manifest) -> None:
    traffic = [
        {"revisionName": "coffee-v1", "percent": 70, "tag": "v1"},
        {"revisionName": "coffee-v2", "percent": 30, "tag": "v2"},
        {"latestRevision": True, "percent": 0, "tag": "latest"},
    ]
    revisions = {"coffee-v1": READY, "coffee-v2": READY}
    route = resolve(manifest, traffic, revisions, "coffee-v2", "coffee-v2")
    assert route.ready
    assert route.hosts() == {
        "coffee.default.example.com": [("coffee-v1", 70), ("coffee-v2", 30)],
        "v1-coffee.default.example.com": [("coffee-v1", 100)],
        "v2-coffee.default.example.com": [("coffee-v2", 100)],
        "latest-coffee.default.example.com": [("coffee-v2", 100)],
    }
    urls = {t.tag: t.url for t in route.targets}
    assert urls["v1"] == "http://v1-coffee.default.example.com"
    assert [t.latest_revision for t in route.targets] == [False, False, True]


def test_same_revision_twice_merges_weights(manifest) -> None:
    traffic = [
        {"revisionName": "coffee-00001", "percent": 20},
        {"latestRevision": True, "percent": 50},
        {"revisionName": "coffee-00001", "percent": 30, "tag": "pinned"},
    ]
    revisions = {"coffee-00001": READY}
    route = resolve(manifest, traffic, revisions, "coffee-00001", "coffee-00001")
    assert route.hosts()["coffee.default.example.com"] == [("coffee-00001", 100)]
    assert route.hosts()["pinned-coffee.default.example.com"] == [("coffee-00001", 100)]


def test_zero_percent_untagged_entry_is_not_routed(manifest) -> None:
    traffic = [
        {"revisionName": "coffee-00001", "percent": 100},
        {"revisionName": "coffee-00002", "percent": 0},
    ]
    revisions = {"coffee-00001": READY, "coffee-00002": READY}
    route = resolve(manifest, traffic, revisions, "coffee-00002", "coffee-00002")
    assert route.hosts() == {"coffee.default.example.com": [("coffee-00001", 100)]}
    assert len(route.targets) == 2


def test_unknown_revision(manifest) -> None:
    traffic = [{"revisionName": "coffee-v9", "percent": 100}]
    route = resolve(manifest, traffic, {"coffee-v1": READY}, "coffee-v1", "coffee-v1")
    assert not route.ready and route.status == "False"
    assert route.reason == "RevisionMissing"
    assert route.message == 'Revision "coffee-v9" referenced in traffic not found.'
    assert route.hosts() == {}


def test_missing_reported_before_pending(manifest) -> None:
    traffic = [
        {"revisionName": "coffee-v2", "percent": 50},
        {"revisionName": "coffee-v9", "percent": 50},
    ]
    route = resolve(manifest, traffic, {"coffee-v2": PENDING}, "coffee-v2", None)
    assert route.message == 'Revision "coffee-v9" referenced in traffic not found.'


def test_named_revision_not_ready(manifest) -> None:
    traffic = [
        {"revisionName": "coffee-v1", "percent": 50},
        {"revisionName": "coffee-v2", "percent": 50},
    ]
    revisions = {"coffee-v1": READY, "coffee-v2": PENDING}
    route = resolve(manifest, traffic, revisions, "coffee-v2", "coffee-v1")
    assert route.status == "Unknown" and route.reason == "RevisionMissing"
    assert route.message == 'Revision "coffee-v2" is not yet ready.'


def test_named_revision_failed(manifest) -> None:
    traffic = [{"revisionName": "coffee-v2", "percent": 100}]
    route = resolve(manifest, traffic, {"coffee-v2": FAILED}, "coffee-v2", None)
    assert route.status == "False"
    assert route.message == 'Revision "coffee-v2" failed to become ready.'


def test_zero_percent_tag_on_pending_revision_blocks_route(manifest) -> None:
    traffic = [
        {"revisionName": "coffee-v1", "percent": 100},
        {"revisionName": "coffee-v2", "percent": 0, "tag": "next"},
    ]
    revisions = {"coffee-v1": READY, "coffee-v2": PENDING}
    route = resolve(manifest, traffic, revisions, "coffee-v2", "coffee-v1")
    assert route.status == "Unknown"


def test_hosts_are_lower_case(manifest) -> None:
    svc = parse_service(manifest())
    route = resolve_traffic(
        svc, {"coffee-00001": READY}, "coffee-00001", "coffee-00001", "Example.COM"
    )
    assert list(route.hosts()) == ["coffee.default.example.com"]
    assert route.host == "coffee.default.example.com"


def test_configuration_name_target(manifest) -> None:
    traffic = [{"configurationName": "coffee", "percent": 100, "tag": "cfg"}]
    route = resolve(manifest, traffic, {"coffee-00003": READY}, "coffee-00003", "coffee-00003")
    assert route.hosts()["cfg-coffee.default.example.com"] == [("coffee-00003", 100)]


def test_ready_revision_with_stale_failure_is_not_failed() -> None:
    state = RevisionState(ready=True, failure=("ExitCode1", "old crash"))
    assert not state.failed
    assert FAILED.failed and FAILED.failure_reason == "ExitCode1"
    assert RevisionState(ready=False).failure_message == ""

"""What a cluster gateway reads from Services, Revisions and Pods (pure functions)."""

from __future__ import annotations

import re

import pytest

from coldbrew.cluster.mirror.reading import (
    Unreadable,
    pod_endpoint,
    revision_settings,
    service_routes,
)
from tests.cluster.objects import pod, revision, service, target


def test_main_host_gets_merged_weights_and_tags_get_their_own_host() -> None:
    svc = service(
        "coffee",
        [
            target("coffee-00001", 30, tag="v1"),
            target("coffee-00002", 70),
            target("coffee-00002", 0, tag="latest"),
        ],
    )
    assert service_routes(svc) == {
        "coffee.default.example.com": [("default/coffee-00001", 30), ("default/coffee-00002", 70)],
        "v1-coffee.default.example.com": [("default/coffee-00001", 100)],
        "latest-coffee.default.example.com": [("default/coffee-00002", 100)],
    }


def test_a_service_without_traffic_has_no_routes_yet() -> None:
    svc = service("coffee", [])
    assert service_routes(svc) == {}
    del svc["status"]
    assert service_routes(svc) == {}


@pytest.mark.parametrize(
    ("traffic", "field"),
    [
        ([{"percent": 100}], "status.traffic[0].revisionName"),
        ([{"revisionName": "coffee-00001", "percent": "all"}], "status.traffic[0].percent"),
        ([{"revisionName": "coffee-00001", "percent": 120}], "status.traffic[0].percent"),
        ([{"revisionName": "c", "percent": 0, "url": "http://"}], "status.traffic[0].url"),
    ],
)
def test_a_malformed_status_names_its_field(traffic: list[object], field: str) -> None:
    with pytest.raises(Unreadable, match=re.escape(field)):
        service_routes(service("coffee", traffic))  # type: ignore[arg-type]


def test_revision_settings_come_from_the_spec() -> None:
    settings = revision_settings(revision("coffee-00001", "coffee", container_concurrency=3))
    assert settings.container_concurrency == 3
    assert settings.timeout_seconds == 300


def test_a_port_named_h2c_makes_the_gateway_speak_h2c() -> None:
    rev = revision("coffee-00001", "coffee")
    assert revision_settings(rev).protocol == "http1"
    rev["spec"]["containers"][0]["ports"][0]["name"] = "h2c"
    assert revision_settings(rev).protocol == "h2c"


def test_an_invalid_revision_is_unreadable() -> None:
    bad = revision("coffee-00001", "coffee", container_concurrency=-1)
    with pytest.raises(Unreadable, match="coffee-00001"):
        revision_settings(bad)


def test_a_ready_pod_is_its_ip_and_container_port() -> None:
    ep = pod_endpoint(pod("coffee-00001-deployment-x", "coffee-00001", 9000))
    assert ep.key == "default/coffee-00001"
    assert ep.address == ("127.0.0.1", 9000)
    assert not ep.reserve


@pytest.mark.parametrize(
    "change",
    ["not ready", "terminating", "no ip"],
)
def test_a_pod_that_cannot_take_requests_has_no_address(change: str) -> None:
    obj = pod(
        "p",
        "coffee-00001",
        9000,
        ready=change != "not ready",
        terminating=change == "terminating",
    )
    if change == "no ip":
        del obj["status"]["podIP"]
    assert pod_endpoint(obj).address is None


def test_the_port_defaults_to_8080_and_reserve_pods_are_marked() -> None:
    obj = pod("r", "coffee-00001", 9000, reserve=True)
    obj["spec"]["containers"][0]["ports"] = []
    ep = pod_endpoint(obj)
    assert ep.reserve and ep.address == ("127.0.0.1", 8080)


def test_a_pod_without_a_revision_label_is_unreadable() -> None:
    obj = pod("p", "coffee-00001", 9000)
    obj["metadata"]["labels"] = {}
    with pytest.raises(Unreadable, match=re.escape("serving.knative.dev/revision")):
        pod_endpoint(obj)


def test_a_revision_without_a_service_label_reads_its_owner() -> None:
    rev = revision("coffee-00001", "coffee")
    rev["metadata"]["labels"] = {}
    rev["metadata"]["ownerReferences"] = [
        {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "coffee", "uid": "u"}
    ]
    assert revision_settings(rev).timeout_seconds == 300
    del rev["metadata"]["ownerReferences"]
    with pytest.raises(Unreadable, match="names no Service"):
        revision_settings(rev)


def test_service_hosts_add_cluster_local_names_and_redirects() -> None:
    from coldbrew.cluster.mirror.reading import service_hosts

    svc = service("coffee", [target("coffee-00001", 100, tag="v1")])
    svc["metadata"]["annotations"] = {"networking.knative.dev/http-protocol": "Redirected"}
    routes, redirected = service_hosts(svc)
    main = [("default/coffee-00001", 100)]
    assert routes == {
        "coffee.default.example.com": main,
        "v1-coffee.default.example.com": main,
        "coffee.default.svc.cluster.local": main,
        "coffee.default.svc": main,
        "coffee.default": main,
    }
    assert redirected == {"coffee.default.example.com", "v1-coffee.default.example.com"}
    # Cluster-local: the controller wrote a svc.cluster.local URL; no public host, no redirect.
    local = service("tea", [target("tea-00001", 100)], domain="svc.cluster.local")
    local["metadata"]["labels"] = {"networking.knative.dev/visibility": "cluster-local"}
    local["metadata"]["annotations"] = {"networking.knative.dev/http-protocol": "redirected"}
    routes, redirected = service_hosts(local)
    assert set(routes) == {"tea.default.svc.cluster.local", "tea.default.svc", "tea.default"}
    assert redirected == frozenset()
    local["metadata"]["annotations"] = {"networking.knative.dev/http-protocol": "sometimes"}
    with pytest.raises(Unreadable, match="http-protocol"):
        service_hosts(local)

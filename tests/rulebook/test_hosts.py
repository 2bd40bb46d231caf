"""rulebook.hosts: Knative's config-domain choice, visibility, http-protocol."""

from __future__ import annotations

import pytest

from rulebook.hosts import domain_for, http_option, internal_hosts, serving_hosts

DOMAINS = {
    "example.com": {},
    "svc.example.org": {"app": "prod"},
    "eu.example.org": {"app": "prod", "region": "eu"},
    "a.example.org": {"app": "prod"},
}


def test_most_specific_selector_wins_ties_alphabetically() -> None:
    assert domain_for({}, DOMAINS, "fallback.dev") == "example.com"
    assert domain_for({"app": "prod"}, DOMAINS, "fallback.dev") == "a.example.org"
    assert domain_for({"app": "prod", "region": "eu"}, DOMAINS, "x") == "eu.example.org"
    assert domain_for({"app": "dev"}, {"svc.example.org": {"app": "prod"}}, "x") == "x"


def test_cluster_local_gets_the_cluster_domain_whatever_the_config() -> None:
    for key in ("networking.knative.dev/visibility", "serving.knative.dev/visibility"):
        assert domain_for({key: "cluster-local", "app": "prod"}, DOMAINS, "x") == (
            "svc.cluster.local"
        )


def test_serving_hosts_expand_svc_names() -> None:
    assert internal_hosts("Coffee", "default") == (
        "coffee.default.svc.cluster.local",
        "coffee.default.svc",
        "coffee.default",
    )
    table = {"tag-x.ns.svc.cluster.local": [("ns/x-1", 100)], "x.ns.svc.cluster.local": []}
    out = serving_hosts(table, "x.ns.svc.cluster.local", "x", "ns")
    assert set(out) == {
        "tag-x.ns.svc.cluster.local", "tag-x.ns.svc", "tag-x.ns",
        "x.ns.svc.cluster.local", "x.ns.svc", "x.ns",
    }  # fmt: skip


def test_http_option_annotation_overrides_the_default() -> None:
    assert http_option({}, "redirected") == "redirected"
    assert http_option({"networking.knative.dev/http-protocol": "Enabled"}, "redirected") == (
        "enabled"
    )
    assert http_option({"networking.knative.dev/httpOption": "Redirected"}) == "redirected"
    with pytest.raises(ValueError, match="incorrect http-protocol annotation"):
        http_option({"networking.knative.dev/http-protocol": "Disabled"})

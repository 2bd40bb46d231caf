"""Every shipped example parses and validates; defaults are applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from coldbrew.api import Scaling, Service, load_documents, parse_service

ROOT_EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLES = sorted(ROOT_EXAMPLES.glob("*.yaml"))


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 5


DEMO_IMAGE = load_documents((ROOT_EXAMPLES / "coffee.yaml").read_text())[0]["spec"]["template"][
    "spec"
]["containers"][0]["image"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_parses(path: Path) -> None:
    docs = load_documents(path.read_text())
    assert docs
    for doc in docs:
        svc = parse_service(doc)
        assert isinstance(svc, Service)
        assert svc.namespace == "default"
        assert svc.template.container.image == DEMO_IMAGE  # the seed's one image
        assert svc.template.scaling.target == 10.0


def _load(name: str) -> Service:
    path = next(p for p in EXAMPLES if p.name == name)
    return parse_service(load_documents(path.read_text())[0])


def test_coffee_defaults() -> None:
    svc = _load("coffee.yaml")
    t = svc.template
    assert svc.name == "coffee"
    assert svc.traffic is None
    assert t.name is None
    assert t.container_concurrency == 0
    assert t.timeout_seconds == 300
    assert t.response_start_timeout_seconds is None
    assert t.idle_timeout_seconds is None
    assert t.container.env == (("TARGET", "coffee"),)
    assert t.container.port is None
    assert t.container.readiness_probe is None
    assert t.scaling == Scaling(target=10.0)
    assert svc.spec_dict()["traffic"] == [{"latestRevision": True, "percent": 100}]


def test_canary_traffic() -> None:
    svc = _load("coffee-canary.yaml")
    assert svc.template.name == "coffee-v2"
    assert svc.traffic is not None
    assert [(t.revision_name, t.latest_revision, t.percent, t.tag) for t in svc.traffic] == [
        ("coffee-v1", False, 70, "v1"),
        ("coffee-v2", False, 30, "v2"),
        (None, True, 0, "latest"),
    ]


def test_reserve_example() -> None:
    specs = _load("coffee-set-reserve.yaml").template.scaling.reserve_instance_eci_use_specs
    assert specs is not None
    assert specs.instance_types == ("ecs.t5-c1m2.large",)


def test_byo_example() -> None:
    assert _load("coffee-v1.yaml").template.name == "coffee-v1"

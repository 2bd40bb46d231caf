"""Service manifests from kn's flags, and ``--dry-run`` output that coldbrew.api takes."""

from __future__ import annotations

import argparse
import json
from typing import Any

import pytest
import yaml

from coldbrew.api import parse_service
from coldbrew.cli import kn_build
from coldbrew.cli.kn_flags import UsageError
from coldbrew.cli.main import build_parser, run

IMAGE = "registry.example.com/knative-samples/helloworld-go"


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["service", *argv])


def _served(**traffic: object) -> dict[str, Any]:
    svc = kn_build.new_service("coffee", "default")
    kn_build.edit_template(svc, _args("create", "coffee", "--image", IMAGE))
    svc["spec"].update(traffic)
    return svc


def test_dry_run_yaml_is_a_valid_service(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["service", "create", "coffee", "--image", IMAGE, "-e", "TARGET=coffee",
            "--port", "h2c:8080", "--concurrency-limit", "10", "--scale-min", "1",
            "--scale-max", "3", "--scale-target", "20", "--scale-window", "90s",
            "-a", "team=cafe", "-a", "autoscaling.knative.dev/metric=rps",
            "--revision-name", "v1", "-n", "shop", "--dry-run", "-o", "yaml"]  # fmt: skip
    assert run(argv) == 0
    obj = yaml.safe_load(capsys.readouterr().out)
    svc = parse_service(obj)
    assert (svc.name, svc.namespace) == ("coffee", "shop")
    assert svc.annotations == {"team": "cafe"}  # autoscaling ones go on the revisions only
    template = obj["spec"]["template"]
    assert template["metadata"]["name"] == "coffee-v1"
    assert template["metadata"]["annotations"] == {
        "team": "cafe",
        "autoscaling.knative.dev/metric": "rps",
        "autoscaling.knative.dev/min-scale": "1",
        "autoscaling.knative.dev/max-scale": "3",
        "autoscaling.knative.dev/target": "20",
        "autoscaling.knative.dev/window": "90s",
    }
    assert template["spec"] == {
        "containers": [
            {
                "image": IMAGE,
                "env": [{"name": "TARGET", "value": "coffee"}],
                "ports": [{"containerPort": 8080, "name": "h2c"}],
            }
        ],
        "containerConcurrency": 10,
    }


def test_dry_run_json_and_refusal_by_the_api(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["service", "create", "tea", "--image", IMAGE, "--dry-run", "-o", "json"]) == 0
    assert parse_service(json.loads(capsys.readouterr().out)).name == "tea"
    bad = ["service", "create", "tea", "--image", IMAGE, "--scale-min", "-1", "--dry-run"]
    assert run(bad) == 1
    captured = capsys.readouterr()
    assert "autoscaling.knative.dev/min-scale" in captured.err and captured.out == ""


def test_env_removal_keeps_the_others() -> None:
    svc = _served()
    kn_build.edit_template(svc, _args("update", "coffee", "-e", "A=1", "-e", "B=2"))
    kn_build.edit_template(svc, _args("update", "coffee", "-e", "A-", "-e", "B=3"))
    container = svc["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "B", "value": "3"}]
    kn_build.edit_template(svc, _args("update", "coffee", "-e", "B-"))
    assert "env" not in svc["spec"]["template"]["spec"]["containers"][0]


def test_traffic_split_tag_and_untag() -> None:
    svc = _served()
    assert not kn_build.edit_traffic(svc, _args("update", "coffee"))
    argv = ("update", "coffee", "--traffic", "coffee-00001=20", "--traffic", "@latest=80",
            "--tag", "coffee-00001=old")  # fmt: skip
    assert kn_build.edit_traffic(svc, _args(*argv))
    assert svc["spec"]["traffic"] == [
        {"latestRevision": True, "percent": 80},
        {"revisionName": "coffee-00001", "latestRevision": False, "percent": 20, "tag": "old"},
    ]
    # A tag names its target in --traffic; a target left with 0% and no tag goes.
    kn_build.edit_traffic(svc, _args("update", "coffee", "--traffic", "old=100"))
    assert svc["spec"]["traffic"] == [
        {"revisionName": "coffee-00001", "latestRevision": False, "percent": 100, "tag": "old"}
    ]
    kn_build.edit_traffic(svc, _args("update", "coffee", "--tag", "@latest=current"))
    assert svc["spec"]["traffic"][1] == {"latestRevision": True, "percent": 0, "tag": "current"}
    with pytest.raises(UsageError, match='--tag: tag "old" is already in use'):
        kn_build.edit_traffic(svc, _args("update", "coffee", "--tag", "@latest=old"))
    with pytest.raises(UsageError, match='--untag: no traffic target has tag "gone"'):
        kn_build.edit_traffic(svc, _args("update", "coffee", "--untag", "gone"))
    kn_build.edit_traffic(
        svc, _args("update", "coffee", "--untag", "old", "--traffic", "@latest=100")
    )
    assert svc["spec"]["traffic"] == [{"latestRevision": True, "percent": 100, "tag": "current"}]
    assert parse_service(svc).traffic is not None


def test_editable_drops_status_and_server_metadata() -> None:
    served: dict[str, Any] = {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "coffee", "namespace": "default", "uid": "u", "generation": 3,
                     "creationTimestamp": "2026-12-01T00:00:00Z", "labels": {},
                     "annotations": {"team": "cafe"}},
        "spec": {"template": {"spec": {"containers": [{"image": IMAGE}]}}},
        "status": {"observedGeneration": 3},
    }  # fmt: skip
    obj = kn_build.editable(served)
    assert obj["metadata"] == {
        "name": "coffee",
        "namespace": "default",
        "annotations": {"team": "cafe"},
    }
    assert "status" not in obj
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = "other"
    assert served["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE

"""kn-style commands against a real ``coldbrew serve``: the same stored Service as apply.

Each step runs once as ``coldbrew service create|update`` (namespace ``kn``) and once
as ``coldbrew apply`` of the equivalent YAML (namespace ``yaml``); after each, both
Services, and their revisions, must read back the same but for namespace, uid and time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from coldbrew.cli.main import run
from tests.e2e.harness import Server, wait_for

IMAGE = "registry.example.com/knative-samples/helloworld-go"
SAME_BUT = ("namespace", "uid", "creationTimestamp", "resourceVersion")


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(server: Server, capsys: pytest.CaptureFixture[str]) -> Any:
    """``coldbrew ARGS --server <the server>`` run in this process (no interpreter start)."""

    def call(*argv: str) -> Ran:
        code = run([*argv, "--server", server.admin_url])
        out = capsys.readouterr()
        return Ran(code, out.out, out.err)

    return call


def _manifest(template: dict[str, Any], **spec: Any) -> str:
    return str(
        yaml.safe_dump(
            {
                "apiVersion": "serving.knative.dev/v1",
                "kind": "Service",
                "metadata": {
                    "name": "coffee",
                    "namespace": "yaml",
                    "annotations": {"team": "cafe"},
                },
                "spec": {"template": template, **spec},
            }
        )
    )


V1: dict[str, Any] = {
    "metadata": {"annotations": {"team": "cafe", "autoscaling.knative.dev/max-scale": "3"}},
    "spec": {"containers": [{"image": IMAGE, "env": [{"name": "TARGET", "value": "coffee"}],
                             "ports": [{"containerPort": 8080}]}]},
}  # fmt: skip
V2: dict[str, Any] = {
    "metadata": {"annotations": {"team": "cafe", "autoscaling.knative.dev/max-scale": "3",
                                 "autoscaling.knative.dev/min-scale": "1"}},
    "spec": {"containerConcurrency": 5,
             "containers": [{"image": f"{IMAGE}:v2",
                             "env": [{"name": "TARGET", "value": "latte"},
                                     {"name": "EXTRA", "value": "1"}],
                             "ports": [{"containerPort": 8080}]}]},
}  # fmt: skip
SPLIT = [
    {"latestRevision": True, "percent": 80},
    {"revisionName": "coffee-00001", "percent": 20, "tag": "old"},
]
V3 = {
    "metadata": {"name": "coffee-v3", "annotations": V2["metadata"]["annotations"]},
    "spec": {**V2["spec"], "containers": [{**V2["spec"]["containers"][0],
                                           "env": [{"name": "TARGET", "value": "latte"}]}]},
}  # fmt: skip


def _comparable(obj: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in obj["metadata"].items() if k not in SAME_BUT}
    labels = meta.get("labels", {})
    meta["labels"] = {k: v for k, v in labels.items() if not k.endswith("/serviceUID")}
    meta.pop("ownerReferences", None)
    return {"metadata": meta, "spec": obj["spec"]}


def _same(server: Server) -> dict[str, Any]:
    client = server.client()
    kn, applied = (client.get("ksvc", "coffee", ns) for ns in ("kn", "yaml"))
    assert _comparable(kn) == _comparable(applied)
    revisions = [client.get("revisions", None, ns)["items"] for ns in ("kn", "yaml")]
    as_kn, as_yaml = ([_comparable(r) for r in revs] for revs in revisions)
    assert sorted(as_kn, key=str) == sorted(as_yaml, key=str)
    return kn  # type: ignore[no-any-return]


def _step(server: Server, kn_argv: list[str], manifest: str, cli: Any) -> dict[str, Any]:
    out = cli("service", *kn_argv, "-n", "kn")
    assert out.returncode == 0, out.stderr
    path = server.state_dir.parent / "coffee.yaml"
    path.write_text(manifest)
    applied = cli("apply", "-f", str(path))
    assert applied.returncode == 0, applied.stderr
    wait_for(lambda: server.ready("coffee", "yaml"), timeout=30, what="yaml coffee Ready")
    _same(server)
    return {"stdout": out.stdout, "revisions": server.client().get("revisions", None, "kn")}


def test_kn_commands_store_what_apply_stores(server: Server, cli: Any) -> None:
    argv = ["create", "coffee", "--image", IMAGE, "--env", "TARGET=coffee", "--port", "8080",
            "--scale-max", "3", "--annotation", "team=cafe"]  # fmt: skip
    first = _step(server, argv, _manifest(V1), cli)
    assert first["stdout"].splitlines() == [
        "Service 'coffee' created to latest revision 'coffee-00001' is available at URL:",
        "http://coffee.kn.example.com",
    ]
    argv = ["update", "coffee", "--image", f"{IMAGE}:v2", "-e", "TARGET=latte", "-e", "EXTRA=1",
            "--scale-min", "1", "--concurrency-limit", "5"]  # fmt: skip
    second = _step(server, argv, _manifest(V2), cli)
    assert "updated to latest revision 'coffee-00002'" in second["stdout"]
    argv = ["update", "coffee", "--traffic", "coffee-00001=20", "--traffic", "@latest=80",
            "--tag", "coffee-00001=old"]  # fmt: skip
    third = _step(server, argv, _manifest(V2, traffic=SPLIT), cli)
    assert "with latest revision 'coffee-00002' (unchanged)" in third["stdout"]
    assert len(third["revisions"]["items"]) == 2  # traffic alone makes no revision
    routed = cli("revision", "delete", "coffee-00001", "-n", "kn")
    assert routed.returncode == 1 and "is in the traffic of service" in routed.stderr
    argv = ["update", "coffee", "-e", "EXTRA-", "--revision-name", "v3", "--untag", "old",
            "--traffic", "@latest=100"]  # fmt: skip
    fourth = _step(
        server, argv, _manifest(V3, traffic=[{"latestRevision": True, "percent": 100}]), cli
    )
    assert "updated to latest revision 'coffee-v3'" in fourth["stdout"]
    svc = server.service("coffee", "kn")
    assert svc["status"]["traffic"] == [
        {"revisionName": "coffee-v3", "percent": 100, "latestRevision": True}
    ]
    assert server.request("coffee.kn.example.com").status_code == 200


def test_lists_revision_delete_and_dry_run(server: Server, cli: Any) -> None:
    create = ["service", "create", "tea", "--image", IMAGE, "--env", "TARGET=tea"]
    made = server.cli(*create)  # once through the installed entry point
    assert made.returncode == 0, made.stderr
    exists = cli(*create)
    assert exists.returncode == 1 and "already exists and no --force" in exists.stderr
    replaced = cli(*create[:-1], "TARGET=green", "--force")
    assert "Service 'tea' replaced to latest revision 'tea-00002'" in replaced.stdout
    # Update's dry run prints the edited object and changes nothing.
    dry = cli("service", "update", "tea", "-e", "TARGET=black", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    env = yaml.safe_load(dry.stdout)["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "TARGET", "value": "black"}]
    assert server.service("tea")["metadata"]["generation"] == 2

    listed = cli("service", "list").stdout.splitlines()
    assert listed[0].split() == ["NAME", "URL", "LATEST", "AGE", "CONDITIONS", "READY", "REASON"]
    assert listed[1].split()[:3] == ["tea", "http://tea.default.example.com", "tea-00002"]
    revisions = cli("revision", "list", "-s", "tea").stdout.splitlines()
    assert [r.split()[:3] for r in revisions[1:]] == [
        ["tea-00002", "tea", "100%"],
        ["tea-00001", "tea", "1"],
    ]
    routes = cli("route", "list").stdout.splitlines()
    assert routes[1].split() == ["tea", "http://tea.default.example.com", "True"]
    assert cli("service", "describe", "tea", "-o", "url").stdout.strip() == (
        "http://tea.default.example.com"
    )

    latest = cli("revision", "delete", "tea-00002")
    assert latest.returncode == 1 and "is the latest of service" in latest.stderr
    old = cli("revision", "delete", "tea-00001")
    assert old.returncode == 0 and "Revision 'tea-00001' deleted" in old.stdout
    assert [r["metadata"]["name"] for r in server.client().get("revisions")["items"]] == [
        "tea-00002"
    ]
    templated = cli("service", "update", "tea", "-e", "TARGET=oolong", "--no-wait",
                    "--revision-name", "{{.Service}}-{{.Random 3}}-{{.Generation}}")  # fmt: skip
    assert templated.stdout.strip() == "Service 'tea' updated in namespace 'default'."
    latest_name = server.service("tea")["status"]["latestCreatedRevisionName"]
    assert re.fullmatch(r"tea-[a-z]{3}-3", latest_name), latest_name
    gone = cli("service", "delete", "tea")
    assert gone.stdout.strip() == "Service 'tea' successfully deleted in namespace 'default'."
    assert cli("service", "describe", "tea").returncode == 1

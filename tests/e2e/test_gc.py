"""Revision GC in local mode: a tiny config-gc, rollouts, ``coldbrew get revisions``."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.harness import EXAMPLES, Server, wait_for

COFFEE = "coffee.default.example.com"
NO_GC = "serving.knative.dev/no-gc"


def revision_names(server: Server) -> set[str]:
    out = server.cli("get", "revisions", "-o", "json")
    assert out.returncode == 0, out.stderr
    return {item["metadata"]["name"] for item in yaml.safe_load(out.stdout)["items"]}


def rolled_out(server: Server, name: str) -> bool:
    status = server.service("coffee").get("status", {})
    return status.get("latestReadyRevisionName") == name and server.ready("coffee") is not None


def test_old_revisions_are_collected(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "gc:\n"
        "  retain-since-create-time: 1s\n"
        "  retain-since-last-active-time: 1s\n"
        "  min-non-active-revisions: 1\n"
        "  max-non-active-revisions: 2\n"
    )
    server = Server(tmp_path / "state", "--config", str(config))
    server.start()
    try:
        base: dict[str, Any] = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
        for n in range(1, 7):
            manifest = copy.deepcopy(base)
            template = manifest["spec"]["template"]
            template["spec"]["containers"][0]["env"][0]["value"] = f"v{n}"
            if n == 1:  # the first revision is pinned against GC
                template["metadata"]["annotations"][NO_GC] = "true"
            out = server.cli("apply", "-f", "-", stdin=yaml.safe_dump(manifest))
            assert out.returncode == 0, out.stderr
            name = f"coffee-{n:05}"
            wait_for(lambda n=name: rolled_out(server, n), timeout=30, what=f"{name} rolled out")
        # Kept: the no-gc one, the routed latest, and min-non-active (1): the one the
        # route left last. Every other one goes, with its pods.
        kept = {"coffee-00001", "coffee-00005", "coffee-00006"}
        wait_for(lambda: revision_names(server) == kept, timeout=30, what="GC of old revisions")
        assert server.request(COFFEE).text == "Hello v6!\n"
        gone = ("coffee-00002", "coffee-00003", "coffee-00004")
        wait_for(
            lambda: not [p for r in gone for p in server.pods(r)], timeout=35, what="pods gone"
        )
        assert "revision GC: deleting default/coffee-00002" in server.log()
        assert revision_names(server) == kept  # stays so: min 1 keeps coffee-00005
    finally:
        code = server.stop()
        assert code == 0, f"coldbrew serve exited {code}:\n{server.log()[-4000:]}"

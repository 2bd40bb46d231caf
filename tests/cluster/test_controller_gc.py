"""Cluster revision GC against the emulator: Revision objects deleted by rulebook.gc.

The controller's clock is virtual (real time plus a shift the test moves), so "2 hours
later" is one assignment; Revisions' creationTimestamps are the emulator's real time.
"""

from __future__ import annotations

import time

import pytest
import yaml

from coldbrew.cluster import Settings
from rulebook.gc import GCConfig
from tests.cluster.test_controller import EXAMPLES, Cluster, cluster, ready  # noqa: F401

pytestmark = pytest.mark.timeout(60)

HOUR = 3600.0
NO_GC = "serving.knative.dev/no-gc"


def revision_names(c: Cluster) -> set[str]:
    return {r["metadata"]["name"] for r in c.emu.list("serving.knative.dev/v1", "revisions")}


def deployment_revisions(c: Cluster) -> set[str]:
    """The revisions the Deployments (standard and reserve) belong to."""
    label = "serving.knative.dev/revision"
    return {d["metadata"]["labels"][label] for d in c.emu.list("apps/v1", "deployments")}


async def test_gc_deletes_the_same_revisions_as_local_mode(cluster: Cluster) -> None:  # noqa: F811
    shift = [0.0]
    cfg = GCConfig(retain_since_create=HOUR, retain_since_last_active=HOUR,
                   min_non_active=1, max_non_active=2)  # fmt: skip
    controller = await cluster.start(Settings(gc=cfg, clock=lambda: time.time() + shift[0]))
    base = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    for n in range(1, 7):
        doc = yaml.safe_load(yaml.safe_dump(base))
        template = doc["spec"]["template"]
        template["spec"]["containers"][0]["env"][0]["value"] = f"v{n}"
        if n == 1:
            template["metadata"]["annotations"][NO_GC] = "true"
        await cluster.apply_doc(doc)
        name = f"coffee-{n:05}"
        await cluster.make_ready(name)
        await cluster.wait_status(
            "coffee", lambda s, name=name: ready(s) and s["latestReadyRevisionName"] == name
        )
    # Nothing is stale yet, but max-non-active-revisions (2) caps the unrouted ones:
    # coffee-00002 and -00003 (oldest last active) go; no-gc coffee-00001 stays.
    expected = {"coffee-00001", "coffee-00004", "coffee-00005", "coffee-00006"}
    await cluster.emu.wait_for(lambda: revision_names(cluster) == expected)
    rev4 = cluster.obj("revisions", "coffee-00004")
    assert rev4 is not None
    assert rev4["metadata"]["labels"]["serving.knative.dev/routingState"] == "reserve"
    assert "serving.knative.dev/routingStateModified" in rev4["metadata"]["annotations"]

    # Two hours later both unrouted ones are stale; min-non-active (1) keeps coffee-00005.
    shift[0] = 2 * HOUR
    controller.mark("default", "coffee")
    kept = {"coffee-00001", "coffee-00005", "coffee-00006"}
    await cluster.emu.wait_for(lambda: revision_names(cluster) == kept)
    assert deployment_revisions(cluster) == kept  # deleted with their Revision
    active = cluster.obj("revisions", "coffee-00006")
    assert active is not None
    assert active["metadata"]["labels"]["serving.knative.dev/routingState"] == "active"
    status = cluster.obj("services", "coffee")
    assert status is not None and status["status"]["latestReadyRevisionName"] == "coffee-00006"

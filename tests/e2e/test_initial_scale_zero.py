"""initial-scale "0" as Knative has it: Ready with no pod, routed, scaled from zero.

Knative's KPA initializes a revision whose ``max(min, initial)`` is 0 with no pod (Ready,
Active False ``NoTraffic``); its route goes through the activator, and the first request
is held while the autoscaler scales it 0 -> 1. With an ASK reserve (on by default) the
revision is Ready the same way and idles on its reserve, the floor of an idle revision.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml

from tests.e2e.harness import EXAMPLES, Server, wait_for

COFFEE = "coffee.default.example.com"
INITIAL = "autoscaling.knative.dev/initial-scale"
RESERVE = "knative.aliyun.com/reserve-instance"


def first_request(server: Server) -> httpx.Response:
    """Held by the gateway while a pod starts: a cold start may take a while here."""
    return httpx.get(server.url, headers={"Host": COFFEE}, timeout=60)


def manifest(**annotations: str) -> dict:
    doc = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    doc["spec"]["template"]["metadata"]["annotations"].update(annotations)
    return doc


def serve(tmp_path: Path) -> Server:
    config = tmp_path / "config.yaml"
    config.write_text("autoscaler:\n  allow-zero-initial-scale: true\n")
    server = Server(tmp_path / "state", "--config", str(config))
    server.start()
    return server


def test_initial_scale_zero_is_ready_with_no_pod_and_its_first_request_scales_it(
    tmp_path: Path,
) -> None:
    server = serve(tmp_path)
    try:
        server.client().apply(manifest(**{INITIAL: "0", RESERVE: "disable"}))
        svc = server.wait_ready("coffee")
        assert svc["status"]["latestReadyRevisionName"] == "coffee-00001"
        assert server.pods() == []
        rev = server.client().get("revisions", "coffee-00001")
        conditions = {c["type"]: c for c in rev["status"]["conditions"]}
        assert conditions["Ready"]["status"] == "True"
        assert (conditions["Active"]["status"], conditions["Active"]["reason"]) == (
            "False",
            "NoTraffic",
        )
        table = server.cli("get", "ksvc")
        assert table.returncode == 0, table.stderr
        _, row = table.stdout.splitlines()
        assert row.split()[2:] == ["coffee-00001", "coffee-00001", "True"]
        assert server.pods() == []  # still none: nothing asked for one

        first = first_request(server)
        assert first.status_code == 200
        assert first.text == "Hello coffee!\n"
        pods = server.pods("coffee-00001")
        assert len(pods) == 1 and pods[0]["status"]["containerStatuses"][0]["ready"]
    finally:
        assert server.stop() == 0, server.log()[-4000:]


def test_initial_scale_zero_with_a_reserve_is_ready_and_idles_on_the_reserve(
    tmp_path: Path,
) -> None:
    server = serve(tmp_path)
    try:
        server.client().apply(manifest(**{INITIAL: "0"}))
        server.wait_ready("coffee")

        def on_reserve() -> bool:
            pods = server.pods("coffee-00001")
            return [p["metadata"]["labels"].get(RESERVE) for p in pods] == ["true"] and all(
                p["status"]["containerStatuses"][0]["ready"] for p in pods
            )

        wait_for(on_reserve, timeout=60, interval=0.3, what="coffee on its reserve")
        first = first_request(server)
        assert first.status_code == 200
    finally:
        assert server.stop() == 0, server.log()[-4000:]

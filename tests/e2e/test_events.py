"""Events, ``get events [-w]`` and ``describe`` against a real ``coldbrew serve``."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from tests.e2e.harness import ROOT, Hey, Server, wait_for
from tests.e2e.test_reserve import COFFEE, Trickle, kinds, manifest
from tests.tooling import needs_tool


@pytest.fixture
def server(quick_idle_server: Server) -> Server:
    """This module's revisions idle in about 12 s (see ``conftest.quick_idle_server``)."""
    return quick_idle_server


def events(server: Server, **match: str) -> list[dict[str, Any]]:
    """Events of the default namespace whose reason / kind / name / message part match."""
    out = []
    for ev in server.client().events("default")["items"]:
        ref = ev["involvedObject"]
        if match.get("reason", ev["reason"]) != ev["reason"]:
            continue
        if match.get("kind", ref["kind"]) != ref["kind"]:
            continue
        if match.get("name", ref["name"]) != ref["name"]:
            continue
        if match.get("message", "") not in ev["message"]:
            continue
        out.append(ev)
    return out


@needs_tool("hey")
def test_scale_up_and_reserve_hand_over_are_events_and_describe_shows_them(
    server: Server,
) -> None:
    server.client().apply(manifest())
    server.wait_ready("coffee")
    created = events(server, kind="Service", name="coffee", reason="Created")
    assert [e["message"] for e in created] == [
        'Created Configuration "coffee"',
        'Created Route "coffee"',
    ]
    first = events(server, reason="ScalingReplicaSet", name="coffee-00001-deployment")
    assert [e["message"] for e in first] == [
        "Scaled up replica set coffee-00001-deployment from 0 to 1"
    ]
    assert first[0]["type"] == "Normal" and first[0]["count"] == 1
    assert first[0]["source"]["component"] == "coldbrew"
    started = events(server, kind="Pod", reason="Started")
    assert started and started[0]["involvedObject"]["name"].startswith("coffee-00001-deployment-")

    with Hey("-z", "6s", "-c", "30", "-host", COFFEE, f"{server.url}/?sleep=100") as hey:
        codes = hey.finish()
    assert set(codes) == {"200"}, hey.report
    ups = events(server, reason="ScalingReplicaSet", message="Scaled up replica set coffee-00001")
    assert any(" from 1 to " in e["message"] for e in ups), ups  # the load's scale-up

    # Idle: the standard pods go, the reserve takes the traffic; then a trickle wakes it.
    wait_for(lambda: kinds(server) == [("reserve", True)], timeout=60, interval=0.3, what="reserve")
    wait_for(lambda: events(server, reason="HandedOverToReserve"), what="hand-over event")
    with Trickle(server) as trickle:
        trickle.wait_ok(1)
        wait_for(
            lambda: events(server, reason="HandedBackFromReserve"), timeout=30, what="hand-back"
        )
    over = events(server, reason="HandedOverToReserve")[0]
    assert over["involvedObject"] == {
        "kind": "Revision",
        "namespace": "default",
        "name": "coffee-00001",
        "apiVersion": "serving.knative.dev/v1",
    }
    down = events(server, reason="ScalingReplicaSet", message="Scaled down replica set coffee")
    assert any(e["message"].endswith(" to 0") for e in down), down
    reserve = events(server, reason="ScalingReplicaSet", name="coffee-00001-deployment-reserve")
    assert reserve, "the reserve's replica set scaled too"

    described = server.cli("describe", "revision", "coffee-00001")
    assert described.returncode == 0, described.stderr
    text = described.stdout
    assert text.startswith("Name:"), text
    for part in ("HandedOverToReserve", "HandedBackFromReserve", "ScalingReplicaSet",
                 "Conditions:", "Ready", "Pods:", "Events:"):  # fmt: skip
        assert part in text, (part, text)
    ksvc = server.cli("describe", "ksvc", "coffee")
    assert ksvc.returncode == 0, ksvc.stderr
    for part in ("URL:", "http://coffee.default.example.com", "Traffic:", "100%",
                 "coffee-00001", "Revisions:", 'Created Route "coffee"'):  # fmt: skip
        assert part in ksvc.stdout, (part, ksvc.stdout)


def test_get_events_table_and_watch_stream_new_events(server: Server) -> None:
    server.client().apply(manifest())
    server.wait_ready("coffee")
    table = server.cli("get", "events")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any("service/coffee" in ln and "Created" in ln for ln in lines), lines
    assert any("deployment/coffee-00001-deployment" in ln for ln in lines), lines
    everywhere = server.cli("get", "events", "-A").stdout.splitlines()
    assert everywhere[0].split()[:2] == ["NAMESPACE", "LAST"]
    route = events(server, message='Created Route "coffee"')[0]["metadata"]["name"]
    one = server.cli("get", "events", route).stdout.splitlines()
    assert len(one) == 2 and 'Created Route "coffee"' in one[1], one
    missing = server.cli("get", "events", "no-such-event")
    assert missing.returncode == 1 and "not found" in missing.stderr

    env = dict(os.environ, COLDBREW_SERVER=server.admin_url, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "coldbrew", "get", "events", "-w"]
    watcher = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        assert watcher.stdout is not None
        header = watcher.stdout.readline()
        assert header.split()[:3] == ["LAST", "SEEN", "TYPE"]
        tea = manifest("tea.yaml")
        server.client().apply(tea)
        lines_in: queue.Queue[str] = queue.Queue()
        stdout = watcher.stdout
        threading.Thread(target=lambda: [lines_in.put(ln) for ln in stdout], daemon=True).start()
        seen: list[str] = []
        deadline = time.monotonic() + 20
        while not any('Created Route "tea"' in ln for ln in seen) and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                seen.append(lines_in.get(timeout=1))
        assert any("service/tea" in ln and 'Created Route "tea"' in ln for ln in seen), seen
    finally:
        watcher.terminate()
        watcher.wait(10)


def test_events_refuse_a_bad_cursor_or_selector(server: Server) -> None:
    import httpx

    bad = httpx.get(f"{server.admin_url}/api/v1/events", params={"after": "x"})
    assert bad.status_code == 400 and "after" in bad.json()["message"]
    bad = httpx.get(f"{server.admin_url}/api/v1/events", params={"fieldSelector": "type=Normal"})
    assert bad.status_code == 400 and "fieldSelector" in bad.json()["message"]


def test_failures_are_warnings_on_the_pod_and_the_revision_and_describe_pod_shows_them(
    server: Server,
) -> None:
    missing = manifest()
    missing["spec"]["template"]["spec"]["containers"][0]["image"] = "example.org/no/such:1"
    server.client().apply(missing)
    failed = wait_for(lambda: events(server, reason="RevisionFailed"), what="RevisionFailed")
    assert failed[0]["type"] == "Warning" and failed[0]["involvedObject"]["name"] == "coffee-00001"
    assert "example.org/no/such:1" in failed[0]["message"]
    backoff = wait_for(lambda: events(server, kind="Pod", reason="BackOff"), what="pull BackOff")
    assert "example.org/no/such:1" in backoff[0]["message"]

    crash = manifest("tea.yaml")
    container = crash["spec"]["template"]["spec"]["containers"][0]
    container["command"] = [sys.executable, "-c", "print('boom'); raise SystemExit(3)"]
    server.client().apply(crash)
    looping = wait_for(
        lambda: events(server, kind="Pod", reason="BackOff", message="restarting failed"),
        timeout=30,
        what="crash loop BackOff",
    )
    pod = looping[0]["involvedObject"]["name"]
    assert pod.startswith("tea-00001-deployment-")
    wait_for(lambda: events(server, name=pod, reason="Restarted"), timeout=30, what="Restarted")
    described = server.cli("describe", "pod", pod)
    assert described.returncode == 0, described.stderr
    assert re.match(rf"Name:\s+{pod}\nNamespace:\s+default\n", described.stdout), described.stdout
    for part in ("Revision:", "tea-00001", "Restart Count:",
                 "Events:", "BackOff", "Restarted", "Started"):  # fmt: skip
        assert part in described.stdout, (part, described.stdout)
    unknown = server.cli("describe", "pod", "no-such-pod")
    assert unknown.returncode == 1 and "not found" in unknown.stderr

    # configuring a service again is an Updated event and a new Revision
    server.client().apply(manifest())
    updated = wait_for(lambda: events(server, kind="Service", name="coffee", reason="Updated"))
    assert updated[0]["message"] == 'Updated Service "coffee"'
    made = events(server, kind="Configuration", name="coffee", reason="Created")
    assert [e["message"] for e in made] == [
        'Created Revision "coffee-00001"',
        'Created Revision "coffee-00002"',
    ]

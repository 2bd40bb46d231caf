"""Container pods' life: restarts, pull failures, limits, and a coldbrew killed with SIGKILL."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.containers.test_cafe_containers import COFFEE, service
from tests.containers.util import containers_of, engine_call
from tests.e2e.harness import Server, wait_for

TEA = "tea.default.example.com"


def _pod(server: Server, revision: str) -> dict:
    pods = [p for p in server.pods(revision) if "deletionTimestamp" not in p["metadata"]]
    assert len(pods) == 1, pods
    return pods[0]


def test_a_killed_container_restarts(server: Server, engine_url: str, hello_image: str) -> None:
    server.client().apply(service("coffee", hello_image, "coffee"))
    server.wait_ready("coffee", timeout=30)
    (info,) = containers_of(engine_url, server.state_dir)

    async def kill(docker):  # type: ignore[no-untyped-def]
        await docker.containers.container(info["Id"]).kill(signal="SIGKILL")

    engine_call(engine_url, kill)

    def restarted() -> dict | None:
        pod = _pod(server, "coffee-00001")
        status = pod["status"]["containerStatuses"][0]
        return pod if status["restartCount"] == 1 and status["ready"] else None

    pod = wait_for(restarted, timeout=30, what="the pod restarted and ready")
    assert server.request(COFFEE).text == "Hello coffee!\n"
    table = server.cli("get", "pods").stdout
    assert pod["metadata"]["name"] in table
    row = next(ln for ln in table.splitlines() if pod["metadata"]["name"] in ln)
    assert row.split()[3] == "1", table  # RESTARTS
    running = containers_of(engine_url, server.state_dir)
    assert [c["Id"] for c in running] != [info["Id"]] and len(running) == 1


def test_an_image_that_does_not_exist(server: Server, engine_url: str, hello_image: str) -> None:
    missing = "localhost/coldbrew-test/no-such-image:1"
    server.client().apply(service("tea", missing, "tea", imagePullPolicy="IfNotPresent"))

    def pulling() -> tuple[dict, dict] | None:  # the first pull takes the engine a while
        rev = server.client().get("revisions", "tea-00001")
        ready = {c["type"]: c for c in rev["status"]["conditions"]}["Ready"]
        pods = server.pods("tea-00001")
        return (ready, pods[0]) if ready["reason"] == "Pulling" and pods else None

    ready, pod = wait_for(pulling, timeout=20, what="tea's revision Pulling")
    assert ready["status"] == "Unknown" and missing in ready["message"]
    state = pod["status"]["containerStatuses"][0]["state"]
    assert state["waiting"]["reason"] in ("ContainerCreating", "ImagePullBackOff"), state
    server.client().apply(service("coffee", hello_image, "coffee"))
    server.wait_ready("coffee", timeout=30)

    def backing_off() -> dict | None:
        waiting = _pod(server, "tea-00001")["status"]["containerStatuses"][0]["state"]
        return waiting.get("waiting") if "ImagePullBackOff" in str(waiting) else None

    waiting = wait_for(backing_off, timeout=30, what="tea's pod in ImagePullBackOff")
    assert missing in waiting["message"]
    rev = server.client().get("revisions", "tea-00001")
    ready = {c["type"]: c for c in rev["status"]["conditions"]}["Ready"]
    assert ready["status"] == "False" and ready["reason"] == "ImagePullBackOff"
    assert missing in ready["message"]
    assert server.request(COFFEE).text == "Hello coffee!\n"
    assert server.request(TEA).status_code in (503, 404)
    assert len(containers_of(engine_url, server.state_dir)) == 1  # coffee's only


def test_limits_are_the_engines(server: Server, engine_url: str, hello_image: str) -> None:
    resources = {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "250m"}}
    server.client().apply(service("coffee", hello_image, "coffee", resources=resources))
    server.wait_ready("coffee", timeout=30)
    (info,) = containers_of(engine_url, server.state_dir)
    host = info["HostConfig"]
    assert host["NanoCpus"] == 500_000_000 or (host["CpuQuota"], host["CpuPeriod"]) == (
        50_000,
        100_000,
    )
    assert host["Memory"] == 64 << 20
    wide = server.cli("get", "pods", "-o", "wide").stdout
    assert "engine,cpu=0.5,mem=64Mi" in wide, wide


def test_sigkill_then_restart_removes_leftovers(
    tmp_path: Path, engine_url: str, hello_image: str
) -> None:
    state = tmp_path / "state"
    first = Server(state, "--runtime", "docker")
    first.start()
    try:
        first.client().apply(service("coffee", hello_image, "coffee"))
        first.wait_ready("coffee", timeout=30)
    finally:
        first.stop(signal.SIGKILL)
    (left,) = containers_of(engine_url, state)
    second = Server(state, "--runtime", "docker")
    second.start()
    try:
        second.wait_ready("coffee", timeout=30)
        assert second.request(COFFEE).text == "Hello coffee!\n"
        running = containers_of(engine_url, state)
        assert len(running) == 1 and running[0]["Id"] != left["Id"], running
        assert "left by a previous run" in second.log()
    finally:
        assert second.stop() == 0, second.log()[-3000:]
    assert containers_of(engine_url, state) == []


def test_command_overrides_and_sigkill_after_the_revisions_timeout(
    server: Server, engine_url: str, hello_image: str
) -> None:
    # command replaces the image's entrypoint; this one ignores SIGTERM
    stubborn = service(
        "coffee",
        hello_image,
        "stubborn",
        command=["/bin/sh", "-c"],
        args=["trap '' TERM; echo ignoring TERM; exec httpd -f -p $(PORT) -h /www"],
    )
    stubborn["spec"]["template"]["spec"]["timeoutSeconds"] = 2
    server.client().apply(stubborn)
    server.wait_ready("coffee", timeout=30)
    assert server.request(COFFEE).text == "Hello stubborn!\n"
    (info,) = containers_of(engine_url, server.state_dir)
    assert info["Config"]["Entrypoint"] == ["/bin/sh", "-c"]
    start = time.monotonic()
    assert server.cli("delete", "ksvc", "coffee").returncode == 0
    wait_for(lambda: containers_of(engine_url, server.state_dir) == [], timeout=25, what="gone")
    # killed after the revision's 2 s, not the runtime's default 30 s
    assert time.monotonic() - start < 20

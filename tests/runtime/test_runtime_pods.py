"""PodRuntime with real pod processes: scaling, readiness, restarts, draining, logs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from coldbrew.runtime import ImageMap, PodRuntime, ProbeSpec

from .conftest import PROBE_APP, Changes, alive, eventually, get, template

KEY = "default/coffee-00001"


async def test_scale_up_down_and_up_again(runtime: PodRuntime, changes: Changes) -> None:
    t = template()
    runtime.scale(t, 2)
    assert runtime.revision_state(KEY).desired == 2
    assert await runtime.wait_ready(KEY, 2, timeout=15)
    endpoints = runtime.endpoints(KEY)
    assert len(endpoints) == 2 and len(set(endpoints)) == 2
    for host, port in endpoints:
        assert host == "127.0.0.1"
        assert await get(port) == (200, b"Hello coffee!\n")
    state = runtime.revision_state(KEY)
    assert (state.desired, state.ready, state.pods, state.failure) == (2, 2, 2, None)
    pods = runtime.pods()
    pids = [p.pid for p in pods]
    assert all(p.status == "Running" and p.phase == "Running" and p.ready for p in pods)
    assert all(pid is not None and alive(pid) for pid in pids)
    assert KEY in changes.keys

    runtime.scale(t, 0)
    assert runtime.endpoints(KEY) == []  # out of service at once
    await eventually(lambda: not runtime.pods(), what="pods gone")
    assert not any(alive(pid) for pid in pids if pid)
    assert runtime.revision_state(KEY).ready == 0

    runtime.scale(t, 1)
    assert await runtime.wait_ready(KEY, 1, timeout=15)
    assert await get(runtime.endpoints(KEY)[0][1]) == (200, b"Hello coffee!\n")


async def test_readiness_is_noticed_quickly(runtime: PodRuntime) -> None:
    runtime.scale(template(), 1)
    began = time.monotonic()
    assert await runtime.wait_ready(KEY, timeout=15)
    # sanity only: python start-up dominates; the probe itself runs every 5 ms
    assert time.monotonic() - began < 10


async def test_pod_metadata(runtime: PodRuntime) -> None:
    runtime.scale(template(), 1)
    assert await runtime.wait_ready(KEY)
    (info,) = runtime.pods()
    assert info.name.startswith("coffee-00001-deployment-")
    assert info.revision_key == KEY and info.namespace == "default"
    assert info.labels["serving.knative.dev/service"] == "coffee"
    assert info.labels["serving.knative.dev/revision"] == "coffee-00001"
    assert info.labels["serving.knative.dev/configuration"] == "coffee"
    assert info.labels["app.example/tier"] == "test"
    pod = info.to_k8s()
    assert pod["status"]["phase"] == "Running"
    assert pod["status"]["containerStatuses"][0]["state"].keys() == {"running"}
    assert {"type": "Ready", "status": "True"} in pod["status"]["conditions"]


async def test_env_seen_by_app(runtime: PodRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_FROM_PARENT", "1")
    argv, env = (sys.executable, PROBE_APP), {"GREETING": "hi"}
    runtime.scale(template(command=argv, env=env), 1)
    assert await runtime.wait_ready(KEY)
    (_, port), *_ = runtime.endpoints(KEY)
    _, body = await get(port, "/env")
    seen = json.loads(body)
    assert seen["K_SERVICE"] == "coffee"
    assert seen["K_REVISION"] == "coffee-00001"
    assert seen["K_CONFIGURATION"] == "coffee"
    assert seen["PORT"] == str(port)
    assert seen["GREETING"] == "hi"
    assert "SECRET_FROM_PARENT" not in seen  # clean base environment


async def test_http_probe_waits_for_healthz(runtime: PodRuntime) -> None:
    probe = ProbeSpec(kind="http", path="/healthz")
    t = template(command=(sys.executable, PROBE_APP), env={"READY_AFTER": "0.5"}, probe=probe)
    runtime.scale(t, 1)
    assert await runtime.wait_ready(KEY)
    (info,) = runtime.pods()
    assert time.time() - info.created >= 0.5  # not ready before /healthz said so
    assert await get(info.port, "/healthz") == (200, b"ok\n")


async def test_http_probe_failures_make_pod_unready(runtime: PodRuntime) -> None:
    probe = ProbeSpec(kind="http", path="/healthz", period_seconds=0.05, failure_threshold=2)
    runtime.scale(template(command=(sys.executable, PROBE_APP), probe=probe), 1)
    assert await runtime.wait_ready(KEY)
    (_, port), *_ = runtime.endpoints(KEY)
    await get(port, "/fail")
    await eventually(lambda: runtime.endpoints(KEY) == [], what="pod unready")
    (info,) = runtime.pods()
    assert info.status == "Running" and not info.ready and info.restarts == 0


async def test_tcp_probe_waits_for_listen(runtime: PodRuntime) -> None:
    for probe in (None, ProbeSpec(kind="tcp")):
        t = template(command=(sys.executable, PROBE_APP), env={"LISTEN_AFTER": "0.4"}, probe=probe)
        runtime.scale(t, 1)
        assert await runtime.wait_ready(KEY)
        (info,) = [p for p in runtime.pods() if p.deleting is None]
        assert time.time() - info.created >= 0.4
        runtime.scale(t, 0)
        await eventually(lambda: not runtime.pods(), what="pods gone")


async def test_kill_9_restarts_pod(runtime: PodRuntime) -> None:
    runtime.scale(template(), 1)
    assert await runtime.wait_ready(KEY)
    (before,) = runtime.pods()
    assert before.pid is not None
    os.kill(before.pid, signal.SIGKILL)
    await eventually(lambda: runtime.pods()[0].restarts == 1, what="restart")
    assert await runtime.wait_ready(KEY)
    (after,) = runtime.pods()
    assert after.name == before.name and after.pid != before.pid and after.ready
    assert after.restarts == 1
    assert await get(after.port) == (200, b"Hello coffee!\n")


async def test_exit_is_noticed_without_probe(runtime: PodRuntime, changes: Changes) -> None:
    runtime.scale(template(), 1)
    assert await runtime.wait_ready(KEY)
    (pod,) = runtime.pods()
    seen: list[bool] = []
    changes.hooks.append(lambda key: seen.append(bool(runtime.endpoints(key))))
    assert pod.pid is not None
    os.kill(pod.pid, signal.SIGKILL)
    await eventually(lambda: False in seen, within=2, what="not ready after exit")


async def test_crash_loop(tmp_path: Path) -> None:
    rt = PodRuntime(log_dir=tmp_path, images=ImageMap.load(None), backoff_initial=0.2)
    try:
        crash = (sys.executable, "-c", "print('boom'); raise SystemExit(3)")
        rt.scale(template(command=crash), 1)
        statuses: set[str] = set()

        def looping() -> bool:
            (p,) = rt.pods()
            statuses.add(p.status)
            return p.restarts >= 3 and p.status == "CrashLoopBackOff"

        await eventually(looping, what="crash loop")
        state = rt.revision_state(KEY)
        assert state.ready == 0 and state.failure is not None
        reason, message = state.failure
        assert reason == "CrashLoopBackOff"
        assert "exited with code 3" in message and "boom" in message
        (p,) = rt.pods()
        assert p.exit_code == 3
        assert rt.log(p.name).count("boom") >= 3  # appended across restarts
        k8s = p.to_k8s()["status"]["containerStatuses"][0]
        assert k8s["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        assert k8s["restartCount"] == p.restarts
    finally:
        await rt.shutdown(grace=1)


async def test_unmapped_image(runtime: PodRuntime) -> None:
    image = "example.com/team/unknown:1.0"
    runtime.scale(template(image=image), 2)
    state = runtime.revision_state(KEY)
    assert state.failure is not None
    reason, message = state.failure
    assert reason == "ImagePullBackOff" and f'"{image}"' in message and "--images" in message
    pods = runtime.pods()
    assert len(pods) == 2
    assert all(p.status == "ImagePullBackOff" and p.pid is None for p in pods)
    assert all(p.phase == "Pending" for p in pods)
    assert not await runtime.wait_ready(KEY, timeout=0.2)
    runtime.scale(template(image=image), 0)
    await eventually(lambda: not runtime.pods(), what="pods gone")


async def test_image_map_file_and_args(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(
        "import os, sys\n"
        "from http.server import HTTPServer, BaseHTTPRequestHandler\n"
        "class H(BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        body = ' '.join(sys.argv[1:]).encode()\n"
        "        self.send_response(200); self.send_header('Content-Length', str(len(body)))\n"
        "        self.end_headers(); self.wfile.write(body)\n"
        "HTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()\n"
    )
    (tmp_path / "images.yaml").write_text(
        'images:\n  "myrepo/app:*": python app.py --port=$(PORT)\n'
    )
    rt = PodRuntime(log_dir=tmp_path / "logs", images=ImageMap.load(tmp_path / "images.yaml"))
    try:
        t = template(image="example.org/myrepo/app:v1")
        t = replace(t, container=replace(t.container, args=("--extra", "$(K_SERVICE)")))
        rt.scale(t, 1)
        assert await rt.wait_ready(KEY)
        (_, port), *_ = rt.endpoints(KEY)
        assert await get(port) == (200, f"--port={port} --extra coffee".encode())
    finally:
        await rt.shutdown()


async def test_logs_captured_and_kept_after_delete(tmp_path: Path) -> None:
    rt = PodRuntime(log_dir=tmp_path, images=ImageMap.load(None), log_retention=60)
    try:
        t = template(command=(sys.executable, PROBE_APP))
        rt.scale(t, 1)
        assert await rt.wait_ready(KEY)
        (p,) = rt.pods()
        await eventually(lambda: "listening" in rt.log(p.name), what="log line")
        assert (tmp_path / f"{p.name}.log").exists()
        rt.scale(t, 0)
        await eventually(lambda: not rt.pods(), what="pod gone")
        assert f"probe app listening on {p.port}" in rt.log(p.name)
        with pytest.raises(KeyError):
            rt.log("no-such-pod")
    finally:
        await rt.shutdown()
    assert not (tmp_path / f"{p.name}.log").exists()


async def test_drain_before_sigterm(tmp_path: Path) -> None:
    release = asyncio.Event()
    drained: list[tuple[tuple[str, int], list[tuple[str, int]], bool]] = []
    rt: PodRuntime

    async def drain(endpoint: tuple[str, int]) -> None:
        (p,) = [p for p in rt.pods() if p.port == endpoint[1]]
        assert p.pid is not None
        drained.append((endpoint, rt.endpoints(KEY), alive(p.pid)))
        await release.wait()
        assert alive(p.pid)  # still running while the gateway drains

    rt = PodRuntime(log_dir=tmp_path, images=ImageMap.load(None), drain=drain)
    try:
        t = template()
        rt.scale(t, 2)
        assert await rt.wait_ready(KEY, 2)
        rt.scale(t, 1)
        await eventually(lambda: drained, what="drain called")
        endpoint, endpoints_then, was_alive = drained[0]
        assert endpoint not in endpoints_then and len(endpoints_then) == 1 and was_alive
        (terminating,) = [p for p in rt.pods() if p.status == "Terminating"]
        assert terminating.pid is not None and alive(terminating.pid) and not terminating.ready
        assert rt.revision_state(KEY).pods == 1
        release.set()
        await eventually(lambda: len(rt.pods()) == 1, what="pod removed")
        assert not alive(terminating.pid)
    finally:
        await rt.shutdown()


async def test_grace_then_sigkill(tmp_path: Path) -> None:
    rt = PodRuntime(log_dir=tmp_path, images=ImageMap.load(None), grace=0.3)
    try:
        t = template(command=(sys.executable, PROBE_APP), env={"IGNORE_TERM": "1"})
        rt.scale(t, 1)
        assert await rt.wait_ready(KEY)
        (p,) = rt.pods()
        rt.scale(t, 0)
        await eventually(lambda: not rt.pods(), within=5, what="stubborn pod killed")
        assert p.pid is not None and not alive(p.pid)
    finally:
        await rt.shutdown()


async def test_shutdown_leaves_no_process(tmp_path: Path) -> None:
    rt = PodRuntime(log_dir=tmp_path, images=ImageMap.load(None))
    t = template(command=(sys.executable, PROBE_APP), env={"SPAWN_CHILD": "1"})
    rt.scale(t, 2)
    rt.scale(template("tea-00001"), 1)
    assert await rt.wait_ready(KEY, 2)
    assert await rt.wait_ready("default/tea-00001")
    pids = [p.pid for p in rt.pods() if p.pid]
    for p in rt.pods():
        if p.revision_key == KEY:
            await eventually(lambda p=p: "child" in rt.log(p.name), what="child pid")
            pids.append(int(rt.log(p.name).split("child ")[1].split()[0]))
    assert len(pids) == 5 and all(alive(pid) for pid in pids)
    await rt.shutdown(grace=2)
    assert rt.pods() == []
    await eventually(lambda: not any(alive(pid) for pid in pids), within=3, what="all gone")


async def test_new_template_replaces_pods_once_new_ones_serve(runtime: PodRuntime) -> None:
    old = template()
    runtime.scale(old, 1)
    assert await runtime.wait_ready(KEY)
    (first,) = runtime.pods()
    new = template(env={"TARGET": "espresso"})
    runtime.scale(new, 1)
    await eventually(
        lambda: [p.name for p in runtime.pods()] not in ([first.name], []), what="new pod"
    )

    def replaced() -> bool:
        pods = runtime.pods()
        return len(pods) == 1 and pods[0].name != first.name and pods[0].ready

    await eventually(replaced, what="old pod replaced")
    (_, port), *_ = runtime.endpoints(KEY)
    assert await get(port) == (200, b"Hello espresso!\n")
    runtime.scale(new, 1)  # same template again: nothing changes
    assert [p.name for p in runtime.pods()] == [runtime.pods()[0].name]

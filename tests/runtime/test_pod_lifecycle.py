"""Process pods: liveness and startup probes, exec and gRPC probes, user and group, preStop."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from coldbrew.runtime import (
    ContainerSpec,
    ImageMap,
    PodRuntime,
    PodTemplate,
    ProbeSpec,
    grpc_health,
)
from coldbrew.runtime.container_specs import HookSpec, SecuritySpec
from coldbrew.runtime.environment import PodFacts, Prepared
from coldbrew.runtime.naming import free_port

from .conftest import APPS, PROBE_APP, Changes, eventually, get, template

KEY = "default/coffee-00001"
GRPC_APP = str(APPS / "grpc_health_app.py")


def with_container(t: PodTemplate, **fields: object) -> PodTemplate:
    return replace(t, container=replace(t.container, **fields))


def probe_pod(env: dict[str, str] | None = None, **fields: object) -> PodTemplate:
    t = template(command=(sys.executable, PROBE_APP), env=env or {})
    return with_container(t, **fields)


async def test_failing_liveness_probe_restarts_and_counts(runtime: PodRuntime) -> None:
    """The startup probe holds liveness until the app is up (Kubernetes' advice for slow starts)."""
    live = ProbeSpec(kind="http", path="/healthz", period_seconds=0.1, failure_threshold=2)
    up = ProbeSpec(kind="tcp", period_seconds=0.05, failure_threshold=400)
    runtime.scale(probe_pod(liveness_probe=live, startup_probe=up), 1)
    assert await runtime.wait_ready(KEY)
    (info,) = runtime.pods()
    assert info.restarts == 0
    first_pid = info.pid
    await get(info.port, "/fail")
    await eventually(lambda: runtime.pods()[0].restarts == 1, 15, "a restart")
    assert await runtime.wait_ready(KEY)
    (info,) = runtime.pods()
    assert info.pid != first_pid and info.status == "Running"
    assert "Liveness probe failed 2 times" in runtime.log(info.name)
    assert await get(info.port, "/healthz") == (200, b"ok\n")  # a fresh process is healthy


async def test_startup_probe_holds_readiness(runtime: PodRuntime, changes: Changes) -> None:
    """Without the startup probe the default TCP readiness passes as soon as it listens."""
    startup = ProbeSpec(kind="http", path="/healthz", period_seconds=0.1, failure_threshold=100)
    runtime.scale(probe_pod({"READY_AFTER": "2"}, startup_probe=startup), 1)
    ready = asyncio.Event()
    changes.hooks.append(lambda key: runtime.endpoints(KEY) and ready.set())
    await asyncio.wait_for(ready.wait(), 20)
    (_, port), *_ = runtime.endpoints(KEY)
    assert await get(port, "/healthz") == (200, b"ok\n")  # ready only once startup passed


async def test_failing_startup_probe_restarts(runtime: PodRuntime) -> None:
    startup = ProbeSpec(kind="http", path="/healthz", period_seconds=0.05, failure_threshold=2)
    runtime.scale(probe_pod({"READY_AFTER": "3600"}, startup_probe=startup), 1)
    await eventually(lambda: runtime.pods()[0].restarts >= 1, 15, "a restart")
    (info,) = runtime.pods()
    assert not info.ready
    assert "Startup probe failed 2 times" in runtime.log(info.name)


async def test_exec_readiness_probe_runs_the_command(runtime: PodRuntime, tmp_path: Path) -> None:
    flag = tmp_path / "ready"
    probe = ProbeSpec(kind="exec", command=("test", "-f", str(flag)), period_seconds=0.1)
    runtime.scale(probe_pod(readiness_probe=probe), 1)
    await eventually(lambda: runtime.pods() and runtime.pods()[0].status == "Running")
    await eventually(lambda: "listening" in runtime.log(runtime.pods()[0].name), 15)
    assert runtime.endpoints(KEY) == []
    flag.touch()
    assert await runtime.wait_ready(KEY, timeout=15)


async def test_grpc_probe_against_a_grpcio_server(runtime: PodRuntime, tmp_path: Path) -> None:
    pytest.importorskip("grpc")
    health = tmp_path / "serving"
    t = template(command=(sys.executable, GRPC_APP), env={"HEALTH_FILE": str(health)})
    t = with_container(t, readiness_probe=ProbeSpec(kind="grpc", period_seconds=0.1))
    runtime.scale(t, 1)
    await eventually(lambda: "listening" in runtime.log(runtime.pods()[0].name), 20)
    (info,) = runtime.pods()
    assert not await grpc_health.check("127.0.0.1", info.port, "", 2.0)  # NOT_SERVING
    assert runtime.endpoints(KEY) == []
    health.touch()
    assert await runtime.wait_ready(KEY, timeout=15)
    assert await grpc_health.check("127.0.0.1", info.port, "", 2.0)


def test_grpc_health_messages() -> None:
    assert grpc_health.encode_request("") == b"\x00\x00\x00\x00\x00"
    assert grpc_health.encode_request("a") == b"\x00\x00\x00\x00\x03\x0a\x01a"
    assert grpc_health.decode_status(b"\x00\x00\x00\x00\x02\x08\x01") == 1
    assert grpc_health.decode_status(b"\x00\x00\x00\x00\x00") == 0


@pytest.mark.skipif(os.getuid() != 0, reason="switching users needs root (CI runs as root)")
async def test_run_as_user_and_group_when_root(runtime: PodRuntime) -> None:
    """A shell, not this interpreter: it may live where nobody else may read (e.g. /root)."""
    sec = SecuritySpec(run_as_user=65534, run_as_group=65534)
    script = 'echo "uid $(id -u) gid $(id -g)"; exec sleep 600'
    t = template(command=("/bin/sh", "-c", script), env={})
    ready = ProbeSpec(kind="exec", command=("/bin/sh", "-c", 'test "$(id -u)" = 65534'))
    runtime.scale(with_container(t, security=sec, readiness_probe=ready), 1)
    assert await runtime.wait_ready(KEY, timeout=15)  # the exec probe ran as the user too
    (info,) = runtime.pods()
    await eventually(lambda: "uid 65534 gid 65534" in runtime.log(info.name))


async def test_run_as_non_root_over_root_is_refused(runtime: PodRuntime) -> None:
    if os.getuid() != 0:
        sec = SecuritySpec(run_as_user=os.getuid() + 1)
        want = "securityContext.runAsUser"
    else:
        sec = SecuritySpec(run_as_non_root=True)
        want = "container has runAsNonRoot and image will run as root"
    runtime.scale(probe_pod(security=sec), 1)
    await eventually(lambda: runtime.revision_state(KEY).failure is not None)
    reason, message = runtime.revision_state(KEY).failure or ("", "")
    assert reason == "CreateContainerConfigError" and want in message
    (info,) = runtime.pods()
    assert info.status == "CreateContainerConfigError" and info.pid is None


async def test_pre_stop_then_grace_period(tmp_path: Path) -> None:
    """preStop runs before SIGTERM; terminationGracePeriodSeconds beats the runtime's grace."""
    rt = PodRuntime(log_dir=tmp_path / "logs", images=ImageMap.load(None), grace=60)
    try:
        hook = HookSpec(kind="http", path="/prestop")
        t = probe_pod({"IGNORE_TERM": "1"}, pre_stop=hook)
        t = replace(t, grace_period_seconds=1)
        rt.scale(t, 1)
        assert await rt.wait_ready(KEY, timeout=15)
        (info,) = rt.pods()
        rt.scale(t, 0)
        await eventually(lambda: rt.pods() == [], 20, "the pod gone well before 60 s")
        assert "preStop hook called" in rt.log(info.name)
    finally:
        await rt.shutdown(grace=2)


def test_container_spec_defaults_name_the_serving_container() -> None:
    assert ContainerSpec(image="x").name == "user-container"


async def test_process_sidecar_shares_the_loopback(runtime: PodRuntime) -> None:
    side_port = free_port("127.0.0.1")
    server = (sys.executable, "-m", "http.server", str(side_port), "--bind", "127.0.0.1")
    sidecar = ContainerSpec(
        image="registry.example.com/helper:1",
        command=server,
        name="helper",
        readiness_probe=ProbeSpec(kind="tcp", port=side_port),
    )
    runtime.scale(replace(probe_pod(), sidecars=(sidecar,)), 1)
    assert await runtime.wait_ready(KEY, timeout=20)  # both ready
    (info,) = runtime.pods()
    assert info.sidecars == (("helper", "registry.example.com/helper:1", True),)
    assert info.to_k8s()["status"]["containerStatuses"][1]["name"] == "helper"
    status, _ = await get(side_port, "/")
    assert status == 200
    await eventually(lambda: '"GET / HTTP/1.1" 200' in runtime.log(info.name, "helper"))
    assert "GET / HTTP/1.1" not in runtime.log(info.name)  # each container has its own log
    assert "probe app listening" in runtime.log(info.name, "user-container")
    with pytest.raises(KeyError):
        runtime.log(info.name, "nope")


async def test_process_sidecar_without_a_command_is_refused(runtime: PodRuntime) -> None:
    sidecar = ContainerSpec(image="registry.example.com/helper:1", name="helper")
    runtime.scale(replace(probe_pod(), sidecars=(sidecar,)), 1)
    await eventually(lambda: runtime.revision_state(KEY).failure is not None)
    reason, message = runtime.revision_state(KEY).failure or ("", "")
    assert reason == "CreateContainerConfigError"
    assert "sidecar helper" in message and "registry.example.com/helper:1" in message


class ResolvedEnv:
    """A configurer (coldbrew.configuring's part) whose env references resolved to ``env``."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def prepare(self, template: PodTemplate, pod: PodFacts, *, mounts: bool) -> Prepared:
        return Prepared(env=dict(self.env))

    def refresh(self, template: PodTemplate, pod: PodFacts) -> None:
        pass

    def release(self, pod: PodFacts) -> None:
        pass


async def test_exec_probe_sees_the_resolved_env(tmp_path: Path, changes: Changes) -> None:
    """An exec probe runs with the env the container got (envFrom/valueFrom resolved), as in
    Kubernetes, where it runs inside the container."""
    probe = ProbeSpec(
        kind="exec", command=("sh", "-c", 'test "$WORD" = resolved'), period_seconds=0.1
    )
    t = replace(probe_pod(readiness_probe=probe), config=object())  # it has references
    rt = PodRuntime(log_dir=tmp_path / "logs", images=ImageMap.load(None), on_change=changes,
                    grace=5, configurer=ResolvedEnv({"WORD": "resolved"}))  # fmt: skip
    try:
        rt.scale(t, 1)
        assert await rt.wait_ready(KEY, timeout=15)
    finally:
        await rt.shutdown(grace=2)

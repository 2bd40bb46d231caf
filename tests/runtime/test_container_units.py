"""The container runtime's pure parts: engine choice, pull policies, credentials, create body."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from coldbrew.runtime import ContainerSpec, PodResources, PodTemplate
from coldbrew.runtime.containers import EngineError, choose_engine
from coldbrew.runtime.containers.creating import create_body, describe_limits
from coldbrew.runtime.containers.engine import candidates
from coldbrew.runtime.containers.pulling import default_policy, registry_auth
from coldbrew.runtime.specs import ContainerLimits

NOWHERE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


def template(**container: object) -> PodTemplate:
    spec = ContainerSpec(image="registry.example.com/acme/orders:1.4", **container)  # type: ignore[arg-type]
    return PodTemplate("default", "orders", "orders", "orders-00001", spec)


def test_sockets_tried_in_order() -> None:
    assert candidates({}) == ["unix:///var/run/docker.sock", "unix:///run/podman/podman.sock"]
    assert candidates({"DOCKER_HOST": "unix:///x.sock"}) == ["unix:///x.sock"]


def test_choice_of_runtime_without_an_engine() -> None:
    assert asyncio.run(choose_engine("process", NOWHERE)) is None
    assert asyncio.run(choose_engine("auto", NOWHERE)) is None
    with pytest.raises(EngineError, match=r"nonexistent/docker\.sock"):
        asyncio.run(choose_engine("docker", NOWHERE))


def test_serve_runtime_docker_without_an_engine_exits_1(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "coldbrew", "serve", "--runtime", "docker", "--port", "0"]
    cmd += ["--admin-port", "0", "--state-dir", str(tmp_path)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=NOWHERE)
    assert out.returncode == 1
    assert "no container engine answers" in out.stderr and "nonexistent" in out.stderr


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("registry.example.com/acme/orders", "Always"),
        ("registry.example.com/acme/orders:latest", "Always"),
        ("localhost:5000/orders", "Always"),
        ("localhost:5000/orders:1.4", "IfNotPresent"),
        ("registry.example.com/acme/orders:1.4", "IfNotPresent"),
        ("registry.example.com/acme/orders@sha256:" + "a" * 64, "IfNotPresent"),
    ],
)
def test_default_pull_policy_is_kubernetes(image: str, policy: str) -> None:
    assert default_policy(image) == policy


def test_registry_credentials_from_the_docker_config(tmp_path: Path) -> None:
    auth = base64.b64encode(b"me:secret").decode()
    (tmp_path / "config.json").write_text(
        json.dumps({"auths": {"registry.example.com": {"auth": auth}}})
    )
    env = {"DOCKER_CONFIG": str(tmp_path)}
    found = registry_auth("registry.example.com/acme/orders:1.4", env)
    assert found == {
        "username": "me",
        "password": "secret",
        "serveraddress": "registry.example.com",
    }
    assert registry_auth("other.example.org/acme/orders:1.4", env) is None


def test_contract_env_port_and_loopback_publishing() -> None:
    body = create_body(
        template(env=(("TARGET", "x"),), port=9000), pod="p", instance="/s", host_port=40000
    )
    env = dict(e.split("=", 1) for e in body["Env"])
    assert env == {
        "TARGET": "x",
        "PORT": "9000",
        "K_SERVICE": "orders",
        "K_REVISION": "orders-00001",
        "K_CONFIGURATION": "orders",
    }
    host = body["HostConfig"]
    assert host["PortBindings"] == {"9000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "40000"}]}
    assert host["Privileged"] is False and host["CapAdd"] == [] and host["Binds"] == []
    assert host["NetworkMode"] == "bridge"
    assert body["Labels"]["dev.coldbrew.instance"] == "/s"
    assert body["Labels"]["dev.coldbrew.pod"] == "p"
    assert "Entrypoint" not in body and "Cmd" not in body  # the image's own
    assert create_body(template(), pod="p", instance="/s", host_port=1)["Env"][0] == "PORT=8080"


def test_command_and_args_override_entrypoint_and_cmd() -> None:
    body = create_body(
        template(command=("/app", "--port=$(PORT)"), args=("$$x",)),
        pod="p", instance="/s", host_port=1,
    )  # fmt: skip
    assert body["Entrypoint"] == ["/app", "--port=8080"] and body["Cmd"] == ["$x"]
    body = create_body(template(args=("-v",)), pod="p", instance="/s", host_port=1)
    assert "Entrypoint" not in body and body["Cmd"] == ["-v"]


def test_limits_requests_and_reserve_sizes() -> None:
    limits = ContainerLimits(cpu_request=0.25, memory_request=32 << 20, cpu_limit=0.5,
                             memory_limit=64 << 20)  # fmt: skip
    host = create_body(template(limits=limits), pod="p", instance="/s", host_port=1)["HostConfig"]
    assert (host["NanoCpus"], host["Memory"]) == (500_000_000, 64 << 20)
    assert (host["CpuShares"], host["MemoryReservation"]) == (256, 32 << 20)
    spec = ContainerSpec(image="i:1", limits=limits)
    size = PodResources(cpu=2, memory=4 << 30)
    reserve = PodTemplate("default", "o", "o", "o-00001", spec, role="reserve", resources=size)
    host = create_body(reserve, pod="p", instance="/s", host_port=1)["HostConfig"]
    assert (host["NanoCpus"], host["Memory"]) == (2_000_000_000, 4 << 30)
    assert "CpuShares" not in host
    assert describe_limits(host) == "engine cpu=2 mem=4Gi"
    assert describe_limits({}) == "engine unlimited"


def test_image_pull_policy_is_validated_and_kept() -> None:
    from coldbrew.api import ValidationError, parse_service

    def svc(policy: str) -> dict[str, object]:
        container = {"image": "registry.example.com/acme/orders:1.4", "imagePullPolicy": policy}
        return {
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Service",
            "metadata": {"name": "orders"},
            "spec": {"template": {"spec": {"containers": [container]}}},
        }

    parsed = parse_service(svc("Never")).template.container
    assert parsed.image_pull_policy == "Never"
    assert parsed.to_dict()["imagePullPolicy"] == "Never"
    with pytest.raises(ValidationError) as err:
        parse_service(svc("Sometimes"))
    assert err.value.field == "spec.template.spec.containers[0].imagePullPolicy"


async def test_tcp_probe_hold_tells_a_proxy_with_nothing_behind_from_an_app() -> None:
    from coldbrew.runtime.probing import probe_tcp

    async def closes_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()  # what docker-proxy does when the container's app is not listening

    async def keeps_open(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # an app: waits for a request
        writer.close()

    proxy = await asyncio.start_server(closes_at_once, "127.0.0.1", 0)
    app = await asyncio.start_server(keeps_open, "127.0.0.1", 0)
    async with proxy, app:
        proxy_port = proxy.sockets[0].getsockname()[1]
        app_port = app.sockets[0].getsockname()[1]
        assert await probe_tcp(proxy_port, 1.0)  # a bare connect is fooled
        assert not await probe_tcp(proxy_port, 1.0, hold=0.05)
        assert await probe_tcp(app_port, 1.0, hold=0.05)

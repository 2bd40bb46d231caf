"""The cafe demo on real containers: a user's own image, run by the engine, served by coldbrew."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import httpx
import pytest

from tests.containers.util import containers_of
from tests.e2e.harness import Server, wait_for

COFFEE = "coffee.default.example.com"


def service(name: str, image: str, target: str, **container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "image": image,
                            "imagePullPolicy": "Never",
                            "env": [{"name": "TARGET", "value": target}],
                            **container,
                        }
                    ]
                }
            }
        },
    }


def test_cafe_on_a_real_container(server: Server, engine_url: str, hello_image: str) -> None:
    assert "runtime: containers on" in wait_for(
        lambda: "runtime:" in server.log() and server.log(), what="the runtime line"
    )
    server.client().apply(service("coffee", hello_image, "coffee"))
    server.wait_ready("coffee", timeout=30)
    response = server.request(COFFEE)
    assert response.status_code == 200
    assert response.text == "Hello coffee!\n"

    running = containers_of(engine_url, server.state_dir)
    assert len(running) == 1, running
    (info,) = running
    pod = server.pods()[0]
    labels = info["Config"]["Labels"]
    assert labels["dev.coldbrew.pod"] == pod["metadata"]["name"]
    assert labels["serving.knative.dev/revision"] == "coffee-00001"
    env = dict(e.split("=", 1) for e in info["Config"]["Env"])
    assert env["PORT"] == "8080"
    assert env["K_SERVICE"] == "coffee" and env["K_CONFIGURATION"] == "coffee"
    assert env["K_REVISION"] == "coffee-00001" and env["TARGET"] == "coffee"
    # published on loopback only; not privileged, no host network, no mounts
    bindings = info["HostConfig"]["PortBindings"]["8080/tcp"]
    assert [b["HostIp"] for b in bindings] == ["127.0.0.1"]
    assert info["HostConfig"].get("Privileged") is False
    assert info["HostConfig"].get("NetworkMode") != "host"
    assert not info["HostConfig"].get("CapAdd")
    assert not info.get("Mounts")
    # the app said it listens on the contract's PORT, and logs come from the engine
    log = wait_for(
        lambda: (
            "listening on 8080" in (t := server.cli("logs", pod["metadata"]["name"]).stdout) and t
        )
    )
    assert "listening on 8080" in log
    # the gateway's endpoint is the published loopback port
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.2:{bindings[0]['HostPort']}/", timeout=1)


def test_logs_follow_until_the_pod_is_gone(server: Server, hello_image: str) -> None:
    server.client().apply(service("coffee", hello_image, "coffee"))
    server.wait_ready("coffee", timeout=30)
    name = server.pods()[0]["metadata"]["name"]
    env = dict(os.environ, COLDBREW_SERVER=server.admin_url)
    cmd = [sys.executable, "-m", "coldbrew", "logs", "-f", name]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env) as follow:
        assert follow.stdout is not None
        first = follow.stdout.readline()
        assert first.startswith("listening on 8080"), first
        server.cli("delete", "ksvc", "coffee")
        assert follow.wait(30) == 0  # the stream ends with the pod
        assert "Terminated" in follow.stdout.read()  # the shell's last words on SIGTERM

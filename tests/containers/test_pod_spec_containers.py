"""Container pods with sidecars, securityContext, liveness (exec) and startup probes."""

from __future__ import annotations

from typing import Any

import aiodocker
import pytest

from tests.containers.images import import_image
from tests.containers.pod_image import POD_IMAGE, pod_rootfs_tar
from tests.containers.util import containers_of, engine_call
from tests.e2e.harness import Server, wait_for

HOST = "shop.default.example.com"


@pytest.fixture(scope="session")
def pod_image(engine_url: str) -> str:
    async def load(docker: aiodocker.Docker) -> None:
        await import_image(docker, POD_IMAGE, pod_rootfs_tar())

    engine_call(engine_url, load)
    return POD_IMAGE


def shop(containers: list[dict[str, Any]], **pod: Any) -> dict[str, Any]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "shop", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": containers, **pod}}},
    }


def _pod(server: Server) -> dict[str, Any]:
    pods = [p for p in server.pods("shop-00001") if "deletionTimestamp" not in p["metadata"]]
    assert len(pods) == 1, pods
    return pods[0]


def test_sidecar_on_localhost_user_and_read_only_rootfs(
    server: Server, engine_url: str, pod_image: str
) -> None:
    serving = {
        "name": "app",
        "image": pod_image,
        "imagePullPolicy": "Never",
        "ports": [{"containerPort": 8080}],
        "securityContext": {
            "runAsUser": 1000,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    sidecar = {
        "name": "helper",
        "image": pod_image,
        "imagePullPolicy": "Never",
        "command": ["/bin/sidecar"],
        "readinessProbe": {"httpGet": {"path": "/", "port": 9000}, "periodSeconds": 1},
    }
    server.client().apply(shop([serving, sidecar], terminationGracePeriodSeconds=5))
    server.wait_ready("shop", timeout=60)
    body = server.request(HOST).text
    assert "uid 1000" in body, body
    assert "rootfs read-only" in body, body
    assert "sidecar: sidecar says hi" in body, body

    found = containers_of(engine_url, server.state_dir)
    assert len(found) == 2
    by_mode = {c["HostConfig"]["NetworkMode"].startswith("container:"): c for c in found}
    app, helper = by_mode[False], by_mode[True]
    assert helper["HostConfig"]["NetworkMode"] == f"container:{app['Id']}"
    assert app["HostConfig"]["ReadonlyRootfs"] is True and app["Config"]["User"] == "1000"
    dropped = set(app["HostConfig"].get("CapDrop") or [])  # Podman lists what ALL meant
    assert "ALL" in dropped or {"CHOWN", "KILL", "NET_BIND_SERVICE", "SETUID"} <= dropped

    pod = _pod(server)
    name = pod["metadata"]["name"]
    statuses = {s["name"]: s["ready"] for s in pod["status"]["containerStatuses"]}
    assert statuses == {"app": True, "helper": True}
    row = next(ln for ln in server.cli("get", "pods").stdout.splitlines() if name in ln)
    assert row.split()[1] == "2/2", row  # READY counts every container
    logs = wait_for(
        lambda: (
            (out := server.cli("logs", name, "-c", "helper").stdout)
            and "sidecar listening" in out
            and out
        ),
        timeout=20,
        what="the sidecar's log",
    )
    assert "listening on 8080" not in logs  # the serving container's output is its own
    assert "listening on 8080" in server.cli("logs", name).stdout
    bad = server.cli("logs", name, "-c", "nope")
    assert bad.returncode != 0 and "not valid" in bad.stderr + bad.stdout


def test_failing_exec_liveness_probe_restarts_the_container(
    server: Server, engine_url: str, pod_image: str
) -> None:
    app = {
        "image": pod_image,
        "imagePullPolicy": "Never",
        "livenessProbe": {
            "exec": {"command": ["/bin/sh", "-c", "test ! -f /tmp/sick"]},
            "periodSeconds": 1,
            "timeoutSeconds": 20,  # an exec through a loaded engine may take seconds
            "failureThreshold": 1,
        },
        "startupProbe": {"tcpSocket": {}, "periodSeconds": 1, "failureThreshold": 30},
    }
    server.client().apply(shop([app]))
    server.wait_ready("shop", timeout=60)
    (before,) = containers_of(engine_url, server.state_dir)
    assert server.request(HOST, "/cgi-bin/sick.cgi").text == "sick now\n"

    def restarted() -> dict[str, Any] | None:
        pod = _pod(server)
        status = pod["status"]["containerStatuses"][0]
        return pod if status["restartCount"] == 1 and status["ready"] else None

    pod = wait_for(restarted, timeout=60, what="a restart after the liveness probe failed")
    row = next(ln for ln in server.cli("get", "pods").stdout.splitlines() if "shop-" in ln)
    assert row.split()[3] == "1", row  # RESTARTS
    (after,) = containers_of(engine_url, server.state_dir)
    assert after["Id"] != before["Id"]
    assert "Liveness probe failed" in server.cli("logs", pod["metadata"]["name"]).stdout


def test_run_as_non_root_over_a_root_image_is_refused(server: Server, pod_image: str) -> None:
    app = {
        "image": pod_image,
        "imagePullPolicy": "Never",
        "securityContext": {"runAsNonRoot": True},
    }
    server.client().apply(shop([app]))

    def refused() -> dict[str, Any] | None:
        rev = server.client().get("revisions", "shop-00001")
        ready = {c["type"]: c for c in rev["status"].get("conditions", [])}.get("Ready", {})
        return ready if ready.get("reason") == "CreateContainerConfigError" else None

    ready = wait_for(refused, timeout=30, what="CreateContainerConfigError")
    assert "container has runAsNonRoot and image will run as root" in ready["message"]

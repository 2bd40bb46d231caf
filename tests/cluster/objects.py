"""Builders of the cluster objects a gateway reads, and an emulated API server to hold them.

The objects are what the controller and the kubelet would write: a Service with the
``status.url``/``status.traffic`` the controller computes, a Revision with its spec, and
Pods with ``status.podIP`` and a Ready condition (the emulator runs no kubelet, so the
tests play it). Pod IPs are 127.0.0.1 and ports are real local servers.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web
from kubernetes_asyncio import client

from tests.cluster.emulator import Emulator

KSVC = "serving.knative.dev/v1"
REVISION = "serving.knative.dev/revision"
SERVICE = "serving.knative.dev/service"
ROLE = "serving.coldbrew.dev/role"


@contextlib.asynccontextmanager
async def api_server(emulator: Emulator, port: int = 0) -> AsyncIterator[int]:
    """Serve ``emulator`` on 127.0.0.1; yields the port."""
    runner = web.AppRunner(emulator.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield runner.addresses[0][1]
    finally:
        await emulator.drop_watches()
        await runner.cleanup()


def api_client(port: int) -> client.ApiClient:
    return client.ApiClient(client.Configuration(host=f"http://127.0.0.1:{port}"))


def kubeconfig(path: Path, port: int) -> Path:
    """A kubeconfig file for the emulator on 127.0.0.1:``port`` (a dummy token)."""
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: emulated
  cluster: {{server: "http://127.0.0.1:{port}"}}
users:
- name: tester
  user: {{token: not-a-secret}}
contexts:
- name: emulated
  context: {{cluster: emulated, user: tester}}
current-context: emulated
"""
    )
    return path


def service(
    name: str,
    traffic: list[dict[str, Any]],
    *,
    namespace: str = "default",
    domain: str = "example.com",
) -> dict[str, Any]:
    return {
        "apiVersion": KSVC,
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"template": {"spec": {"containers": [{"image": "example.com/app"}]}}},
        "status": {"url": f"http://{name}.{namespace}.{domain}", "traffic": traffic},
    }


def target(revision: str, percent: int, tag: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"revisionName": revision, "percent": percent}
    if tag:
        service_name = revision.rsplit("-", 1)[0]
        entry.update(tag=tag, url=f"http://{tag}-{service_name}.default.example.com")
    return entry


def revision(
    name: str, service_name: str, *, container_concurrency: int = 0, timeout: int = 300
) -> dict[str, Any]:
    return {
        "apiVersion": KSVC,
        "kind": "Revision",
        "metadata": {"name": name, "namespace": "default", "labels": {SERVICE: service_name}},
        "spec": {
            "containers": [{"image": "example.com/app", "ports": [{"containerPort": 8080}]}],
            "containerConcurrency": container_concurrency,
            "timeoutSeconds": timeout,
        },
    }


def pod(
    name: str,
    revision_name: str,
    port: int,
    *,
    ready: bool = True,
    reserve: bool = False,
    terminating: bool = False,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": "default",
        "labels": {REVISION: revision_name, ROLE: "reserve" if reserve else "standard"},
    }
    if terminating:
        meta["deletionTimestamp"] = "2026-11-28T00:00:00Z"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {
            "containers": [
                {"name": "user-container", "ports": [{"containerPort": port}]},
            ]
        },
        "status": {
            "podIP": "127.0.0.1",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }

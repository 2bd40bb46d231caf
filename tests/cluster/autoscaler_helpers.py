"""Helpers of the cluster autoscaler's tests: one API-server front per replica, and waiting.

:class:`Front` serves the shared :class:`tests.cluster.emulator.Emulator` state on a port of
its own, through an aiohttp middleware that records the requests made through that front
and, while :attr:`Front.down` is set, answers every new request with 503, as an API server
that one replica can no longer reach would. (The emulator's own ``fail_next`` matches
requests by path, which cannot tell two replicas of the same program apart; this wraps the
emulator without changing it.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web
from kubernetes_asyncio import client

from tests.cluster.emulator import Emulator
from tests.cluster.objects import api_client

LEASES_GV = "coordination.k8s.io/v1"
APPS = "apps/v1"


class Front:
    """One replica's view of the API server: records its requests, can be cut off."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.requests: list[tuple[str, str]] = []
        self.down = False
        self.port = 0
        self._runner: web.AppRunner | None = None

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if self.down:
            return web.json_response(
                {"kind": "Status", "code": 503, "reason": "ServiceUnavailable"}, status=503
            )
        response: web.StreamResponse = await handler(request)
        return response

    async def start(self) -> int:
        app = self.emulator.app()
        app.middlewares.append(self._middleware)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def scale_writes(self) -> list[str]:
        """Paths of the ``/scale`` PATCHes made through this front."""
        return [p for m, p in self.requests if m == "PATCH" and p.endswith("/scale")]


@contextlib.asynccontextmanager
async def fronts(emulator: Emulator, count: int) -> AsyncIterator[list[tuple[Front, Any]]]:
    """``count`` fronts, each with its own ApiClient; closed on exit."""
    made: list[tuple[Front, client.ApiClient]] = []
    try:
        for _ in range(count):
            front = Front(emulator)
            made.append((front, api_client(await front.start())))
        yield made
    finally:
        await emulator.drop_watches()
        for front, api in made:
            await api.close()
            await front.stop()


async def eventually(predicate: Callable[[], Any], within: float = 5.0, step: float = 0.02) -> Any:
    """Poll ``predicate`` until it is truthy (a deadline, not a fixed sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not (value := predicate()):
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met within {within}s")
        await asyncio.sleep(step)
    return value


def lease(
    emulator: Emulator, name: str = "coldbrew-autoscaler", ns: str = "knative-serving"
) -> dict[str, Any] | None:
    """The stored Lease's spec (None when there is none)."""
    obj = emulator.get(LEASES_GV, "leases", ns, name)
    return None if obj is None else dict(obj.get("spec") or {})


async def cancel(task: asyncio.Task[Any] | None) -> None:
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


# --- objects and replicas ----------------------------------------------------------------

SERVICE = "serving.knative.dev/service"
REVISION = "serving.knative.dev/revision"
ROLE = "serving.coldbrew.dev/role"
STREAM = "/autoscaler/stream"
KEY, STANDARD = "default/coffee-00001", "coffee-00001-deployment"
RESERVE = "coffee-00001-deployment-reserve"
FAST_LEASE = {"lease_duration": 1.0, "renew_deadline": 0.5, "retry_period": 0.1}


def fast_config(**extra: str) -> Any:
    """Short windows; the tests tick the KPA themselves, on their own clock. ``extra``:
    more ``autoscaler:`` keys."""
    from coldbrew.platform_config import parse_config

    return parse_config(
        {
            "autoscaler": {
                "stable-window": "6s",
                "scale-to-zero-grace-period": "1s",
                "tick-interval": "3600s",
                **extra,
            }
        }
    )


def stats_frame(concurrency: float, key: str = KEY) -> str:
    """A gateway's ``stats`` frame (docs/seams.md) for one revision."""
    entry = {"revision": key, "concurrency": concurrency, "requests": 10, "pods": {}}
    return json.dumps({"type": "stats", "worker": "gw-1", "time": 0.0, "stats": [entry]})


def poke_frame(key: str = KEY) -> str:
    """A gateway's ``poke`` frame: a request arrived for a revision with no ready pod."""
    return json.dumps(
        {"type": "poke", "worker": "gw-1", "time": 0.0, "revision": key, "concurrency": 1.0}
    )


def caught_up(emulator: Emulator, scaler: Any) -> bool:
    """The scaler has seen every Deployment as stored and has nothing left to write."""
    for obj in emulator.list(APPS, "deployments"):
        meta = obj["metadata"]
        mine = scaler.deployments.get((meta["namespace"], meta["name"]))
        if mine is None or mine["metadata"]["resourceVersion"] != meta["resourceVersion"]:
            return False
    return not scaler.writer.pending()


def deployment(
    revision: str,
    *,
    reserve: bool = False,
    replicas: int = 0,
    ready: int = 0,
    service: str = "coffee",
) -> dict[str, Any]:
    """A Deployment as the controller makes it (labels) with a status as the kubelet writes."""
    return {
        "apiVersion": APPS,
        "kind": "Deployment",
        "metadata": {
            "name": f"{revision}-deployment" + ("-reserve" if reserve else ""),
            "namespace": "default",
            "labels": {
                SERVICE: service,
                REVISION: revision,
                ROLE: "reserve" if reserve else "standard",
            },
        },
        "spec": {"replicas": replicas},
        "status": {"replicas": ready, "readyReplicas": ready, "availableReplicas": ready},
    }


def spec_replicas(emulator: Emulator, name: str) -> int | None:
    obj = emulator.get(APPS, "deployments", "default", name)
    return None if obj is None else int(obj["spec"].get("replicas") or 0)


async def set_ready(emulator: Emulator, name: str, ready: int) -> None:
    """Play the deployment controller: ``ready`` pods of ``name`` are ready."""
    status = {"replicas": ready, "readyReplicas": ready, "availableReplicas": ready}
    await emulator.put_status(APPS, "deployments", "default", name, status)


class FakeClock:
    """The autoscaler's clock, moved by the test."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Running:
    """An :class:`AutoscalerReplica` running with its admin app on a free port."""

    def __init__(self, replica: Any, front: Front | None = None) -> None:
        self.replica = replica
        self.front = front
        self.port = 0
        self.task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> Running:
        self._runner = web.AppRunner(self.replica.admin_app())
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        self.task = asyncio.create_task(self.replica.run())
        return self

    async def stop(self) -> None:
        await cancel(self.task)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@contextlib.asynccontextmanager
async def ready_follows_spec(emulator: Emulator, *names: str) -> AsyncIterator[None]:
    """Play a deployment controller whose pods are ready at once: ready = spec.replicas."""

    def lagging() -> list[tuple[str, int]]:
        out = []
        for name in names:
            obj = emulator.get(APPS, "deployments", "default", name)
            if obj is None:
                continue
            want = int(obj["spec"].get("replicas") or 0)
            if int((obj.get("status") or {}).get("readyReplicas") or 0) != want:
                out.append((name, want))
        return out

    async def follow() -> None:
        while True:
            for name, want in await emulator.wait_for(lagging, within=3600):
                await set_ready(emulator, name, want)

    task = asyncio.create_task(follow())
    try:
        yield
    finally:
        await cancel(task)

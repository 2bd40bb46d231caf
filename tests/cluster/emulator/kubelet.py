"""A stand-in for the deployment controller and the kubelet: Deployments become processes.

For each Deployment in the emulator, :class:`Kubelet` keeps ``spec.replicas`` pods running
as real local processes of the bundled sample app (``python -m coldbrew.sample``, with the
serving container's ``env``; sidecars are not run), writes their Pod objects (the
template's labels, ``podIP`` 127.0.0.1, a Ready condition once the process accepts
connections) and the Deployment's
``status`` (``replicas``, ``readyReplicas``, ``availableReplicas``).

What differs from a real cluster, and why: every pod shares 127.0.0.1, so each gets its
own free port and its Pod's ``containerPort`` says that port rather than the template's.
Scaling down marks the Pod terminating (``deletionTimestamp``), sends SIGTERM, and
removes the Pod once the process has exited, as the kubelet does with a grace period (30 s,
then SIGKILL). :meth:`Kubelet.stop` kills every process it started, including one whose
spawning task was cancelled.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from coldbrew.runtime.naming import random_suffix, template_hash_part
from tests.ports import free_port

from .serving import Emulator

APPS = "apps/v1"


def _serving(containers: list[dict[str, Any]]) -> dict[str, Any]:
    """The container that serves (the one with ports, as Knative has it); sidecars do not run."""
    return next((c for c in containers if c.get("ports")), containers[0])


GRACE_SECONDS = 30.0  # terminationGracePeriodSeconds' default


@dataclass
class _Pod:
    name: str
    port: int
    process: asyncio.subprocess.Process
    ready: bool = False


class Kubelet:
    """Runs the emulator's Deployments as processes until :meth:`stop`."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.pods: dict[tuple[str, str], list[_Pod]] = {}  # (namespace, deployment) -> pods
        self._task: asyncio.Task[None] | None = None
        self._busy: set[asyncio.Task[None]] = set()
        # Every process started, even by a task cancelled while it spawned: stop() kills them.
        self._spawning: set[asyncio.Future[asyncio.subprocess.Process]] = set()
        self._processes: set[asyncio.subprocess.Process] = set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for task in list(self._busy):
            task.cancel()
        await asyncio.gather(*self._busy, return_exceptions=True)
        await asyncio.gather(*self._spawning, return_exceptions=True)
        for process in self._processes:
            if process.returncode is None:
                process.kill()
                await process.wait()

    def ready(self, namespace: str, deployment: str) -> int:
        return sum(p.ready for p in self.pods.get((namespace, deployment), []))

    async def _loop(self) -> None:
        while True:
            seen = self.emu.rv
            deployments = self.emu.list(APPS, "deployments")
            for dep in deployments:
                await self._sync(dep)
            live = {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in deployments}
            for key in set(self.pods) - live:  # deleted: its pods go
                for pod in self.pods.pop(key):
                    self._spawn(self._terminate(key[0], pod))
            async with self.emu.changed:
                while self.emu.rv == seen:
                    await self.emu.changed.wait()

    async def _sync(self, dep: dict[str, Any]) -> None:
        meta = dep["metadata"]
        key = (meta["namespace"], meta["name"])
        pods = self.pods.setdefault(key, [])
        want = int(dep["spec"].get("replicas") or 0)
        while len(pods) < want:
            pod = await self._start(dep)
            pods.append(pod)
            self._spawn(self._become_ready(dep, pod))
        while len(pods) > want:
            pod = pods.pop()
            self._spawn(self._terminate(meta["namespace"], pod, dep))
        await self._status(key)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._busy.add(task)
        task.add_done_callback(self._busy.discard)

    async def _start(self, dep: dict[str, Any]) -> _Pod:
        container = _serving(dep["spec"]["template"]["spec"]["containers"])
        port = free_port()
        env = dict(os.environ)
        env.update({e["name"]: str(e.get("value", "")) for e in container.get("env", [])})
        env.update(PORT=str(port), HOST="127.0.0.1")
        spawn = asyncio.ensure_future(
            asyncio.create_subprocess_exec(sys.executable, "-m", "coldbrew.sample", env=env)
        )
        self._spawning.add(spawn)
        spawn.add_done_callback(self._spawned)
        process = await asyncio.shield(spawn)  # cancelled meanwhile: stop() still kills it
        # {deployment}-{pod-template-hash}-{5 random}, as the ReplicaSet names them
        template = json.dumps(dep["spec"]["template"], sort_keys=True)
        name = f"{dep['metadata']['name']}-{template_hash_part(template, '')}-{random_suffix()}"
        while any(p.name == name for pods in self.pods.values() for p in pods):
            name = f"{dep['metadata']['name']}-{template_hash_part(template, '')}-{random_suffix()}"
        pod = _Pod(name, port, process)
        await self._write_pod(dep, pod)
        return pod

    async def _write_pod(self, dep: dict[str, Any], pod: _Pod, terminating: bool = False) -> None:
        template = dep["spec"]["template"]
        meta: dict[str, Any] = {
            "name": pod.name,
            "namespace": dep["metadata"]["namespace"],
            "labels": dict(template["metadata"]["labels"]),
        }
        if terminating:
            meta["deletionTimestamp"] = "2026-11-28T00:00:00Z"
        container = _serving(template["spec"]["containers"])
        port = {"containerPort": pod.port}
        await self.emu.put(
            "v1",
            "pods",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": meta,
                "spec": {"containers": [{"name": container["name"], "ports": [port]}]},
                "status": {
                    "podIP": "127.0.0.1",
                    "conditions": [{"type": "Ready", "status": str(pod.ready and not terminating)}],
                },
            },
        )

    async def _become_ready(self, dep: dict[str, Any], pod: _Pod) -> None:
        while pod.process.returncode is None:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", pod.port)
            except OSError:
                await asyncio.sleep(0.02)  # the readiness probe's period
                continue
            writer.close()
            pod.ready = True
            await self._write_pod(dep, pod)
            await self._status((dep["metadata"]["namespace"], dep["metadata"]["name"]))
            return

    async def _terminate(
        self, namespace: str, pod: _Pod, dep: dict[str, Any] | None = None
    ) -> None:
        if dep is not None:
            await self._write_pod(dep, pod, terminating=True)
        pod.ready = False
        if pod.process.returncode is None:
            pod.process.terminate()
        try:  # the grace period, then SIGKILL, as the kubelet does
            await asyncio.wait_for(pod.process.wait(), GRACE_SECONDS)
        except TimeoutError:
            pod.process.kill()
            await pod.process.wait()
        if self.emu.get("v1", "pods", namespace, pod.name) is not None:
            await self.emu.remove("v1", "pods", namespace, pod.name)

    def _spawned(self, spawn: asyncio.Future[asyncio.subprocess.Process]) -> None:
        self._spawning.discard(spawn)
        if not spawn.cancelled() and spawn.exception() is None:
            self._processes.add(spawn.result())

    async def _status(self, key: tuple[str, str]) -> None:
        if self.emu.get(APPS, "deployments", *key) is None:
            return
        pods = self.pods.get(key, [])
        ready = sum(p.ready for p in pods)
        status = {"replicas": len(pods), "readyReplicas": ready, "availableReplicas": ready}
        current = self.emu.get(APPS, "deployments", *key) or {}
        have = current.get("status") or {}
        if any(have.get(k) != v for k, v in status.items()):
            await self.emu.put_status(APPS, "deployments", key[0], key[1], status)

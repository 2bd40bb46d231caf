"""PodRuntime: runs each revision's pods as local processes (the control plane's kubelet)."""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from coldbrew.runtime.environment import PodConfigurer
from coldbrew.runtime.identity import Identity, PodUser, needed_paths
from coldbrew.runtime.images import ImageMap
from coldbrew.runtime.launch import resolve_argv
from coldbrew.runtime.logs import DEFAULT_CAP, LogFile
from coldbrew.runtime.naming import Ports, pod_name, template_hash_part
from coldbrew.runtime.pods import Backoff, Pod
from coldbrew.runtime.replicas import Endpoint, ReplicaSet
from coldbrew.runtime.resources import ResourceEnforcer
from coldbrew.runtime.specs import RESERVE_LABEL, PodInfo, PodTemplate, RevisionPods

log = logging.getLogger(__name__)


class PodRuntime:
    """Scales revisions' pods; reports readiness through ``on_change(key)``.

    ``on_change`` is called synchronously on every pod state change (created, ready, not ready,
    status, removed); it must not block, and may call ``scale``. ``drain(endpoint)`` is awaited
    after a pod that served was taken out of ``endpoints()`` and before it is sent SIGTERM.

    Keys are ``PodTemplate.key``: a revision's reserve pods (``role="reserve"``) are a replica
    set of their own, ``ns/revision/reserve``. Templates with ``resources`` are enforced by
    ``enforcer`` (default: cgroups if usable, else nice/RLIMIT_AS; see ``resources``).
    """

    def __init__(
        self,
        *,
        log_dir: Path,
        images: ImageMap,
        on_change: Callable[[str], None] = lambda key: None,
        drain: Callable[[Endpoint], Awaitable[None]] | None = None,
        python: str = sys.executable,
        grace: float = 30.0,
        log_retention: float = 60.0,
        log_cap: int = DEFAULT_CAP,
        backoff_initial: float = 1.0,
        backoff_max: float = 30.0,
        enforcer: ResourceEnforcer | None = None,
        configurer: PodConfigurer | None = None,
        volume_dir: Path | None = None,
        pod_user: PodUser | None = None,
    ) -> None:
        self.log_dir = Path(log_dir)
        self.pod_user = pod_user  # None: pods run as coldbrew's user (see identity)
        self.home_dir = self.log_dir.parent / "homes"  # pods' HOMEs when run as another user
        self.configurer = configurer  # env references and volumes (coldbrew.configuring)
        self.volume_dir = Path(volume_dir) if volume_dir else self.log_dir.parent / "volumes"
        self.images = images
        self.python = python
        self.grace = grace
        self.log_retention = log_retention
        self.log_cap = log_cap
        self._backoff = (backoff_initial, backoff_max)
        self._on_change = on_change
        self._drain = drain
        self._sets: dict[str, ReplicaSet] = {}
        self._events: dict[str, asyncio.Event] = {}
        self._logs: dict[str, LogFile] = {}  # live pods and recently deleted ones
        self._expiry: dict[str, asyncio.TimerHandle] = {}
        self._ports = Ports()
        self._closed = False
        self.enforcer = enforcer or ResourceEnforcer()  # discovers cgroups on first use

    kind = "process"  # what runs pods; see coldbrew.runtime.containers for "docker"

    # -- commands
    async def start(self) -> None:
        """Before the first ``scale``: nothing to do for processes."""

    def scale(self, template: PodTemplate, replicas: int) -> None:
        """Set the desired pod count of ``template.key``; pods start/stop in the background."""
        if replicas < 0:
            raise ValueError("replicas must be >= 0")
        if self._closed:
            raise RuntimeError("PodRuntime is shut down")
        key = template.key
        rs = self._sets.get(key)
        if rs is None and replicas == 0:
            return  # none asked for and none running: no replica set to keep
        if rs is None:
            rs = self._sets[key] = ReplicaSet(
                template,
                make_pod=self._make_pod,
                notify=lambda: self._notify(key),
                on_removed=self._removed,
                drain=self._drain,
                grace=self.grace,
            )
        rs.scale(replicas, template)

    async def shutdown(self, grace: float = 10) -> None:
        """Stop every pod (SIGTERM, SIGKILL after ``grace``) and delete their logs."""
        self._closed = True
        await asyncio.gather(*(rs.shutdown(grace) for rs in self._sets.values()))
        for handle in self._expiry.values():
            handle.cancel()
        for lf in self._logs.values():
            lf.delete()
        self._expiry.clear()
        self._logs.clear()

    def config_changed(self, namespace: str | None = None) -> None:
        """A ConfigMap or Secret of ``namespace`` (None: any) was applied or deleted."""
        for rs in self._sets.values():
            if namespace in (None, rs.template.namespace):
                for pod in rs.live():
                    pod.config_changed()

    # -- queries
    def endpoints(self, key: str) -> list[Endpoint]:
        rs = self._sets.get(key)
        return rs.endpoints() if rs else []

    def revision_state(self, key: str) -> RevisionPods:
        rs = self._sets.get(key)
        return rs.state() if rs else RevisionPods(desired=0, ready=0, pods=0)

    @property
    def closed(self) -> bool:
        """``shutdown`` has begun: pods only stop from now on."""
        return self._closed

    def pods(self) -> list[PodInfo]:
        return [p.info() for rs in self._sets.values() for p in rs.pods]

    def pods_of(self, *keys: str) -> list[PodInfo]:
        """The pods of these replica sets only (a revision's: its key and its reserve's):
        what a change of one costs, whatever the number of revisions."""
        return [p.info() for key in keys if (rs := self._sets.get(key)) for p in rs.pods]

    def log(self, pod_name: str, container: str | None = None) -> str:
        """The pod's output so far (also for ``log_retention`` s after it was deleted).

        ``container``: a sidecar's output (the serving container's name, or None: the pod's).
        KeyError: no such pod, or no such container in it.
        """
        return self._logs[self._log_key(pod_name, container)].read()

    def _log_key(self, pod_name: str, container: str | None) -> str:
        sidecar = f"{pod_name}/{container}"
        if container is None or sidecar in self._logs:
            return pod_name if container is None else sidecar
        pod = next((p for rs in self._sets.values() for p in rs.pods if p.name == pod_name), None)
        if pod is None or pod.template.container.name == container:
            return pod_name  # the serving container (or a deleted pod's retained log)
        return sidecar  # KeyError: no such container

    async def follow_log(
        self, pod_name: str, poll: float = 0.1, container: str | None = None
    ) -> AsyncIterator[bytes]:
        """The pod's output so far, then what it writes, until the pod is gone (KeyError: none).

        Yields ``b""`` every ``poll`` s while there is nothing new, so a reader can stop.
        A log file trimmed at its cap starts over from its new beginning.
        """
        lf = self._logs[self._log_key(pod_name, container)]
        offset = 0
        while True:
            live = any(p.name == pod_name for rs in self._sets.values() for p in rs.pods)
            chunk, offset = lf.read_from(offset)
            if not chunk and not live:
                return
            yield chunk
            if not chunk:
                await asyncio.sleep(poll)

    async def wait_ready(self, key: str, count: int = 1, timeout: float = 10) -> bool:  # noqa: ASYNC109
        """Wait until ``key`` has at least ``count`` ready pods; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.endpoints(key)) < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            event = self._events.setdefault(key, asyncio.Event())
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return len(self.endpoints(key)) >= count
        return True

    # -- internals
    def _make_pod(self, rs: ReplicaSet) -> Pod:
        argv, missing = resolve_argv(rs.template, self.images, self.python)
        basics = self._pod_basics(rs)
        needs = needed_paths(self.python, self.images.base_dir)
        who = Identity(self.pod_user, needs, self.home_dir / basics["name"])
        return Pod(argv=argv, waiting_message=missing or "", cwd=self.images.base_dir,
                   enforcer=self.enforcer, images=self.images, python=self.python,
                   identity=who, **basics)  # fmt: skip

    def _pod_basics(self, rs: ReplicaSet) -> dict[str, Any]:
        """What every pod gets whatever runs it: name, labels, log, back-off, ports, notify."""
        t = rs.template
        taken = set(self._logs)
        reserve = t.role == "reserve"
        seed = f"{t.template_hash}/reserve" if reserve and t.template_hash else t.template_hash
        name = pod_name(t.revision, template_hash_part(seed, t.key), taken, reserve=reserve)
        labels = {k: v for k, v in t.labels.items() if k != RESERVE_LABEL}
        if reserve:
            labels[RESERVE_LABEL] = "true"
        labels = {
            **labels,
            "serving.knative.dev/service": t.service,
            "serving.knative.dev/configuration": t.configuration,
            "serving.knative.dev/revision": t.revision,
            "pod-template-hash": name.rsplit("-", 2)[1],
            "app": t.revision,
        }
        lf = self._logs[name] = LogFile(self.log_dir / f"{name}.log", self.log_cap)

        def changed() -> None:
            pod = next((p for p in rs.pods if p.name == name), None)
            if pod is not None:
                rs.pod_changed(pod)

        return {
            "name": name,
            "configurer": self.configurer,
            "volume_dir": self.volume_dir / name,
            "template": t,
            "labels": labels,
            "log_file": lf,
            "notify": changed,
            "backoff": Backoff(*self._backoff),
            "ports": self._ports,
            "sidecar_logs": {c.name: self._container_log(name, c.name) for c in t.sidecars},
        }

    def _container_log(self, pod_name: str, container: str) -> LogFile:
        """A sidecar's log file, kept and expired with its pod's."""
        key = f"{pod_name}/{container}"
        lf = self._logs[key] = LogFile(self.log_dir / f"{pod_name}.{container}.log", self.log_cap)
        return lf

    def _removed(self, pod: Pod) -> None:
        name = pod.name
        shutil.rmtree(self.home_dir / name, ignore_errors=True)
        if self._closed or self.log_retention <= 0:
            self._expire(name)
            return
        loop = asyncio.get_running_loop()
        self._expiry[name] = loop.call_later(self.log_retention, self._expire, name)

    def _expire(self, name: str) -> None:
        self._expiry.pop(name, None)
        for key in [k for k in self._logs if k == name or k.startswith(f"{name}/")]:
            self._logs.pop(key).delete()

    def _notify(self, key: str) -> None:
        event = self._events.pop(key, None)
        if event is not None:
            event.set()
        try:
            self._on_change(key)
        except Exception:
            log.exception("on_change(%r) failed", key)

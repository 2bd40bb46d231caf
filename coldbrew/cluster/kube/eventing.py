"""Events in a cluster: core ``v1`` Event objects written to the API server.

:class:`KubeRecorder` is the cluster's :class:`coldbrew.events.EventRecorder`. ``record``
returns at once; a background task writes. As client-go's event broadcaster does, the
first occurrence of (object, type, reason, message) is a POST of a new Event, a repeat a
merge PATCH of that Event's ``count`` and ``lastTimestamp`` (a 404, the Event expired,
creates it again). At most ``MAX_PENDING`` events wait (the newest are dropped and
counted, as the broadcaster drops on a full queue); a failed write is logged, not retried,
so a slow API server never holds up the component. The chart's RBAC grants ``create`` and
``patch`` on ``events`` to the controller and the autoscaler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from typing import Any

from kubernetes_asyncio.client.exceptions import ApiException

from coldbrew.events import Event, ObjectRef, event_object
from coldbrew.events.recording import EventType, Key

from .accessing import MERGE_PATCH, Kube

log = logging.getLogger(__name__)
MAX_PENDING = 256
MAX_REMEMBERED = 4096  # events whose name is kept for repeats (the oldest are forgotten)


class KubeRecorder:
    def __init__(self, kube: Kube, component: str, instance: str = "") -> None:
        self.kube = kube
        self.component = component
        self.instance = instance
        self._known: OrderedDict[Key, Event] = OrderedDict()
        self._queue: asyncio.Queue[tuple[Event, bool]] = asyncio.Queue(MAX_PENDING)
        self._task: asyncio.Task[None] | None = None
        self.written = 0
        self.dropped = 0
        self.failed = 0
        self._closed = False

    def record(self, regarding: ObjectRef, type: EventType, reason: str, message: str) -> None:
        if self._closed:
            return
        now = time.time()
        key: Key = (regarding.kind, regarding.namespace, regarding.name, type, reason, message)
        old = self._known.pop(key, None)
        if old is None:
            name = f"{regarding.name}.{uuid.uuid4().hex[:16]}"
            ev = Event(name, regarding, type, reason, message, self.component, now, now)
        else:
            ev = Event(old.name, regarding, type, reason, message, self.component, old.first,
                       now, old.count + 1)  # fmt: skip
        self._known[key] = ev
        while len(self._known) > MAX_REMEMBERED:
            self._known.popitem(last=False)
        try:
            self._queue.put_nowait((ev, old is None))
        except asyncio.QueueFull:
            self.dropped += 1
            return
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._write_all())

    async def _write_all(self) -> None:
        while not self._queue.empty():
            ev, new = self._queue.get_nowait()
            try:
                await self._write(ev, new)
                self.written += 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.failed += 1
                log.warning("writing event %s (%s) failed: %r", ev.name, ev.reason, exc)

    async def _write(self, ev: Event, new: bool) -> None:
        ns = ev.regarding.namespace
        if not new:
            patch = {"count": ev.count, "lastTimestamp": event_object(ev)["lastTimestamp"]}
            try:
                await self.kube.core.patch_namespaced_event(
                    ev.name, ns, patch, _content_type=MERGE_PATCH
                )
                return
            except ApiException as exc:
                if exc.status != 404:
                    raise
        body: dict[str, Any] = event_object(ev, self.instance)
        del body["metadata"]["resourceVersion"], body["metadata"]["creationTimestamp"]
        await self.kube.core.create_namespaced_event(ns, body)

    async def flush(self) -> None:
        """Wait until every event recorded so far is written (tests, shutdown)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def close(self) -> None:
        """Stop writing: what is still queued is dropped, later events are ignored."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

"""The change feed behind ``?watch=true``, ``?continue=`` and lists' ``resourceVersion``.

A layer over what the control API shows, not over the store: :class:`WatchHub` holds, per
kind (``services``, ``revisions``...), the objects as last shown, each stamped with the
``metadata.resourceVersion`` of its last change. :meth:`WatchHub.changed` is called after
every committed write, :meth:`WatchHub.reconciled` after every controller pass, and every
list or watch looks first; the hub then lists the kinds again, and each object that
appeared, changed or went away becomes a :class:`Change` with the next number of the
hub's own monotonic counter. While nobody watches, nothing looks until the next list or
watch (at 10,000 services a look costs a listing), so changes to one object in between
show as one MODIFIED. Figures that move
on their own (``status.coldbrew``: costs, observed concurrency) are not a change.

The last ``history`` changes stay in a ring, so that a watch may start from an older
resourceVersion (a list's ``metadata.resourceVersion``: list-then-watch loses nothing) and
a list's next page be cut from the snapshot its first page was cut from. Older than the
ring: :class:`Gone` (the API's 410). A watcher that falls :data:`BACKLOG` changes behind
(it stopped reading) is dropped, its queue emptied and ended with :data:`TOO_SLOW`, as the
API server ends a slow watch: memory stays bounded and the client lists again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)
Obj = dict[str, Any]
BACKLOG = 1000  # changes a watcher may fall behind before it is dropped


class Gone(Exception):
    """The resourceVersion asked for is older than the history kept."""


@dataclass(frozen=True)
class Change:
    version: int
    type: str  # ADDED, MODIFIED or DELETED
    kind: str
    key: str  # namespace/name
    obj: Obj  # as it is now (DELETED: as it was last)
    prev: Obj | None  # as it was before (None: ADDED)


TOO_SLOW = Change(-1, "ERROR", "", "", {}, None)  # ends a watcher that fell too far behind


def key_of(obj: Obj) -> str:
    meta = obj.get("metadata", {})
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def _fingerprint(obj: Obj) -> str:
    """What counts as a change: everything but the counter itself and live figures."""
    meta = {k: v for k, v in obj.get("metadata", {}).items() if k != "resourceVersion"}
    status = obj.get("status")
    if isinstance(status, dict):
        status = {k: v for k, v in status.items() if k != "coldbrew"}
    return json.dumps({**obj, "metadata": meta, "status": status}, sort_keys=True, default=str)


class WatchHub:
    def __init__(self, listers: Mapping[str, Callable[[], list[Obj]]], history: int = 1000):
        """``listers``: per kind, the objects of every namespace as the API shows them."""
        self._listers = dict(listers)
        self.version = 0  # the resourceVersion of the latest change
        self._oldest = 0  # every change after this version is in the ring
        self._objects: dict[str, dict[str, tuple[Obj, str]]] = {k: {} for k in listers}
        self._history: deque[Change] = deque(maxlen=history)
        self._queues: set[asyncio.Queue[Change | None]] = set()
        self._pending: asyncio.Handle | None = None

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self._listers)

    def changed(self) -> None:
        """Something was committed: look again soon (once however many calls come first)
        while someone watches; otherwise the next list or watch looks."""
        if self._pending is not None or not self._queues:
            return
        try:
            self._pending = asyncio.get_running_loop().call_soon(self._sync_soon)
        except RuntimeError:  # no event loop: look now
            self.sync()

    def reconciled(self) -> None:
        """A controller pass (statuses, pods): looked at now only while someone watches;
        otherwise the next list or watch looks (a pass may come many times a second)."""
        self.changed()

    def _sync_soon(self) -> None:
        self._pending = None
        try:
            self.sync()
        except Exception:  # a broken view must not stop the controller's listeners
            log.exception("watch hub: listing failed")

    def sync(self, only: str | None = None) -> None:
        """List every kind (or ``only`` that one) again and record what changed since the
        last look."""
        for kind, lister in self._listers.items():
            if only is not None and kind != only:
                continue
            old = self._objects[kind]
            new: dict[str, tuple[Obj, str]] = {}
            for obj in lister():
                key, mark = key_of(obj), _fingerprint(obj)
                before = old.get(key)
                if before is not None and before[1] == mark:
                    version = before[0]["metadata"].get("resourceVersion", "0")
                else:
                    change = "ADDED" if before is None else "MODIFIED"
                    version = str(self._record(kind, change, key, obj, before))
                new[key] = (_stamped(obj, version), mark)
            for key, (obj, _) in old.items():
                if key not in new:
                    gone = _stamped(obj, str(self.version + 1))
                    self._record(kind, "DELETED", key, gone, (obj, ""))
            self._objects[kind] = new

    def _record(self, kind: str, type_: str, key: str, obj: Obj,
                before: tuple[Obj, str] | None) -> int:  # fmt: skip
        self.version += 1
        if len(self._history) == self._history.maxlen:
            self._oldest = self._history[0].version
        prev = before[0] if before is not None else None
        change = Change(self.version, type_, kind, key, _stamped(obj, str(self.version)), prev)
        self._history.append(change)
        for queue in list(self._queues):
            try:
                queue.put_nowait(change)
            except asyncio.QueueFull:
                self._queues.discard(queue)
                _replace_all(queue, TOO_SLOW)
        return self.version

    def items(self, kind: str) -> list[Obj]:
        """The objects of ``kind`` as last seen (call :meth:`sync` first to be current)."""
        return [obj for obj, _ in self._objects[kind].values()]

    def get(self, kind: str, key: str) -> Obj | None:
        found = self._objects[kind].get(key)
        return found[0] if found is not None else None

    def since(self, kind: str, version: int) -> list[Change]:
        """The changes of ``kind`` after ``version``, oldest first; :class:`Gone` if some
        of them are no longer kept."""
        if version < self._oldest:
            raise Gone(f"too old resource version: {version} ({self._oldest + 1})")
        return [c for c in self._history if c.version > version and c.kind == kind]

    def at(self, kind: str, version: int) -> dict[str, Obj]:
        """The objects of ``kind`` as they were at ``version`` (key -> object)."""
        snapshot = {key: obj for key, (obj, _) in self._objects[kind].items()}
        for change in reversed(self.since(kind, version)):
            if change.prev is None:
                snapshot.pop(change.key, None)
            else:
                snapshot[change.key] = change.prev
        return snapshot

    def subscribe(self) -> asyncio.Queue[Change | None]:
        """A queue of every change from now on (``None``: the hub closed)."""
        queue: asyncio.Queue[Change | None] = asyncio.Queue(BACKLOG)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Change | None]) -> None:
        self._queues.discard(queue)

    def close(self) -> None:
        """End every watch (the server is stopping)."""
        for queue in self._queues:
            try:
                queue.put_nowait(None)
            except asyncio.QueueFull:
                _replace_all(queue, None)


def _replace_all(queue: asyncio.Queue[Change | None], last: Change | None) -> None:
    """Drop what ``queue`` holds and leave ``last`` as its only item."""
    while not queue.empty():
        queue.get_nowait()
    queue.put_nowait(last)


def _stamped(obj: Obj, version: str) -> Obj:
    meta = obj.get("metadata", {})
    if meta.get("resourceVersion") == version:
        return obj
    return {**obj, "metadata": {**meta, "resourceVersion": version}}

"""The emulator's state: objects, a global resourceVersion, the event history."""

from __future__ import annotations

import asyncio
import copy
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Key = tuple[str, str, str, str]  # (group/version, plural, namespace, name); core: "v1"


def now_stamp() -> str:
    """``creationTimestamp`` now (RFC 3339, seconds, as the API server writes it)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def matches(labels: dict[str, str], selector: str) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k.strip()) == v.strip():
                return False
        elif "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            if labels.get(k.strip()) != v.strip():
                return False
        elif term.strip() not in labels:
            return False
    return True


@dataclass
class Store:
    """The objects, their event history and the helpers tests use on them."""

    objects: dict[Key, dict[str, Any]] = field(default_factory=dict)
    history: list[tuple[int, str, str, str, dict[str, Any]]] = field(default_factory=list)
    rv: int = 100
    compacted: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _epoch: int = 0

    # -- test helpers --------------------------------------------------------

    def compact(self) -> None:
        """Forget the event history: resuming a watch from before now yields 410 Gone."""
        self.history.clear()
        self.rv += 1  # every version handed out so far is now too old
        self.compacted = self.rv

    async def drop_watches(self) -> None:
        """Cut every open watch stream (a network disconnect)."""
        self._epoch += 1
        async with self.changed:
            self.changed.notify_all()

    def get(self, gv: str, plural: str, ns: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((gv, plural, ns, name))

    def list(self, gv: str, plural: str, ns: str | None = None) -> list[dict[str, Any]]:
        return [
            o
            for (g, p, n, _), o in sorted(self.objects.items())
            if g == gv and p == plural and (ns is None or n == ns)
        ]

    async def wait_for(self, predicate: Callable[[], Any], within: float = 5.0) -> Any:
        """Wait (on change notifications, no polling) until ``predicate()`` is truthy."""

        async def waiting() -> Any:
            async with self.changed:
                while not (value := predicate()):
                    await self.changed.wait()
                return value

        return await asyncio.wait_for(waiting(), within)

    async def put_status(
        self, gv: str, plural: str, ns: str, name: str, status: dict[str, Any]
    ) -> None:
        """What a kubelet/deployment controller would do: merge into ``status``."""
        obj = self.objects[(gv, plural, ns, name)]
        await self._store(
            "MODIFIED",
            (gv, plural, ns, name),
            {**obj, "status": merge_patch(obj.get("status") or {}, status)},
        )

    # -- storage -------------------------------------------------------------

    async def _store(self, kind: str, key: Key, obj: dict[str, Any]) -> dict[str, Any]:
        self.rv += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.rv)
        if kind == "DELETED":
            self.objects.pop(key, None)
        else:
            self.objects[key] = obj
        self.history.append((self.rv, key[0], key[1], kind, obj))
        async with self.changed:
            self.changed.notify_all()
        return obj

    async def _delete(self, key: Key) -> dict[str, Any]:
        obj = self.objects[key]
        uid = obj["metadata"]["uid"]
        out = await self._store("DELETED", key, obj)
        for other_key, other in list(self.objects.items()):
            refs = other["metadata"].get("ownerReferences") or []
            if other_key in self.objects and any(r.get("uid") == uid for r in refs):
                await self._delete(other_key)
        return out

    async def put(self, gv: str, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` as it is (a kubelet or another controller writing it); ADDED/MODIFIED."""
        meta = obj.setdefault("metadata", {})
        meta.setdefault("namespace", "default")
        key = (gv, plural, meta["namespace"], meta["name"])
        old = self.objects.get(key)
        meta.setdefault("uid", old["metadata"]["uid"] if old else str(uuid.uuid4()))
        stamp = old["metadata"].get("creationTimestamp") if old else None
        meta.setdefault("creationTimestamp", stamp or now_stamp())
        return await self._store("MODIFIED" if old else "ADDED", key, obj)

    async def remove(self, gv: str, plural: str, ns: str, name: str) -> None:
        """Delete an object (and, like the garbage collector, its dependents)."""
        await self._delete((gv, plural, ns, name))

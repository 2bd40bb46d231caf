"""The repository in memory, with transactions; backends subclass it to persist.

A transaction snapshots both tables on entry (shallow copies: the records are
immutable, so sharing them is safe) and restores the snapshot if an
exception leaves it. When the outermost transaction ends with writes in it,
:meth:`MemoryRepository._save` persists the whole state once; if that fails the
memory is rolled back to the outermost snapshot too.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic

from .records import (
    Record,
    StoredConfigMap,
    StoredDomainMapping,
    StoredRevision,
    StoredSecret,
    StoredService,
    StoreError,
)


class Table(Generic[Record]):
    """One kind of record in memory (implements :class:`~.repository.Records`)."""

    def __init__(
        self,
        kind: type[Record],
        order: Callable[[Record], tuple[object, ...]],
        writing: Callable[[str, bool], None],
    ) -> None:
        self.kind: type[Record] = kind
        self._order: Callable[[Record], tuple[object, ...]] = order
        self._writing = writing
        self._rows: dict[str, Record] = {}

    def get(self, key: str) -> Record | None:
        return self._rows.get(key)

    def put(self, record: Record) -> None:
        if not isinstance(record, self.kind):
            raise TypeError(f"expected a {self.kind.__name__}, got {type(record).__name__}")
        self._writing(f"put {record.key}", True)
        self._rows[record.key] = record

    def delete(self, key: str) -> bool:
        self._writing(f"delete {key}", key in self._rows)
        return self._rows.pop(key, None) is not None

    def list(self, namespace: str | None = None) -> builtins.list[Record]:
        found = [r for r in self._rows.values() if namespace in (None, r.namespace)]
        found.sort(key=self._order)
        return found


def _revision_order(r: StoredRevision) -> tuple[object, ...]:
    return (r.namespace, r.service, r.generation, r.created, r.name)


Snapshot = tuple[list[dict[str, object]], bool]


class MemoryRepository:
    """Services, revisions, ConfigMaps, Secrets and DomainMappings in memory (a ``Repository``)."""

    def __init__(self) -> None:
        self._services = Table(StoredService, lambda s: (s.key,), self._writing)
        self._revisions = Table(StoredRevision, _revision_order, self._writing)
        self._configmaps = Table(StoredConfigMap, lambda c: (c.key,), self._writing)
        self._secrets = Table(StoredSecret, lambda c: (c.key,), self._writing)
        self._mappings = Table(StoredDomainMapping, lambda m: (m.key,), self._writing)
        # One entry per open transaction: (every table's rows, dirty) on entry.
        self._stack: list[Snapshot] = []
        self._dirty = False

    def _tables(self) -> tuple[Table[Any], ...]:
        return (
            self._services,
            self._revisions,
            self._configmaps,
            self._secrets,
            self._mappings,
        )

    @property
    def services(self) -> Table[StoredService]:
        return self._services

    @property
    def revisions(self) -> Table[StoredRevision]:
        return self._revisions

    @property
    def configmaps(self) -> Table[StoredConfigMap]:
        return self._configmaps

    @property
    def secrets(self) -> Table[StoredSecret]:
        return self._secrets

    @property
    def domain_mappings(self) -> Table[StoredDomainMapping]:
        return self._mappings

    def revisions_of(self, namespace: str, service: str) -> list[StoredRevision]:
        return [r for r in self._revisions.list(namespace) if r.service == service]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._stack.append(([dict(t._rows) for t in self._tables()], self._dirty))
        try:
            yield
        except BaseException:
            self._restore(self._stack.pop())
            raise
        snapshot = self._stack.pop()
        if self._stack or not self._dirty:
            return
        try:
            self._save()
        except BaseException:
            self._restore(snapshot)
            raise
        self._dirty = False

    def _restore(self, snapshot: Snapshot) -> None:
        rows, self._dirty = snapshot
        for table, saved in zip(self._tables(), rows, strict=True):
            table._rows = saved

    def _writing(self, what: str, changes: bool) -> None:
        if not self._stack:
            raise StoreError(f"{what}: writes go inside a transaction (repo.transaction())")
        self._dirty = self._dirty or changes

    def _replace_all(
        self,
        services: builtins.list[StoredService],
        revisions: builtins.list[StoredRevision],
        configmaps: builtins.list[StoredConfigMap] = [],  # noqa: B006 (never changed)
        secrets: builtins.list[StoredSecret] = [],  # noqa: B006
        mappings: builtins.list[StoredDomainMapping] = [],  # noqa: B006
    ) -> None:
        """Set the whole state at once (a backend loading what it keeps)."""
        if self._stack:
            raise StoreError("cannot load the state inside a transaction")
        kinds: tuple[builtins.list[Any], ...] = (
            services,
            revisions,
            configmaps,
            secrets,
            mappings,
        )
        for table, records in zip(self._tables(), kinds, strict=True):
            table._rows = {r.key: r for r in records}

    def _save(self) -> None:
        """Persist the whole state (nothing to do in memory)."""

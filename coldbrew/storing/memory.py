"""The repository in memory, with transactions; backends subclass it to persist.

Each open transaction keeps an undo log: for every row it changed, the row as it
was before (None: absent). An exception leaving a transaction replays its log
backwards; a savepoint that ends well hands its log to the enclosing transaction.
So a transaction costs what it writes, not the size of the state. When the outermost
transaction ends with writes in it, :meth:`MemoryRepository._save` persists them once,
given the rows changed (``(table, key)`` pairs); if that fails the memory is rolled
back too. Revisions are indexed by service, so ``revisions_of`` reads only the
service's own.
"""

from __future__ import annotations

import builtins
import dataclasses
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

# One change of an open transaction: (table, key, the row before it).
Undo = tuple["Table[Any]", str, Any]


class Table(Generic[Record]):
    """One kind of record in memory (implements :class:`~.repository.Records`)."""

    def __init__(
        self,
        name: str,
        kind: type[Record],
        order: Callable[[Record], tuple[object, ...]],
        repo: MemoryRepository,
        group: Callable[[Record], tuple[str, str]] | None = None,
    ) -> None:
        self.name = name  # the kind's name in saved state ("services", ...)
        self.kind: type[Record] = kind
        self._order: Callable[[Record], tuple[object, ...]] = order
        self._repo = repo
        self._rows: dict[str, Record] = {}
        self._group = group
        self._groups: dict[tuple[str, str], dict[str, Record]] = {}

    def get(self, key: str) -> Record | None:
        return self._rows.get(key)

    def put(self, record: Record) -> None:
        if not isinstance(record, self.kind):
            raise TypeError(f"expected a {self.kind.__name__}, got {type(record).__name__}")
        self._repo._writing(f"put {record.key}")
        self._repo._log(self, record.key, self._rows.get(record.key))
        self._set(record.key, record)

    def delete(self, key: str) -> bool:
        self._repo._writing(f"delete {key}")
        old = self._rows.get(key)
        if old is None:
            return False
        self._repo._log(self, key, old)
        self._set(key, None)
        return True

    def list(self, namespace: str | None = None) -> builtins.list[Record]:
        found = [r for r in self._rows.values() if namespace in (None, r.namespace)]
        found.sort(key=self._order)
        return found

    def in_group(self, group: tuple[str, str]) -> builtins.list[Record]:
        """The records of one group (revisions: ``(namespace, service)``), in order."""
        found = list(self._groups.get(group, {}).values())
        found.sort(key=self._order)
        return found

    def _set(self, key: str, record: Record | None) -> None:
        """Set or remove one row, index too (no journal: put/delete and undo use it)."""
        old = self._rows.pop(key, None) if record is None else self._rows.get(key)
        if record is not None:
            self._rows[key] = record
        if self._group is None:
            return
        if old is not None:
            members = self._groups.get(self._group(old))
            if members is not None:
                members.pop(key, None)
                if not members:
                    del self._groups[self._group(old)]
        if record is not None:
            self._groups.setdefault(self._group(record), {})[key] = record

    def _load(self, records: builtins.list[Record]) -> None:
        self._rows, self._groups = {}, {}
        for record in records:
            self._set(record.key, record)


def _revision_order(r: StoredRevision) -> tuple[object, ...]:
    return (r.namespace, r.service, r.generation, r.created, r.name)


def _by_key(r: Any) -> tuple[object, ...]:
    return (r.key,)


class MemoryRepository:
    """Services, revisions, ConfigMaps, Secrets and DomainMappings in memory (a ``Repository``)."""

    def __init__(self) -> None:
        self._services = Table("services", StoredService, _by_key, self)
        self._revisions = Table(
            "revisions", StoredRevision, _revision_order, self, lambda r: (r.namespace, r.service)
        )
        self._configmaps = Table("configmaps", StoredConfigMap, _by_key, self)
        self._secrets = Table("secrets", StoredSecret, _by_key, self)
        self._mappings = Table("domain_mappings", StoredDomainMapping, _by_key, self)
        # One undo log per open transaction, outermost first.
        self._stack: list[list[Undo]] = []

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
        return self._revisions.in_group((namespace, service))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._stack.append([])
        try:
            yield
        except BaseException:
            self._undo(self._stack.pop())
            raise
        undo = self._stack.pop()
        if self._stack:
            self._stack[-1].extend(undo)  # a savepoint: the enclosing one owns its writes
            return
        if not undo:
            return
        changed = list(dict.fromkeys((table, key) for table, key, _ in undo))
        try:
            self._save(changed)
        except BaseException:
            self._undo(undo)
            raise

    @staticmethod
    def _undo(undo: list[Undo]) -> None:
        for table, key, old in reversed(undo):
            table._set(key, old)

    def _writing(self, what: str) -> None:
        if not self._stack:
            raise StoreError(f"{what}: writes go inside a transaction (repo.transaction())")

    def _log(self, table: Table[Any], key: str, old: Any) -> None:
        self._stack[-1].append((table, key, old))

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
            table._load(records)
        self._share_manifests()

    def _share_manifests(self) -> None:
        """A revision cut from its Service's current template was saved with the same
        manifest as the Service: after a load, hold it once, not twice."""
        for rec in self._services._rows.values():
            rev = self._revisions.get(f"{rec.namespace}/{rec.latest_created}")
            if rev is None or rev.manifest is rec.manifest:
                continue
            if rev.manifest == rec.manifest:
                self._revisions._set(rev.key, dataclasses.replace(rev, manifest=rec.manifest))

    def _save(self, changed: builtins.list[tuple[Table[Any], str]]) -> None:
        """Persist the rows changed (``(table, key)``; nothing to do in memory)."""

"""The repository API the control plane uses, whatever keeps the state underneath.

Keys are ``"{namespace}/{name}"`` (see docs/seams.md). Every change goes through a
transaction::

    with repo.transaction():
        repo.services.put(dataclasses.replace(svc, generation=svc.generation + 1))
        repo.revisions.put(revision)

Reads inside a transaction see its own writes. The writes become durable together,
once, when the outermost transaction ends; an exception leaving a transaction undoes
its writes (in memory too) and the stored state is as it was when it began. A nested
transaction is a savepoint: its exception undoes only its own writes. Transactions are
synchronous: never ``await`` inside one. A ``put``/``delete`` outside a transaction
raises :class:`StoreError`.

Records are immutable values (see :mod:`coldbrew.storing.records`): a change is a new
record (``dataclasses.replace``) put inside a transaction.
"""

from __future__ import annotations

import builtins
from contextlib import AbstractContextManager
from typing import Protocol, TypeVar

from .records import (
    StoredConfigMap,
    StoredDomainMapping,
    StoredRevision,
    StoredSecret,
    StoredService,
)

R = TypeVar("R")


class Records(Protocol[R]):
    """One kind of record, keyed by ``"{namespace}/{name}"``."""

    def get(self, key: str) -> R | None:
        """The record, or None."""
        ...

    def put(self, record: R) -> None:
        """Create or replace the record under its key (inside a transaction)."""
        ...

    def delete(self, key: str) -> bool:
        """Remove the record (inside a transaction); False if there was none."""
        ...

    def list(self, namespace: str | None = None) -> builtins.list[R]:
        """Every record of one namespace (None: all), in the kind's order.

        Services are ordered by key; revisions by namespace, service, generation,
        creation time, name.
        """
        ...


class Repository(Protocol):
    """Services, revisions, ConfigMaps, Secrets and DomainMappings, changed together in
    transactions."""

    @property
    def services(self) -> Records[StoredService]: ...

    @property
    def revisions(self) -> Records[StoredRevision]: ...

    @property
    def configmaps(self) -> Records[StoredConfigMap]: ...

    @property
    def secrets(self) -> Records[StoredSecret]: ...

    @property
    def domain_mappings(self) -> Records[StoredDomainMapping]: ...

    def revisions_of(self, namespace: str, service: str) -> list[StoredRevision]:
        """The service's revisions, oldest (lowest generation) first."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """One atomic unit of writes; see the module docstring."""
        ...

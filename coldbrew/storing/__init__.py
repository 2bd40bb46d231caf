"""Durable desired state: the applied services and the revisions made from them.

Callers hold a :class:`Repository` and change it only through its API::

    from coldbrew.storing import SqliteRepository

    repo = SqliteRepository(state_dir)
    repo.load()
    with repo.transaction():
        repo.services.put(service)

``records`` holds what is stored, ``repository`` the Protocol, ``memory`` the
in-memory tables and transactions, ``sqlite``/``sqlschema`` the state.db backend that
``coldbrew serve`` uses, ``jsonfile``/``jsonformat`` the state.json backend of earlier
coldbrews (read once, to migrate it, and kept for tests).
"""

from .jsonfile import JsonFileRepository
from .memory import MemoryRepository
from .records import (
    StoredConfig,
    StoredConfigMap,
    StoredDomainMapping,
    StoredRevision,
    StoredSecret,
    StoredService,
    StoreError,
)
from .repository import Records, Repository
from .sqlite import SqliteRepository

__all__ = [
    "JsonFileRepository",
    "MemoryRepository",
    "Records",
    "Repository",
    "SqliteRepository",
    "StoreError",
    "StoredConfig",
    "StoredConfigMap",
    "StoredDomainMapping",
    "StoredRevision",
    "StoredSecret",
    "StoredService",
]

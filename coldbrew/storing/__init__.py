"""Durable desired state: the applied services and the revisions made from them.

Callers hold a :class:`Repository` and change it only through its API::

    from coldbrew.storing import JsonFileRepository

    repo = JsonFileRepository(state_dir)
    repo.load()
    with repo.transaction():
        repo.services.put(service)

``records`` holds what is stored, ``repository`` the Protocol, ``memory`` the
in-memory tables and transactions, ``jsonfile``/``jsonformat`` the state.json backend.
A database backend implements :class:`Repository`; no caller changes.
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

__all__ = [
    "JsonFileRepository",
    "MemoryRepository",
    "Records",
    "Repository",
    "StoreError",
    "StoredConfig",
    "StoredConfigMap",
    "StoredDomainMapping",
    "StoredRevision",
    "StoredSecret",
    "StoredService",
]

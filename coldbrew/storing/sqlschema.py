"""The schema of ``state.db`` and its migrations.

One table per kind of record, each row ``(key, body)``: the key ``"{namespace}/{name}"``
and the record as the JSON object :mod:`.jsonformat` writes (so the decoding, and its
refusal of anything it would not write back unchanged, is shared with ``state.json``).

The schema version is the database's ``PRAGMA user_version``: 0 is a new, empty
database. ``MIGRATIONS[n]`` takes a database from version ``n`` to ``n + 1``; a database
of a version above :data:`SCHEMA_VERSION` was written by a newer coldbrew and is
refused, untouched.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from .records import StoreError

KINDS = ("services", "revisions", "configmaps", "secrets", "domain_mappings")


def _create_v1(db: sqlite3.Connection) -> None:
    for kind in KINDS:
        db.execute(f"CREATE TABLE {kind} (key TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_create_v1]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite3.Connection, path: Path) -> int:
    """The database's schema version; :class:`StoreError` if it is none of coldbrew's."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: schema version {version} was written by a newer coldbrew "
            f"(this one reads schema versions up to {SCHEMA_VERSION})"
        )
    if version == 0:
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if tables:
            raise StoreError(f"{path}: not a coldbrew state (tables but no schema version)")
    return version


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the database to :data:`SCHEMA_VERSION`, in one transaction."""
    version = schema_version(db, path)
    if version == SCHEMA_VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        for step in MIGRATIONS[version:]:
            step(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise

"""The repository kept in SQLite, ``{state_dir}/state.db`` (stdlib ``sqlite3``, WAL).

The records live in memory (:class:`~.memory.MemoryRepository`) and in the database:
the outermost transaction that wrote something writes just the rows it changed, in one
SQLite transaction (``synchronous=FULL``: durable when it returns). A write that fails
(a full disk: ``SQLITE_FULL``) is rolled back in the database and in memory alike and
raises :class:`StoreError`; nothing committed before is lost. The schema is versioned
(:mod:`.sqlschema`); a database from a newer coldbrew, or one that is not a database, is
refused naming the file and never written to.

First start over a ``state.json`` (the state of coldbrews before this one): its records
are copied into a new database (built under a temporary name, then renamed into place),
and the old file is renamed ``state.json.migrated``, kept, never deleted. A
``state.json`` that cannot be read is refused as before, naming it, and left as it is.

The database is created 0600 (its ``-wal``/``-shm`` files take its mode) in a 0700 dir.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gateway.heap import bulk_work

from .jsonfile import STATE_FILE, read_state
from .jsonformat import record_dict, record_from
from .memory import MemoryRepository, Table
from .records import StoreError
from .sqlschema import migrate

DB_FILE = "state.db"
MIGRATING = "state.db.migrating"  # a migration's database until it is complete
MIGRATED_SUFFIX = ".migrated"


class SqliteRepository(MemoryRepository):
    """The state in memory, saved row by row to ``state_dir/state.db``."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__()
        self.state_dir = state_dir
        self.path = state_dir / DB_FILE
        self.commits = 0  # durable writes so far (one per outermost transaction that wrote)
        self._db: sqlite3.Connection | None = None

    def load(self) -> None:
        """Open (or create, or migrate to) the database and read it; :class:`StoreError`
        naming the file if it cannot be read, is corrupt or is from a newer coldbrew."""
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(OSError):  # an older dir too: it may hold Secrets
            self.state_dir.chmod(0o700)
        for stale in (MIGRATING, f"{MIGRATING}-journal"):
            (self.state_dir / stale).unlink(missing_ok=True)  # a migration cut short
        if not os.path.lexists(self.path):
            old = self.state_dir / STATE_FILE
            if os.path.lexists(old):
                self._migrate_from(old)
            else:
                _create_private(self.path)
        self.close()
        self._db = self._open(self.path)
        with bulk_work(self._count("services")):  # 10,000 services: no GC passes meanwhile
            self._replace_all(*self._read())

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _open(self, path: Path) -> sqlite3.Connection:
        if not path.is_file():
            raise StoreError(f"cannot read {path}: not a file")
        try:
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read {path}: {exc}") from exc
        try:
            migrate(db, path)  # reads the version first: refuses a newer one unwritten
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
        except StoreError:
            db.close()
            raise
        except sqlite3.Error as exc:
            db.close()
            raise StoreError(f"cannot read {path}: {exc}") from exc
        return db

    def _read(self) -> tuple[list[Any], ...]:
        assert self._db is not None
        out: list[list[Any]] = []
        for table in self._tables():
            records = []
            for key, body in self._rows(table.name):
                where = f"{self.path}: {table.name}[{key!r}]"
                try:
                    item = json.loads(body)
                except (TypeError, ValueError) as exc:
                    raise StoreError(f"{where}: not JSON: {exc}") from exc
                try:
                    record = record_from(item, "", table.kind)
                except StoreError as exc:
                    raise StoreError(f"{where}{exc}") from exc
                if record.key != key:
                    raise StoreError(f"{where}: holds the record of {record.key}")
                records.append(record)
            out.append(records)
        return tuple(out)

    def _count(self, table: str) -> int:
        assert self._db is not None
        try:
            return int(self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read {self.path}: {exc}") from exc

    def _rows(self, table: str) -> Iterator[tuple[str, str]]:
        """A table's rows, read as they are used (not all bodies in memory at once)."""
        assert self._db is not None
        try:
            cursor = self._db.execute(f"SELECT key, body FROM {table} ORDER BY key")
            while batch := cursor.fetchmany(500):
                yield from batch
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read {self.path}: {exc}") from exc

    def _save(self, changed: list[tuple[Table[Any], str]]) -> None:
        if self._db is None:
            raise StoreError(f"cannot write {self.path}: the store is not open (load() it)")
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                _write_rows(self._db, changed)
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write {self.path}: {_why(exc)}") from exc
        self.commits += 1

    def _migrate_from(self, old: Path) -> None:
        """Copy ``state.json`` into a new database, then keep it as ``.migrated``."""
        state = read_state(old)  # StoreError naming it: refused, left as it is
        assert state is not None
        temp = self.state_dir / MIGRATING
        _create_private(temp)
        try:
            db = self._open(temp)
            try:
                db.execute("PRAGMA journal_mode = DELETE")  # one file to rename
                db.execute("BEGIN IMMEDIATE")
                for table, records in zip(self._tables(), state, strict=True):
                    db.executemany(
                        f"INSERT INTO {table.name} (key, body) VALUES (?, ?)",
                        [(r.key, _body(r)) for r in records],
                    )
                db.execute("COMMIT")
            finally:
                db.close()
            os.replace(temp, self.path)
            _fsync_dir(self.state_dir)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot migrate {old} to {self.path}: {_why(exc)}") from exc
        finally:
            temp.unlink(missing_ok=True)
        kept = old.with_name(old.name + MIGRATED_SUFFIX)
        n = 1
        while os.path.lexists(kept):  # never overwrite an earlier one either
            kept, n = old.with_name(f"{old.name}{MIGRATED_SUFFIX}.{n}"), n + 1
        os.rename(old, kept)
        _fsync_dir(self.state_dir)


def _write_rows(db: sqlite3.Connection, changed: list[tuple[Table[Any], str]]) -> None:
    for table, key in changed:
        record = table.get(key)
        if record is None:
            db.execute(f"DELETE FROM {table.name} WHERE key = ?", (key,))
        else:
            db.execute(
                f"INSERT OR REPLACE INTO {table.name} (key, body) VALUES (?, ?)",
                (key, _body(record)),
            )


def _body(record: Any) -> str:
    return json.dumps(record_dict(record), sort_keys=True, separators=(",", ":"))


def _why(exc: sqlite3.Error) -> str:
    full = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    if full or str(exc) == "database or disk is full":  # SQLITE_FULL's own message
        return f"No space left on device ({exc})"
    return str(exc)


def _create_private(path: Path) -> None:
    """An empty file only its owner may read (SQLite makes its journals the same mode)."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError as exc:
        raise StoreError(f"cannot create {path}: {exc}") from exc


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

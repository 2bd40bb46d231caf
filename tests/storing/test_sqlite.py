"""The state.db backend: durable commits, rollback, restart, migration, schema versions."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from coldbrew.storing import JsonFileRepository, SqliteRepository, StoreError
from coldbrew.storing.sqlschema import SCHEMA_VERSION

from .conftest import revision, service

# A state.json written by the JsonFileRepository of the coldbrew before state.db (format
# 1): services, revisions (one with last_active), a ConfigMap, a Secret, a DomainMapping.
FIXTURE = Path(__file__).parent.parent / "data" / "storing" / "state-json-format-1.json"


def opened(state_dir: Path) -> SqliteRepository:
    repo = SqliteRepository(state_dir)
    repo.load()
    return repo


def everything(repo: JsonFileRepository | SqliteRepository) -> tuple[list[object], ...]:
    return (
        list(repo.services.list()),
        list(repo.revisions.list()),
        list(repo.configmaps.list()),
        list(repo.secrets.list()),
        list(repo.domain_mappings.list()),
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_restart_loses_no_committed_record(tmp_path: Path) -> None:
    repo = opened(tmp_path / "state")
    with repo.transaction():
        repo.services.put(service("coffee"))
        repo.revisions.put(revision("coffee", 1))
    with repo.transaction():
        repo.services.put(dataclasses.replace(service("coffee"), generation=2))
        repo.services.put(service("tea"))
        repo.revisions.delete("default/coffee-00001")
    with pytest.raises(ValueError), repo.transaction():
        repo.services.put(service("mocha"))
        raise ValueError("rolled back")
    want = everything(repo)
    repo.close()  # and a second process (no close: what WAL holds is durable too)
    assert everything(opened(tmp_path / "state")) == want
    assert [s.name for s in want[0]] == ["coffee", "tea"] and want[1] == []


def test_one_commit_per_transaction_and_none_without_writes(tmp_path: Path) -> None:
    repo = opened(tmp_path)
    with repo.transaction():
        for name in ("a", "b", "c"):
            with repo.transaction():  # savepoints inside: still one commit
                repo.services.put(service(name))
    assert repo.commits == 1
    with repo.transaction():
        assert repo.services.delete("default/none") is False
        with pytest.raises(ValueError), repo.transaction():
            repo.services.put(service("d"))
            raise ValueError("savepoint undone")
    assert repo.commits == 1  # nothing left to write
    assert [s.name for s in opened(tmp_path).services.list()] == ["a", "b", "c"]


def test_a_full_database_refuses_the_write_and_loses_nothing(tmp_path: Path) -> None:
    repo = opened(tmp_path)
    with repo.transaction():
        repo.services.put(service("coffee"))
    before = everything(repo)
    assert repo._db is not None
    pages = repo._db.execute("PRAGMA page_count").fetchone()[0]
    repo._db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "disk full"
    big = dataclasses.replace(service("tea"), manifest={"data": "x" * 100_000})
    with pytest.raises(StoreError, match="No space left on device") as caught, repo.transaction():
        repo.services.put(big)
    assert str(repo.path) in str(caught.value)
    assert everything(repo) == before  # memory rolled back too
    repo._db.execute("PRAGMA max_page_count = 1073741823")
    with repo.transaction():
        repo.services.put(big)
    assert [s.name for s in opened(tmp_path).services.list()] == ["coffee", "tea"]


def test_the_database_is_the_owners_only(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    state.chmod(0o755)
    repo = opened(state)
    with repo.transaction():
        repo.secrets.put(dataclasses.replace(_secret(), uid="u"))
    assert mode(state) == 0o700
    files = [p for p in state.iterdir() if p.name.startswith("state.db")]
    assert {p.name for p in files} >= {"state.db", "state.db-wal"}
    assert all(mode(p) == 0o600 for p in files), {p.name: oct(mode(p)) for p in files}


def _secret() -> object:
    from coldbrew.storing import StoredSecret

    manifest = {"kind": "Secret", "data": {"password": "czNjcmV0"}}
    return StoredSecret("default", "db", manifest, "uid", 1764300000.0)


def test_a_state_json_is_migrated_losing_nothing_and_kept(tmp_path: Path) -> None:
    shutil.copy(FIXTURE, tmp_path / "state.json")
    before = everything(_json_repo(tmp_path))
    assert all(before), "the fixture holds every kind"
    repo = opened(tmp_path)
    assert everything(repo) == before
    assert not (tmp_path / "state.json").exists()
    assert (tmp_path / "state.json.migrated").read_bytes() == FIXTURE.read_bytes()
    assert mode(tmp_path / "state.db") == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if "migrating" in p.name) == []
    repo.close()
    assert everything(opened(tmp_path)) == before  # a second start reads the database


def _json_repo(state_dir: Path) -> JsonFileRepository:
    repo = JsonFileRepository(state_dir)
    repo.load()
    return repo


def test_a_migration_cut_short_is_done_again(tmp_path: Path) -> None:
    shutil.copy(FIXTURE, tmp_path / "state.json")
    (tmp_path / "state.db.migrating").write_bytes(b"half a database")
    before = everything(_json_repo(tmp_path))
    assert everything(opened(tmp_path)) == before
    assert not (tmp_path / "state.db.migrating").exists()


def test_an_earlier_migrated_file_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "state.json.migrated").write_text("kept")
    shutil.copy(FIXTURE, tmp_path / "state.json")
    opened(tmp_path)
    assert (tmp_path / "state.json.migrated").read_text() == "kept"
    assert (tmp_path / "state.json.migrated.1").read_bytes() == FIXTURE.read_bytes()


def test_a_bad_state_json_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text('{"version": 1, "services": [')
    with pytest.raises(StoreError, match=r"state\.json: not JSON"):
        opened(tmp_path)
    assert (tmp_path / "state.json").read_text() == '{"version": 1, "services": ['
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_a_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    repo = opened(tmp_path)
    with repo.transaction():
        repo.services.put(service("coffee"))
    repo.close()
    db = sqlite3.connect(tmp_path / "state.db")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    before = (tmp_path / "state.db").read_bytes()
    with pytest.raises(StoreError, match="written by a newer coldbrew") as caught:
        opened(tmp_path)
    assert str(tmp_path / "state.db") in str(caught.value)
    assert f"schema version {SCHEMA_VERSION + 1}" in str(caught.value)
    assert (tmp_path / "state.db").read_bytes() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe not a database at all, but long enough to have a header" * 4, "not a database"),
        (None, "not a file"),
    ],
    ids=["garbage", "a-directory"],
)
def test_a_corrupt_or_unreadable_database_is_refused_untouched(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "state.db"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(StoreError, match=message) as caught:
        opened(tmp_path)
    assert str(path) in str(caught.value)
    if content is not None:
        assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db"]


def test_a_bad_row_is_refused_naming_it(tmp_path: Path) -> None:
    repo = opened(tmp_path)
    with repo.transaction():
        repo.services.put(service("coffee"))
    repo.close()
    db = sqlite3.connect(tmp_path / "state.db")
    body = json.loads(db.execute("SELECT body FROM services").fetchone()[0])
    body["generation"] = "two"
    db.execute("UPDATE services SET body = ?", (json.dumps(body),))
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=r"services\['default/coffee'\]\.generation: expected"):
        opened(tmp_path)


def test_a_database_of_another_program_is_refused(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "state.db")
    db.execute("CREATE TABLE other (x)")
    db.close()
    with pytest.raises(StoreError, match="not a coldbrew state"):
        opened(tmp_path)
    assert os.path.exists(tmp_path / "state.db")

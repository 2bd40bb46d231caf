"""ConfigMaps and Secrets in the state file: durable, private, rolled back with transactions."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from coldbrew.storing import JsonFileRepository, StoredConfigMap, StoredSecret, StoreError


def secret(name: str = "db") -> StoredSecret:
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "data": {"pw": "cHc="},
        "type": "Opaque",
    }
    return StoredSecret("default", name, manifest, "uid", 1.0)


def test_config_records_survive_a_reload_in_a_private_file(tmp_path: Path) -> None:
    repo = JsonFileRepository(tmp_path / "state")
    repo.load()
    with repo.transaction():
        repo.secrets.put(secret())
        repo.configmaps.put(StoredConfigMap("default", "web", {"data": {"a": "b"}}, "u2", 2.0))
    assert stat.S_IMODE(repo.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(repo.state_dir.stat().st_mode) == 0o700
    again = JsonFileRepository(tmp_path / "state")
    again.load()
    assert again.secrets.get("default/db") == secret()
    assert [c.name for c in again.configmaps.list("default")] == ["web"]
    assert again.configmaps.get("default/db") is None  # the kinds do not mix


def test_a_state_without_them_keeps_its_old_shape(tmp_path: Path) -> None:
    repo = JsonFileRepository(tmp_path)
    repo.load()
    with repo.transaction():
        repo.secrets.put(secret())
    with repo.transaction():
        repo.secrets.delete("default/db")
    assert json.loads(repo.path.read_text()) == {"version": 1, "services": [], "revisions": []}


def test_a_failed_transaction_drops_config_writes(tmp_path: Path) -> None:
    repo = JsonFileRepository(tmp_path)
    repo.load()
    with pytest.raises(RuntimeError), repo.transaction():
        repo.secrets.put(secret())
        raise RuntimeError("boom")
    assert repo.secrets.list() == []
    with pytest.raises(TypeError), repo.transaction():
        repo.configmaps.put(secret())  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        repo.secrets.put(secret())  # outside a transaction

"""The state.json backend: one durable write per transaction, reload, old and bad files."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from coldbrew.storing import JsonFileRepository, StoredRevision, StoredService, StoreError
from coldbrew.storing.jsonformat import FORMAT_VERSION

from .conftest import Renames, revision, service

# A state.json as the previous version (coldbrew/store.py, format 1) wrote it.
PREVIOUS_VERSION_FILE = """{
 "revisions": [
  {
   "created": 1764300001.5,
   "ever_ready": true,
   "generation": 1,
   "labels": {},
   "manifest": {
    "apiVersion": "serving.knative.dev/v1",
    "kind": "Service",
    "metadata": {
     "name": "coffee",
     "namespace": "default"
    },
    "spec": {
     "template": {
      "spec": {
       "containers": [
        {
         "image": "example.net/coffee:1"
        }
       ]
      }
     }
    }
   },
   "name": "coffee-00001",
   "namespace": "default",
   "service": "coffee",
   "template_hash": "3f1c",
   "uid": "6a1e0c1e-rev"
  }
 ],
 "services": [
  {
   "created": 1764300000.25,
   "generation": 1,
   "latest_created": "coffee-00001",
   "latest_ready": "coffee-00001",
   "manifest": {
    "apiVersion": "serving.knative.dev/v1",
    "kind": "Service",
    "metadata": {
     "name": "coffee",
     "namespace": "default"
    },
    "spec": {
     "template": {
      "spec": {
       "containers": [
        {
         "image": "example.net/coffee:1"
        }
       ]
      }
     }
    }
   },
   "name": "coffee",
   "namespace": "default",
   "revision_counter": 1,
   "uid": "6a1e0c1e-svc"
  }
 ],
 "version": 1
}"""


def opened(state_dir: Path) -> JsonFileRepository:
    repo = JsonFileRepository(state_dir)
    repo.load()
    return repo


def test_a_file_of_the_previous_version_loads_and_is_written_back_unchanged(
    tmp_path: Path,
) -> None:
    (tmp_path / "state.json").write_text(PREVIOUS_VERSION_FILE)
    repo = opened(tmp_path)
    svc = repo.services.get("default/coffee")
    assert svc == StoredService(
        namespace="default",
        name="coffee",
        manifest=json.loads(PREVIOUS_VERSION_FILE)["services"][0]["manifest"],
        generation=1,
        uid="6a1e0c1e-svc",
        created=1764300000.25,
        latest_created="coffee-00001",
        latest_ready="coffee-00001",
        revision_counter=1,
    )
    [rev] = repo.revisions_of("default", "coffee")
    assert isinstance(rev, StoredRevision)
    assert (rev.name, rev.ever_ready, rev.template_hash, rev.created) == (
        "coffee-00001",
        True,
        "3f1c",
        1764300001.5,
    )
    with repo.transaction():  # a change and its undoing: the file is rewritten
        repo.services.put(service("tea"))
        repo.services.delete("default/tea")
    assert (tmp_path / "state.json").read_text() == PREVIOUS_VERSION_FILE


def test_a_restart_loses_no_committed_record(tmp_path: Path) -> None:
    repo = opened(tmp_path)
    with repo.transaction():
        repo.services.put(service("coffee"))
        repo.revisions.put(revision("coffee", 1))
    with repo.transaction():
        repo.services.put(service("tea"))
        repo.revisions.put(revision("tea", 1, namespace="default"))
    with repo.transaction():
        repo.services.delete("default/tea")
        repo.revisions.delete("default/tea-00001")
    again = opened(tmp_path)
    assert again.services.list() == [service("coffee")]
    assert again.revisions.list() == [revision("coffee", 1)]


def test_one_rename_per_transaction(tmp_path: Path, renames: Renames) -> None:
    repo = opened(tmp_path)
    with repo.transaction():
        repo.services.put(service("coffee"))
        for generation in range(1, 6):
            repo.revisions.put(revision("coffee", generation))
    assert renames.count == 1
    with repo.transaction(), repo.transaction():  # nested: saved once, at the outer end
        repo.services.put(service("tea"))
        repo.services.put(service("mocha"))
    assert renames.count == 2
    with repo.transaction():  # reads only: nothing to write
        repo.services.list()
        repo.services.delete("default/never-was")
    assert renames.count == 2
    with pytest.raises(ValueError), repo.transaction():  # rolled back: nothing written
        repo.services.put(service("latte"))
        raise ValueError
    assert renames.count == 2
    assert [s.name for s in opened(tmp_path).services.list()] == ["coffee", "mocha", "tea"]


def test_a_failed_write_changes_neither_file_nor_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = opened(tmp_path)
    with repo.transaction():
        repo.services.put(service("coffee"))
    before = (tmp_path / "state.json").read_bytes()

    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    failing = pytest.raises(StoreError, match=r"cannot write .*state\.json: .*No space left")
    with failing, repo.transaction():
        repo.services.put(service("coffee", generation=2))
        repo.services.put(service("tea"))
    monkeypatch.undo()
    assert repo.services.list() == [service("coffee")]
    assert (tmp_path / "state.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]  # no temp file left
    with repo.transaction():  # and the repository keeps working
        repo.services.put(service("tea"))
    assert [s.name for s in opened(tmp_path).services.list()] == ["coffee", "tea"]


def test_no_file_is_an_empty_state_and_a_stale_temp_file_is_removed(tmp_path: Path) -> None:
    state = tmp_path / "new" / "state"
    repo = opened(state)
    assert repo.services.list() == [] and repo.revisions.list() == []
    assert not (state / "state.json").exists()  # loading writes nothing
    (state / ".state-abc123").write_text('{"version": 1, "serv')  # a save cut short
    opened(state)
    assert list(state.iterdir()) == []


def test_loading_inside_a_transaction_is_refused(tmp_path: Path) -> None:
    repo = opened(tmp_path)
    with pytest.raises(StoreError, match="inside a transaction"), repo.transaction():
        repo.load()


def previous() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PREVIOUS_VERSION_FILE)
    return data


def edited(change: Any) -> str:
    data = previous()
    change(data)
    return json.dumps(data)


BAD_FILES: list[tuple[str, str, str]] = [
    ("empty", "", "not JSON"),
    ("torn", PREVIOUS_VERSION_FILE[:200], "not JSON"),
    ("not-an-object", "[1, 2]", "expected a JSON object"),
    ("no-version", edited(lambda d: d.pop("version")), "version: expected a format number"),
    (
        "future-version",
        edited(lambda d: d.update(version=FORMAT_VERSION + 1)),
        f"format {FORMAT_VERSION + 1} was written by a newer coldbrew",
    ),
    ("unknown-top-field", edited(lambda d: d.update(routes=[])), "routes: unknown field"),
    ("services-not-list", edited(lambda d: d.update(services={})), "services: expected a list"),
    (
        "record-not-object",
        edited(lambda d: d["revisions"].append("coffee-00002")),
        r"revisions\[1\]: expected an object",
    ),
    (
        "missing-field",
        edited(lambda d: d["services"][0].pop("uid")),
        r"services\[0\]\.uid: missing",
    ),
    (
        "unknown-field",
        edited(lambda d: d["revisions"][0].update(traffic=50)),
        r"revisions\[0\]\.traffic: unknown field",
    ),
    (
        "wrong-type",
        edited(lambda d: d["services"][0].update(generation="1")),
        r"services\[0\]\.generation: expected an integer, got '1'",
    ),
    (
        "bool-for-int",
        edited(lambda d: d["revisions"][0].update(generation=True)),
        r"revisions\[0\]\.generation: expected an integer, got True",
    ),
    (
        "int-for-bool",
        edited(lambda d: d["revisions"][0].update(ever_ready=1)),
        r"revisions\[0\]\.ever_ready: expected true or false, got 1",
    ),
    (
        "label-not-string",
        edited(lambda d: d["revisions"][0].update(labels={"a": 1})),
        r"revisions\[0\]\.labels: expected string values",
    ),
    (
        "duplicate",
        edited(lambda d: d["services"].append(d["services"][0])),
        r"services\[1\]: a second record for default/coffee",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), [b[1:] for b in BAD_FILES], ids=[b[0] for b in BAD_FILES]
)
def test_a_bad_state_file_is_refused_naming_what_is_wrong(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "state.json"
    path.write_text(text)
    repo = JsonFileRepository(tmp_path)
    with pytest.raises(StoreError, match=message) as err:
        repo.load()
    assert str(path) in str(err.value)
    assert path.read_text() == text  # left as it was, for the user to look at


def test_optional_fields_may_be_missing(tmp_path: Path) -> None:
    def drop(d: dict[str, Any]) -> None:
        for key in ("latest_created", "latest_ready", "revision_counter"):
            d["services"][0].pop(key)
        for key in ("ever_ready", "labels"):
            d["revisions"][0].pop(key)

    (tmp_path / "state.json").write_text(edited(drop))
    repo = opened(tmp_path)
    svc = repo.services.get("default/coffee")
    rev = repo.revisions.get("default/coffee-00001")
    assert svc is not None and rev is not None
    assert (svc.latest_created, svc.latest_ready, svc.revision_counter) == (None, None, 0)
    assert (rev.ever_ready, rev.labels) == (False, {})


def test_last_active_round_trips_and_null_is_left_out(tmp_path: Path) -> None:
    repo = opened(tmp_path)
    with repo.transaction():
        repo.services.put(service("coffee"))
        repo.revisions.put(dataclasses.replace(revision("coffee", 1), last_active=1764300100.5))
        repo.revisions.put(revision("coffee", 2))
    doc = json.loads((tmp_path / "state.json").read_text())
    assert [r.get("last_active", "absent") for r in doc["revisions"]] == [1764300100.5, "absent"]
    again = opened(tmp_path)
    assert [r.last_active for r in again.revisions_of("default", "coffee")] == [1764300100.5, None]

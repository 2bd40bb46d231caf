"""The repository API, the same for every backend: records, transactions, copies."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from coldbrew.storing import (
    JsonFileRepository,
    MemoryRepository,
    Records,
    Repository,
    SqliteRepository,
    StoredRevision,
    StoredService,
    StoreError,
)
from coldbrew.storing.frozen import thaw

from .conftest import manifest, revision, service


def memory(tmp_path: Path) -> MemoryRepository:
    return MemoryRepository()


def json_file(tmp_path: Path) -> MemoryRepository:
    repo = JsonFileRepository(tmp_path / "state")
    repo.load()
    return repo


def sqlite_db(tmp_path: Path) -> MemoryRepository:
    repo = SqliteRepository(tmp_path / "state")
    repo.load()
    return repo


@pytest.fixture(params=[memory, json_file, sqlite_db], ids=["memory", "json-file", "sqlite"])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> MemoryRepository:
    make: Callable[[Path], MemoryRepository] = request.param
    return make(tmp_path)


def test_backends_implement_the_protocol(repo: MemoryRepository) -> None:
    typed: Repository = repo  # checked by mypy; the asserts check it at run time
    assert callable(typed.transaction) and callable(typed.revisions_of)


# Per kind: (the kind's records, two records in one namespace, one in another, a change).
KINDS: list[tuple[str, Callable[[], list[Any]], Callable[[Any], Any]]] = [
    (
        "services",
        lambda: [service("coffee"), service("tea"), service("coffee", namespace="shop")],
        lambda r: dataclasses.replace(r, generation=r.generation + 1),
    ),
    (
        "revisions",
        lambda: [revision("coffee", 1), revision("coffee", 2), revision("coffee", 1, "shop")],
        lambda r: dataclasses.replace(r, ever_ready=True),
    ),
]


@pytest.mark.parametrize(("kind", "make", "change"), KINDS, ids=[k[0] for k in KINDS])
def test_get_put_list_delete(
    repo: MemoryRepository,
    kind: str,
    make: Callable[[], list[Any]],
    change: Callable[[Any], Any],
) -> None:
    table: Records[Any] = getattr(repo, kind)
    first, second, other = make()
    assert table.get(first.key) is None
    assert table.list() == []
    with repo.transaction():
        for record in (other, second, first):
            table.put(record)
    assert table.get(first.key) == first
    assert table.list() == [first, second, other]
    assert table.list("default") == [first, second]
    assert table.list("shop") == [other]
    assert table.list("nowhere") == []

    changed = change(first)
    with repo.transaction():
        table.put(changed)  # replaces the record under the same key
    assert table.get(first.key) == changed
    assert len(table.list()) == 3

    with repo.transaction():
        assert table.delete(first.key) is True
        assert table.delete(first.key) is False
        assert table.delete("default/never-was") is False
    assert table.get(first.key) is None
    assert [r.key for r in table.list()] == sorted([second.key, other.key])


def test_service_order_is_by_key(repo: MemoryRepository) -> None:
    with repo.transaction():
        for name in ["tea", "coffee", "mocha"]:
            repo.services.put(service(name))
        repo.services.put(service("americano", namespace="shop"))
    keys = [s.key for s in repo.services.list()]
    assert keys == ["default/coffee", "default/mocha", "default/tea", "shop/americano"]


def test_revisions_of_a_service_oldest_first(repo: MemoryRepository) -> None:
    with repo.transaction():
        for rev in [revision("coffee", 3), revision("tea", 1), revision("coffee", 1)]:
            repo.revisions.put(rev)
        repo.revisions.put(revision("coffee", 2, namespace="shop"))
        # Same generation (a bring-your-own name): by creation time.
        byo = dataclasses.replace(revision("coffee", 3, created=1.0), name="coffee-v1")
        repo.revisions.put(byo)
    names = [r.name for r in repo.revisions_of("default", "coffee")]
    assert names == ["coffee-00001", "coffee-v1", "coffee-00003"]
    assert [r.name for r in repo.revisions_of("shop", "coffee")] == ["coffee-00002"]
    assert repo.revisions_of("default", "latte") == []


def test_put_refuses_the_other_kind(repo: MemoryRepository) -> None:
    with repo.transaction(), pytest.raises(TypeError, match="expected a StoredService"):
        repo.services.put(revision("coffee", 1))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "write",
    [
        lambda repo: repo.services.put(service("coffee")),
        lambda repo: repo.services.delete("default/coffee"),
        lambda repo: repo.revisions.put(revision("coffee", 1)),
        lambda repo: repo.revisions.delete("default/coffee-00001"),
    ],
    ids=["put-service", "delete-service", "put-revision", "delete-revision"],
)
def test_writes_outside_a_transaction_are_refused(
    repo: MemoryRepository, write: Callable[[MemoryRepository], object]
) -> None:
    with pytest.raises(StoreError, match="inside a transaction"):
        write(repo)
    assert repo.services.list() == [] and repo.revisions.list() == []


def test_a_transaction_sees_its_own_writes(repo: MemoryRepository) -> None:
    with repo.transaction():
        repo.services.put(service("coffee"))
        repo.revisions.put(revision("coffee", 1))
        assert repo.services.get("default/coffee") == service("coffee")
        assert [r.name for r in repo.revisions_of("default", "coffee")] == ["coffee-00001"]


def test_an_exception_rolls_every_write_back(repo: MemoryRepository) -> None:
    with repo.transaction():
        repo.services.put(service("coffee"))
        repo.revisions.put(revision("coffee", 1))
    before = (repo.services.list(), repo.revisions.list())

    with pytest.raises(ValueError, match="boom"), repo.transaction():
        repo.services.put(service("coffee", generation=2))
        repo.services.put(service("tea"))
        repo.revisions.put(revision("coffee", 2))
        repo.revisions.delete("default/coffee-00001")
        raise ValueError("boom")
    assert (repo.services.list(), repo.revisions.list()) == before


def test_a_nested_transaction_is_a_savepoint(repo: MemoryRepository) -> None:
    with repo.transaction():
        repo.services.put(service("coffee"))
        with pytest.raises(ValueError), repo.transaction():
            repo.services.put(service("tea"))
            raise ValueError("inner only")
        with repo.transaction():
            repo.services.put(service("mocha"))
    assert [s.name for s in repo.services.list()] == ["coffee", "mocha"]


MUTATIONS: list[tuple[str, Callable[[Any], object]]] = [
    ("set-key", lambda r: r.manifest["metadata"].update(name="hacked")),
    ("add-key", lambda r: r.manifest.setdefault("status", {})),
    ("delete-key", lambda r: r.manifest.pop("spec")),
    ("list-append", lambda r: r.manifest["spec"]["template"]["spec"]["containers"].append(1)),
    ("list-item", lambda r: r.manifest["spec"]["template"]["spec"]["containers"].__setitem__(0, 1)),
    ("labels", lambda r: r.labels.update(team="hacked")),
    ("field", lambda r: setattr(r, "generation", 7)),
]


@pytest.mark.parametrize("mutate", [m[1] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS])
def test_records_returned_are_read_only(
    repo: MemoryRepository, mutate: Callable[[StoredRevision], object]
) -> None:
    with repo.transaction():
        repo.revisions.put(revision("coffee", 1))
    got = [
        repo.revisions.get("default/coffee-00001"),
        repo.revisions.list()[0],
        repo.revisions_of("default", "coffee")[0],
    ]
    for record in got:
        assert record is not None
        with pytest.raises((TypeError, dataclasses.FrozenInstanceError)):
            mutate(record)
    assert repo.revisions.get("default/coffee-00001") == revision("coffee", 1)


def test_a_record_does_not_alias_the_callers_dicts(repo: MemoryRepository) -> None:
    mine = manifest("coffee")
    labels = {"team": "cafe"}
    rec = dataclasses.replace(revision("coffee", 1), manifest=mine, labels=labels)
    with repo.transaction():
        repo.revisions.put(rec)
    mine["metadata"]["name"] = "hacked"
    mine["spec"]["template"]["spec"]["containers"].append({"image": "x"})
    labels["team"] = "hacked"
    got = repo.revisions.get(rec.key)
    assert got is not None
    assert got.manifest == manifest("coffee") and got.labels == {"team": "cafe"}


def test_a_thawed_manifest_is_a_plain_copy_to_edit() -> None:
    rec = service("coffee")
    edited = thaw(rec.manifest)
    assert type(edited) is dict and edited == manifest("coffee")
    containers = edited["spec"]["template"]["spec"]["containers"]
    assert type(containers) is list
    containers[0]["image"] = "img:2"
    assert rec.manifest == manifest("coffee")
    assert dataclasses.replace(rec, manifest=edited).manifest["spec"] != rec.manifest["spec"]
    assert copy.deepcopy(rec.manifest) is rec.manifest  # immutable: nothing to copy


def test_records_are_frozen() -> None:
    rec = service("coffee")
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.generation = 2  # type: ignore[misc]
    assert isinstance(rec, StoredService)

"""The controller and the control API against the real state file, in one platform.

Every apply and delete is one transaction: one commit to state.db, or none when
nothing changed or the change was refused; a save that fails leaves the database, the
repository and the controller as they were, and the control API answers 500.
"""

from __future__ import annotations

import asyncio
import copy
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from coldbrew.api import ValidationError
from coldbrew.serving import Platform, ServeOptions
from coldbrew.storing import StoreError, sqlite
from tests.e2e.harness import EXAMPLES, free_port

COFFEE = "default/coffee"
SERVICES = "/apis/serving.knative.dev/v1/namespaces/default/services"


async def until(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        await asyncio.sleep(0.05)


def coffee(image_tag: str | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    obj["metadata"]["namespace"] = "default"
    if image_tag is not None:
        env = obj["spec"]["template"]["spec"]["containers"][0]["env"]
        env[0]["value"] = image_tag
    return obj


def on_disk(state_dir: Path) -> dict[str, Any]:
    """What state.db holds, read by a connection of its own: records by kind, key order."""
    db = sqlite3.connect(f"file:{state_dir / 'state.db'}?mode=ro", uri=True)
    try:
        return {
            kind: [
                json.loads(body) for (body,) in db.execute(f"SELECT body FROM {kind} ORDER BY key")
            ]
            for kind in ("services", "revisions")
        }
    finally:
        db.close()


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    opts = ServeOptions(port=free_port(), admin_port=free_port(), state_dir=tmp_path / "state")
    platform = Platform(opts)
    await platform.start()
    try:
        yield platform
    finally:
        await platform.stop()


async def test_apply_and_delete_write_once_each(platform: Platform) -> None:
    state_dir = platform.opts.state_dir
    commits = platform.store.commits
    result, rec = platform.controller.apply(coffee())
    assert (result, rec.generation, rec.latest_created) == ("created", 1, "coffee-00001")
    assert platform.store.commits == commits + 1
    assert [s["name"] for s in on_disk(state_dir)["services"]] == ["coffee"]

    assert platform.controller.apply(coffee())[0] == "unchanged"
    broken = coffee()
    broken["spec"]["template"]["spec"]["containerConcurrency"] = 1001
    with pytest.raises(ValidationError):
        platform.controller.apply(broken)
    assert platform.store.commits == commits + 1

    # The revision turning ready is saved by the reconcile pass, in its own write.
    def ready_on_disk() -> bool:
        revs = on_disk(state_dir)["revisions"]
        return bool(revs) and revs[0]["ever_ready"] is True

    await until(ready_on_disk, 15, "coffee-00001 ready in state.db")
    assert on_disk(state_dir)["services"][0]["latest_ready"] == "coffee-00001"

    written = platform.store.commits
    result, rec = platform.controller.apply(coffee("espresso"))
    assert (result, rec.generation, rec.latest_created) == ("configured", 2, "coffee-00002")
    assert platform.store.commits == written + 1
    assert [r["name"] for r in on_disk(state_dir)["revisions"]] == ["coffee-00001", "coffee-00002"]

    written = platform.store.commits
    assert platform.controller.delete("default", "coffee") is True
    assert platform.store.commits == written + 1
    assert on_disk(state_dir) == {"services": [], "revisions": []}
    assert platform.controller.delete("default", "coffee") is False
    assert platform.store.commits == written + 1


async def test_a_failed_save_applies_nothing(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    state_dir = platform.opts.state_dir
    platform.controller.apply(coffee())
    before = on_disk(state_dir)
    view = platform.controller.views[COFFEE]
    service_before = view.service
    repo = platform.store
    stored = (repo.services.list(), repo.revisions.list())

    def no_space(*args: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")  # SQLITE_FULL's words

    monkeypatch.setattr(sqlite, "_write_rows", no_space)
    with pytest.raises(StoreError, match="No space left"):
        platform.controller.apply(coffee("espresso"))
    with pytest.raises(StoreError, match="No space left"):
        platform.controller.delete("default", "coffee")

    url = f"{platform.admin_url}{SERVICES}/coffee"
    async with httpx.AsyncClient() as http:
        put = await http.put(url, json=coffee("latte"))
        delete = await http.delete(url)
    assert put.status_code == 500 and "No space left" in put.json()["message"]
    assert delete.status_code == 500 and "No space left" in delete.json()["message"]
    monkeypatch.undo()

    assert on_disk(state_dir) == before
    assert (repo.services.list(), repo.revisions.list()) == stored
    assert platform.controller.views[COFFEE].service == service_before
    # The next apply works and numbers its revision as if the failures never happened.
    assert platform.controller.apply(coffee("espresso"))[1].latest_created == "coffee-00002"


async def test_a_restart_brings_back_what_was_applied(tmp_path: Path) -> None:
    opts = ServeOptions(port=free_port(), admin_port=free_port(), state_dir=tmp_path / "state")
    first = Platform(opts)
    await first.start()
    try:
        first.controller.apply(coffee())
        tea = copy.deepcopy(coffee())
        tea["metadata"]["name"] = "tea"
        first.controller.apply(tea)
        first.controller.apply(coffee("espresso"))
    finally:
        await first.stop()
    # Taken after the stop: a revision that turned ready meanwhile is in it too.
    stored = (first.store.services.list(), first.store.revisions.list())
    assert [s.name for s in stored[0]] == ["coffee", "tea"]
    again = Platform(opts)
    assert (again.store.services.list(), again.store.revisions.list()) == stored
    assert [r.name for r in again.store.revisions_of("default", "coffee")] == [
        "coffee-00001",
        "coffee-00002",
    ]

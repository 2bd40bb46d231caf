"""Many Services in one ``coldbrew apply -f``: batched to the control API, one store
transaction per batch, every one stored, listed, and back after a restart.

The timing of this path is a benchmark (``python loadtest/scale.py --only apply``),
not asserted here.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from coldbrew.api import ValidationError
from coldbrew.serving import Platform, ServeOptions
from coldbrew.storing import StoreError, sqlite
from loadtest.scale import CONFIG, services_yaml
from tests.e2e.harness import free_port

SERVICES = "/apis/serving.knative.dev/v1/namespaces/default/services"
N = 1000


def options(tmp_path: Path) -> ServeOptions:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)  # initial-scale 0 allowed, no reserve: no pod starts
    state = tmp_path / "state"
    return ServeOptions(port=free_port(), admin_port=free_port(), state_dir=state, config=config)


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    platform = Platform(options(tmp_path))
    await platform.start()
    try:
        yield platform
    finally:
        await platform.stop()


async def cli_apply(platform: Platform, text: str) -> tuple[int, str, str]:
    """``coldbrew apply -f -`` in its own process, the platform serving meanwhile."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "coldbrew", "apply", "-f", "-", "--server", platform.admin_url,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(text.encode()), 300)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def service(name: str, **spec: Any) -> dict[str, Any]:
    container = {"image": "registry.example.com/cafe/coffee:1"}
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"template": {"spec": {"containers": [container], **spec}}},
    }


async def test_a_thousand_services_in_one_apply_are_all_stored_and_listed(
    tmp_path: Path, platform: Platform
) -> None:
    commits = platform.store.commits
    code, out, err = await cli_apply(platform, services_yaml(N))
    assert code == 0, err
    names = [f"svc-{i:05d}" for i in range(N)]
    assert out.splitlines() == [f"service.serving.knative.dev/{n} created" for n in names]
    # Batches of 500: two writes for the applies (the reconcile passes add their own).
    assert platform.store.commits - commits >= 2
    assert [s.name for s in platform.store.services.list()] == names
    assert len(platform.store.revisions.list()) == N
    async with httpx.AsyncClient(base_url=platform.admin_url, timeout=60) as http:
        listed = (await http.get(SERVICES)).json()["items"]
    assert sorted(s["metadata"]["name"] for s in listed) == names

    code, out, _ = await cli_apply(platform, services_yaml(N))  # again: nothing changes
    assert code == 0 and out.count(" unchanged\n") == N
    assert len(platform.store.revisions.list()) == N

    await platform.stop()
    again = Platform(options(tmp_path))  # a restart: every one back from state.db
    assert [s.name for s in again.store.services.list()] == names
    assert len(again.store.revisions.list()) == N
    again.store.close()


async def test_a_refused_service_refuses_only_itself_and_order_is_kept(
    platform: Platform,
) -> None:
    configmap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: b\n"
    text = "\n---\n".join(
        [
            services_yaml(2),
            configmap,
            "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: bad\n"
            "spec:\n  template:\n    spec:\n      containerConcurrency: 1001\n"
            "      containers:\n        - image: registry.example.com/x:1\n",
            services_yaml(1).replace("svc-00000", "last"),
        ]
    )
    code, out, err = await cli_apply(platform, text)
    assert code == 1
    assert out.splitlines() == [
        "service.serving.knative.dev/svc-00000 created",
        "service.serving.knative.dev/svc-00001 created",
        "configmap/web created",
        "service.serving.knative.dev/last created",
    ]
    assert "Error from server (422)" in err and "containerConcurrency" in err, err
    assert platform.store.services.get("default/bad") is None
    assert [s.name for s in platform.store.services.list()] == ["last", "svc-00000", "svc-00001"]


async def test_a_batch_whose_write_fails_applies_none(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform.controller.apply(service("coffee"))
    stored = (platform.store.services.list(), platform.store.revisions.list())
    views = dict(platform.controller.views)

    def no_space(*args: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(sqlite, "_write_rows", no_space)
    batch = [service("tea"), service("coffee", containerConcurrency=2)]
    with pytest.raises(StoreError, match="No space left"):
        platform.controller.apply_many(batch)
    async with httpx.AsyncClient(base_url=platform.admin_url) as http:
        answer = await http.post("/apis/coldbrew.dev/v1/applies", json={"items": batch})
    assert answer.status_code == 500 and "No space left" in answer.json()["message"]
    monkeypatch.undo()
    assert (platform.store.services.list(), platform.store.revisions.list()) == stored
    assert platform.controller.views == views
    outcomes = platform.controller.apply_many([*batch, service("bad", containerConcurrency=1001)])
    assert outcomes[:2] == ["created", "configured"] and isinstance(outcomes[2], ValidationError)
    assert platform.controller.apply_many(batch) == ["unchanged", "unchanged"]


async def test_bad_batch_items_are_refused_by_position(platform: Platform) -> None:
    items: list[Any] = [1, {"kind": "Secret", "metadata": {"name": "x"}}, {"kind": "Service"}]
    async with httpx.AsyncClient(base_url=platform.admin_url) as http:
        answer = await http.post("/apis/coldbrew.dev/v1/applies", json={"items": items})
        assert answer.status_code == 200
        got = answer.json()["items"]
        assert [a["code"] for a in got] == [400, 400, 422]
        assert "items[0]" in got[0]["message"] and "items[1].kind" in got[1]["message"]
        assert got[2]["field"] == "metadata.name"
        bad = await http.post("/apis/coldbrew.dev/v1/applies", content=b"{")
        assert bad.status_code == 400
        bad = await http.post("/apis/coldbrew.dev/v1/applies", json={"items": {}})
        assert bad.status_code == 400 and "items" in bad.json()["message"]
    assert platform.store.services.list() == []

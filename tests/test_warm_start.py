"""A clean stop keeps the data plane's table; the next start serves it before its first
pass, held by the activator (no endpoints), and never answers a known host 404.

Real platforms on a real state dir (SQLite, process runtime); the last test runs
``coldbrew serve --workers 2`` and a real pod from zero.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml

from coldbrew import warm_starting
from coldbrew.serving import Platform, ServeOptions
from coldbrew.storing import SqliteRepository
from gateway.settings import RevisionSettings
from tests.e2e.harness import EXAMPLES, Server, idle_service
from tests.ports import free_port

HOST = b"idle.default.example.com"
CONFIG = "autoscaler:\n  allow-zero-initial-scale: true\n"


def options(tmp_path: Path) -> ServeOptions:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    state = tmp_path / "state"
    return ServeOptions(port=free_port(), admin_port=free_port(), state_dir=state, config=config)


async def served_once(opts: ServeOptions) -> None:
    """Start, apply one idle Service, wait until the gateway routes it, stop."""
    platform = Platform(opts)
    await platform.start()
    try:
        platform.controller.apply(idle_service("idle"))
        deadline = time.monotonic() + 10
        while platform.gateway is not None and platform.gateway._ctx.routes.lookup(HOST) is None:
            assert time.monotonic() < deadline, "the route was never programmed"
            await asyncio.sleep(0.02)
    finally:
        await platform.stop()


async def test_the_next_start_has_the_kept_table_before_its_first_pass(tmp_path: Path) -> None:
    opts = options(tmp_path)
    await served_once(opts)
    assert (opts.state_dir / warm_starting.SNAPSHOT_FILE).exists()
    again = Platform(opts)  # not started: no pass has run
    try:
        assert again.gateway is not None
        route = again.gateway._ctx.routes.lookup(HOST)
        assert route is not None and route.keys == ("default/idle-00001",)
        assert not (opts.state_dir / warm_starting.SNAPSHOT_FILE).exists()  # used once
        await again.start()  # the first pass agrees with it: the host stays routed
        assert again.gateway._ctx.routes.lookup(HOST) is not None
    finally:
        await again.stop()


async def test_a_state_changed_since_the_stop_is_not_served_from_the_kept_table(
    tmp_path: Path,
) -> None:
    opts = options(tmp_path)
    await served_once(opts)
    store = SqliteRepository(opts.state_dir)  # another writer while serve was down
    store.load()
    with store.transaction():
        store.services.delete("default/idle")
    store.close()
    again = Platform(opts)
    try:
        assert again.gateway is not None and again.gateway._ctx.routes.lookup(HOST) is None
        assert not (opts.state_dir / warm_starting.SNAPSHOT_FILE).exists()
    finally:
        again.store.close()


@pytest.mark.parametrize("changed", ["domain", "config"])
async def test_another_domain_or_config_is_not_served_from_the_kept_table(
    tmp_path: Path, changed: str
) -> None:
    opts = options(tmp_path)
    await served_once(opts)
    if changed == "domain":
        opts = dataclasses.replace(opts, domain="example.org")
    else:
        assert opts.config is not None
        opts.config.write_text(CONFIG + "# edited while serve was down\n")
    platform = Platform(opts)
    try:
        assert platform.gateway is not None and platform.gateway._ctx.routes.hosts() == []
        assert not (opts.state_dir / warm_starting.SNAPSHOT_FILE).exists()
    finally:
        platform.store.close()


def test_a_damaged_or_foreign_file_is_ignored_and_removed(tmp_path: Path) -> None:
    stamp = warm_starting.stamp(tmp_path / "state.db", "example.com", None)
    state = warm_starting.DataPlaneState(
        {"a.default.example.com": [("default/a-00001", 100)]},
        frozenset(),
        {"default/a-00001": RevisionSettings(container_concurrency=3)},
    )
    warm_starting.save(tmp_path, state, stamp)
    assert warm_starting.take(tmp_path, stamp) == state
    path = tmp_path / warm_starting.SNAPSHOT_FILE
    for text in ("{not json", json.dumps({"format": 99, "stamp": stamp}), '{"format": 1}'):
        path.write_text(text)
        assert warm_starting.take(tmp_path, stamp) is None
        assert not path.exists()
    assert warm_starting.take(tmp_path, stamp) is None  # none there: a cold start


def test_a_restart_with_workers_serves_the_kept_table_and_a_pod_from_zero(
    tmp_path: Path,
) -> None:
    """A request sent from before the restarted process starts is answered 200 by a pod
    started for it, and the restart used the kept table. (With one Service the first pass
    is instant, so this is the path end to end; that a worker never listens without a
    table is tests/integration/test_worker_listening.py.)"""
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    doc = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    annotations = doc["spec"]["template"]["metadata"]["annotations"]
    annotations.update(idle_service("x")["spec"]["template"]["metadata"]["annotations"])
    server = Server(tmp_path / "state", "--config", str(config), "--workers", "2")
    server.start()
    try:
        server.client().apply(doc)
        server.wait_ready("coffee")
    finally:
        assert server.stop() == 0
    assert (tmp_path / "state" / warm_starting.SNAPSHOT_FILE).exists()
    answers: list[int] = []
    polling = threading.Event()

    def poll() -> None:  # from before the process starts: refused until a worker listens
        polling.set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                url, host = server.url, {"Host": "coffee.default.example.com"}
                answers.append(httpx.get(url, headers=host, timeout=60).status_code)
                return
            except httpx.ConnectError:
                time.sleep(0.01)

    thread = threading.Thread(target=poll)
    thread.start()
    polling.wait()
    try:
        server.start()
        thread.join(70)
        assert answers == [200], server.log()
        assert server.log().count("hosts the last stop kept") == 1  # this start's only
    finally:
        server.stop()

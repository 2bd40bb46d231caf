"""Faults under load: a killed gateway worker, a killed pod, SIGTERM while hey runs.

Each test runs a real ``coldbrew serve`` with process pods and real clients; each fault is
a real signal to a real process. What may fail is bounded by what was in flight.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.e2e.harness import EXAMPLES, Hey, Server, hey_codes, wait_for
from tests.e2e.test_workers import gateway_workers
from tests.tooling import needs_tool

COFFEE = "coffee.default.example.com"
APPS = Path(__file__).resolve().parents[1] / "apps"


def announcing_coffee(**annotations: str) -> str:
    """coffee, served by the app that logs each request's start, with these annotations."""
    manifest = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    template = manifest["spec"]["template"]
    template["metadata"]["annotations"].update(annotations)
    template["spec"]["containers"][0]["command"] = ["python", str(APPS / "announcing_app.py")]
    return yaml.safe_dump(manifest)


def hey_errors(report: str) -> list[str]:
    """The lines of hey's "Error distribution", without their counts."""
    _, _, errors = report.partition("Error distribution:")
    return [re.sub(r"^\s*\[\d+\]\s*", "", line) for line in errors.splitlines() if line.strip()]


def hey_counts(report: str) -> tuple[Counter[str], int]:
    """Status code -> responses, and the number of requests that got an error."""
    codes = Counter(hey_codes(report))
    _, _, errors = report.partition("Error distribution:")
    return codes, sum(int(n) for n in re.findall(r"^\s*\[(\d+)\]", errors, re.M))


@needs_tool("hey")
def test_a_killed_worker_is_restarted_and_only_its_requests_fail(two_workers: Server) -> None:
    server = two_workers
    server.cli(
        "apply", "-f", "-", stdin=announcing_coffee(**{"autoscaling.knative.dev/min-scale": "1"})
    )
    server.wait_ready("coffee")
    before = gateway_workers(server)
    assert len(before) == 2
    concurrency = 10
    args = ["-z", "6s", "-c", str(concurrency), "-host", COFFEE, f"{server.url}/?sleep=20"]
    with Hey(*args) as hey:
        wait_for(lambda: "started /?sleep=20" in server.cli("logs", pod_name(server)).stdout)
        os.kill(before[0], signal.SIGKILL)

        def replaced() -> list[int] | None:
            pids = gateway_workers(server)
            return pids if len(pids) == 2 and before[0] not in pids else None

        after = wait_for(replaced, timeout=15, what="the killed worker replaced")
        report, _ = hey.proc.communicate(timeout=60)
    codes, errors = hey_counts(report)
    assert set(codes) == {"200"}, report
    # At most the killed worker's requests in flight failed: one per client connection.
    assert errors <= concurrency, report
    assert codes["200"] > 50, report
    assert "exited with signal SIGKILL; restarting" in server.log()
    # The new worker has the routes and takes connections.
    new = next(pid for pid in after if pid not in before)
    wait_for(lambda: server.ready("coffee"), what="routes synced to the new worker")
    ticks = cpu_ticks(new)
    out = subprocess.run(
        ["hey", "-n", "2000", "-c", "20", "-host", COFFEE, f"{server.url}/"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "[200]\t2000 responses" in out.stdout, out.stdout
    assert cpu_ticks(new) > ticks


def pod_name(server: Server) -> str:
    return str(server.pods()[0]["metadata"]["name"])


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_a_killed_pod_fails_only_its_request(server: Server) -> None:
    notes = {"autoscaling.knative.dev/min-scale": "2"}
    manifest = yaml.safe_load(announcing_coffee(**notes))
    manifest["spec"]["template"]["spec"]["containerConcurrency"] = 1
    server.cli("apply", "-f", "-", stdin=yaml.safe_dump(manifest))
    server.wait_ready("coffee")
    wait_for(lambda: len(ready_pods(server)) == 2, timeout=20, what="two ready pods")
    slow: dict[str, httpx.Response] = {}
    thread = threading.Thread(
        target=lambda: slow.setdefault("r", server.request(COFFEE, "/?sleep=8000"))
    )
    thread.start()
    busy = wait_for(
        lambda: next((p for p in ready_pods(server) if "sleep=8000" in logs(server, p)), None),
        what="the slow request started on a pod",
    )
    # Only the other pod can take requests now (containerConcurrency 1): a trickle to it.
    trickle: list[int] = []
    stop = threading.Event()

    def send() -> None:
        with httpx.Client(base_url=server.url, headers={"Host": COFFEE}, timeout=20) as http:
            while not stop.is_set():
                trickle.append(http.get("/?sleep=10").status_code)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        wait_for(lambda: len(trickle) >= 5, what="the trickle flowing")
        os.kill(int(busy["metadata"]["annotations"]["coldbrew.dev/pid"]), signal.SIGKILL)
        thread.join(20)
        assert slow["r"].status_code == 502, slow["r"].text
        seen = len(trickle)
        wait_for(lambda: len(trickle) >= seen + 20, what="the trickle after the kill")
        wait_for(lambda: len(ready_pods(server)) == 2, timeout=20, what="the pod replaced")
    finally:
        stop.set()
        sender.join(30)
    assert set(trickle) == {200}, Counter(trickle)
    assert server.request(COFFEE).status_code == 200


def ready_pods(server: Server) -> list[dict[str, object]]:
    pods = []
    for pod in server.pods("coffee-00001"):
        conds = {c["type"]: c["status"] for c in pod.get("status", {}).get("conditions", [])}
        if conds.get("Ready") == "True":
            pods.append(pod)
    return pods


def logs(server: Server, pod: dict[str, object]) -> str:
    return server.cli("logs", str(pod["metadata"]["name"])).stdout  # type: ignore[index]


@needs_tool("hey")
def test_sigterm_under_hey_fails_no_request_in_flight(server: Server) -> None:
    server.cli(
        "apply", "-f", "-", stdin=announcing_coffee(**{"autoscaling.knative.dev/min-scale": "1"})
    )
    server.wait_ready("coffee")
    args = ["-z", "20s", "-c", "20", "-host", COFFEE, f"{server.url}/?sleep=200"]
    with Hey(*args) as hey:
        wait_for(lambda: server.cli("logs", pod_name(server)).stdout.count("started") >= 40)
        started = time.monotonic()
        assert server.stop(signal.SIGTERM) == 0, server.log()[-3000:]
        assert time.monotonic() - started < 25
        report, _ = hey.proc.communicate(timeout=60)
    codes, _ = hey_counts(report)
    assert set(codes) == {"200"} and codes["200"] >= 40, report
    # Every request hey had in flight got its answer; what failed was refused at connect.
    errors = hey_errors(report)
    assert all("connection refused" in line for line in errors), report


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB tmpfs for the state dir (needs root, as CI runs)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(disk: Path) -> Path:
    """Fill ``disk`` to the last byte; returns the filler file."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
        try:
            while True:
                f.write(b"\0")
        except OSError:
            pass
    return filler


def stored_rows(state_dir: Path) -> list[tuple[str, str, str]]:
    """Every row of state.db (kind, key, body), read by a connection of its own."""
    db = sqlite3.connect(f"file:{state_dir / 'state.db'}?mode=ro", uri=True)
    try:
        kinds = ("services", "revisions", "configmaps", "secrets", "domain_mappings")
        return [
            (kind, key, body)
            for kind in kinds
            for key, body in db.execute(f"SELECT key, body FROM {kind} ORDER BY key")
        ]
    finally:
        db.close()


def test_a_full_disk_refuses_apply_and_loses_nothing(small_disk: Path) -> None:
    server = Server(small_disk / "state")
    server.start()
    try:
        assert server.cli("apply", "-f", str(EXAMPLES / "coffee.yaml")).returncode == 0
        server.wait_ready("coffee")
        state = stored_rows(small_disk / "state")
        filler = fill(small_disk)
        out = server.cli("apply", "-f", str(EXAMPLES / "tea.yaml"))
        assert out.returncode == 1, out
        assert "No space left on device" in out.stderr and "state" in out.stderr, out.stderr
        assert stored_rows(small_disk / "state") == state
        # Nothing half-applied, and serving goes on.
        assert server.cli("get", "ksvc", "tea").returncode != 0
        assert server.request(COFFEE).text == "Hello coffee!\n"
        filler.unlink()
        assert server.cli("apply", "-f", str(EXAMPLES / "tea.yaml")).returncode == 0
        server.wait_ready("tea")
    finally:
        assert server.stop() == 0, server.log()[-3000:]
    server.start()  # a restart brings back both
    try:
        names = {s["metadata"]["name"] for s in server.client().get("ksvc")["items"]}
        assert names == {"coffee", "tea"}
    finally:
        assert server.stop() == 0, server.log()[-3000:]

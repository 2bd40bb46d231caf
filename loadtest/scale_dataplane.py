"""The data plane at scale: N idle services, a restart, memory, and one hot service.

    python loadtest/scale_dataplane.py [--services 1000] [--workers 2] [--rounds 3]
                                       [--duration 10] [--only restart] [--populate clone|api]

Services are idle: ``initial-scale: "0"`` (``allow-zero-initial-scale: true`` in the
autoscaler config) and no reserve, so they have no pod. One more, ``hot`` (the coffee
example, ``min-scale: "1"``), has a pod.

- ``restart``: ``coldbrew serve --workers W`` on a state holding the N services is
  stopped (cleanly: it keeps the data plane's table, coldbrew/warm_starting.py) and
  started again; the figure is the time from the new process's start until every probed
  host (the first, the middle and the last service, which the controller reconciles last)
  gets an answer or is held by the activator, not 404. ``--cold``: once more without the
  kept table (a start after a crash). Then the RSS of serve and of each gateway worker
  (from /proc) with the N services routed.
- ``throughput``: hey (``-c 50``) against ``hot`` on a serve holding only it (A) and on
  the restarted one holding it plus the N idle services (B), rounds interleaved A, B, A...;
  while one is measured the other's process group is stopped (SIGSTOP), so they do not
  share the 2 cores. The figure is B's median requests/s over A's; the serve process's
  own CPU seconds during each run are recorded too (its autoscaler ticks over every
  revision compete with the gateway workers for the cores).

The state is populated as :func:`populate` says (``clone`` by default). Prints
a Markdown table and writes JSON to loadtest/results/. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
# run as a script: import from the repository root, not from loadtest/
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

from coldbrew.cli.client import Client, ClientError  # noqa: E402
from coldbrew.warm_starting import SNAPSHOT_FILE  # noqa: E402
from tests.e2e.harness import EXAMPLES, free_port, idle_service, wait_for  # noqa: E402

CONFIG = "autoscaler:\n  allow-zero-initial-scale: true\n"
HOT = "hot.default.example.com"


def hot_service() -> dict[str, Any]:
    doc = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    doc["metadata"]["name"] = "hot"
    doc["spec"]["template"]["metadata"]["annotations"].update(
        {"autoscaling.knative.dev/min-scale": "1", "knative.aliyun.com/reserve-instance": "disable"}
    )
    return doc


def routed(port: int, host: str, held_after: float = 0.5) -> bool:
    """An answer, or held by the activator (no answer within ``held_after`` s): not a 404
    (and not refused: nothing listening yet)."""
    try:
        url = f"http://127.0.0.1:{port}/"
        return httpx.get(url, headers={"Host": host}, timeout=held_after).status_code != 404
    except httpx.TimeoutException:
        return True
    except httpx.HTTPError:
        return False


class Serve:
    """``coldbrew serve`` in its own process group (so it can be paused as a whole)."""

    def __init__(self, base: Path, workers: int) -> None:
        self.base, self.workers = base, workers
        base.mkdir(parents=True, exist_ok=True)
        (base / "config.yaml").write_text(CONFIG)
        self.port, self.admin_port = free_port(), free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        cmd = [sys.executable, "-m", "coldbrew", "serve", "--runtime", "process"]
        cmd += ["--port", str(self.port), "--admin-port", str(self.admin_port)]
        cmd += ["--state-dir", str(self.base / "state"), "--config", str(self.base / "config.yaml")]
        cmd += ["--workers", str(self.workers)]
        log = (self.base / "serve.log").open("ab")
        started = time.monotonic()
        self.proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )
        return started

    def healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"serve exited: see {self.base / 'serve.log'}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.admin_port}/healthz", timeout=1).is_success
        except httpx.HTTPError:
            return False

    def client(self) -> Client:
        return Client(f"http://127.0.0.1:{self.admin_port}")

    def routed(self, host: str) -> bool:
        return routed(self.port, host)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, sig)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.proc.wait()

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        pids = []
        for child in _children(self.proc.pid):
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            if b"gateway" in cmdline:
                pids.append(child)
        return pids


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out += [int(p) for p in text]
    return out


def cpu_seconds(pid: int) -> float:
    """The process's user + system CPU time so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) / 1024 if match else 0.0


def populate(serve: Serve, n: int, how: str) -> float:
    """N idle services in the state: one PUT each (``api``), or (``clone``) the first
    applied and reconciled by serve, then copied N-1 times under new names into the
    stopped serve's state in one transaction (the JSON store rewrites its whole file per
    write: N PUTs are quadratic)."""
    started = time.monotonic()
    if how == "api":
        with ThreadPoolExecutor(4) as pool:
            names = [f"idle-{i:05d}" for i in range(n)]
            for _ in pool.map(lambda name: serve.client().apply(idle_service(name)), names):
                pass
        return time.monotonic() - started
    serve.client().apply(idle_service("idle-00000"))
    wait_for(lambda: _ready(serve, "idle-00000"), timeout=60, what="idle-00000 Ready")
    serve.stop()
    clone_state(serve.base / "state", "idle-00000", [f"idle-{i:05d}" for i in range(1, n)])
    return time.monotonic() - started


def _ready(serve: Serve, name: str) -> bool:
    if not serve.healthy():
        return False
    try:
        svc = serve.client().get("ksvc", name)
    except ClientError:
        return False
    conditions = {c["type"]: c["status"] for c in svc.get("status", {}).get("conditions", [])}
    return conditions.get("Ready") == "True"


def clone_state(state_dir: Path, template: str, names: list[str]) -> None:
    from coldbrew import storing
    from coldbrew.storing.frozen import thaw

    # the store serve opens (SQLite where it exists, else the JSON file)
    store = getattr(storing, "SqliteRepository", storing.JsonFileRepository)

    def renamed(value: Any, name: str) -> Any:
        return json.loads(json.dumps(thaw(value)).replace(template, name))

    repo = store(state_dir)
    repo.load()
    svc = repo.services.get(f"default/{template}")
    assert svc is not None
    revisions = repo.revisions_of("default", template)
    with repo.transaction():
        for name in names:
            repo.services.put(
                dataclasses.replace(
                    svc,
                    name=name,
                    manifest=renamed(svc.manifest, name),
                    uid=str(uuid.uuid4()),
                    latest_created=renamed(svc.latest_created, name),
                    latest_ready=renamed(svc.latest_ready, name),
                )
            )
            for rev in revisions:
                repo.revisions.put(
                    dataclasses.replace(
                        rev,
                        name=renamed(rev.name, name),
                        service=name,
                        manifest=renamed(rev.manifest, name),
                        labels=renamed(rev.labels, name),
                        uid=str(uuid.uuid4()),
                    )
                )
    close = getattr(repo, "close", None)
    if close is not None:
        close()


def hey(port: int, duration: int) -> float:
    out = subprocess.run(
        ["hey", "-z", f"{duration}s", "-c", "50", "-host", HOT, f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


def timed_restart(serve: Serve, probes: list[str]) -> tuple[float, float]:
    """Start ``serve``: seconds until ``/healthz`` answers, and until every probed host is
    routed (probed at once, each timed from when its request went: a held one is only
    known held 0.5 s later)."""
    started = serve.start()
    wait_for(serve.healthy, timeout=120, what="serve")
    healthy = round(time.monotonic() - started, 2)
    routed_at: dict[str, float] = {}

    def probe(host: str) -> None:
        sent = time.monotonic()
        if serve.routed(host):
            routed_at.setdefault(host, sent)

    def all_routed() -> bool:
        with ThreadPoolExecutor(len(probes)) as pool:
            list(pool.map(probe, [h for h in probes if h not in routed_at]))
        return len(routed_at) == len(probes)

    wait_for(all_routed, timeout=120, interval=0.05, what="every probed host routed")
    return healthy, round(max(routed_at.values()) - started, 2)


def run(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    n = args.services
    result: dict[str, Any] = {"services": n, "workers": args.workers}
    big = Serve(base / "big", args.workers)
    small = Serve(base / "small", args.workers)
    try:
        big.start()
        wait_for(big.healthy, timeout=30, what="serve")
        big.client().apply(hot_service())
        result["populate"] = args.populate
        result["populate_seconds"] = round(populate(big, n, args.populate), 1)
        big.stop()
        probes = [HOT] + [f"idle-{i:05d}.default.example.com" for i in (0, n // 2, n - 1)]
        # A serve that had them stops cleanly (cloned into a stopped state, they have not
        # been served yet): the figure is the restart after that, as a user's restart.
        big.start()
        wait_for(big.healthy, timeout=120, what="serve")
        wait_for(lambda: all(big.routed(h) for h in probes), timeout=120, what="routed")
        big.stop()
        healthy, routed = timed_restart(big, probes)
        result["restart_healthy_seconds"], result["restart_routed_seconds"] = healthy, routed
        if args.cold:  # and once more without the table the stop kept: after a crash
            big.stop()
            (big.base / "state" / SNAPSHOT_FILE).unlink()
            result["cold_restart_routed_seconds"] = timed_restart(big, probes)[1]
        time.sleep(15)  # settle: the first KPA ticks, the workers' snapshots
        result["rss_mb"] = {"serve": round(rss_mb(big.proc.pid), 1)}  # type: ignore[union-attr]
        for i, pid in enumerate(big.worker_pids()):
            result["rss_mb"][f"worker{i}"] = round(rss_mb(pid), 1)
        if args.only == "restart":
            return result
        small.start()
        wait_for(small.healthy, timeout=30, what="serve")
        small.client().apply(hot_service())
        wait_for(lambda: small.routed(HOT) and big.routed(HOT), timeout=60, what="hot routed")
        rates: dict[str, list[float]] = {"one": [], "many": []}
        serve_cpu: dict[str, list[float]] = {"one": [], "many": []}
        for _ in range(args.rounds):
            for name, on, off in (("one", small, big), ("many", big, small)):
                off.signal(signal.SIGSTOP)
                on.signal(signal.SIGCONT)
                wait_for(lambda on=on: on.routed(HOT), timeout=30, what="resumed")
                assert on.proc is not None
                before = cpu_seconds(on.proc.pid)
                rates[name].append(hey(on.port, args.duration))
                serve_cpu[name].append(round(cpu_seconds(on.proc.pid) - before, 2))
        big.signal(signal.SIGCONT)
        small.signal(signal.SIGCONT)
        result["rps"] = rates
        result["serve_cpu_seconds_per_run"] = serve_cpu  # the serve process, not workers
        one, many = statistics.median(rates["one"]), statistics.median(rates["many"])
        result["many_over_one"] = round(many / one, 3)
        return result
    finally:
        big.stop()
        small.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--only", choices=["restart"], default=None, help="skip throughput")
    parser.add_argument("--populate", choices=["clone", "api"], default="clone")
    parser.add_argument(
        "--cold", action="store_true", help="also restart without the table the stop kept"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args, Path(tmp))
    print("| services | populate s | restart: healthy s | routed s | RSS MB | many/one rps |")
    print("| --- | --- | --- | --- | --- | --- |")
    rss = ", ".join(f"{k} {v}" for k, v in result["rss_mb"].items())
    ratio = result.get("many_over_one", "-")
    print(
        f"| {result['services']} | {result['populate_seconds']} | "
        f"{result['restart_healthy_seconds']} | {result['restart_routed_seconds']} | "
        f"{rss} | {ratio} |"
    )
    out = ROOT / "loadtest" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"scale_dataplane-{result['services']}-{int(time.time())}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

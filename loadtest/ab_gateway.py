"""Two gateway trees side by side: the same sample app behind both, wrk alternated between them.

    python loadtest/ab_gateway.py OTHER_TREE [--rounds 16] [--duration 3] [--connections 50]

OTHER_TREE is another checkout of coldbrew (for example ``git worktree add /tmp/base REV``);
this tree is "new". Both standalone gateways (``python -m gateway --route``) run at once in
front of one sample app, and wrk (``-t1 -cN``) hits them in alternating order, round after
round, so that the machine's drift falls on both alike: on a shared, noisy machine that is what
makes a before/after comparison of the hot path fair. Per round it reads the gateway process's
own CPU time (utime + stime from /proc) and divides by wrk's request count. Prints the medians.
Traffic goes to 127.0.0.1 only; everything is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loadtest.perfkit.procs import free_port  # noqa: E402

HOST = "perf.default.example.com"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_gateway(tree: Path, app_port: int) -> tuple[subprocess.Popen[str], int]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    route = f"{HOST}=127.0.0.1:{app_port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--route", route],
        cwd=tree,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def one_round(
    proc: subprocess.Popen[str], port: int, args: argparse.Namespace
) -> tuple[float, float]:
    before = cpu_seconds(proc.pid)
    url = f"http://127.0.0.1:{port}/"
    cmd = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.duration}s", "-H", f"Host: {HOST}", url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    used = cpu_seconds(proc.pid) - before
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return rps, used / total * 1e6


def main() -> int:
    p = argparse.ArgumentParser(description="two gateway trees side by side (not a test)")
    p.add_argument("other", type=Path, help="the other checkout (the 'base')")
    p.add_argument("--rounds", type=int, default=16)
    p.add_argument("--duration", type=int, default=3)
    p.add_argument("--connections", type=int, default=50)
    args = p.parse_args()
    app_port = free_port()
    app_env = dict(os.environ, PORT=str(app_port), TARGET="perf", PYTHONPATH=str(ROOT))
    app = subprocess.Popen([sys.executable, "-m", "coldbrew.sample"], cwd=ROOT, env=app_env)
    gateways = {"base": start_gateway(args.other.resolve(), app_port)}
    gateways["new"] = start_gateway(ROOT, app_port)
    results: dict[str, list[tuple[float, float]]] = {"base": [], "new": []}
    try:
        for i in range(args.rounds):
            for name in ("base", "new") if i % 2 == 0 else ("new", "base"):
                results[name].append(one_round(*gateways[name], args))
    finally:
        for proc, _ in gateways.values():
            proc.terminate()
            proc.wait()
        app.terminate()
        app.wait()
    print(f"| tree | req/s (median of {args.rounds}) | gateway CPU us/request (median) |")
    print("|---|---:|---:|")
    for name, rows in results.items():
        rps = statistics.median(r for r, _ in rows)
        cpu = statistics.median(c for _, c in rows)
        print(f"| {name} | {rps:,.0f} | {cpu:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

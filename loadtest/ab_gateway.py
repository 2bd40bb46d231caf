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
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loadtest.bench_gateway import cpu_seconds, run_wrk, wait_listening  # noqa: E402
from loadtest.perfkit.procs import Procs  # noqa: E402

HOST = "perf.default.example.com"


def start_gateway(procs: Procs, tree: Path, app_port: int) -> tuple[subprocess.Popen[bytes], int]:
    """``python -m gateway`` of ``tree`` (cwd and PYTHONPATH: that tree's code) to the app."""
    proc = procs.spawn(
        [sys.executable, "-m", "gateway", "--route", f"{HOST}=127.0.0.1:{app_port}"],
        cwd=tree,
        env=dict(os.environ, PYTHONPATH=str(tree)),
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    wait_listening(port)
    return proc, port


def one_round(
    proc: subprocess.Popen[bytes], port: int, args: argparse.Namespace
) -> tuple[float, float]:
    before = cpu_seconds(proc.pid)
    got = run_wrk(port, args.duration, args.connections, threads=1, host=HOST)
    used = cpu_seconds(proc.pid) - before
    if got.get("non_2xx"):
        raise RuntimeError(f"the gateway on {port} answered {got['non_2xx']:.0f} non-2xx")
    return got["rps"], used / got["requests"] * 1e6


def main() -> int:
    p = argparse.ArgumentParser(description="two gateway trees side by side (not a test)")
    p.add_argument("other", type=Path, help="the other checkout (the 'base')")
    p.add_argument("--rounds", type=int, default=16)
    p.add_argument("--duration", type=int, default=3)
    p.add_argument("--connections", type=int, default=50)
    args = p.parse_args()
    results: dict[str, list[tuple[float, float]]] = {"base": [], "new": []}
    with Procs() as procs:
        _, app_port = procs.sample_app()
        gateways = {
            "base": start_gateway(procs, args.other.resolve(), app_port),
            "new": start_gateway(procs, ROOT, app_port),
        }
        for i in range(args.rounds):
            for name in ("base", "new") if i % 2 == 0 else ("new", "base"):
                results[name].append(one_round(*gateways[name], args))
    print(f"| tree | req/s (median of {args.rounds}) | gateway CPU us/request (median) |")
    print("|---|---:|---:|")
    for name, rows in results.items():
        rps = statistics.median(r for r, _ in rows)
        cpu = statistics.median(c for _, c in rows)
        print(f"| {name} | {rps:,.0f} | {cpu:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

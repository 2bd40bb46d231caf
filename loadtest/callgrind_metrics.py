"""Instructions per proxied request, gateway metrics on vs ``--no-metrics``, under callgrind.

    python loadtest/callgrind_metrics.py [--requests 1500] [--tree DIR] [--keep DIR]

Instruction counts do not depend on the machine's load, unlike wrk's figures. Each setting
runs the standalone gateway under ``valgrind --tool=callgrind`` twice, with ``N`` and ``3N``
keep-alive requests (hey, 4 connections) to the sample app, and reports the difference
over ``2N``: the marginal instructions of one request, start-up and shut-down cancelled
out. ``--tree``: the source tree whose gateway runs (default: this one). Not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loadtest.perfkit.procs import Procs  # noqa: E402

HOST = "perf.default.example.com"


def instructions(tree: Path, upstream: int, requests: int, flags: list[str], out: Path) -> int:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
           "-m", "gateway", "--route", f"{HOST}=127.0.0.1:{upstream}", *flags]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        url = f"http://127.0.0.1:{port}/"
        # one request to warm the route up, then the measured ones
        subprocess.run(["hey", "-n", "1", "-c", "1", "-host", HOST, url], check=True,
                       capture_output=True, timeout=300)  # fmt: skip
        done = subprocess.run(
            ["hey", "-n", str(requests), "-c", "4", "-t", "60", "-host", HOST, url],
            check=True, capture_output=True, text=True, timeout=1800,
        )  # fmt: skip
        ok = re.search(r"\[200\]\s+(\d+) responses", done.stdout)
        assert ok and int(ok.group(1)) == requests, done.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=300)
    for line in out.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise AssertionError(f"no totals in {out}")


def main() -> int:
    p = argparse.ArgumentParser(prog="python loadtest/callgrind_metrics.py")
    p.add_argument("--requests", type=int, default=1500)
    p.add_argument("--tree", type=Path, default=ROOT)
    p.add_argument("--keep", type=Path, help="a folder to keep callgrind's output files in")
    args = p.parse_args()
    n = args.requests
    with Procs() as procs, tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or Path(scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        _, app = procs.sample_app()
        per: dict[str, float] = {}
        for name, flags in (("metrics on", []), ("metrics off", ["--no-metrics"])):
            stem = name.replace(" ", "-")
            small = instructions(args.tree, app, n, flags, tmp / f"{stem}-1.out")
            large = instructions(args.tree, app, 3 * n, flags, tmp / f"{stem}-3.out")
            per[name] = (large - small) / (2 * n)
            print(f"{name}: {per[name]:,.0f} instructions per request "
                  f"({small:,} for {n}, {large:,} for {3 * n})")  # fmt: skip
    print(f"on / off: {per['metrics on'] / per['metrics off']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

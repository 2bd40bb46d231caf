"""The gateway's performance, side by side with direct access and nginx (not a test).

    python loadtest/perf.py [--rounds 3] [--duration 8] [--connections 50]
                            [--probe-seconds 60] [--services 1000] [--only CASE ...]

Cases (loadtest/perfkit/cases.py): ``proxies`` (wrk: direct, the gateway, nginx),
``probe`` (1000 req/s to ``?sleep=100``, with and without the activator forced in the
path), ``platforms`` (``coldbrew serve`` --workers 1 / 2 / 2 with 1000 services) and
``held`` (10 000 held requests). Writes loadtest/results/perf.md and perf.json and prints
the Markdown. Needs wrk and /usr/sbin/nginx; traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loadtest.perfkit import cases  # noqa: E402
from loadtest.perfkit.procs import NGINX, loadavg, machine  # noqa: E402
from loadtest.perfkit.report import markdown  # noqa: E402

CASES = ("proxies", "probe", "platforms", "held")
RESULTS = ROOT / "loadtest" / "results"


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python loadtest/perf.py", description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3, help="interleaved wrk rounds per target")
    p.add_argument("--duration", type=int, default=8, help="seconds per wrk round")
    p.add_argument("--connections", type=int, default=50, help="wrk connections")
    p.add_argument("--rate", type=float, default=1000.0, help="probe requests/s")
    p.add_argument("--probe-seconds", type=float, default=60.0, help="seconds per probe path")
    p.add_argument("--services", type=int, default=1000, help="pod-less services applied")
    p.add_argument("--held", type=int, default=10_000, help="requests held for a cold revision")
    p.add_argument("--only", nargs="+", choices=CASES, default=list(CASES))
    args = p.parse_args(argv)
    args.duration = max(1, min(args.duration, 120))
    args.probe_seconds = max(1.0, min(args.probe_seconds, 300.0))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    for tool in ("wrk", NGINX):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not installed (Debian: apt-get install -y wrk nginx)")
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "args": vars(args),
        "machine": machine(),
        "loadavg_before": loadavg(),
    }
    with tempfile.TemporaryDirectory(prefix="coldbrew-perf-") as tmp:
        for case in args.only:
            print(f"== {case} (load average {loadavg()[0]:.2f})", flush=True)
            started = time.monotonic()
            if case == "proxies":
                results[case] = cases.proxies(args.rounds, args.duration, args.connections)
            elif case == "probe":
                results[case] = cases.probe(Path(tmp), args.rate, args.probe_seconds)
            elif case == "platforms":
                results[case] = cases.platforms(
                    Path(tmp), args.services, args.rounds, args.duration, args.connections
                )
            else:
                results[case] = cases.held(args.held)
            results[case]["loadavg_after"] = loadavg()
            print(f"   {time.monotonic() - started:.0f} s", flush=True)
    results["loadavg_after"] = loadavg()
    table = markdown(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "perf.json").write_text(json.dumps(results, indent=1))
    (RESULTS / "perf.md").write_text(table)
    print()
    print(table)
    print(f"wrote {(RESULTS / 'perf.md').relative_to(ROOT)} and perf.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())

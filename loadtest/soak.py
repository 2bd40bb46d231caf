"""Soak: mixed traffic for a long time; RSS and open descriptors must stay flat.

    python loadtest/soak.py                      # 30 minutes, about 300 req/s
    python loadtest/soak.py --minutes 3          # a quick look

One ``coldbrew serve --workers 2`` (process pods) runs:

* ``coffee``: hey at ``--rate`` req/s for the whole run (``-q`` per connection), and a
  rollout every ``--rollout-every`` seconds (a new ``TARGET``: a new revision takes 100%);
* ``tea``: bursts of traffic (30 s on, 60 s off) with a reserve instance, so it hands down
  to the reserve when idle and back to standard pods when the burst returns.

Every 10 s the RSS and open descriptors of serve and of each gateway worker are sampled
(pods come and go with rollouts: their count is recorded instead), through one API client
(a new one per sample would leave a keep-alive connection, a descriptor of serve, each time).
At the end: the growth after warm-up (the mean over the first rollout period past
``--warmup`` against the mean over the last one; the workers' descriptors as a total, since
hey's connections move between workers when one is reopened),
hey's status codes (anything but 2xx is a failure), a JSON record and a plot in
``loadtest/results/``. Exit status 1 when growth is 10% or more, or any request failed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, its own folder comes first on sys.path, where loadtest/h2.py would
# shadow the h2 package the runtime imports: import from the repository root instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "loadtest"]
sys.path.insert(0, str(ROOT))

from coldbrew.cli.client import Client  # noqa: E402
from coldbrew.presenting import TYPE_ANNOTATION  # noqa: E402
from loadtest.perfkit.platform import gateway_pids, host, manifest  # noqa: E402
from loadtest.perfkit.procs import children, rss_mb  # noqa: E402
from tests.e2e.harness import Server  # noqa: E402

CONFIG = """\
autoscaler:
  stable-window: 6s
  scale-to-zero-grace-period: 6s
"""
RESULTS = ROOT / "loadtest" / "results"
ANN = "autoscaling.knative.dev/"


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def sample(server: Server, client: Client, workers: int) -> dict[str, Any]:
    assert server.proc is not None
    procs = {"serve": server.proc.pid}
    procs |= {f"gateway-{i}": pid for i, pid in enumerate(sorted(gateway_pids(server, workers)))}
    row: dict[str, Any] = {"t": time.monotonic()}
    for name, pid in procs.items():
        try:
            row[name] = {"rss_mb": rss_mb(pid), "fds": fds(pid)}
        except OSError:
            row[name] = None  # a worker being restarted
    gateways = set(procs.values())
    row["pods"] = len([p for p in children(server.proc.pid) if p not in gateways])
    # hey's connections land on either worker and move when one is reopened: their total.
    rows = [row[f"gateway-{i}"] for i in range(workers) if row.get(f"gateway-{i}")]
    row["gateways"] = {k: sum(r[k] for r in rows) for k in ("rss_mb", "fds")} if rows else None
    # tea's pods by kind: "standard", or the reserve's instance type.
    kinds: dict[str, int] = {}
    for pod in client.get("pods")["items"]:  # one client: no new connection per sample
        if pod["metadata"]["labels"].get("serving.knative.dev/service") == "tea":
            kind = pod["metadata"]["annotations"].get(TYPE_ANNOTATION, "standard")
            kinds[kind] = kinds.get(kind, 0) + 1
    row["tea_pods"] = kinds
    return row


class Bursts(threading.Thread):
    """hey against tea: ``on`` seconds of load, ``off`` seconds of none, until stopped."""

    def __init__(self, url: str, on: float, off: float) -> None:
        super().__init__(daemon=True)
        self.url, self.on, self.off = url, on, off
        self.stop = threading.Event()
        self.codes: dict[str, int] = {}
        self.errors = 0
        self.bursts = 0

    def run(self) -> None:
        while not self.stop.wait(self.off):
            args = ["hey", "-z", f"{self.on:g}s", "-c", "4", "-q", "10", "-host", host("tea")]
            out = subprocess.run([*args, self.url], capture_output=True, text=True).stdout
            codes, errors = hey_counts(out)
            for code, n in codes.items():
                self.codes[code] = self.codes.get(code, 0) + n
            self.errors += errors
            self.bursts += 1


def hey_counts(report: str) -> tuple[dict[str, int], int]:
    codes = {c: int(n) for c, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", report)}
    _, _, errs = report.partition("Error distribution:")
    return codes, sum(int(n) for n in re.findall(r"^\s*\[(\d+)\]", errs, re.M))


def growth(
    samples: list[dict[str, Any]], warmup: float, window: float
) -> dict[str, dict[str, float]]:
    """Per process and figure: percent growth from the mean over the first ``window`` seconds
    after warm-up to the mean over the last ``window`` seconds (a rollout period: the
    descriptors go up and down with the rollouts, so single samples would compare phases)."""
    start = samples[0]["t"] + warmup
    end = samples[-1]["t"]
    steady = [s for s in samples if s["t"] >= start]
    out: dict[str, dict[str, float]] = {}
    for name in (k for k in samples[0] if k not in ("t", "pods", "tea_pods")):
        first = [s[name] for s in steady if s.get(name) and s["t"] < start + window]
        last = [s[name] for s in steady if s.get(name) and s["t"] > end - window]
        if len(first) < 3 or len(last) < 3:
            continue
        out[name] = {}
        for figure in ("rss_mb", "fds"):
            a = sum(r[figure] for r in first) / len(first)
            b = sum(r[figure] for r in last) / len(last)
            out[name][figure] = round(100 * (b - a) / a, 1) if a else 0.0
    return out


def plot(samples: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = samples[0]["t"]
    fig, (rss, fd, pods) = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    for name in (k for k in samples[0] if k not in ("t", "pods", "tea_pods")):
        xs = [(s["t"] - t0) / 60 for s in samples if s.get(name)]
        rss.plot(xs, [s[name]["rss_mb"] for s in samples if s.get(name)], label=name)
        fd.plot(xs, [s[name]["fds"] for s in samples if s.get(name)], label=name)
    pods.step([(s["t"] - t0) / 60 for s in samples], [s["pods"] for s in samples], where="post")
    rss.set_ylabel("RSS (MB)")
    fd.set_ylabel("open fds")
    pods.set_ylabel("pods")
    pods.set_xlabel("minutes")
    rss.legend(loc="upper left", fontsize="small")
    rss.set_title("coldbrew soak: RSS, descriptors and pods over time")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def rollout(client: Client, n: int) -> None:
    """Apply coffee with ``TARGET=coffee-n``: a new revision that takes all traffic."""
    obj = manifest("coffee", {ANN + "min-scale": "1", ANN + "target": "50"})
    obj["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = f"coffee-{n}"
    client.apply(obj)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--rate", type=int, default=300, help="coffee's requests per second")
    ap.add_argument("--rollout-every", type=float, default=120, help="seconds")
    ap.add_argument("--warmup", type=float, default=120, help="seconds left out of growth")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    seconds = args.minutes * 60
    workers = 2
    with tempfile.TemporaryDirectory(prefix="coldbrew-soak-") as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(CONFIG)
        server = Server(Path(tmp) / "state", "--workers", str(workers), "--config", str(config))
        server.start()
        try:
            return soak(server, workers, seconds, args)
        finally:
            server.stop()
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "soak-serve.log").write_text(server.log())


def soak(server: Server, workers: int, seconds: float, args: argparse.Namespace) -> int:
    client = server.client()
    rollout(client, 0)
    client.apply(manifest("tea", {ANN + "target": "10"}))
    server.wait_ready("coffee", timeout=60)
    server.wait_ready("tea", timeout=60)
    conns = 10
    hey = subprocess.Popen(
        [
            *("hey", "-z", f"{seconds:g}s", "-c", str(conns), "-q", str(args.rate // conns)),
            *("-host", host("coffee"), f"{server.url}/"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    bursts = Bursts(f"{server.url}/", on=30, off=60)
    bursts.start()
    samples: list[dict[str, Any]] = []
    started = time.monotonic()
    rollouts = 0
    next_rollout = started + args.rollout_every
    while time.monotonic() - started < seconds:
        samples.append(sample(server, client, workers))
        if time.monotonic() >= next_rollout:
            rollouts += 1
            rollout(client, rollouts)
            next_rollout += args.rollout_every
        time.sleep(10)  # the sampling period (a benchmark, not a test)
    report, _ = hey.communicate(timeout=120)
    bursts.stop.set()
    bursts.join(120)
    samples.append(sample(server, client, workers))
    codes, errors = hey_counts(report)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", report)
    # The last sample is taken after hey stopped (fewer connections): left out of growth.
    grown = growth(samples[:-1], args.warmup, args.rollout_every)
    # Judged: serve, each worker's RSS, and the workers' descriptors together.
    judged = [g["rss_mb"] for g in grown.values()]
    judged += [g["fds"] for n, g in grown.items() if not n.startswith("gateway-")]
    worst = max(judged, default=0.0)
    bad = sum(n for c, n in codes.items() if not c.startswith("2")) + errors
    bad += sum(n for c, n in bursts.codes.items() if not c.startswith("2")) + bursts.errors
    handovers = sum(
        1
        for a, b in itertools.pairwise(samples)
        if set(a["tea_pods"]) != set(b["tea_pods"]) and "standard" not in b["tea_pods"]
    )
    record = {
        "minutes": args.minutes,
        "coffee": {"codes": codes, "errors": errors, "req_per_s": rate and float(rate[1])},
        "tea": {"codes": bursts.codes, "errors": bursts.errors, "bursts": bursts.bursts},
        "rollouts": rollouts,
        "tea_handed_to_reserve": handovers,
        "growth_percent": grown,
        "samples": samples,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "soak.json").write_text(json.dumps(record, indent=1))
    plot(samples, args.out / "soak.png")
    print(json.dumps({k: v for k, v in record.items() if k != "samples"}, indent=1))
    print(f"worst growth after warm-up: {worst:.1f}%; non-2xx or failed: {bad}")
    print(f"wrote {args.out / 'soak.json'} and {args.out / 'soak.png'}")
    return 0 if worst < 10 and bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

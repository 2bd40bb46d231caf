"""The seed article's stress test as one command.

    python loadtest/stress.py [--duration 30] [--concurrency 90] [--window 60s] [--after 30]

Starts ``coldbrew serve`` on free ports with a fresh state folder (or uses
``--server``/``--gateway`` of a running one), applies examples/coffee.yaml
(optionally with ``autoscaling.knative.dev/window``), runs
``hey -z 30s -c 90 -host coffee.default.example.com URL/?sleep=100`` and
samples the revision's ready pods and the autoscaler's observed concurrency
every second, during the load and for ``--after`` seconds after it. Writes
a CSV and a PNG (pods and concurrency over time) to loadtest/results/ and
prints peak pods, seconds until scaled out, and the error count. Traffic goes
to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.harness import Server, wait_for  # noqa: E402

RESULTS = ROOT / "loadtest" / "results"
HOST = "coffee.default.example.com"
PA = "/apis/autoscaling.internal.knative.dev/v1alpha1/namespaces/default/podautoscalers"


def sample(admin: str, revision: str) -> dict[str, float]:
    pa = httpx.get(f"{admin}{PA}/{revision}", timeout=5).json()
    st = pa.get("status", {})
    metrics = st.get("coldbrew", {})
    return {
        "ready": float(st.get("actualScale", 0)),
        "desired": float(st.get("desiredScale", 0)),
        "stable": float(metrics.get("stableValue", 0.0)),
        "panic": float(metrics.get("panicValue", 0.0)),
        "panicking": float(bool(metrics.get("panicking"))),
    }


def parse_hey(report: str) -> tuple[int, int]:
    codes = {int(c): int(n) for c, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", report)}
    errors = sum(int(n) for n in re.findall(r"^\s+\[(\d+)\]\s+Get", report, re.M))
    ok = codes.get(200, 0)
    return ok, sum(n for c, n in codes.items() if c != 200) + errors


def plot(rows: list[dict[str, float]], path: Path, load_end: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [r["t"] for r in rows]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.step(t, [r["ready"] for r in rows], where="post", label="ready pods", color="tab:blue")
    ax.step(t, [r["desired"] for r in rows], where="post", label="desired", color="tab:cyan")
    ax.set_xlabel("seconds since load start")
    ax.set_ylabel("pods")
    ax2 = ax.twinx()
    ax2.plot(t, [r["stable"] for r in rows], label="stable concurrency", color="tab:orange")
    ax2.plot(t, [r["panic"] for r in rows], label="panic concurrency", color="tab:red", ls=":")
    ax2.set_ylabel("concurrency")
    ax.axvline(load_end, color="grey", ls="--", lw=0.8)
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + ax2.get_legend_handles_labels()[1]
    ax.legend(lines, labels, loc="upper right", fontsize=8)
    ax.set_title("coldbrew: hey -c 90 ?sleep=100 against coffee (target 10)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("--duration", type=int, default=30)
    p.add_argument("--concurrency", type=int, default=90)
    p.add_argument("--window", default=None, help="autoscaling.knative.dev/window, e.g. 6s")
    p.add_argument("--after", type=int, default=30, help="seconds to watch after the load")
    args = p.parse_args()
    if not 1 <= args.duration <= 300:
        p.error("--duration must be 1..300 seconds")

    manifest = yaml.safe_load((ROOT / "examples" / "coffee.yaml").read_text())
    if args.window:
        annotations = manifest["spec"]["template"]["metadata"]["annotations"]
        annotations["autoscaling.knative.dev/window"] = args.window
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "state")
        server.start()
        try:
            server.client().apply(manifest)
            svc = server.wait_ready("coffee", timeout=15)
            revision = svc["status"]["latestReadyRevisionName"]
            rows = run(server, revision, args)
        finally:
            server.stop()
    return report(rows, args)


def run(server: Server, revision: str, args: argparse.Namespace) -> list[dict[str, float]]:
    rows: list[dict[str, float]] = []
    cmd = ["hey", "-z", f"{args.duration}s", "-c", str(args.concurrency), "-host", HOST]
    hey = subprocess.Popen(
        [*cmd, f"{server.url}/?sleep=100"],
        stdout=subprocess.PIPE,
        text=True,
    )
    start = time.monotonic()
    out: dict[str, str] = {}
    reader = threading.Thread(target=lambda: out.setdefault("hey", hey.communicate()[0]))
    reader.start()
    end = start + args.duration + args.after
    while time.monotonic() < end:
        tick = time.monotonic()
        row = {"t": round(tick - start, 2), **sample(server.admin_url, revision)}
        rows.append(row)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    reader.join(30)
    wait_for(lambda: "hey" in out, timeout=30, what="hey to finish")
    ok, errors = parse_hey(out["hey"])
    rows[0]["ok"], rows[0]["errors"] = ok, errors
    return rows


def report(rows: list[dict[str, float]], args: argparse.Namespace) -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    csv_path = RESULTS / f"stress-{stamp}.csv"
    with csv_path.open("w", newline="") as fh:
        fields = ["t", "ready", "desired", "stable", "panic", "panicking"]
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    png_path = csv_path.with_suffix(".png")
    plot(rows, png_path, args.duration)
    peak = max(r["ready"] for r in rows)
    scaled = next((r["t"] for r in rows if r["ready"] >= peak), float("nan"))
    print(f"peak ready pods: {peak:.0f}")
    print(f"seconds until scaled out (first sample at peak): {scaled:.1f}")
    print(f"hey: {rows[0]['ok']:.0f} x 200, errors/non-2xx: {rows[0]['errors']:.0f}")
    print(f"pods at the end: {rows[-1]['ready']:.0f}")
    print(f"wrote {csv_path} and {png_path}")
    return 0 if rows[0]["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

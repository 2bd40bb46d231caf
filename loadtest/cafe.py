"""The seed's whole cafe demo with reserved instances, as one command.

    python loadtest/cafe.py [--load 15] [--concurrency 90] [--window 6s] [--runtime docker]

On a fresh ``coldbrew serve`` (free ports, temporary state): apply coffee,
stress it with ``hey -c 90 ?sleep=100``, let it idle until the reserve pod is
alone, send one request that wakes it, and keep a trickle of requests (every
200 ms) through the hand-over to standard pods until the reserve pod is gone.
Then, for comparison, tea with ``reserve-instance: disable`` goes to zero and
gets one request: a cold start. Samples standard and reserve pods every
200 ms; writes a CSV and a PNG (pods over time with request latencies) to
loadtest/results/ and prints the wake-up latency next to the cold start.
Traffic goes to 127.0.0.1 only.

``--runtime docker`` runs coffee and tea as containers of the test image
(``tests/containers/images.py``, imported into the engine; no registry), so the wake-up is a
reserve *container* answering and the cold start a container created and started from zero.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml
from coldstart import cold_request_seconds, timed_get

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.harness import Hey, Server, wait_for  # noqa: E402

RESULTS = ROOT / "loadtest" / "results"
COFFEE, TEA = "coffee.default.example.com", "tea.default.example.com"
RESERVE_LABEL = "knative.aliyun.com/reserve-instance"


IMAGE: str | None = None  # --runtime docker: the test image every container runs


def manifest(name: str, window: str, **annotations: str) -> dict:
    doc = yaml.safe_load((ROOT / "examples" / name).read_text())
    if IMAGE is not None:
        doc["spec"]["template"]["spec"]["containers"][0].update(
            image=IMAGE, imagePullPolicy="Never"
        )
    notes = doc["spec"]["template"]["metadata"]["annotations"]
    notes["autoscaling.knative.dev/window"] = window
    notes.update(annotations)
    return doc


class Sampler(threading.Thread):
    """Ready standard and reserve pods of coffee every 200 ms."""

    def __init__(self, server: Server, start: float) -> None:
        super().__init__(daemon=True)
        self.server, self.start_time = server, start
        self.rows: list[dict[str, float]] = []
        self.halt = threading.Event()

    def counts(self) -> tuple[int, int]:
        standard = reserve = 0
        for pod in self.server.pods():
            meta = pod["metadata"]
            if meta["labels"].get("serving.knative.dev/service") != "coffee":
                continue
            if meta.get("deletionTimestamp") or not pod["status"]["containerStatuses"][0]["ready"]:
                continue
            if meta["labels"].get(RESERVE_LABEL):
                reserve += 1
            else:
                standard += 1
        return standard, reserve

    def run(self) -> None:
        while not self.halt.wait(0.2):
            standard, reserve = self.counts()
            t = time.monotonic() - self.start_time
            self.rows.append({"t": round(t, 2), "standard": standard, "reserve": reserve})


def run(server: Server, args: argparse.Namespace) -> dict:
    server.client().apply(manifest("coffee.yaml", args.window))
    server.wait_ready("coffee", timeout=15)
    start = time.monotonic()
    sampler = Sampler(server, start)
    sampler.start()
    latencies: list[tuple[float, float, str]] = []  # (t, seconds, phase)
    url = f"{server.url}/?sleep=100"
    with Hey("-z", f"{args.load}s", "-c", str(args.concurrency), "-host", COFFEE, url) as hey:
        codes = hey.finish(timeout=args.load + 60)
    idle_at = time.monotonic() - start
    wait_for(lambda: sampler.counts() == (0, 1), timeout=180, interval=0.2, what="reserve alone")
    time.sleep(args.rest)  # the scenario: the reserve pod alone, idle, for a while
    assert sampler.counts() == (0, 1), "the reserve pod did not stay alone while idle"
    woke_at = time.monotonic() - start
    wake, response = timed_get(server.port, COFFEE)
    failures = 0 if response.startswith(b"HTTP/1.1 200") else 1
    latencies.append((woke_at, wake, "wake"))
    deadline, handed_over, tail = time.monotonic() + 60, 0.0, 3.0
    while time.monotonic() < deadline:
        t = time.monotonic() - start
        took, response = timed_get(server.port, COFFEE)
        failures += not response.startswith(b"HTTP/1.1 200")
        latencies.append((t, took, "trickle"))
        if not handed_over:
            standard, reserve = sampler.counts()
            if standard >= 1 and reserve == 0:
                handed_over = t  # keep the trickle going a little to show the new state
        elif t - handed_over > tail:
            break
        time.sleep(0.2)
    sampler.halt.set()
    sampler.join()
    server.client().apply(manifest("tea.yaml", args.window, **{RESERVE_LABEL: "disable"}))
    server.wait_ready("tea", timeout=15)
    cold = cold_request_seconds(server, "tea-00001", TEA)
    return {
        "rows": sampler.rows,
        "latencies": latencies,
        "hey": codes,
        "failures": failures,
        "idle_at": idle_at,
        "woke_at": woke_at,
        "handed_over": handed_over,
        "wake": wake,
        "cold": cold,
    }


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    t = [r["t"] for r in rows]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.step(t, [r["standard"] for r in rows], where="post", label="standard pods")
    ax.step(t, [r["reserve"] for r in rows], where="post", label="reserve pods", color="tab:green")
    ax.set_xlabel("seconds")
    ax.set_ylabel("ready pods")
    ax2 = ax.twinx()
    lt = [(x, s * 1000) for x, s, _ in result["latencies"]]
    ax2.scatter([x for x, _ in lt], [y for _, y in lt], s=10, color="tab:red", label="latency")
    ax2.set_ylabel("request latency (ms)")
    for x, what in ((result["idle_at"], "load ends"), (result["woke_at"], "wake-up")):
        ax.axvline(x, color="grey", ls="--", lw=0.8)
        ax.text(x, ax.get_ylim()[1] * 0.95, f" {what}", fontsize=8)
    handles = ax.get_legend_handles_labels()
    handles2 = ax2.get_legend_handles_labels()
    ax.legend(handles[0] + handles2[0], handles[1] + handles2[1], loc="upper right", fontsize=8)
    ax.set_title("coldbrew cafe demo: stress, idle on a reserve pod, wake-up, hand-over")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> int:
    p = argparse.ArgumentParser(description="the seed's cafe demo with reserved instances")
    p.add_argument("--load", type=int, default=15, help="seconds of hey load")
    p.add_argument("--concurrency", type=int, default=90)
    p.add_argument("--window", default="6s")
    p.add_argument("--rest", type=float, default=5.0, help="idle seconds on the reserve pod")
    p.add_argument("--runtime", choices=["process", "docker"], default="process")
    args = p.parse_args()
    if args.runtime == "docker":
        global IMAGE
        from loadtest.containerstart import prepare_engine

        IMAGE, _ = prepare_engine()
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "state", "--runtime", args.runtime)
        server.start()
        try:
            result = run(server, args)
        finally:
            server.stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"cafe-{time.strftime('%Y%m%dT%H%M%S')}"
    with stem.with_suffix(".csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["t", "standard", "reserve", "latency_ms", "phase"])
        for r in result["rows"]:
            writer.writerow([r["t"], r["standard"], r["reserve"], "", ""])
        for t, s, phase in result["latencies"]:
            writer.writerow([round(t, 3), "", "", round(s * 1000, 2), phase])
    plot(result, stem.with_suffix(".png"))
    print(f"hey: {result['hey']}")
    print(f"wake-up latency (reserve pod answers): {result['wake'] * 1000:.1f} ms")
    print(f"cold start from zero (reserve disabled): {result['cold'] * 1000:.1f} ms")
    print(f"hand-over to standard pods done {result['handed_over'] - result['woke_at']:.1f} s")
    print(f"failed requests across the sequence: {result['failures']}")
    print(f"wrote {stem}.csv and {stem}.png")
    return 0 if result["failures"] == 0 and set(result["hey"]) == {"200"} else 1


if __name__ == "__main__":
    sys.exit(main())

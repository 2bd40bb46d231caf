"""Plot a :class:`SimulationResult`: load and pods over time, as a PNG (matplotlib Agg)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from autoscaler.simulating import SimulationResult


def plot(result: SimulationResult, path: str | Path, title: str = "KPA simulation") -> Path:
    """Write a two-panel chart (concurrency above, pods below) to ``path``; returns it."""
    out = Path(path)
    fig, (load_ax, pods_ax) = plt.subplots(2, 1, sharex=True, figsize=(10, 6))
    try:
        seconds = [p.second for p in result.trace]
        load_ax.plot(seconds, [p.concurrency for p in result.trace], label="concurrency", lw=1)
        times = [t["time"] for t in result.ticks]
        load_ax.plot(times, [t["stable"] for t in result.ticks], label="stable avg", lw=1.5)
        load_ax.plot(times, [t["panic_value"] for t in result.ticks], label="panic avg", lw=1)
        for t in result.ticks:
            if t["panic"]:
                load_ax.axvspan(t["time"] - 1, t["time"] + 1, color="red", alpha=0.08, lw=0)
        load_ax.set_ylabel("concurrency")
        load_ax.legend(loc="upper right")
        load_ax.set_title(title)
        pods_ax.step(times, [t["desired"] for t in result.ticks], where="post", label="desired")
        pods_ax.step(times, [t["ready"] for t in result.ticks], where="post", label="ready")
        pods_ax.set_ylabel("pods")
        pods_ax.set_xlabel("seconds")
        pods_ax.legend(loc="upper right")
        fig.tight_layout()
        fig.savefig(out, format="png", dpi=100)
    finally:
        plt.close(fig)
    return out

"""``coldbrew simulate``: replay a load trace through the KPA, offline."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from autoscaler.config import ConfigError
from autoscaler.plotting import plot
from autoscaler.simulating import TraceError, read_trace, simulate
from coldbrew.api import ValidationError, load_documents, parse_service
from coldbrew.config import load_config
from coldbrew.scaling import decider_spec


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("simulate", help="replay a per-second trace through the autoscaler")
    p.add_argument("-f", "--filename", required=True, type=Path, help="Service YAML")
    p.add_argument("--trace", required=True, type=Path, help="CSV: second,concurrency[,rps]")
    p.add_argument("--config", type=Path, help="platform config (autoscaler: section)")
    p.add_argument("--pod-start-seconds", type=float, default=0.0)
    p.add_argument("--tail-seconds", type=float, default=0.0, help="idle time after the trace")
    p.add_argument("-o", "--output", choices=["table", "json"], default="table")
    p.add_argument("--plot", type=Path, help="write a PNG of concurrency and pods")


def table(result: dict) -> str:
    lines = [f"{'TIME':>6} {'STABLE':>8} {'PANIC':>8} {'DESIRED':>8} {'READY':>6}  PANICKING"]
    for t in result["ticks"]:
        lines.append(
            f"{t['time']:>6.0f} {t['stable']:>8.2f} {t['panic_value']:>8.2f} "
            f"{t['desired']:>8} {t['ready']:>6}  {str(t['panic']).lower()}"
        )
    lines.append("")
    lines += [f"{k}: {v}" for k, v in result["summary"].items()]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        docs = load_documents(args.filename.read_text())
        if not docs:
            raise ValidationError("", "no document in the file")
        service = parse_service(docs[0])
        config = load_config(args.config)
        trace = read_trace(args.trace)
    except (ValidationError, ConfigError, TraceError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    spec = decider_spec(config.autoscaler, service.template)
    try:
        result = simulate(
            spec,
            config.autoscaler,
            trace,
            args.pod_start_seconds,
            tail_seconds=args.tail_seconds,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    out = result.to_dict()
    print(json.dumps(out, indent=2) if args.output == "json" else table(out))
    if args.plot:
        plot(result, args.plot, title=f"{service.name}: KPA simulation")
    return 0

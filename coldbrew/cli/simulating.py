"""``coldbrew simulate``: replay a load trace through the KPA, offline."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from autoscaler.comparing import compare_policies
from autoscaler.config import ConfigError
from autoscaler.pricing import PriceTable, UnknownInstanceType, resolve_specs
from autoscaler.simulating import TraceError, read_trace, simulate
from coldbrew.api import ValidationError, load_documents, parse_service
from coldbrew.api.model import RevisionTemplate
from coldbrew.platform_config import PlatformConfig, load_config
from coldbrew.scaling import decider_spec


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("simulate", help="replay a per-second trace through the autoscaler")
    p.add_argument("-f", "--filename", required=True, type=Path, help="Service YAML")
    p.add_argument("--trace", required=True, type=Path, help="CSV: second,concurrency[,rps]")
    p.add_argument("--config", type=Path, help="platform config (autoscaler, reserve, prices)")
    p.add_argument("--prices", type=Path, help="YAML prices mapping (overrides prices:)")
    p.add_argument(
        "--reserve-type",
        help="reserve instance type or CPU-memory size (default: the revision's "
        "reserve-instance-eci-use-specs, else the config's)",
    )
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
    if "policies" in result:
        lines += ["", policy_table(result["policies"])]
    return "\n".join(lines)


def policy_table(policies: dict) -> str:
    """POLICY, STANDARD POD-S, RESERVE POD-S, COST, COLD STARTS."""
    head = f"{'POLICY':<14} {'STANDARD POD-S':>14} {'RESERVE POD-S':>13} {'COST':>12} COLD STARTS"
    lines = [head]
    for name, r in policies.items():
        cost = f"{r['cost']:.4f} {r['currency']}"
        lines.append(
            f"{name:<14} {r['standard_pod_seconds']:>14.0f} {r['reserve_pod_seconds']:>13.0f} "
            f"{cost:>12} {r['cold_starts']}"
        )
    return "\n".join(lines)


def _prices(config: PlatformConfig, path: Path | None) -> PriceTable:
    if path is None:
        return config.prices
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError("", f"{path} is not valid YAML: {exc}") from exc
    if isinstance(doc, dict) and set(doc) == {"prices"}:
        doc = doc["prices"]
    return PriceTable.from_mapping(doc)


def _sizes(
    config: PlatformConfig, template: RevisionTemplate, reserve: str | None
) -> tuple[str, float, float]:
    """(reserve instance type name, standard vCPU, standard GiB) for the policy comparison."""
    if reserve is None:
        specs = template.scaling.reserve_instance_eci_use_specs or config.reserve.eci_use_specs
        reserve = resolve_specs(specs.instance_types, specs.cpu, specs.memory).name
    res = template.container.resources
    cpu = res.cpu if res is not None else None
    memory = res.memory / 2**30 if res is not None and res.memory else None
    return reserve, cpu or 1.0, memory or 2.0


def run(args: argparse.Namespace) -> int:
    try:
        docs = load_documents(args.filename.read_text())
        if not docs:
            raise ValidationError("", "no document in the file")
        service = parse_service(docs[0])
        config = load_config(args.config)
        trace = read_trace(args.trace)
        prices = _prices(config, args.prices)
        reserve_type, cpu, memory = _sizes(config, service.template, args.reserve_type)
        prices.price_per_hour(reserve_type)  # an unknown --reserve-type fails here
    except (ValidationError, ConfigError, TraceError, UnknownInstanceType, OSError) as exc:
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
        policies = compare_policies(
            spec,
            config.autoscaler,
            trace,
            args.pod_start_seconds,
            prices=prices,
            reserve_type=reserve_type,
            reserve_replicas=config.reserve.replicas,
            standard_cpu=cpu,
            standard_memory_gib=memory,
            tail_seconds=args.tail_seconds,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    out = result.to_dict()
    out["policies"] = policies
    print(json.dumps(out, indent=2) if args.output == "json" else table(out))
    if args.plot:
        from autoscaler.plotting import plot  # matplotlib: only when a plot is asked for

        plot(result, args.plot, title=f"{service.name}: KPA simulation")
    return 0

"""The benchmark's Markdown table and goal check, from the results dict."""

from __future__ import annotations

from typing import Any


def _f(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def goals(r: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(goal, measured, met) for each goal of the issue whose case ran."""
    out: list[tuple[str, str, bool | None]] = []
    if "proxies" in r:
        m = r["proxies"]["median"]
        ratio = m["gateway"]["rps"] / m["nginx"]["rps"]
        cpu = m["gateway"]["cpu_us_per_request"] / m["nginx"]["cpu_us_per_request"]
        out.append(("throughput >= 0.9 x nginx", f"{ratio:.2f} x", ratio >= 0.9))
        out.append(("CPU/request <= 1.5 x nginx", f"{cpu:.2f} x", cpu <= 1.5))
        bare = m.get("gateway --no-metrics")
        if bare:
            rps = m["gateway"]["rps"] / bare["rps"]
            cpu = m["gateway"]["cpu_us_per_request"] / bare["cpu_us_per_request"]
            out.append(("metrics on: throughput >= 0.97 x off", f"{rps:.3f} x", rps >= 0.97))
            out.append(("metrics on: CPU/request <= 1.03 x off", f"{cpu:.3f} x", cpu <= 1.03))
    if "probe" in r:
        for name in ("gateway", "gateway+activator"):
            added = r["probe"][name]["p95_added_ms"]
            out.append((f"p95 added <= 2 ms ({name})", f"{added:.2f} ms", added <= 2.0))
    if "platforms" in r:
        p = r["platforms"]
        n = p["services"]
        rss = max(p["rss_mb"][f"workers2+{n}svc"])
        ratio = p["median"][f"workers2+{n}svc"]["rps"] / p["median"]["workers2"]["rps"]
        out.append((f"{n} services: gateway RSS <= 100 MB", f"{rss:.1f} MB", rss <= 100))
        out.append((f"{n} services: throughput within 5% of 1", f"{ratio:.3f} x", ratio >= 0.95))
    if "held" in r:
        extra = r["held"]["extra_mb"]
        out.append(("10 000 held: <= 50 MB extra", f"{extra:.1f} MB", extra <= 50))
    return out


def markdown(r: dict[str, Any]) -> str:
    lines: list[str] = []
    mach = r["machine"]
    lines.append(
        f"Run {r['started']} on {mach['cpu']}, {mach['cores']} cores, {mach['os']}, "
        f"Python {mach['python']}, {mach['nginx']}; load average "
        f"{' / '.join(_f(x, 2) for x in r['loadavg_before'])} before, "
        f"{' / '.join(_f(x, 2) for x in r['loadavg_after'])} after."
    )
    lines.append("")
    if "proxies" in r:
        a = r["args"]
        lines.append(
            f"**Proxies** (wrk -c{a['connections']}, {a['rounds']} interleaved rounds of "
            f"{a['duration']} s, medians; sample app `GET /`):"
        )
        lines.append("")
        lines.append(
            "| path | req/s | vs nginx | p50 ms | p99 ms | proxy CPU us/req | user | system |"
        )
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        m = r["proxies"]["median"]
        for name in ("direct", "nginx", "gateway", "gateway --no-metrics"):
            row = m.get(name)
            if row is None:
                continue
            lines.append(
                f"| {name} | {_f(row['rps'], 0)} | {row['rps'] / m['nginx']['rps']:.2f} | "
                f"{_f(row['p50_ms'], 2)} | {_f(row['p99_ms'], 2)} | "
                f"{_f(row.get('cpu_us_per_request'))} | "
                f"{_f(row.get('cpu_user_us_per_request'))} | "
                f"{_f(row.get('cpu_sys_us_per_request'))} |"
            )
        lines.append("")
    if "probe" in r:
        p = r["probe"]
        lines.append(
            f"**Dataplane probe** (open loop, {_f(p['rate'], 0)} req/s for {_f(p['seconds'], 0)} s "
            f"to `{p['path']}`, latency from each request's due time):"
        )
        lines.append("")
        lines.append("| path | achieved req/s | errors | p50 ms | p95 ms | p99 ms | p95 added ms |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|")
        for name in ("direct", "nginx", "gateway", "gateway+activator"):
            row = p[name]
            lines.append(
                f"| {name} | {_f(row['achieved_rps'], 0)} | {row['errors']} | "
                f"{_f(row['p50_ms'], 2)} | {_f(row['p95_ms'], 2)} | {_f(row['p99_ms'], 2)} | "
                f"{_f(row.get('p95_added_ms'), 2)} |"
            )
        lines.append("")
    if "platforms" in r:
        p = r["platforms"]
        lines.append(
            "**Platform** (`coldbrew serve`, wrk to one service; RSS of each gateway process, "
            "for --workers 1 the serve process itself):"
        )
        lines.append("")
        lines.append("| case | req/s | p50 ms | p99 ms | gateway CPU us/req | gateway RSS MB |")
        lines.append("|---|---:|---:|---:|---:|---:|")
        for name, row in p["median"].items():
            rss = ", ".join(_f(x) for x in p["rss_mb"][name])
            lines.append(
                f"| {name} | {_f(row['rps'], 0)} | {_f(row['p50_ms'], 2)} | "
                f"{_f(row['p99_ms'], 2)} | {_f(row.get('cpu_us_per_request'))} | {rss} |"
            )
        lines.append("")
    if "held" in r:
        h = r["held"]
        lines.append(
            f"**Held requests**: {h['requests']:,} requests held for a revision with no pod: "
            f"gateway RSS {_f(h['rss_before_mb'])} -> {_f(h['rss_after_mb'])} MB "
            f"(+{_f(h['extra_mb'])} MB)."
        )
        lines.append("")
    lines.append("| goal | measured | met |")
    lines.append("|---|---:|---|")
    for goal, measured, met in goals(r):
        lines.append(f"| {goal} | {measured} | {'yes' if met else 'no'} |")
    return "\n".join(lines) + "\n"

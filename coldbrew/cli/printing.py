"""Tables and documents as kubectl prints Knative's objects."""

from __future__ import annotations

import calendar
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import yaml

Row = list[str]


def condition_of(obj: dict[str, Any], kind: str = "Ready") -> dict[str, Any]:
    for cond in obj.get("status", {}).get("conditions", []):
        if cond.get("type") == kind:
            return dict(cond)
    return {}


def age(timestamp: str | None, now: float | None = None) -> str:
    """kubectl's short age: 42s, 5m24s, 26h, 3d."""
    if not timestamp:
        return "<unknown>"
    then = calendar.timegm(time.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ"))
    secs = max(0, int((now or time.time()) - then))
    if secs < 120:
        return f"{secs}s"
    if secs < 600:
        return f"{secs // 60}m{secs % 60}s" if secs % 60 else f"{secs // 60}m"
    if secs < 3 * 3600:
        return f"{secs // 60}m"
    if secs < 48 * 3600:
        return f"{secs // 3600}h"
    return f"{secs // 86400}d"


def ksvc_row(obj: dict[str, Any], wide: bool) -> Row:
    st = obj.get("status", {})
    ready = condition_of(obj)
    return [
        obj["metadata"]["name"],
        st.get("url", ""),
        st.get("latestCreatedRevisionName", ""),
        st.get("latestReadyRevisionName", ""),
        ready.get("status", "Unknown"),
        ready.get("reason", ""),
    ]


def revision_row(obj: dict[str, Any], wide: bool) -> Row:
    labels = obj["metadata"].get("labels", {})
    st = obj.get("status", {})
    ready = condition_of(obj)
    row = [
        obj["metadata"]["name"],
        labels.get("serving.knative.dev/configuration", ""),
        labels.get("serving.knative.dev/configurationGeneration", ""),
        ready.get("status", "Unknown"),
        ready.get("reason", ""),
        str(st.get("actualReplicas", 0)),
        str(st.get("desiredReplicas", 0)),
    ]
    if wide:
        cost = st.get("coldbrew", {}).get("cost", {})
        by_type = cost.get("by_type", {})
        row += [
            obj.get("spec", {}).get("containers", [{}])[0].get("image", ""),
            str(st.get("coldbrew", {}).get("reserveReplicas", 0)),
            f"{cost.get('pod_seconds', 0.0):.0f}",
            f"{cost.get('cost', 0.0):.6f} {cost.get('currency', '')}".strip(),
            ",".join(f"{t}={v['pod_seconds']:.0f}s" for t, v in sorted(by_type.items())) or "-",
        ]
    return row


def pod_status(obj: dict[str, Any]) -> str:
    if obj["metadata"].get("deletionTimestamp"):
        return "Terminating"
    statuses = obj.get("status", {}).get("containerStatuses", [])
    if statuses:
        state = statuses[0].get("state", {})
        if "waiting" in state:
            return str(state["waiting"].get("reason", "Waiting"))
        if "terminated" in state:
            return str(state["terminated"].get("reason", "Terminated"))
    return str(obj.get("status", {}).get("phase", "Unknown"))


def pod_row(obj: dict[str, Any], wide: bool) -> Row:
    statuses = obj.get("status", {}).get("containerStatuses", [])
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(int(s.get("restartCount", 0)) for s in statuses)
    row = [
        obj["metadata"]["name"],
        f"{ready}/{len(statuses) or 1}",
        pod_status(obj),
        str(restarts),
        age(obj["metadata"].get("creationTimestamp")),
    ]
    if wide:
        ports = obj.get("spec", {}).get("containers", [{}])[0].get("ports", [{}])
        notes = obj["metadata"].get("annotations", {})
        row += [
            obj.get("status", {}).get("podIP", ""),
            str(ports[0].get("containerPort", "")) if ports else "",
            notes.get("coldbrew.dev/instance-type", "standard"),
            notes.get("coldbrew.dev/enforced", "-").replace(" ", ","),
        ]
    return row


def kpa_row(obj: dict[str, Any], wide: bool) -> Row:
    st = obj.get("status", {})
    ready = condition_of(obj)
    metrics = st.get("coldbrew", {})
    row = [
        obj["metadata"]["name"],
        str(st.get("desiredScale", "")),
        str(st.get("actualScale", "")),
        ready.get("status", "Unknown"),
        ready.get("reason", ""),
        f"{metrics.get('stableValue', 0.0):.2f}",
        f"{metrics.get('panicValue', 0.0):.2f}",
        str(bool(metrics.get("panicking"))).lower(),
    ]
    if wide:
        row += [
            str(metrics.get("excessBurstCapacity", "")),
            "activator" if metrics.get("activatorInPath") else "pods",
        ]
    return row


def domain_mapping_row(obj: dict[str, Any], wide: bool) -> Row:
    ready = condition_of(obj)
    return [
        obj["metadata"]["name"],
        obj.get("status", {}).get("url", ""),
        ready.get("status", "Unknown"),
        obj.get("spec", {}).get("ref", {}).get("name", ""),
    ]


def configmap_row(obj: dict[str, Any], wide: bool) -> Row:
    count = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [obj["metadata"]["name"], str(count), age(obj["metadata"].get("creationTimestamp"))]


def secret_row(obj: dict[str, Any], wide: bool) -> Row:
    return [
        obj["metadata"]["name"],
        str(obj.get("type", "Opaque")),
        str(len(obj.get("data") or {})),
        age(obj["metadata"].get("creationTimestamp")),
    ]


TABLES: dict[str, tuple[Sequence[str], Sequence[str], Callable[[dict[str, Any], bool], Row]]] = {
    "ksvc": (
        ["NAME", "URL", "LATESTCREATED", "LATESTREADY", "READY", "REASON"],
        [],
        ksvc_row,
    ),
    "revisions": (
        [
            "NAME",
            "CONFIG NAME",
            "GENERATION",
            "READY",
            "REASON",
            "ACTUAL REPLICAS",
            "DESIRED REPLICAS",
        ],
        ["IMAGE", "RESERVE", "POD-SECONDS", "COST", "BY TYPE"],
        revision_row,
    ),
    "pods": (
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        ["IP", "PORT", "TYPE", "ENFORCED"],
        pod_row,
    ),
    "kpa": (
        ["NAME", "DESIREDSCALE", "ACTUALSCALE", "READY", "REASON", "STABLE", "PANIC", "PANICKING"],
        ["EBC", "PATH"],
        kpa_row,
    ),
    "domainmappings": (["NAME", "URL", "READY", "KSVC"], [], domain_mapping_row),
    "configmaps": (["NAME", "DATA", "AGE"], [], configmap_row),
    "secrets": (["NAME", "TYPE", "DATA", "AGE"], [], secret_row),
}


def table(kind: str, items: list[dict[str, Any]], wide: bool = False) -> str:
    header, extra, row_of = TABLES[kind]
    rows = [list(header) + (list(extra) if wide else [])]
    rows += [row_of(item, wide) for item in items]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def document(obj: Any, output: str) -> str:
    if output == "json":
        return json.dumps(obj, indent=2)
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False).rstrip()

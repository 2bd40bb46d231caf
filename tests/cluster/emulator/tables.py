"""The ``Table`` form (``Accept: application/json;as=Table;g=meta.k8s.io;v=v1``).

kubectl asks the server to print: a custom resource's columns are its CRD's
``additionalPrinterColumns`` (values by Kubernetes JSONPath, ``date`` columns as ages),
after ``Name``; pods and services get the columns the API server prints for them (pods:
``NAME READY STATUS RESTARTS AGE``, services: ``NAME TYPE CLUSTER-IP EXTERNAL-IP
PORT(S) AGE``); other kinds ``NAME AGE``. The JSONPath subset is what CRDs use: ``.a.b``,
``['escaped\\.key']``, ``[n]`` and ``[?(@.k=='v')]`` (jsonpath-ng does not read
Kubernetes' escaped-dot keys, hence this small evaluator).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .discovery import Resource

_TOKEN = re.compile(
    r"\.(?P<field>[A-Za-z0-9_$-]+)"
    r"|\['(?P<key>(?:[^'\\]|\\.)*)'\]"
    r"|\[(?P<index>-?\d+)\]"
    r"|\[\?\(@\.(?P<fkey>[A-Za-z0-9_]+)\s*==\s*['\"](?P<fval>[^'\"]*)['\"]\)\]"
)


def json_path(obj: Any, path: str) -> list[Any]:
    """Every value ``path`` selects in ``obj`` (a missing field selects nothing)."""
    values = [obj]
    pos = 0
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if m is None:
            raise ValueError(f"unsupported JSONPath {path!r} at {pos}")
        pos = m.end()
        out: list[Any] = []
        for v in values:
            if m["field"] is not None or m["key"] is not None:
                key = m["field"] or re.sub(r"\\(.)", r"\1", m["key"])
                if isinstance(v, dict) and key in v:
                    out.append(v[key])
            elif m["index"] is not None:
                if isinstance(v, list) and -len(v) <= int(m["index"]) < len(v):
                    out.append(v[int(m["index"])])
            elif isinstance(v, list):
                out.extend(
                    i for i in v if isinstance(i, dict) and str(i.get(m["fkey"])) == m["fval"]
                )
        values = out
    return values


def human_duration(seconds: float) -> str:
    """apimachinery's ``duration.HumanDuration`` (what ``AGE`` shows)."""
    s = int(seconds)
    if s < 0:
        return "<invalid>"
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = s // 3600
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if h < 192:
        return f"{h // 24}d{h % 24}h" if h % 24 else f"{h // 24}d"
    if h < 24 * 365 * 2:
        return f"{h // 24}d"
    if h < 24 * 365 * 8:
        days = h // 24
        return f"{days // 365}y{days % 365}d" if days % 365 else f"{days // 365}y"
    return f"{h // 24 // 365}y"


def age(obj: dict[str, Any]) -> str:
    stamp = (obj.get("metadata") or {}).get("creationTimestamp")
    if not stamp:
        return "<unknown>"
    created = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    return human_duration((datetime.now(UTC) - created).total_seconds())


def _cell(values: list[Any], kind: str) -> Any:
    if not values:
        return None
    value = values[0]
    if kind == "date" and isinstance(value, str):
        return age({"metadata": {"creationTimestamp": value}})
    if kind == "integer" and isinstance(value, int | float):
        return int(value)
    if isinstance(value, dict | list):
        import json

        return json.dumps(value)
    return value if kind in ("integer", "number", "boolean") else str(value)


def _pod_cells(pod: dict[str, Any]) -> list[Any]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    total = len(spec.get("containers") or [])
    statuses = status.get("containerStatuses") or []
    if statuses:
        ready = sum(1 for c in statuses if c.get("ready"))
    else:  # the kubelet stand-in writes only the Ready condition
        conds = status.get("conditions") or []
        ready = (
            total
            if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)
            else 0
        )
    phase = status.get("phase") or ("Running" if ready else "Pending")
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        phase = "Terminating"
    restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
    return [f"{ready}/{total}", phase, restarts, age(pod)]


def _service_cells(svc: dict[str, Any]) -> list[Any]:
    spec, status = svc.get("spec") or {}, svc.get("status") or {}
    kind = spec.get("type") or "ClusterIP"
    ingress = (status.get("loadBalancer") or {}).get("ingress") or []
    external = ",".join(i.get("ip") or i.get("hostname") or "" for i in ingress)
    if not external:
        external = "<pending>" if kind == "LoadBalancer" else "<none>"
    ports = []
    for p in spec.get("ports") or []:
        text = str(p.get("port"))
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        ports.append(f"{text}/{p.get('protocol') or 'TCP'}")
    return [
        kind,
        spec.get("clusterIP") or "<none>",
        external,
        ",".join(ports) or "<none>",
        age(svc),
    ]


def _column(
    name: str, kind: str = "string", description: str = "", priority: int = 0
) -> dict[str, Any]:
    fmt = "name" if name == "Name" else ""
    return {
        "name": name,
        "type": kind,
        "format": fmt,
        "description": description,
        "priority": priority,
    }


_BUILT_IN: dict[str, tuple[list[dict[str, Any]], Callable[[dict[str, Any]], list[Any]]]] = {
    "Pod": (
        [_column("Ready"), _column("Status"), _column("Restarts", "integer"), _column("Age")],
        _pod_cells,
    ),
    "Service": (
        [
            _column("Type"),
            _column("Cluster-IP"),
            _column("External-IP"),
            _column("Port(s)"),
            _column("Age"),
        ],
        _service_cells,
    ),
}


def columns_and_cells(
    resource: Resource,
) -> tuple[list[dict[str, Any]], Callable[[dict[str, Any]], list[Any]]]:
    name = _column("Name", description="Name must be unique within a namespace.")
    if resource.custom:
        cols = [
            _column(
                c["name"], c.get("type", "string"), c.get("description", ""), c.get("priority", 0)
            )
            for c in resource.columns
        ]
        if not resource.columns:
            cols = [_column("Age", "date")]

        def cells(obj: dict[str, Any]) -> list[Any]:
            if not resource.columns:
                return [age(obj)]
            return [
                _cell(json_path(obj, c["jsonPath"]), c.get("type", "string"))
                for c in resource.columns
            ]

        return [name, *cols], cells
    cols, builder = _BUILT_IN.get(resource.kind, ([_column("Age")], lambda o: [age(o)]))
    return [name, *cols], builder


def table(
    resource: Resource, objects: list[dict[str, Any]], resource_version: str, include: str
) -> dict[str, Any]:
    """A ``meta.k8s.io/v1`` Table of ``objects``; ``include`` is ``includeObject``."""
    cols, cells = columns_and_cells(resource)
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": [obj["metadata"]["name"], *cells(obj)]}
        if include == "Object":
            row["object"] = obj
        elif include != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": cols,
        "rows": rows,
    }


def wants_table(accept: str) -> bool:
    first = accept.split(",")[0].replace(" ", "")
    return "as=Table" in first

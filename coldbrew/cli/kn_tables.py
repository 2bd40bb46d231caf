"""Tables as kn prints them: ``service list``, ``revision list``, ``route list``."""

from __future__ import annotations

from typing import Any

from coldbrew.cli.printing import age, condition_of

Obj = dict[str, Any]
SERVICE_LABEL = "serving.knative.dev/service"


def _grid(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _conditions(obj: Obj) -> str:
    """kn's CONDITIONS column: ``3 OK / 4`` (True ones of all)."""
    conds = obj.get("status", {}).get("conditions", [])
    ok = sum(1 for c in conds if c.get("status") == "True")
    return f"{ok} OK / {len(conds)}"


def _ready(obj: Obj, kind: str = "Ready") -> tuple[str, str]:
    cond = condition_of(obj, kind)
    return cond.get("status", "Unknown"), cond.get("reason", "")


def services(items: list[Obj]) -> str:
    rows = [["NAME", "URL", "LATEST", "AGE", "CONDITIONS", "READY", "REASON"]]
    for svc in items:
        status = svc.get("status", {})
        rows.append(
            [
                svc["metadata"]["name"],
                status.get("url", ""),
                status.get("latestReadyRevisionName", ""),
                age(svc["metadata"].get("creationTimestamp")),
                _conditions(svc),
                *_ready(svc),
            ]
        )
    return _grid(rows)


def revisions(items: list[Obj], services_by_name: dict[str, Obj]) -> str:
    """Newest first per service, with the traffic and tags the service's route gives each."""
    rows = [["NAME", "SERVICE", "TRAFFIC", "TAGS", "GENERATION", "AGE", "CONDITIONS", "READY",
             "REASON"]]  # fmt: skip
    gen_label = "serving.knative.dev/configurationGeneration"

    def order(rev: Obj) -> tuple[str, int]:
        labels = rev["metadata"].get("labels", {})
        return labels.get(SERVICE_LABEL, ""), -int(labels.get(gen_label, "0") or 0)

    for rev in sorted(items, key=order):
        labels = rev["metadata"].get("labels", {})
        service = labels.get(SERVICE_LABEL, "")
        routed = services_by_name.get(service, {}).get("status", {}).get("traffic", [])
        mine = [t for t in routed if t.get("revisionName") == rev["metadata"]["name"]]
        percent = sum(int(t.get("percent") or 0) for t in mine)
        rows.append(
            [
                rev["metadata"]["name"],
                service,
                f"{percent}%" if percent else "",
                ",".join(t["tag"] for t in mine if t.get("tag")),
                labels.get(gen_label, ""),
                age(rev["metadata"].get("creationTimestamp")),
                _conditions(rev),
                *_ready(rev),
            ]
        )
    return _grid(rows)


def routes(items: list[Obj]) -> str:
    """A Service's route, as kn shows it: its URL and whether RoutesReady."""
    rows = [["NAME", "URL", "READY"]]
    for svc in items:
        rows.append(
            [
                svc["metadata"]["name"],
                svc.get("status", {}).get("url", ""),
                _ready(svc, "RoutesReady")[0],
            ]
        )
    return _grid(rows)

"""``coldbrew describe ksvc|revision|pod NAME``: kubectl describe's layout, kn's content.

Built from the control API's objects: a Service shows its URL, conditions, traffic and the
revisions with their scale; a Revision its image, concurrency target, pods and conditions;
a Pod its containers and conditions; each ends with its recent events (the object's own,
and for a revision those of its Deployment(s) and pods too).
"""

from __future__ import annotations

from typing import Any

from coldbrew.cli.printing import age, condition_of

Section = list[str]


WIDTH = 14  # the value column, as kubectl describe's


def _pairs(pairs: list[tuple[str, str]], indent: int = 0) -> Section:
    width = max(WIDTH, *(len(k) + 2 for k, _ in pairs))
    return [" " * indent + f"{k + ':':<{width}}{v}".rstrip() for k, v in pairs]


def _table(rows: list[list[str]], indent: int = 2) -> Section:
    if len(rows) <= 1:
        return [" " * indent + "<none>"]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        " " * indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in rows
    ]


def _header(obj: dict[str, Any]) -> Section:
    meta = obj.get("metadata", {})
    notes = meta.get("annotations") or {}
    out = _pairs(
        [
            ("Name", meta.get("name", "")),
            ("Namespace", meta.get("namespace", "")),
            ("Age", age(meta.get("creationTimestamp"))),
        ]
    )
    out.append("Annotations:" + ("" if notes else "  <none>"))
    out += [f"  {k}: {v}" for k, v in sorted(notes.items())]
    return out


def conditions(obj: dict[str, Any]) -> Section:
    rows = [["TYPE", "STATUS", "REASON", "LAST TRANSITION", "MESSAGE"]]
    for c in obj.get("status", {}).get("conditions", []):
        rows.append([c.get("type", ""), c.get("status", ""), c.get("reason", ""),
                     age(c.get("lastTransitionTime")), c.get("message", "")])  # fmt: skip
    return ["Conditions:", *_table(rows)]


def events(items: list[dict[str, Any]]) -> Section:
    if not items:
        return ["Events:  <none>"]
    rows = [
        ["Type", "Reason", "Age", "From", "Message"],
        ["----", "------", "---", "----", "-------"],
    ]
    for e in items:
        seen = age(e.get("lastTimestamp"))
        count = int(e.get("count", 1))
        when = f"{seen} (x{count} over {age(e.get('firstTimestamp'))})" if count > 1 else seen
        rows.append([e.get("type", ""), e.get("reason", ""), when,
                     e.get("source", {}).get("component", ""), e.get("message", "")])  # fmt: skip
    return ["Events:", *_table(rows)]


def _scale(rev: dict[str, Any]) -> str:
    st = rev.get("status", {})
    return f"{st.get('actualReplicas', 0)}/{st.get('desiredReplicas', 0)}"


def service(svc: dict[str, Any], revisions: list[dict[str, Any]], evs: list[dict[str, Any]]) -> str:
    st = svc.get("status", {})
    out = _header(svc) + _pairs([("URL", st.get("url", ""))])
    rows = [["PERCENT", "REVISION", "TAG", "URL"]]
    for t in st.get("traffic", []):
        rows.append([f"{t.get('percent', 0)}%", t.get("revisionName", ""), t.get("tag", ""),
                     t.get("url", "")])  # fmt: skip
    out += ["", "Traffic:", *_table(rows)]
    rows = [["NAME", "READY", "PODS (ACTUAL/DESIRED)", "RESERVE", "IMAGE", "CONCURRENCY", "AGE"]]
    for rev in sorted(revisions, key=lambda r: r["metadata"]["name"], reverse=True):
        rows.append(_revision_row(rev))
    out += ["", "Revisions:", *_table(rows), "", *conditions(svc), "", *events(evs)]
    return "\n".join(out)


def _revision_row(rev: dict[str, Any]) -> list[str]:
    spec = rev.get("spec", {})
    image = (spec.get("containers") or [{}])[0].get("image", "")
    notes = rev["metadata"].get("annotations") or {}
    target = notes.get("autoscaling.knative.dev/target", "default")
    cc = spec.get("containerConcurrency", 0)
    reserve = rev.get("status", {}).get("coldbrew", {}).get("reserveReplicas", 0)
    created = age(rev["metadata"].get("creationTimestamp"))
    limit = f"target {target}, limit {cc or 'none'}"
    ready = str(condition_of(rev).get("status", "Unknown"))
    return [rev["metadata"]["name"], ready, _scale(rev), str(reserve), image, limit, created]


def revision(rev: dict[str, Any], pods: list[dict[str, Any]], evs: list[dict[str, Any]]) -> str:
    row = _revision_row(rev)
    labels = rev["metadata"].get("labels") or {}
    out = _header(rev) + _pairs(
        [
            ("Service", labels.get("serving.knative.dev/service", "")),
            ("Image", row[4]),
            ("Concurrency", row[5]),
            ("Replicas", f"{row[2]} (actual/desired), reserve {row[3]}"),
        ]
    )
    rows = [["NAME", "READY", "STATUS", "RESTARTS", "AGE"]]
    for p in pods:
        cs = (p.get("status", {}).get("containerStatuses") or [{}])[0]
        state = cs.get("state", {})
        status = next(iter(state.values()), {}).get("reason") or p["status"].get("phase", "")
        created = age(p["metadata"].get("creationTimestamp"))
        ready = "1/1" if cs.get("ready") else "0/1"
        rows.append([p["metadata"]["name"], ready, status, str(cs.get("restartCount", 0)), created])
    out += ["", "Pods:", *_table(rows), "", *conditions(rev), "", *events(evs)]
    return "\n".join(out)


def pod(obj: dict[str, Any], evs: list[dict[str, Any]]) -> str:
    st = obj.get("status", {})
    labels = obj["metadata"].get("labels") or {}
    cs = (st.get("containerStatuses") or [{}])[0]
    container = (obj.get("spec", {}).get("containers") or [{}])[0]
    out = _header(obj) + _pairs(
        [
            ("Revision", labels.get("serving.knative.dev/revision", "")),
            ("Status", st.get("phase", "")),
            ("IP", st.get("podIP", "")),
        ]
    )
    state = cs.get("state", {})
    name, detail = next(iter(state.items()), ("unknown", {}))
    out += ["Containers:", f"  {container.get('name', 'user-container')}:"]
    out += _pairs(
        [
            ("Image", container.get("image", "")),
            ("State", f"{name.capitalize()} {detail.get('reason', '')}".strip()),
            ("Ready", str(bool(cs.get("ready")))),
            ("Restart Count", str(cs.get("restartCount", 0))),
        ],
        indent=4,
    )
    out += ["", *conditions(obj), "", *events(evs)]
    return "\n".join(out)

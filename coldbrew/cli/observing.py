"""The CLI's read-outs of what happened: ``get events [-w]`` and ``describe``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from coldbrew.cli import describing
from coldbrew.cli.client import ALIASES, Client, ClientError
from coldbrew.cli.events import events_table, follow
from coldbrew.cli.printing import document

# The kinds ``describe`` shows, by every name ``get`` takes for them.
DESCRIBABLE = {
    name: kind for name, kind in ALIASES.items() if kind in ("ksvc", "revisions", "pods")
}


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser("describe", help="show one object in detail")
    p.add_argument("kind", choices=sorted(DESCRIBABLE), metavar="KIND")
    p.add_argument("name")
    p.add_argument("-n", "--namespace", default="default")
    return p


def events_of(client: Client, ns: str, kind: str, names: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in names:
        selector = f"involvedObject.kind={kind},involvedObject.name={name}"
        out += client.events(ns, selector=selector)["items"]
    return sorted(out, key=_when)


def describe(client: Client, args: argparse.Namespace) -> str:
    kind, ns, name = DESCRIBABLE[args.kind], args.namespace, args.name
    obj = client.get(kind, name, ns)
    if kind == "pods":
        return describing.pod(obj, events_of(client, ns, "Pod", [name]))
    revisions = client.get("revisions", None, ns)["items"]
    if kind == "ksvc":
        mine = [
            r
            for r in revisions
            if r["metadata"]["labels"].get("serving.knative.dev/service") == name
        ]
        evs = events_of(client, ns, "Service", [name]) + events_of(
            client, ns, "Configuration", [name]
        )
        return describing.service(obj, mine, sorted(evs, key=_when))
    pods = [
        p
        for p in client.get("pods", None, ns)["items"]
        if p["metadata"]["labels"].get("serving.knative.dev/revision") == name
    ]
    evs = events_of(client, ns, "Revision", [name])
    evs += events_of(client, ns, "Deployment", [f"{name}-deployment", f"{name}-deployment-reserve"])
    evs += events_of(client, ns, "Pod", [p["metadata"]["name"] for p in pods])
    return describing.revision(obj, pods, sorted(evs, key=_when))


def _when(ev: dict[str, Any]) -> tuple[str, int]:
    return (ev.get("lastTimestamp", ""), int(ev["metadata"]["resourceVersion"]))


def get_events(client: Client, args: argparse.Namespace) -> int:
    namespace = None if args.all_namespaces else args.namespace
    answer = client.events(namespace)
    if args.name:  # one event by its metadata.name, as kubectl get events NAME
        answer["items"] = [e for e in answer["items"] if e["metadata"]["name"] == args.name]
        if not answer["items"] and not args.watch:
            raise ClientError(f'Error from server (NotFound): events "{args.name}" not found')
    if args.output in ("json", "yaml") and not args.watch:
        print(document(answer, args.output))
        return 0
    items = answer["items"]
    if not items and not args.watch:
        where = "any namespace" if namespace is None else f"{namespace} namespace"
        print(f"No resources found in {where}.", file=sys.stderr)
        return 0
    if items:
        print(events_table(items, namespaced=namespace is not None), flush=True)
    if not args.watch:
        return 0
    cursor = int(answer["metadata"]["resourceVersion"])
    try:
        for ev in follow(lambda after: client.events(namespace, after=after), cursor):
            if args.name and ev["metadata"]["name"] != args.name:
                continue
            line = events_table([ev], namespaced=namespace is not None).splitlines()[1]
            print(line, flush=True)
    except KeyboardInterrupt:
        return 0
    return 0


__all__ = ["add_parser", "describe", "get_events"]

"""``coldbrew revision list|describe|delete`` and ``coldbrew route list``, as kn has them."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from coldbrew.cli import kn_tables, observing
from coldbrew.cli.client import Client
from coldbrew.cli.printing import document

Obj = dict[str, Any]


def _namespace(args: argparse.Namespace) -> str | None:
    return None if getattr(args, "all_namespaces", False) else str(args.namespace)


def revision_list(client: Client, args: argparse.Namespace) -> int:
    ns = _namespace(args)
    obj = client.get("revisions", None, ns)
    if args.service:
        obj["items"] = [
            r
            for r in obj["items"]
            if r["metadata"].get("labels", {}).get(kn_tables.SERVICE_LABEL) == args.service
        ]
    if args.output in ("json", "yaml"):
        print(document(obj, args.output))
        return 0
    if not obj["items"]:
        print("No revisions found.")
        return 0
    services = {s["metadata"]["name"]: s for s in client.get("ksvc", None, ns)["items"]}
    print(kn_tables.revisions(obj["items"], services))
    return 0


def revision_describe(client: Client, args: argparse.Namespace) -> int:
    if args.output in ("json", "yaml"):
        print(document(client.get("revisions", args.name, args.namespace), args.output))
        return 0
    what = argparse.Namespace(kind="revisions", name=args.name, namespace=args.namespace)
    print(observing.describe(client, what))
    return 0


def revision_delete(client: Client, args: argparse.Namespace) -> int:
    for name in args.names:
        client.delete("revisions", name, args.namespace)
        print(f"Revision '{name}' deleted in namespace '{args.namespace}'.")
    return 0


def route_list(client: Client, args: argparse.Namespace) -> int:
    """A Service's route is named after it; its URL and RoutesReady say what kn's would."""
    ns = _namespace(args)
    if args.name:
        items = [client.get("ksvc", args.name, ns)]
    else:
        items = client.get("ksvc", None, ns)["items"]
    if args.output in ("json", "yaml"):
        routes = [
            {"name": s["metadata"]["name"], "namespace": s["metadata"]["namespace"],
             "url": s.get("status", {}).get("url", ""),
             "traffic": s.get("status", {}).get("traffic", [])}
            for s in items
        ]  # fmt: skip
        print(document({"items": routes}, args.output))
        return 0
    if not items:
        print("No routes found.")
        return 0
    print(kn_tables.routes(items))
    return 0


REVISION = {"list": revision_list, "ls": revision_list, "describe": revision_describe,
            "delete": revision_delete}  # fmt: skip


def run(client: Client, args: argparse.Namespace) -> int:
    if args.command == "route":
        return route_list(client, args)
    if args.action not in REVISION:
        print(f"error: unknown action {args.action}", file=sys.stderr)
        return 2
    return REVISION[args.action](client, args)

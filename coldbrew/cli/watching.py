"""``coldbrew get KIND -l SELECTOR`` and ``coldbrew get KIND -w``, as kubectl has them.

``-w`` prints the table, then a row for every change the control API's watch reports
(the list's ``metadata.resourceVersion`` is where the watch starts: nothing is missed in
between), until interrupted. ``--watch-only`` leaves out the table; with
``--output-watch-events`` each row starts with the change's type (ADDED, MODIFIED, DELETED);
``-o json|yaml`` prints each object instead of rows. Events follow their own cursor
(:mod:`coldbrew.cli.observing`).
"""

from __future__ import annotations

import argparse
import contextlib
from typing import Any

from coldbrew.cli.client import Client, ClientError
from coldbrew.cli.printing import document, table


def add_flags(get: argparse.ArgumentParser) -> None:
    get.add_argument(
        "-w", "--watch", action="store_true", help="after the list, print a row per change"
    )
    get.add_argument("--watch-only", action="store_true", help="print changes, not the list")
    get.add_argument(
        "--output-watch-events", action="store_true", help="with -w: name each change's type"
    )
    get.add_argument(
        "-l", "--selector", help="label selector: k=v, k!=v, k, !k, k in (a,b), k notin (a,b)"
    )
    get.add_argument(
        "--chunk-size", type=int, default=500, help="list in pages of this many (0: at once)"
    )


def _rows(kind: str, items: list[dict[str, Any]], types: list[str] | None, wide: bool) -> list[str]:
    """The table's lines (header first); with ``types``, an EVENT column before the rest."""
    lines = table(kind, items, wide=wide).splitlines()
    if types is None:
        return lines
    width = max(len(t) for t in ["EVENT", *types])
    return [f"{t.ljust(width)}   {line}" for t, line in zip(["EVENT", *types], lines, strict=True)]


def _list_then_watch(client: Client, kind: str, args: argparse.Namespace) -> None:
    namespace = None if args.all_namespaces else args.namespace
    listing = client.get(kind, None, namespace, selector=args.selector, chunk_size=args.chunk_size)
    items = [o for o in listing["items"] if not args.name or o["metadata"]["name"] == args.name]
    wide, events = args.output == "wide", args.output_watch_events
    if not args.watch_only:
        if args.output in ("json", "yaml"):
            for obj in items:
                print(document(obj, args.output), flush=True)
        elif items:
            types = ["ADDED"] * len(items) if events else None
            print("\n".join(_rows(kind, items, types, wide)), flush=True)
    version = listing["metadata"].get("resourceVersion")
    header = not items or args.watch_only or args.output in ("json", "yaml")
    for event in client.watch(kind, namespace, resource_version=version, selector=args.selector):
        obj = event["object"]
        if event["type"] == "ERROR":
            raise ClientError(f"Error from server ({obj.get('code')}): {obj.get('message')}")
        if args.name and obj["metadata"]["name"] != args.name:
            continue
        if args.output in ("json", "yaml"):
            print(document(obj, args.output), flush=True)
            continue
        lines = _rows(kind, [obj], [event["type"]] if events else None, wide)
        print("\n".join(lines if header else lines[1:]), flush=True)
        header = False


def get_watch(client: Client, kind: str, args: argparse.Namespace) -> int:
    """The list, then its changes, until interrupted (Ctrl-C: exit 0, as kubectl)."""
    with contextlib.suppress(KeyboardInterrupt):
        _list_then_watch(client, kind, args)
    return 0


__all__ = ["add_flags", "get_watch"]

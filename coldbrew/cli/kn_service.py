"""``coldbrew service create|update|describe|delete|list``: kn's imperative commands.

They build the Service manifest ``coldbrew apply`` takes (:mod:`coldbrew.cli.kn_build`)
and send it through the same control API client; the server validates it with
:mod:`coldbrew.api` (``--dry-run`` validates it here with the same code and prints it).
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from typing import Any

from coldbrew.api import ValidationError, parse_service
from coldbrew.cli import kn_build, kn_tables, observing
from coldbrew.cli.client import Client, ClientError
from coldbrew.cli.kn_flags import UsageError
from coldbrew.cli.kn_parsers import add_service_parser
from coldbrew.cli.printing import condition_of, document

__all__ = ["add_service_parser", "run"]
Obj = dict[str, Any]


def _dry_run(obj: Obj, output: str | None) -> int:
    """Print the manifest that would be sent, once :mod:`coldbrew.api` takes it."""
    try:
        parse_service(copy.deepcopy(obj))
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(document(obj, output or "yaml"))
    return 0


def wait_ready(client: Client, name: str, namespace: str, generation: int, timeout: float) -> Obj:
    """Poll until the Service's status reflects ``generation`` and Ready is True.

    Raises ClientError when Ready turns False (naming the reason) or at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        svc = client.get("ksvc", name, namespace)
        status = svc.get("status", {})
        if int(status.get("observedGeneration") or 0) >= generation:
            ready = condition_of(svc)
            if ready.get("status") == "True":
                return dict(svc)
            if ready.get("status") == "False":
                why = ": ".join(x for x in (ready.get("reason"), ready.get("message")) if x)
                raise ClientError(f"error: service '{name}' is not ready: {why}")
        if time.monotonic() > deadline:
            raise ClientError(
                f"error: timeout: service '{name}' not ready after {timeout:g} seconds"
            )
        time.sleep(0.1)


def _send(client: Client, obj: Obj, args: argparse.Namespace, verb: str, before: str) -> int:
    """PUT ``obj``; with --wait, report as kn does once it is Ready."""
    name, ns = obj["metadata"]["name"], obj["metadata"]["namespace"]
    client.apply(obj)
    if not args.wait:
        print(f"Service '{name}' {verb} in namespace '{ns}'.")
        return 0
    generation = int(client.get("ksvc", name, ns)["metadata"].get("generation") or 0)
    svc = wait_ready(client, name, ns, generation, args.wait_timeout)
    status = svc["status"]
    latest = status.get("latestReadyRevisionName", "")
    if verb == "updated" and latest == before:
        print(f"Service '{name}' with latest revision '{latest}' (unchanged) is available at URL:")
    else:
        print(f"Service '{name}' {verb} to latest revision '{latest}' is available at URL:")
    print(status.get("url", ""))
    return 0


def create(client: Client, args: argparse.Namespace) -> int:
    obj = kn_build.new_service(args.name, args.namespace)
    kn_build.edit_template(obj, args)
    if args.dry_run:
        return _dry_run(obj, args.output)
    exists = client.find("ksvc", args.name, args.namespace) is not None
    if exists and not args.force:
        print(
            f"error: cannot create service '{args.name}' in namespace '{args.namespace}' "
            "because the service already exists and no --force option was given",
            file=sys.stderr,
        )
        return 1
    return _send(client, obj, args, "replaced" if exists else "created", "")


def update(client: Client, args: argparse.Namespace) -> int:
    current = client.get("ksvc", args.name, args.namespace)
    obj = kn_build.editable(current)
    before = copy.deepcopy(obj)
    generation = int(current.get("metadata", {}).get("generation") or 0) + 1
    kn_build.edit_template(obj, args, generation)
    if args.revision_name is None and kn_build.template_changed(before, obj):
        obj["spec"]["template"].get("metadata", {}).pop("name", None)
    kn_build.edit_traffic(obj, args)
    if args.dry_run:
        return _dry_run(obj, args.output)
    latest = current.get("status", {}).get("latestCreatedRevisionName", "")
    return _send(client, obj, args, "updated", latest)


def describe(client: Client, args: argparse.Namespace) -> int:
    if args.output in ("json", "yaml"):
        print(document(client.get("ksvc", args.name, args.namespace), args.output))
    elif args.output == "url":
        print(client.get("ksvc", args.name, args.namespace).get("status", {}).get("url", ""))
    else:
        what = argparse.Namespace(kind="ksvc", name=args.name, namespace=args.namespace)
        print(observing.describe(client, what))
    return 0


def delete(client: Client, args: argparse.Namespace) -> int:
    for name in args.names:
        client.delete("ksvc", name, args.namespace)
        print(f"Service '{name}' successfully deleted in namespace '{args.namespace}'.")
    return 0


def listing(client: Client, args: argparse.Namespace) -> int:
    namespace = None if args.all_namespaces else args.namespace
    obj = client.get("ksvc", None, namespace)
    if args.output in ("json", "yaml"):
        print(document(obj, args.output))
    elif not obj["items"]:
        print("No services found.")
    else:
        print(kn_tables.services(obj["items"]))
    return 0


COMMANDS = {"create": create, "update": update, "describe": describe, "delete": delete,
            "list": listing, "ls": listing}  # fmt: skip


def run(client: Client, args: argparse.Namespace) -> int:
    """One ``service`` subcommand; a bad flag prints its message and gives 2."""
    try:
        if args.action in ("create", "update"):
            kn_build.check(args)
        return COMMANDS[args.action](client, args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

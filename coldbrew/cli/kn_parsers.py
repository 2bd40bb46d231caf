"""argparse definitions of kn's commands: ``service``, ``revision``, ``route``.

Flag names and meanings follow knative/client's ``kn service create|update``.
"""

from __future__ import annotations

import argparse
from typing import Any


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-n", "--namespace", default="default", help="namespace (default: default)")
    p.add_argument("--server", help="control API URL (default $COLDBREW_SERVER or :8081)")


def _template_flags(p: argparse.ArgumentParser, create: bool) -> None:
    p.add_argument("name", metavar="NAME")
    p.add_argument("--image", required=create, help="image to run")
    p.add_argument(
        "-e", "--env", action="append", metavar="K=V", help="set K=V, or remove K with K-"
    )
    p.add_argument("-p", "--port", metavar="[NAME:]PORT", help="container port, e.g. h2c:8080")
    p.add_argument(
        "--concurrency-limit", type=int, metavar="N", help="requests one pod takes at once"
    )
    p.add_argument("--scale", type=int, metavar="N", help="both --scale-min and --scale-max")
    p.add_argument("--scale-min", type=int, metavar="N", help="min-scale annotation")
    p.add_argument("--scale-max", type=int, metavar="N", help="max-scale annotation")
    p.add_argument("--scale-target", type=int, metavar="N", help="target annotation")
    p.add_argument("--scale-window", metavar="DURATION", help="window annotation, e.g. 60s")
    p.add_argument("--scale-init", type=int, metavar="N", help="initial-scale annotation")
    p.add_argument(
        "-a",
        "--annotation",
        action="append",
        metavar="K=V",
        help="annotation of the service and its revisions (K- removes)",
    )
    p.add_argument(
        "--revision-name", metavar="NAME", help="name of the new revision ({service}-NAME)"
    )
    p.add_argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="wait until the service is Ready (default)",
    )
    p.add_argument("--wait-timeout", type=float, default=600.0, metavar="SECONDS")
    p.add_argument(
        "--dry-run", action="store_true", help="print the object (-o) without applying it"
    )
    p.add_argument("-o", "--output", choices=["yaml", "json"], help="with --dry-run")
    _common(p)


def add_service_parser(sub: Any) -> argparse.ArgumentParser:
    service: argparse.ArgumentParser = sub.add_parser(
        "service", aliases=["ksvc"], help="kn-style: create, update, describe, delete, list"
    )
    actions = service.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a service")
    _template_flags(create, create=True)
    create.add_argument("--force", action="store_true", help="replace an existing service")
    update = actions.add_parser("update", help="change a service (a new revision if needed)")
    _template_flags(update, create=False)
    update.add_argument(
        "--traffic",
        action="append",
        metavar="REV=PCT",
        help="split traffic (REV, TAG or @latest = percent; they sum to 100)",
    )
    update.add_argument("--tag", action="append", metavar="REV=TAG", help="tag a revision")
    update.add_argument("--untag", action="append", metavar="TAG", help="remove a tag")
    describe = actions.add_parser("describe", help="show a service")
    describe.add_argument("name", metavar="NAME")
    describe.add_argument("-o", "--output", choices=["yaml", "json", "url"])
    _common(describe)
    delete = actions.add_parser("delete", help="delete services and all they made")
    delete.add_argument("names", nargs="+", metavar="NAME")
    _common(delete)
    listing = actions.add_parser("list", aliases=["ls"], help="list services")
    listing.add_argument("-A", "--all-namespaces", action="store_true")
    listing.add_argument("-o", "--output", choices=["yaml", "json"])
    _common(listing)
    return service


def add_revision_parser(sub: Any) -> argparse.ArgumentParser:
    revision: argparse.ArgumentParser = sub.add_parser(
        "revision", help="kn-style: list, describe, delete revisions"
    )
    actions = revision.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", aliases=["ls"], help="list revisions")
    listing.add_argument("-s", "--service", help="only this service's revisions")
    listing.add_argument("-A", "--all-namespaces", action="store_true")
    listing.add_argument("-o", "--output", choices=["yaml", "json"])
    _common(listing)
    describe = actions.add_parser("describe", help="show a revision")
    describe.add_argument("name", metavar="NAME")
    describe.add_argument("-o", "--output", choices=["yaml", "json"])
    _common(describe)
    delete = actions.add_parser("delete", help="delete revisions no traffic goes to")
    delete.add_argument("names", nargs="+", metavar="NAME")
    _common(delete)
    return revision


def add_route_parser(sub: Any) -> argparse.ArgumentParser:
    route: argparse.ArgumentParser = sub.add_parser("route", help="kn-style: list routes")
    actions = route.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", aliases=["ls"], help="list the services' routes")
    listing.add_argument("name", nargs="?", metavar="NAME")
    listing.add_argument("-A", "--all-namespaces", action="store_true")
    listing.add_argument("-o", "--output", choices=["yaml", "json"])
    _common(listing)
    return route

"""The ``coldbrew`` command line."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from coldbrew import __version__
from coldbrew.api import ValidationError, load_documents
from coldbrew.cli import completion, kn_revision, kn_service, observing, simulating, watching
from coldbrew.cli.client import ALIASES, WRITABLE, Client, ClientError
from coldbrew.cli.client_limits import add_limit_arguments, limits_from_args
from coldbrew.cli.kn_parsers import add_revision_parser, add_route_parser, add_service_parser
from coldbrew.cli.printing import document, table
from coldbrew.cli.tls_flags import add_tls_flags, tls_files

# The names ``delete`` takes: those of the kinds ``apply`` writes.
DELETABLE = [name for name, kind in ALIASES.items() if kind in WRITABLE.values()]


def _data_plane_flags(p: argparse.ArgumentParser) -> None:
    """Observability of the gateway: metrics switch, cold-start header, request log."""
    p.add_argument(
        "--no-metrics", action="store_true", help="count no request figures (benchmarks)"
    )
    p.add_argument(
        "--cold-start-header",
        action="store_true",
        help="name a cold request's wait in an X-Coldbrew-Cold-Start response header",
    )
    p.add_argument("--request-log", metavar="FILE|-", help="JSON-lines request log (- stdout)")


def _server_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", help="control API URL (default $COLDBREW_SERVER or :8081)")


def _lease_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--lease-namespace",
        default=os.environ.get("POD_NAMESPACE", "knative-serving"),
        help="namespace of the leader-election Lease",
    )
    p.add_argument(
        "--identity",
        default=os.environ.get("POD_NAME") or socket.gethostname(),
        help="this replica's name in the Lease",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coldbrew", description="Knative-style serverless serving on one machine."
    )
    parser.add_argument("--version", action="version", version=f"coldbrew {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run gateway, control API and pods")
    serve.add_argument("--host", default="127.0.0.1", help="gateway address")
    serve.add_argument("--port", type=int, default=8080, help="gateway port")
    serve.add_argument(
        "--admin-host",
        default="127.0.0.1",
        help="control API address; beyond loopback it needs the token in <state-dir>/admin-token",
    )
    serve.add_argument("--admin-port", type=int, default=8081, help="control API port")
    serve.add_argument("--state-dir", type=Path, help="where applied services are kept")
    serve.add_argument("--domain", default="example.com")
    serve.add_argument("--images", type=Path, help="YAML map of images to local commands")
    serve.add_argument("--config", type=Path, help="YAML file of platform defaults")
    serve.add_argument(
        "-f", "--apply", type=Path, action="append", default=[], help="apply at start"
    )
    serve.add_argument(
        "--workers", type=int, default=1, help="gateway processes sharing the port (SO_REUSEPORT)"
    )
    serve.add_argument(
        "--runtime",
        choices=["auto", "process", "docker"],
        default="auto",
        help="what runs pods: containers on Docker/Podman ($DOCKER_HOST, /var/run/docker.sock, "
        "/run/podman/podman.sock), local processes, or containers when an engine answers (auto)",
    )
    serve.add_argument(
        "--pod-user",
        metavar="USER[:GROUP]",
        help="as root: who process pods run as, a name or uid (default nobody, 65534:65534; "
        "root: as coldbrew); runAsUser/runAsGroup override it; not root: pods run as coldbrew",
    )
    add_tls_flags(serve, self_signed=True)

    add_limit_arguments(serve)
    _data_plane_flags(serve)

    gateway = sub.add_parser("gateway", help="run one gateway worker following a control plane")
    add_limit_arguments(gateway)
    gateway.add_argument("--host", default="127.0.0.1")
    gateway.add_argument("--port", type=int, default=8080)
    source = gateway.add_mutually_exclusive_group(required=True)
    source.add_argument("--feed", help="ws://.../dataplane/feed of a local server")
    source.add_argument(
        "--kubernetes", action="store_true", help="learn routes and pod IPs from the API server"
    )
    gateway.add_argument("--kubeconfig", help="with --kubernetes outside a cluster")
    gateway.add_argument("--admin-port", type=int, help="serve /healthz and /readyz here")
    gateway.add_argument(
        "--drain-delay",
        type=float,
        default=0.0,
        help="on SIGTERM: seconds to stay up unready before closing the listener",
    )
    gateway.add_argument("--stats-url", help="ws://.../autoscaler/stream to send metrics to")
    gateway.add_argument("--no-reuse-port", action="store_true")
    add_tls_flags(gateway, self_signed=False)
    _data_plane_flags(gateway)

    apply = sub.add_parser("apply", help="create or configure services from YAML")
    apply.add_argument("-f", "--filename", required=True, help="file, or - for stdin")
    _server_flag(apply)

    get = sub.add_parser(
        "get",
        help="list ksvc, revisions, pods, kpa, events, domainmappings (dm), configmaps or secrets",
    )
    get.add_argument("kind", choices=sorted(ALIASES), metavar="KIND")
    get.add_argument("name", nargs="?")
    get.add_argument("-n", "--namespace", default="default")
    get.add_argument("-A", "--all-namespaces", action="store_true")
    get.add_argument("-o", "--output", choices=["json", "yaml", "wide"])
    watching.add_flags(get)
    _server_flag(get)
    _server_flag(observing.add_parser(sub))

    delete = sub.add_parser(
        "delete", help="delete a service (and all it made), a mapping, a configmap or a secret"
    )
    delete.add_argument("kind", choices=DELETABLE)
    delete.add_argument("name")
    delete.add_argument("-n", "--namespace", default="default")
    _server_flag(delete)

    simulating.add_parser(sub)

    controller = sub.add_parser("controller", help="run the cluster controller (Kubernetes)")
    controller.add_argument("--host", default="0.0.0.0")
    controller.add_argument("--admin-port", type=int, default=8081, help="health endpoint port")
    controller.add_argument("--domain", default="example.com")
    controller.add_argument("--config", type=Path, help="YAML file of platform defaults")
    controller.add_argument("--kubeconfig", help="outside a cluster: the kubeconfig to use")
    _lease_flags(controller)

    autoscaler = sub.add_parser("autoscaler", help="run the cluster autoscaler (Kubernetes)")
    autoscaler.add_argument("--host", default="0.0.0.0")
    autoscaler.add_argument(
        "--admin-port", type=int, default=8081, help="metrics stream and health port"
    )
    autoscaler.add_argument("--config", type=Path, help="YAML file of platform defaults")
    autoscaler.add_argument("--kubeconfig", help="outside a cluster: the kubeconfig to use")
    _lease_flags(autoscaler)

    logs = sub.add_parser("logs", help="print a pod's output")
    logs.add_argument("pod")
    logs.add_argument("-f", "--follow", action="store_true", help="stream until the pod is gone")
    logs.add_argument("-n", "--namespace", default="default")
    logs.add_argument("-c", "--container", help="a sidecar's output (default: the serving one)")
    _server_flag(logs)
    add_service_parser(sub)
    add_revision_parser(sub)
    add_route_parser(sub)
    completion.add_parser(sub)
    return parser


OBJECT_NAMES = {
    "ksvc": "service.serving.knative.dev",
    "domainmappings": "domainmapping.serving.knative.dev",
    "configmaps": "configmap",
    "secrets": "secret",
}


# Services go to the control API in batches of at most this many (or bytes): one request
# and one store transaction each, not one per object.
BATCH_ITEMS = 500
BATCH_BYTES = 4 * 1024 * 1024


def cmd_apply(client: Client, filename: str) -> int:
    text = sys.stdin.read() if filename == "-" else Path(filename).read_text()
    docs = load_documents(text)
    failed = 0
    batch: list[tuple[str, bytes]] = []  # (name, manifest as JSON) of Services in a row

    def flush() -> bool:
        """Apply the batch; False if the server cannot be reached."""
        nonlocal failed
        if not batch:
            return True
        names, encoded = [n for n, _ in batch], [e for _, e in batch]
        batch.clear()
        try:
            answers = client.apply_services(encoded)
        except ClientError as exc:
            print(f"{exc}", file=sys.stderr)
            failed += len(names)
            return "cannot reach" not in str(exc)
        for name, answer in zip(names, answers, strict=True):
            if "result" in answer:
                print(f"{OBJECT_NAMES['ksvc']}/{name} {answer['result']}")
            else:
                print(f"Error from server ({answer['code']}): {answer['message']}", file=sys.stderr)
                failed += 1
        return True

    size = 0
    for doc in docs:
        name = (doc.get("metadata") or {}).get("name", "") if isinstance(doc, dict) else ""
        if _batchable(doc):
            encoded = json.dumps(doc, separators=(",", ":")).encode()
            if batch and (len(batch) >= BATCH_ITEMS or size + len(encoded) > BATCH_BYTES):
                if not flush():
                    return 1
                size = 0
            batch.append((name, encoded))
            size += len(encoded)
            continue
        if not flush():  # what came before it first: the file's order is kept
            return 1
        size = 0
        try:
            result = client.apply(doc)
        except ClientError as exc:
            print(f"{exc}", file=sys.stderr)
            failed += 1
            if "cannot reach" in str(exc):
                return 1
            continue
        kind = doc.get("kind") if isinstance(doc, dict) else None
        print(f"{OBJECT_NAMES[WRITABLE.get(str(kind), 'ksvc')]}/{name} {result}")
    if not flush():
        return 1
    return 1 if failed else 0


def _batchable(doc: Any) -> bool:
    """A Service with a name (the rest goes one PUT each, refused as before)."""
    if not isinstance(doc, dict) or doc.get("kind") != "Service":
        return False
    metadata = doc.get("metadata")
    return (
        isinstance(metadata, dict)
        and isinstance(metadata.get("name"), str)
        and bool(metadata["name"])
    )


def cmd_get(client: Client, args: argparse.Namespace) -> int:
    kind = ALIASES[args.kind]
    if kind == "events":
        return observing.get_events(client, args)
    if args.watch or args.watch_only:
        return watching.get_watch(client, kind, args)
    namespace = None if args.all_namespaces else args.namespace
    obj = client.get(kind, args.name, namespace, selector=args.selector, chunk_size=args.chunk_size)
    if args.output in ("json", "yaml"):
        print(document(obj, args.output))
        return 0
    items = [obj] if args.name else obj["items"]
    if not items:
        where = "any namespace" if namespace is None else f"{namespace} namespace"
        print(f"No resources found in {where}.", file=sys.stderr)
        return 0
    print(table(kind, items, wide=args.output == "wide"))
    return 0


def _run_cluster_component(args: argparse.Namespace) -> int:
    """``coldbrew controller`` or ``coldbrew autoscaler``: same flags, one event loop."""
    import logging

    import uvloop

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    options = {
        "host": args.host,
        "admin_port": args.admin_port,
        "config": args.config,
        "kubeconfig": args.kubeconfig,
        "lease_namespace": args.lease_namespace,
        "identity": args.identity,
    }
    if args.command == "controller":
        from coldbrew.cluster.controller.command import serve_controller

        return uvloop.run(serve_controller(domain=args.domain, **options))
    from coldbrew.cluster.scaler.replica import serve_autoscaler

    return uvloop.run(serve_autoscaler(**options))


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("serve", "gateway"):
        try:
            tls = tls_files(args)
            limits = limits_from_args(args)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.command == "serve":
        from coldbrew.runtime.identity import serve_pod_user
        from coldbrew.serving import ServeOptions, default_state_dir
        from coldbrew.serving import main as serve_main

        try:
            pod_user = serve_pod_user(args.pod_user)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        opts = ServeOptions(
            pod_user=pod_user,
            host=args.host,
            port=args.port,
            admin_host=args.admin_host,
            admin_port=args.admin_port,
            state_dir=args.state_dir or default_state_dir(),
            domain=args.domain,
            images=args.images,
            config=args.config,
            apply=args.apply,
            workers=args.workers,
            runtime=args.runtime,
            https_port=args.https_port,
            tls=tls,
            tls_self_signed=args.tls_self_signed,
            metrics=not args.no_metrics,
            cold_start_header=args.cold_start_header,
            request_log=args.request_log,
            limits=limits,
        )
        if opts.workers < 1:
            print("error: --workers must be at least 1", file=sys.stderr)
            return 2
        return serve_main(opts)
    if args.command == "gateway":
        from coldbrew.cli.gateway import run_gateway

        return run_gateway(args, tls, limits)
    if args.command in ("controller", "autoscaler"):
        return _run_cluster_component(args)
    if args.command == "simulate":
        return simulating.run(args)
    if args.command == "completion":
        return completion.run(build_parser(), args.shell)
    client = Client(args.server)
    try:
        if args.command == "apply":
            return cmd_apply(client, args.filename)
        if args.command in ("service", "ksvc"):
            return kn_service.run(client, args)
        if args.command in ("revision", "route"):
            return kn_revision.run(client, args)
        if args.command == "get":
            return cmd_get(client, args)
        if args.command == "describe":
            print(observing.describe(client, args))
            return 0
        if args.command == "delete":
            kind = ALIASES.get(args.kind, "ksvc")
            client.delete(kind, args.name, args.namespace)
            print(f'{OBJECT_NAMES[kind]} "{args.name}" deleted')
            return 0
        if args.command == "logs" and args.follow:
            for text in client.follow_logs(args.pod, args.namespace, args.container):
                sys.stdout.write(text)
                sys.stdout.flush()
            return 0
        if args.command == "logs":
            sys.stdout.write(client.logs(args.pod, args.namespace, args.container))
            return 0
    except ClientError as exc:
        print(exc, file=sys.stderr)
        return 1
    except (ValidationError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 2


def main() -> None:
    # Started from a background job of a script, a process inherits SIGINT ignored, and Python
    # then leaves it so: `get -w`, `logs -f` and `get events -w` could not be stopped with
    # SIGINT. Take it back, as kubectl does (serve installs its own handlers).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(run())

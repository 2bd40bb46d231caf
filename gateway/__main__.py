"""Run a standalone gateway with fixed routes (benchmarks, RSS tests, manual use).

    python -m gateway --port 0 --route coffee.example.com=127.0.0.1:8081 [--route ...]
                      [--protocol h2c]   # HTTP/2 to the pods (e.g. a gRPC server)

Prints the bound port on stdout, then serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from gateway.limits import DEFAULT_LIMITS, UNDERSCORE_MODES, ClientLimits, underscore_mode
from gateway.server import Gateway
from gateway.settings import RevisionSettings


def _parse_route(text: str) -> tuple[str, str, int]:
    host, _, target = text.partition("=")
    addr, _, port = target.rpartition(":")
    if not host or not addr or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST=ADDR:PORT, got {text!r}")
    return host.lower(), addr, int(port)


async def _serve(args: argparse.Namespace) -> None:
    limits = ClientLimits(
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        underscores_in_headers=underscore_mode(args.underscores_in_headers),
        max_connections=args.max_connections,
    )
    gw = Gateway(
        args.host,
        args.port,
        reuse_port=args.reuse_port,
        limits=limits,
        metrics=not args.no_metrics,
    )
    routes = {}
    for i, (host, addr, port) in enumerate(args.route):
        key = f"default/r{i}"
        settings = RevisionSettings(timeout_seconds=args.timeout, protocol=args.protocol)
        gw.set_revision(key, [(addr, port)], settings)
        routes[host] = [(key, 100)]
    gw.set_routes(routes)
    await gw.start()
    sys.stdout.write(f"{gw.port}\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await gw.stop(grace=5.0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--route", type=_parse_route, action="append", default=[])
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--reuse-port", action="store_true")
    parser.add_argument("--header-timeout", type=float, default=DEFAULT_LIMITS.header_timeout)
    parser.add_argument("--body-timeout", type=float, default=DEFAULT_LIMITS.body_timeout)
    parser.add_argument(
        "--underscores-in-headers", choices=sorted(UNDERSCORE_MODES), default="drop"
    )
    parser.add_argument("--max-connections", type=int, default=0, help="0: from RLIMIT_NOFILE")
    parser.add_argument("--protocol", choices=["http1", "h2c"], default="http1", help="to pods")
    parser.add_argument("--no-uvloop", action="store_true")
    parser.add_argument("--no-metrics", action="store_true", help="count no request figures")
    args = parser.parse_args(argv)
    if args.no_uvloop:
        asyncio.run(_serve(args))
    else:
        import uvloop

        uvloop.run(_serve(args))


if __name__ == "__main__":
    main()

"""Where a restart of ``coldbrew serve`` spends its time, phase by phase.

    python loadtest/restart_phases.py [--services 10000] [--cold]

Builds a state of N idle services as :mod:`loadtest.scale_dataplane` does (one applied
and reconciled by a real serve, cloned N-1 times into its stopped state, served once and
stopped cleanly), then brings a :class:`coldbrew.serving.Platform` with two gateway
workers up on it in this process and prints when each phase ended, in seconds from the
Platform's construction (imports: from the script's start): the store load (with the
table a clean stop kept, if any), the controller's start, its first pass, the workers
synced, and the last service's host routed (a request not answered 404, probed from a
thread). ``--cold`` deletes the kept table first (a start after a crash).
Traffic goes to 127.0.0.1 only; everything is stopped at the end.
"""

from __future__ import annotations

import time

T0 = time.monotonic()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]


from coldbrew import controlling, warm_starting  # noqa: E402
from coldbrew.serving import Platform, ServeOptions  # noqa: E402
from loadtest.scale_dataplane import Serve, hot_service, populate, routed  # noqa: E402
from tests.e2e.harness import free_port, wait_for  # noqa: E402

ORIGIN = [T0]  # what marks count from: the script's start, then the restart's


def mark(what: str) -> None:
    print(f"{time.monotonic() - ORIGIN[0]:6.2f} s  {what}", flush=True)


def timed(cls: type, name: str, what: str) -> None:
    """Wrap ``cls.name`` to print how long each call of 10 ms or more took."""
    original = getattr(cls, name)

    def wrapper(self: object, *args: object) -> object:
        started = time.monotonic()
        out = original(self, *args)
        if time.monotonic() - started >= 0.01:
            mark(f"{what} ({time.monotonic() - started:.2f} s)")
        return out

    setattr(cls, name, wrapper)


def probe(port: int, host: str, done: threading.Event) -> None:
    while not routed(port, host, held_after=0.3):
        time.sleep(0.01)
    mark(f"{host} routed")
    done.set()


async def restart(state: Path, config: Path, last: str) -> None:
    ports = {"port": free_port(), "admin_port": free_port()}
    opts = ServeOptions(**ports, state_dir=state, config=config, workers=2)
    started = ORIGIN[0] = time.monotonic()
    platform = Platform(opts)
    mark(f"platform: store loaded ({time.monotonic() - started:.2f} s)")
    done = threading.Event()
    threading.Thread(target=probe, args=(opts.port, last, done), daemon=True).start()
    await platform.start()
    mark("platform started")
    assert platform.fanout is not None
    if await platform.fanout.wait_synced(60):
        mark("workers have the first pass's table")
    await asyncio.to_thread(done.wait, 60)
    await platform.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10000)
    parser.add_argument("--cold", action="store_true", help="delete the table a stop kept")
    args = parser.parse_args()
    mark("imports")
    timed(controlling.Controller, "start", "controller started: every Service parsed")
    timed(controlling.Controller, "_run", "a reconcile pass")
    with tempfile.TemporaryDirectory() as tmp:
        serve = Serve(Path(tmp), workers=2)
        serve.start()
        wait_for(serve.healthy, timeout=30, what="serve")
        serve.client().apply(hot_service())
        populate(serve, args.services, "clone")  # leaves serve stopped
        last = f"idle-{args.services - 1:05d}.default.example.com"
        serve.start()  # once on the clones, stopped cleanly: what a restart finds
        wait_for(serve.healthy, timeout=120, what="serve")
        wait_for(lambda: serve.routed(last), timeout=120, what="the clones routed")
        serve.stop()
        state = Path(tmp) / "state"
        if args.cold:
            (state / warm_starting.SNAPSHOT_FILE).unlink(missing_ok=True)
        print(f"restart on {args.services} services ({'cold' if args.cold else 'warm'}):")
        asyncio.run(restart(state, Path(tmp) / "config.yaml", last))


if __name__ == "__main__":
    main()

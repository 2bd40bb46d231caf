"""Gateway RSS with N requests held for a revision with no endpoints (not a test).

    python loadtest/held_memory.py [--requests 10000]

Starts a gateway in a subprocess (one revision, no endpoints, long timeout), opens N
client connections from this process, each sending one GET, waits until the gateway
reports all N held, and prints the gateway's RSS before and after (VmRSS from
/proc/PID/status). 127.0.0.1 only; bounded by --deadline seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "held.default.example.com"

CHILD = """
import asyncio, json, sys, uvloop
from gateway import Gateway
from gateway.settings import RevisionSettings

async def main():
    gw = Gateway(backlog=4096)
    await gw.start()
    gw.set_routes({%(host)r: [("default/held", 100)]})
    gw.set_revision("default/held", [], RevisionSettings(timeout_seconds=600))
    print(gw.port, flush=True)
    while True:
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        print(json.dumps(gw.snapshot().get("default/held", {})), flush=True)

uvloop.run(main())
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def ask(proc: subprocess.Popen[str]) -> dict[str, int]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())  # type: ignore[no-any-return]


async def hold(port: int, n: int, proc: subprocess.Popen[str], deadline: float) -> float:
    request = f"GET / HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
    writers: list[asyncio.StreamWriter] = []
    try:
        for start in range(0, n, 500):
            opened = await asyncio.gather(
                *(
                    asyncio.open_connection("127.0.0.1", port)
                    for _ in range(start, min(n, start + 500))
                )
            )
            for _, writer in opened:
                writer.write(request)
                writers.append(writer)
        while ask(proc).get("held", 0) < n:
            if time.monotonic() > deadline:
                raise TimeoutError("requests not all held before the deadline")
            await asyncio.sleep(0.2)
        return rss_mb(proc.pid)
    finally:
        for writer in writers:
            writer.close()


def measure(requests: int, deadline: float = 120.0) -> tuple[float, float, float]:
    """(RSS MB before, RSS MB with ``requests`` held, seconds it took)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD % {"host": HOST}],
        env=env,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        ask(proc)  # warmed up
        before = rss_mb(proc.pid)
        started = time.monotonic()
        after = asyncio.run(hold(port, requests, proc, started + deadline))
        return before, after, time.monotonic() - started
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--deadline", type=float, default=120.0)
    args = parser.parse_args()
    before, after, took = measure(args.requests, args.deadline)
    extra = after - before
    print(
        f"held {args.requests} requests in {took:.1f} s: gateway RSS {before:.1f} MB -> "
        f"{after:.1f} MB (+{extra:.1f} MB, {extra * 1024 * 1024 / args.requests:.0f} B/request)"
    )


if __name__ == "__main__":
    main()

"""Keep ``serve --workers N``'s gateway worker processes running.

Each worker is watched by its own task: when it exits while serve is not stopping (a crash,
``kill -9``, the OOM killer), it is started again after a back-off that doubles from
:data:`FIRST_BACKOFF` up to :data:`MAX_BACKOFF` and starts over once a worker has stayed up
for :data:`STABLE_AFTER` seconds. The new worker connects to the feed, gets the current
snapshot (see :mod:`coldbrew.fanning`) and takes its share of the port again (SO_REUSEPORT);
only the requests in flight on the dead worker are lost. A worker stops by itself when serve
is gone (gateway/lifeline.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Mapping, Sequence

from gateway.lifeline import PARENT_ENV

log = logging.getLogger(__name__)

FIRST_BACKOFF = 0.1
MAX_BACKOFF = 5.0
STABLE_AFTER = 10.0


class Supervisor:
    """Start ``count`` copies of ``cmd`` and restart any that exits until :meth:`stop`."""

    def __init__(
        self, cmd: Sequence[str], count: int, env: Mapping[str, str] | None = None
    ) -> None:
        self.cmd = list(cmd)
        self.env = {**os.environ, **(env or {}), PARENT_ENV: str(os.getpid())}
        self.count = count
        self.processes: list[asyncio.subprocess.Process] = []
        self.restarts = 0
        self._watchers: list[asyncio.Task[None]] = []
        self._stopping = False

    async def start(self) -> None:
        for slot in range(self.count):
            self.processes.append(await self._spawn())
            self._watchers.append(asyncio.create_task(self._watch(slot)))

    def exited_at_start(self) -> bool:
        """A worker has exited before :meth:`stop` and has not been replaced yet."""
        return any(p.returncode is not None for p in self.processes)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    async def _spawn(self) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(*self.cmd, env=self.env)

    async def _watch(self, slot: int) -> None:
        backoff = FIRST_BACKOFF
        while True:
            started = time.monotonic()
            code = await self.processes[slot].wait()
            if self._stopping:
                return
            if time.monotonic() - started >= STABLE_AFTER:
                backoff = FIRST_BACKOFF
            log.warning(
                "gateway worker %d (pid %d) exited with %s; restarting in %.1fs",
                slot,
                self.processes[slot].pid,
                _describe(code),
                backoff,
            )
            await asyncio.sleep(backoff)
            if self._stopping:
                return
            backoff = min(backoff * 2, MAX_BACKOFF)
            try:
                self.processes[slot] = await self._spawn()
            except OSError as exc:  # e.g. out of process slots: try again after the back-off
                log.error("could not restart gateway worker %d: %s", slot, exc)
                continue
            self.restarts += 1

    async def stop(self) -> None:
        """SIGTERM every worker (they finish their requests in flight) and wait for them."""
        self._stopping = True
        for process in self.processes:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        for process in self.processes:
            await process.wait()
        for watcher in self._watchers:
            watcher.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)


def _describe(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-code).name}"
    return f"code {code}"

"""``lifecycle.preStop``: run before SIGTERM, within the pod's termination grace period.

As the kubelet: ``httpGet`` is a GET whose answer does not matter, ``exec`` a command in the
container (the pod decides how, see :data:`coldbrew.runtime.probing.RunExec`), ``sleep`` a
pause. Whatever happens, the hook ends by ``limit`` and the container is then sent SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from coldbrew.runtime import probing
from coldbrew.runtime.container_specs import HookSpec

log = logging.getLogger(__name__)


async def run_pre_stop(
    hook: HookSpec, port: int, run_exec: probing.RunExec | None, limit: float
) -> None:
    """Run ``hook`` (``port``: where an httpGet hook connects) for at most ``limit`` s."""
    if limit <= 0:
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(limit):
            try:
                if hook.kind == "sleep":
                    await asyncio.sleep(hook.seconds)
                elif hook.kind == "exec":
                    if run_exec is not None:
                        await run_exec(hook.command, limit)
                else:
                    await probing.probe_http(
                        port,
                        hook.path,
                        limit,
                        host=hook.host,
                        scheme=hook.scheme,
                        headers=hook.headers,
                    )
            except Exception:
                log.exception("preStop hook failed")

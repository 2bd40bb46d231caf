"""``--runtime auto|process|docker``: which engine, if any, runs the pods."""

from __future__ import annotations

from collections.abc import Mapping

from coldbrew.runtime.containers.engine import Engine, EngineError, detect

RUNTIMES = ("auto", "process", "docker")


async def choose_engine(runtime: str, env: Mapping[str, str] | None = None) -> Engine | None:
    """The engine to run pods on, None for processes.

    ``process``: None. ``docker``: the first engine that answers, else EngineError (its
    message names every socket tried). ``auto``: that engine if one answers, else None.
    """
    if runtime not in RUNTIMES:
        raise EngineError(f"--runtime: expected one of {', '.join(RUNTIMES)}, not {runtime!r}")
    if runtime == "process":
        return None
    try:
        return await detect(env)
    except EngineError:
        if runtime == "docker":
            raise
        return None

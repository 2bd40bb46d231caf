"""The cyclic garbage collector around bulk work: bringing back 10,000 services.

CPython's collector runs a pass every few hundred allocations, and a full one walks every
container object alive. Loading a large state allocates millions of dicts and lists that all
stay alive: the passes run thousands of times and find nothing, and the full ones walk the
whole state again each time (a third of a restart's time at 10,000 services). Manifests,
records and parsed templates hold no reference cycles, so reference counting frees them;
the collector is needed only for the rare cycle, and can wait.

It lives in ``gateway/`` so that both planes use it: the control plane loading its state,
a gateway worker applying a snapshot of it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

BULK = 200  # work on at least this many objects is bulk work


def pause_collection(size: int) -> bool:
    """Stop collector passes for work on ``size`` objects, if that is bulk work (smaller
    work runs as usual: a freeze is for long-lived state, not every small batch). True if
    this call stopped them: the caller then calls :func:`resume_collection`."""
    if size < BULK or not gc.isenabled():
        return False
    gc.disable()
    return True


def resume_collection() -> None:
    """Move what is alive now out of the collector's sight (``gc.freeze``: long-lived state
    a full pass would only walk again), then let passes run again."""
    gc.freeze()
    gc.enable()


@contextmanager
def bulk_work(size: int) -> Iterator[None]:
    """:func:`pause_collection` for the block; nested blocks leave it to the outermost."""
    paused = pause_collection(size)
    try:
        yield
    finally:
        if paused:
            resume_collection()

"""The cyclic garbage collector around bulk work: bringing back 10,000 services.

(In ``gateway/`` so that both planes use it: the control plane loading its state, a
gateway worker applying a snapshot of it.)

CPython's collector runs a pass every few hundred allocations, and a full one walks every
container object alive. Loading a large state allocates millions of dicts and lists that all
stay alive: the passes run thousands of times and find nothing, and the full ones walk the
whole state again each time (a third of a restart's time at 10,000 services). Manifests,
records and parsed templates hold no reference cycles, so reference counting frees them;
the collector is needed only for the rare cycle, and can wait.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

BULK = 200  # a pass or batch of at least this many objects is bulk work


def pause_collection() -> bool:
    """Stop collector passes; True if this call stopped them (the caller resumes them)."""
    if not gc.isenabled():
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
    """For work on ``size`` objects: when that is :data:`BULK` or more, no collector passes
    while the block runs, then :func:`resume_collection` (smaller work runs as usual: a
    freeze is for long-lived state, not for every small batch). Nested blocks leave it to
    the outermost."""
    if size < BULK:
        yield
        return
    paused = pause_collection()
    try:
        yield
    finally:
        if paused:
            resume_collection()

"""A child process stops when the process that started it is gone.

``coldbrew serve`` starts gateway workers (``--workers N``) and process pods. Killed
outright (``kill -9``, the OOM killer), serve cannot stop them: a worker left behind would
keep its share of the port (SO_REUSEPORT) and serve a stale table for ever, a pod would hold
its port and memory with nobody routing to it. So each child asks the kernel for SIGTERM when
its parent dies (``prctl(PR_SET_PDEATHSIG)``, Linux) and, in case the parent died before that
call, compares its parent pid with the one it was given. SIGTERM is the usual graceful stop:
a worker finishes the requests in flight, a pod gets its chance to exit.

- A worker calls :func:`stop_with_parent` (serve passes its pid in :data:`PARENT_ENV`).
- A pod's ``preexec_fn`` ends with :func:`dies_with_parent` (after any ``setuid``: a change
  of credentials clears the setting).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
from collections.abc import Callable

log = logging.getLogger(__name__)

PARENT_ENV = "COLDBREW_PARENT_PID"
PR_SET_PDEATHSIG = 1


def _ask_for_sigterm() -> bool:
    """SIGTERM to this process when its parent dies (False: not supported or refused)."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) == 0)


def stop_with_parent(stop: Callable[[], None]) -> None:
    """Arrange SIGTERM on the parent's death; call ``stop`` now if it is already gone."""
    expected = os.environ.get(PARENT_ENV)
    if expected is None:
        return
    if not _ask_for_sigterm():
        log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    if str(os.getppid()) != expected:
        log.warning("parent %s is gone: stopping", expected)
        stop()


def dies_with_parent() -> Callable[[], None]:
    """A ``preexec_fn`` step (made in the parent, run in the child) for the same."""
    parent = os.getpid()

    def step() -> None:
        _ask_for_sigterm()
        if os.getppid() != parent:  # the parent died between fork and prctl
            os._exit(1)

    return step

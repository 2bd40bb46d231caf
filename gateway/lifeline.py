"""A worker process stops when the process that started it is gone.

``coldbrew serve --workers N`` starts its gateway workers with :data:`PARENT_ENV` set to
its own pid. Killed outright (``kill -9``, the OOM killer), serve cannot stop them, and a
worker left behind would keep its share of the port (SO_REUSEPORT) and serve a stale
table for ever. So each worker asks the kernel for SIGTERM when its parent dies
(``prctl(PR_SET_PDEATHSIG)``, Linux) and, in case the parent died before that call, compares
its parent pid with the one it was given. SIGTERM is the worker's usual graceful stop: it
finishes the requests in flight, then exits.
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


def stop_with_parent(stop: Callable[[], None]) -> None:
    """Arrange SIGTERM on the parent's death; call ``stop`` now if it is already gone."""
    expected = os.environ.get(PARENT_ENV)
    if expected is None:
        return
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    if str(os.getppid()) != expected:
        log.warning("parent %s is gone: stopping", expected)
        stop()

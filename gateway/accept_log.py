"""Log accept() running out of descriptors once per episode, not once per retry.

How the gateway survives EMFILE/ENFILE depends on the loop. uvloop (what ``coldbrew``
runs): libuv keeps a spare descriptor; on EMFILE it frees it, accepts and closes what is
pending, and takes it back, so the listener lives on and nothing is logged. asyncio's
own loop: it stops accepting for a second, then retries, and logs ``socket.accept() out
of system resource`` with a traceback every time. Either way the gateway's connection
budget (gateway.limits ``max_connections``, with shedding) keeps client connections
below the limit, so this is reached only when other descriptors eat the reserve.

:func:`install` adds :class:`AcceptErrorsOnce` to the ``asyncio`` logger: the first such
record passes, later ones are dropped until none came for ``quiet`` seconds; the next
episode's first record says how many were dropped.
"""

from __future__ import annotations

import logging
import time

ACCEPT_ERROR = "socket.accept() out of system resource"


class AcceptErrorsOnce(logging.Filter):
    def __init__(self, quiet: float = 60.0) -> None:
        super().__init__()
        self.quiet = quiet
        self.last = -1e18
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(ACCEPT_ERROR):
            return True
        now = time.monotonic()
        first = now - self.last >= self.quiet
        self.last = now
        if not first:
            self.dropped += 1
            return False
        if self.dropped:
            record.msg = f"{record.msg}\n({self.dropped} more dropped in the last episode)"
            self.dropped = 0
        record.msg = f"{record.msg}\n(accept retries every second; logged once per episode)"
        return True


def install() -> None:
    logger = logging.getLogger("asyncio")
    if not any(isinstance(f, AcceptErrorsOnce) for f in logger.filters):
        logger.addFilter(AcceptErrorsOnce())

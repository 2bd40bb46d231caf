"""What a client connection may cost: head and body timeouts, underscored headers, descriptors.

- ``header_timeout``: a request head must be complete this many seconds after the
  connection was accepted, or after its first byte on a kept-alive connection (nginx's
  ``client_header_timeout``, 60 s there; 20 s here; never more than the keep-alive
  timeout). Then the connection is closed without an answer, as nginx does. Separate from
  the keep-alive timeout, which bounds the wait for the first byte of the next request.
- ``body_timeout``: a request body that gets no byte for this many seconds while the
  gateway is reading it (not while reading is paused by the gateway itself) fails: 408 if
  no response started, else the connection is cut (nginx's ``client_body_timeout``, 60 s).
- ``underscores_in_headers``: what to do with a request header whose name has ``_``.
  Many app servers read ``_`` and ``-`` alike (WSGI and CGI map both to ``HTTP_X_Y``), so
  ``Transfer_Encoding`` or ``X_Forwarded_For`` would smuggle or spoof: ``drop`` (default,
  as nginx's ``underscores_in_headers off``), ``reject`` (400) or ``pass``.
- ``max_connections``: client connections past which every new one sheds the oldest
  connection that has no request (a head trickling in, else an idle keep-alive), so that
  descriptors never run out and clients sending whole requests keep being served. Default
  (0): derived from RLIMIT_NOFILE (:func:`connection_budget`).
"""

from __future__ import annotations

import resource
from dataclasses import dataclass

DROP, REJECT, PASS = 0, 1, 2
UNDERSCORE_MODES = {"drop": DROP, "reject": REJECT, "pass": PASS}


def underscore_mode(name: str) -> int:
    """``drop``/``reject``/``pass`` -> its constant; ValueError naming the choices."""
    try:
        return UNDERSCORE_MODES[name]
    except KeyError:
        raise ValueError(
            f"underscores_in_headers: expected one of drop, reject, pass, got {name!r}"
        ) from None


@dataclass(frozen=True)
class ClientLimits:
    """Limits on client connections (see the module docstring)."""

    header_timeout: float = 20.0
    body_timeout: float = 60.0
    underscores_in_headers: int = DROP
    max_connections: int = 0

    def __post_init__(self) -> None:
        for name in ("header_timeout", "body_timeout"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name}: must be a positive number of seconds, got {value!r}")
        if self.underscores_in_headers not in (DROP, REJECT, PASS):
            raise ValueError(f"underscores_in_headers: bad mode {self.underscores_in_headers!r}")
        if self.max_connections < 0:
            raise ValueError(f"max_connections: must be >= 0, got {self.max_connections!r}")


DEFAULT_LIMITS = ClientLimits()


def connection_budget(nofile: int | None = None) -> int:
    """Client connections a process may hold with ``nofile`` descriptors (default: its soft
    RLIMIT_NOFILE), keeping an eighth (at least 64) for pods, the listener, logs and feeds."""
    if nofile is None:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        nofile = soft if soft != resource.RLIM_INFINITY else 1 << 20
    return max(16, nofile - max(64, nofile // 8))

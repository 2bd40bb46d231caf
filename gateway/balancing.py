"""Endpoint choice within a revision: power of two choices by in-flight count.

Kept separate so that concurrency limits (containerConcurrency) can be added here
without touching the proxy.
"""

from __future__ import annotations

from collections.abc import Sequence
from random import random
from typing import Protocol, TypeVar


class HasInFlight(Protocol):
    in_flight: int


E = TypeVar("E", bound=HasInFlight)


def pick_endpoint(endpoints: Sequence[E]) -> E:
    """Pick two endpoints at random and return the one with fewer requests in flight.

    ``endpoints`` must not be empty.
    """
    n = len(endpoints)
    if n == 1:
        return endpoints[0]
    i = int(random() * n)
    j = int(random() * (n - 1))
    if j >= i:
        j += 1
    a = endpoints[i]
    b = endpoints[j]
    return a if a.in_flight <= b.in_flight else b

"""Endpoint choice within a revision: power of two choices by in-flight count.

Kept for callers of ``pick_endpoint``; the gateway itself chooses pods through its
revisions' throttlers (activator/holding.py, policies in activator/policies.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from activator.policies import Tracker, random_choice_2

E = TypeVar("E", bound=Tracker)


def pick_endpoint(endpoints: Sequence[E]) -> E:
    """Pick two endpoints at random and return the one with fewer requests in flight.

    ``endpoints`` must not be empty.
    """
    chosen = random_choice_2(endpoints, 0)
    assert chosen is not None
    return chosen

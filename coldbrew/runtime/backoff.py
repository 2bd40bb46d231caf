"""Restart back-off of a pod's container (Kubernetes' CrashLoopBackOff, shortened)."""

from __future__ import annotations


class Backoff:
    """Restart delays: 0 s for the first restart, then ``initial`` doubling to ``maximum``.

    (Kubernetes uses 10 s doubling to 5 min; a local runtime should come back faster.)
    """

    def __init__(self, initial: float = 1.0, maximum: float = 30.0) -> None:
        self.initial, self.maximum = initial, maximum
        self.count = 0

    def next(self) -> float:
        n, self.count = self.count, self.count + 1
        return 0.0 if n == 0 else min(self.initial * 2 ** (n - 1), self.maximum)

    def reset(self) -> None:
        self.count = 0

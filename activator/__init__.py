"""Activator: queues requests for revisions that cannot take them yet.

A revision with no ready endpoints, or whose pods are all at their containerConcurrency,
queues requests FIFO (:class:`Throttler`); pods are chosen as Knative's activator does
(the policies in :mod:`activator.throttler`).
"""

from activator.throttler import RoundRobin, Throttler, first_available, policy_for, random_choice_2

__all__ = ["RoundRobin", "Throttler", "first_available", "policy_for", "random_choice_2"]

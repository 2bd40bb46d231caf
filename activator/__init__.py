"""Activator: queues requests for revisions that cannot take them yet.

A revision with no ready endpoints, or whose pods are all at their containerConcurrency,
queues requests FIFO (:class:`Throttler`); pods are chosen as Knative's activator does
(:mod:`activator.balancing`).
"""

from activator.balancing import RoundRobin, first_available, policy_for, random_choice_2
from activator.throttler import Throttler

__all__ = ["RoundRobin", "Throttler", "first_available", "policy_for", "random_choice_2"]

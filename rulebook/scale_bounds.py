"""A revision's min-, max- and initial scale, as Knative's KPA resolves them.

Sources (knative/serving):

- ``PodAutoscaler.ScaleBounds`` (``pkg/apis/autoscaling/v1alpha1/pa_lifecycle.go``): an
  explicit ``autoscaling.knative.dev/min-scale`` / ``max-scale`` annotation, ``"0"``
  included, wins over the global ``min-scale`` / ``max-scale`` of ``config-autoscaler``;
  an unreachable revision's min is 0.
- ``GetInitialScale`` (``pkg/reconciler/autoscaling/kpa/resources/decider.go``): the
  ``initial-scale`` annotation wins over the global ``initial-scale``, except that ``0`` is
  honoured only when ``allow-zero-initial-scale`` is true (Knative's webhook refuses it
  otherwise, "initial-scale=0 not allowed by cluster"; the KPA falls back to the global
  value, which is then at least 1).
- The KPA scaler (``pkg/reconciler/autoscaling/kpa/scaler.go``): until the scale target is
  initialized, a reachable revision's floor is raised to an initial scale above 1.
- ``activeThreshold`` and ``computeActiveCondition`` (``pkg/reconciler/autoscaling/kpa/
  kpa.go``): until initialized, the PA needs ``max(min, initial)`` ready pods; when that is
  0 (``initial-scale: "0"``, no min) it is ``ScaleTargetInitialized`` with no pod and
  Inactive ``NoTraffic``, so the revision is Ready (Active False) and routed through the
  activator; its first request scales it from zero.

``None`` means "no annotation". A max of 0 is unbounded.
"""

from __future__ import annotations


def min_scale(annotation: int | None, default: int) -> int:
    """``ScaleBounds`` min: the annotation if set (even ``0``), else the global min-scale."""
    return default if annotation is None else annotation


def max_scale(annotation: int | None, default: int) -> int:
    """``ScaleBounds`` max: the annotation if set, else the global max-scale (0: unbounded)."""
    return default if annotation is None else annotation


def reachable_min(resolved_min: int, *, reachable: bool) -> int:
    """``ScaleBounds``: "min will be ignored if the PA is not reachable"."""
    return resolved_min if reachable else 0


def initial_scale(annotation: int | None, default: int, *, allow_zero: bool) -> int:
    """``GetInitialScale``: the annotation, unless it is 0 and zero is not allowed."""
    if annotation is None or (annotation == 0 and not allow_zero):
        return default
    return annotation


def initial_replicas(*, resolved_min: int, resolved_initial: int) -> int:
    """The standard Deployment's replicas at creation: its initial scale, at least its min.

    Knative's ``MakeDeployment`` starts at the initial scale and the KPA scaler keeps the
    revision at or above its min from the first decision, so the Deployment starts at both.
    """
    return max(resolved_initial, resolved_min)


def ready_without_pods(*, resolved_min: int, resolved_initial: int) -> bool:
    """The revision is initialized (Ready) with no pod: its initial replicas are 0.

    Knative's ``activeThreshold`` before initialization is ``max(min, initial)``; at 0 the
    KPA marks the scale target initialized at once. A reserve (ASK) does not change this:
    the revision is Ready, and once routed its idle floor, the reserve, comes up
    (:func:`rulebook.reserve.hand_over` of a decision of 0).
    """
    return initial_replicas(resolved_min=resolved_min, resolved_initial=resolved_initial) == 0


def kpa_floor(
    resolved_min: int, resolved_initial: int, *, initialized: bool, reachable: bool
) -> int:
    """The KPA scaler's lower bound for a decision (``scaler.go``).

    The reachable min, raised to an initial scale above 1 until the revision first reached
    it; an unreachable revision ignores both, so it can scale to zero at once.
    """
    low = reachable_min(resolved_min, reachable=reachable)
    if resolved_initial > 1 and not initialized and reachable:
        low = max(low, resolved_initial)
    return low

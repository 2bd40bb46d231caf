"""A revision's reserve from its annotations and the platform's ``reserve:`` defaults.

Both modes call :func:`revision_reserve`: it carries out
:func:`rulebook.reserve.choose_reserve` with the instance catalogue of
:mod:`autoscaler.pricing` and the min-scale of :mod:`rulebook.scale_bounds`. Light on
purpose (no pod runtime, no Kubernetes client), so cluster mode imports it freely.
"""

from __future__ import annotations

from autoscaler.config import AutoscalerConfig
from autoscaler.pricing import InstanceType, resolve_specs
from coldbrew.api.model import ReserveSpecs, Scaling
from coldbrew.platform_config import ReserveDefaults
from rulebook.reserve import Reserve, choose_reserve
from rulebook.scale_bounds import min_scale


def _resolve(specs: ReserveSpecs) -> InstanceType:
    return resolve_specs(specs.instance_types, specs.cpu, specs.memory)


def revision_reserve(
    scaling: Scaling, defaults: ReserveDefaults, config: AutoscalerConfig
) -> Reserve[InstanceType] | None:
    """The reserve a revision with these annotations has, whether routed or not; or None."""
    return choose_reserve(
        enabled=scaling.reserve_instance,
        replicas=scaling.reserve_instance_replicas,
        specs=scaling.reserve_instance_eci_use_specs,
        default_enabled=defaults.enabled,
        default_replicas=defaults.replicas,
        default_specs=defaults.eci_use_specs,
        resolved_min=min_scale(scaling.min_scale, config.min_scale),
        resolve=_resolve,
        instance_types=lambda specs: specs.instance_types,
    )

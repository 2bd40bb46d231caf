"""Knative's feature flags (``config-features``) and the pod-spec gate behind them.

:data:`DEFAULTS` is knative/serving's ``config/core/configmaps/features.yaml`` (recent
releases): each key is ``Enabled``, ``Disabled`` or ``Allowed`` (``secure-pod-defaults``
also takes ``AllowRootBounded``). :class:`Features` is the ``features:`` section of
coldbrew's config (:mod:`coldbrew.platform_config`, both modes; the chart's values).

:func:`gate_pod_spec` walks the raw ``spec.template.spec`` with the field masks of
knative/serving ``pkg/apis/serving/fieldmask.go`` (:mod:`coldbrew.api.fieldmasks`) and
refuses the first field a mask drops, with Knative's ``must not set the field(s):
<path>`` (the details name the flag that would allow it). Like Knative, a flag other
than ``Disabled`` lets its field through, except
``kubernetes.containerspec-addcapabilities``, which must be ``Enabled``.

Where coldbrew deliberately differs from Knative's masks (the issue asks for both):
container ``lifecycle`` and the pod's ``terminationGracePeriodSeconds`` are accepted
(Knative drops them because its queue-proxy owns draining).

Fields the gate lets through are checked further by the validator
(:mod:`coldbrew.api.validation`); the gate only answers "may this field be set at all".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .checks import join
from .errors import ValidationError, disallowed_field
from .fieldmasks import POD_SPEC, RULE_FLAGS, Mask

ENABLED, DISABLED, ALLOWED = "Enabled", "Disabled", "Allowed"
ALLOW_ROOT_BOUNDED = "AllowRootBounded"

DEFAULTS: dict[str, str] = {
    "multi-container": ENABLED,
    "multi-container-probing": DISABLED,
    "kubernetes.podspec-affinity": DISABLED,
    "kubernetes.podspec-topologyspreadconstraints": DISABLED,
    "kubernetes.podspec-hostaliases": DISABLED,
    "kubernetes.podspec-nodeselector": DISABLED,
    "kubernetes.podspec-tolerations": DISABLED,
    "kubernetes.podspec-fieldref": DISABLED,
    "kubernetes.podspec-runtimeclassname": DISABLED,
    "kubernetes.podspec-dnspolicy": DISABLED,
    "kubernetes.podspec-dnsconfig": DISABLED,
    "kubernetes.podspec-securitycontext": DISABLED,
    "kubernetes.podspec-shareprocessnamespace": DISABLED,
    "kubernetes.podspec-hostipc": DISABLED,
    "kubernetes.podspec-hostpid": DISABLED,
    "kubernetes.podspec-hostnetwork": DISABLED,
    "kubernetes.podspec-priorityclassname": DISABLED,
    "kubernetes.podspec-schedulername": DISABLED,
    "kubernetes.containerspec-addcapabilities": DISABLED,
    "tag-header-based-routing": DISABLED,
    "autodetect-http2": DISABLED,
    "kubernetes.podspec-volumes-emptydir": ENABLED,
    "kubernetes.podspec-volumes-image": DISABLED,
    "kubernetes.podspec-volumes-hostpath": DISABLED,
    "kubernetes.podspec-volumes-ephemeral": DISABLED,
    "kubernetes.podspec-volumes-csi": DISABLED,
    "kubernetes.podspec-init-containers": DISABLED,
    "kubernetes.podspec-persistent-volume-claim": DISABLED,
    "kubernetes.podspec-persistent-volume-write": DISABLED,
    "kubernetes.podspec-volumes-mount-propagation": DISABLED,
    "queueproxy.mount-podinfo": DISABLED,
    "queueproxy.resource-defaults": DISABLED,
    "secure-pod-defaults": DISABLED,
}
FLAG_VALUES = (ENABLED, DISABLED, ALLOWED)
SECURE_DEFAULTS_VALUES = (DISABLED, ALLOW_ROOT_BOUNDED, ENABLED)


class FeatureError(ValueError):
    """A bad ``features:`` key or value; ``field`` is ``features.<key>``."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class Features:
    """The flags in force: Knative's defaults overridden by the ``features:`` section."""

    flags: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULTS))

    def flag(self, key: str) -> str:
        return self.flags.get(key, DEFAULTS[key])

    def on(self, key: str) -> bool:
        """Knative's ``!= Disabled``: Enabled and Allowed both let the field through."""
        return self.flag(key) != DISABLED

    @property
    def secure_defaults(self) -> bool:
        return self.flag("secure-pod-defaults") in (ENABLED, ALLOW_ROOT_BOUNDED)

    @classmethod
    def from_mapping(cls, section: Any) -> Features:
        """Parse ``features:`` (config-features keys); values are matched case-insensitively."""
        if section is None:
            return cls()
        if not isinstance(section, dict):
            raise FeatureError("features", "must be a mapping of config-features keys")
        flags = dict(DEFAULTS)
        for key, raw in section.items():
            where = f"features.{key}"
            if key not in DEFAULTS:
                raise FeatureError(where, "unknown key (see Knative's config-features)")
            allowed = SECURE_DEFAULTS_VALUES if key == "secure-pod-defaults" else FLAG_VALUES
            value = next((v for v in allowed if str(raw).lower() == v.lower()), None)
            if not isinstance(raw, str) or value is None:
                raise FeatureError(where, f"must be one of {', '.join(allowed)}, got {raw!r}")
            flags[key] = value
        return cls(flags)


KNATIVE_DEFAULTS = Features()
# Re-reading what was accepted earlier (a stored Revision): every flag on.
ALL_ALLOWED = Features({**{k: ENABLED for k in DEFAULTS}, "secure-pod-defaults": DISABLED})


def _walk(value: Any, mask: Mask, path: str, features: Features, strict: bool) -> None:
    if isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, mask, f"{path}[{index}]", features, strict)
        return
    if not isinstance(value, dict):
        return  # the validator names wrong types
    for key in sorted(map(str, value)):
        where = join(path, key)
        if key not in mask:
            if strict:
                raise disallowed_field(where)
            continue
        entry = mask[key]
        if isinstance(entry, tuple):
            rule, inner = entry
            if not rule(features, value[key]):
                flag = RULE_FLAGS.get(rule)
                details = (
                    f'behind the feature flag "{flag}" ({features.flag(flag)})' if flag else ""
                )
                raise disallowed_field(where, details)
            entry = inner
        if entry is not None:
            _walk(value[key], entry, where, features, strict)


def gate_pod_spec(
    pod: Any, path: str, features: Features = KNATIVE_DEFAULTS, *, strict: bool = False
) -> None:
    """Refuse the first field of the raw pod spec at ``path`` that Knative's masks drop.

    Flag-gated fields are always checked; ``strict`` also refuses every field no mask
    knows (the cluster path, where fields the model does not hold are kept as written;
    locally the validator refuses those with its own details).
    """
    if not isinstance(pod, dict):
        return
    _walk(pod, POD_SPEC, path, features, strict)
    containers = pod.get("containers")
    multi = features.flag("multi-container") == ENABLED
    if isinstance(containers, list) and len(containers) > 1 and not multi:
        raise ValidationError(
            join(path, "containers"),
            f"multi-container is off, but found {len(containers)} containers",
        )

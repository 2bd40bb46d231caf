"""Knative's feature flags (``config-features``) and the pod-spec gate behind them.

:data:`DEFAULTS` is knative/serving's ``config/core/configmaps/features.yaml`` (recent
releases): each key is ``Enabled``, ``Disabled`` or ``Allowed`` (``secure-pod-defaults``
also takes ``AllowRootBounded``). :class:`Features` is the ``features:`` section of
coldbrew's config (:mod:`coldbrew.platform_config`, both modes; the chart's values).

:func:`gate_pod_spec` walks the raw ``spec.template.spec`` with the field masks of
knative/serving ``pkg/apis/serving/fieldmask.go`` and refuses the first field a mask
drops, with Knative's ``must not set the field(s): <path>`` (the details name the flag
that would allow it). Like Knative, a flag other than ``Disabled`` lets its field through,
except ``kubernetes.containerspec-addcapabilities``, which must be ``Enabled``.

Where coldbrew deliberately differs from Knative's masks (the issue asks for both):
container ``lifecycle`` and the pod's ``terminationGracePeriodSeconds`` are accepted
(Knative drops them because its queue-proxy owns draining).

Fields the gate lets through are checked further by the validator
(:mod:`coldbrew.api.validation`); the gate only answers "may this field be set at all".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .checks import join
from .errors import ValidationError, disallowed_field

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

# A mask maps a key to: None (allowed, not descended), a nested mask (descend into the
# mapping, or into each item of a list), or a flag key / predicate deciding "allowed".
Rule = Callable[[Features, Any], bool]
Mask = dict[str, Any]


_RULE_FLAGS: dict[Rule, str] = {}  # the flag a refusal by each rule names


def _flag(key: str) -> Rule:
    def rule(features: Features, value: Any) -> bool:
        return features.on(key)

    _RULE_FLAGS[rule] = key
    return rule


def _gated(key: str, inner: Mask | None = None) -> tuple[Rule, Mask | None]:
    return _flag(key), inner


_KEY_TO_PATH: Mask = {"key": None, "path": None, "mode": None}
_OBJECT_REF: Mask = {"name": None, "items": _KEY_TO_PATH, "optional": None}
_DOWNWARD_FILE: Mask = {"fieldRef": None, "resourceFieldRef": None, "path": None, "mode": None}
_PROJECTION: Mask = {
    "secret": _OBJECT_REF,
    "configMap": _OBJECT_REF,
    "serviceAccountToken": {"audience": None, "expirationSeconds": None, "path": None},
    "downwardAPI": {"items": _DOWNWARD_FILE},
}
_VOLUME: Mask = {
    "name": None,
    "secret": {"secretName": None, "items": _KEY_TO_PATH, "defaultMode": None, "optional": None},
    "configMap": {**_OBJECT_REF, "defaultMode": None},
    "projected": {"sources": _PROJECTION, "defaultMode": None},
    "emptyDir": _gated("kubernetes.podspec-volumes-emptydir"),
    "persistentVolumeClaim": _gated("kubernetes.podspec-persistent-volume-claim"),
    "hostPath": _gated("kubernetes.podspec-volumes-hostpath"),
    "csi": _gated("kubernetes.podspec-volumes-csi"),
    "ephemeral": _gated("kubernetes.podspec-volumes-ephemeral"),
    "image": _gated("kubernetes.podspec-volumes-image", {"reference": None, "pullPolicy": None}),
}
_KEY_SELECTOR: Mask = {"name": None, "key": None, "optional": None}
_ENV: Mask = {
    "name": None,
    "value": None,
    "valueFrom": {
        "configMapKeyRef": _KEY_SELECTOR,
        "secretKeyRef": _KEY_SELECTOR,
        "fieldRef": _gated("kubernetes.podspec-fieldref"),
        "resourceFieldRef": _gated("kubernetes.podspec-fieldref"),
    },
}
_ENV_FROM: Mask = {
    "prefix": None,
    "configMapRef": {"name": None, "optional": None},
    "secretRef": {"name": None, "optional": None},
}
_HANDLER: Mask = {
    "exec": {"command": None},
    "httpGet": {"host": None, "path": None, "scheme": None, "httpHeaders": None, "port": None},
    "tcpSocket": {"host": None, "port": None},
    "grpc": {"port": None, "service": None},
}
_PROBE: Mask = {
    **_HANDLER,
    "initialDelaySeconds": None,
    "timeoutSeconds": None,
    "periodSeconds": None,
    "successThreshold": None,
    "failureThreshold": None,
    "terminationGracePeriodSeconds": None,
}
_LIFECYCLE_HANDLER: Mask = {**_HANDLER, "sleep": {"seconds": None}}
_LIFECYCLE: Mask = {"preStop": _LIFECYCLE_HANDLER, "postStart": _LIFECYCLE_HANDLER}


def _add_capabilities(features: Features, value: Any) -> bool:
    if features.flag("kubernetes.containerspec-addcapabilities") == ENABLED:
        return True
    return features.secure_defaults and value == ["NET_BIND_SERVICE"]


def _not_privileged(features: Features, value: Any) -> bool:
    return value is False


def _secure_seccomp(features: Features, value: Any) -> bool:
    kind = value.get("type") if isinstance(value, dict) else None
    return features.secure_defaults and kind in ("RuntimeDefault", "Unconfined")


_CONTAINER_SECURITY: Mask = {
    "capabilities": {"drop": None, "add": (_add_capabilities, None)},
    "readOnlyRootFilesystem": None,
    "runAsUser": None,
    "runAsGroup": None,
    "runAsNonRoot": None,
    "allowPrivilegeEscalation": None,
    "seccompProfile": None,
    "privileged": (_not_privileged, None),
}
_CONTAINER: Mask = {
    "name": None,
    "args": None,
    "command": None,
    "env": _ENV,
    "workingDir": None,
    "envFrom": _ENV_FROM,
    "image": None,
    "imagePullPolicy": None,
    "livenessProbe": _PROBE,
    "ports": {"containerPort": None, "name": None, "protocol": None},
    "readinessProbe": _PROBE,
    "resources": {"limits": None, "requests": None},
    "securityContext": _CONTAINER_SECURITY,
    "startupProbe": _PROBE,
    "terminationMessagePath": None,
    "terminationMessagePolicy": None,
    "volumeMounts": {
        "name": None,
        "readOnly": None,
        "mountPath": None,
        "subPath": None,
        "mountPropagation": _gated("kubernetes.podspec-volumes-mount-propagation"),
    },
    "lifecycle": _LIFECYCLE,  # coldbrew extension (Knative's ContainerMask drops it)
}


def _pod_security_key(features: Features, value: Any) -> bool:
    return features.on("kubernetes.podspec-securitycontext") or features.secure_defaults


def _pod_security_field(features: Features, value: Any) -> bool:
    return features.on("kubernetes.podspec-securitycontext")


def _pod_seccomp(features: Features, value: Any) -> bool:
    return _pod_security_field(features, value) or _secure_seccomp(features, value)


_POD_SECURITY: Mask = {
    "runAsUser": (_pod_security_field, None),
    "runAsGroup": (_pod_security_field, None),
    "runAsNonRoot": (_pod_security_field, None),
    "fsGroup": (_pod_security_field, None),
    "supplementalGroups": (_pod_security_field, None),
    "seccompProfile": (_pod_seccomp, None),
}


def _automount(features: Features, value: Any) -> bool:
    return value is False


POD_SPEC: Mask = {
    # Knative's revision spec fields, beside the pod spec
    "containerConcurrency": None,
    "timeoutSeconds": None,
    "responseStartTimeoutSeconds": None,
    "idleTimeoutSeconds": None,
    # PodSpecMask
    "serviceAccountName": None,
    "containers": _CONTAINER,
    "volumes": _VOLUME,
    "imagePullSecrets": {"name": None},
    "enableServiceLinks": None,
    "automountServiceAccountToken": (_automount, None),
    "affinity": _gated("kubernetes.podspec-affinity"),
    "topologySpreadConstraints": _gated("kubernetes.podspec-topologyspreadconstraints"),
    "hostAliases": _gated("kubernetes.podspec-hostaliases"),
    "nodeSelector": _gated("kubernetes.podspec-nodeselector"),
    "runtimeClassName": _gated("kubernetes.podspec-runtimeclassname"),
    "tolerations": _gated("kubernetes.podspec-tolerations"),
    "securityContext": (_pod_security_key, _POD_SECURITY),
    "shareProcessNamespace": _gated("kubernetes.podspec-shareprocessnamespace"),
    "priorityClassName": _gated("kubernetes.podspec-priorityclassname"),
    "schedulerName": _gated("kubernetes.podspec-schedulername"),
    "initContainers": _gated("kubernetes.podspec-init-containers", _CONTAINER),
    "dnsPolicy": _gated("kubernetes.podspec-dnspolicy"),
    "dnsConfig": _gated("kubernetes.podspec-dnsconfig"),
    "hostIPC": _gated("kubernetes.podspec-hostipc"),
    "hostPID": _gated("kubernetes.podspec-hostpid"),
    "hostNetwork": _gated("kubernetes.podspec-hostnetwork"),
    "terminationGracePeriodSeconds": None,  # coldbrew extension (Knative's mask drops it)
}


_RULE_FLAGS.update(
    {
        _add_capabilities: "kubernetes.containerspec-addcapabilities",
        _pod_security_key: "kubernetes.podspec-securitycontext",
        _pod_security_field: "kubernetes.podspec-securitycontext",
        _pod_seccomp: "kubernetes.podspec-securitycontext",
    }
)


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
                flag = _RULE_FLAGS.get(rule)
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

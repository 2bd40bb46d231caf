"""Knative's field masks (knative/serving ``pkg/apis/serving/fieldmask.go``) as data.

Each mask says which keys of a pod-spec object may be set: ``None`` (allowed, not looked
into), a nested mask (looked into; for a list, each item), or ``(rule, inner)`` where
``rule(features, value)`` decides whether the key may be set under the feature flags in
force. :func:`coldbrew.api.features.gate_pod_spec` walks a pod spec with :data:`POD_SPEC`.
Where coldbrew deliberately differs from Knative: container ``lifecycle`` and the pod's
``terminationGracePeriodSeconds`` are allowed (Knative's masks drop them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .features import Features

# A mask maps a key to: None (allowed, not descended), a nested mask (descend into the
# mapping, or into each item of a list), or a flag key / predicate deciding "allowed".
Rule = Callable[["Features", Any], bool]
Mask = dict[str, Any]


RULE_FLAGS: dict[Rule, str] = {}  # the flag a refusal by each rule names


def _flag(key: str) -> Rule:
    def rule(features: Features, value: Any) -> bool:
        return features.on(key)

    RULE_FLAGS[rule] = key
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
    if features.flag("kubernetes.containerspec-addcapabilities") == "Enabled":
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


RULE_FLAGS.update(
    {
        _add_capabilities: "kubernetes.containerspec-addcapabilities",
        _pod_security_key: "kubernetes.podspec-securitycontext",
        _pod_security_field: "kubernetes.podspec-securitycontext",
        _pod_seccomp: "kubernetes.podspec-securitycontext",
    }
)

"""Validate a ``serving.knative.dev/v1`` Service manifest like Knative's webhook.

:func:`parse_service` is fail-fast: it raises the first problem found as a
:class:`ValidationError` naming the offending field.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from .annotations import GROUP, parse_scaling
from .checks import (
    DNS1035_HELP,
    DNS1123_HELP,
    MAX_LABEL,
    check_keys,
    get_int,
    get_list,
    get_mapping,
    get_str,
    is_dns1035_label,
    is_dns1123_label,
    join,
    string_map,
)
from .errors import ValidationError, invalid_value, out_of_bounds, wrong_type
from .features import KNATIVE_DEFAULTS, Features, gate_pod_spec
from .model import RevisionTemplate, Service
from .podspec import POD_FIELDS, parse_pod
from .rawspec import split_raw
from .rollout_duration import rollout_seconds
from .traffic import parse_traffic
from .volumes import VolumeMount, check_mounts, parse_mounts, parse_volumes

API_VERSION = "serving.knative.dev/v1"
KIND = "Service"
DEFAULT_NAMESPACE = "default"
# Generated revision names are "{service}-{n:05d}"; they must stay a 63-character label.
MAX_SERVICE_NAME = MAX_LABEL - len("-00001")
DEFAULT_TIMEOUT_SECONDS = 300
MAX_TIMEOUT_SECONDS = 600
MAX_CONTAINER_CONCURRENCY = 1000
VISIBILITY_LABEL = "networking.knative.dev/visibility"
VISIBILITY_LABEL_OBSOLETE = "serving.knative.dev/visibility"  # still honoured by Knative

_SERVER_SET_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
)
_POD_SPEC_UNSUPPORTED = (
    "affinity",
    "automountServiceAccountToken",
    "dnsConfig",
    "dnsPolicy",
    "enableServiceLinks",
    "hostAliases",
    "initContainers",
    "nodeSelector",
    "priorityClassName",
    "runtimeClassName",
    "schedulerName",
    "tolerations",
    "topologySpreadConstraints",
)
_TEMPLATE_SPEC_FIELDS = (
    "containers",
    "volumes",
    "containerConcurrency",
    "timeoutSeconds",
    "responseStartTimeoutSeconds",
    "idleTimeoutSeconds",
    *POD_FIELDS,
)


def parse_service(
    obj: Any,
    *,
    instance_types: Collection[str] | None = None,
    features: Features = KNATIVE_DEFAULTS,
    keep_raw: bool = False,
) -> Service:
    """Validate a Service manifest (a parsed YAML/JSON mapping) and normalize it.

    Defaults: namespace ``default``, containerConcurrency 0, timeoutSeconds 300,
    traffic ``None`` (100% to the latest ready revision). ``instance_types`` is an
    optional catalogue for ``knative.aliyun.com/reserve-instance-eci-use-specs``.
    ``features`` are the feature flags the pod spec is gated by (both modes);
    ``keep_raw`` (cluster mode) accepts every field the flags allow and keeps the pod
    spec as written in ``template.raw_spec`` (:mod:`coldbrew.api.rawspec`).
    Raises :class:`ValidationError`.
    """
    if not isinstance(obj, dict):
        raise wrong_type(obj, "a mapping", "")
    check_keys(obj, ("apiVersion", "kind", "metadata", "spec", "status"), "")
    _expect(obj, "apiVersion", API_VERSION)
    _expect(obj, "kind", KIND)
    metadata = get_mapping(obj, "metadata", "", required=True) or {}
    check_keys(
        metadata,
        ("name", "namespace", "labels", "annotations", *_SERVER_SET_METADATA),
        "metadata",
        ("generateName",),
    )
    name = _service_name(metadata)
    namespace = get_str(metadata, "namespace", "metadata") or DEFAULT_NAMESPACE
    if not is_dns1123_label(namespace):
        raise invalid_value(namespace, "metadata.namespace", DNS1123_HELP)
    labels = string_map(metadata, "labels", "metadata", labels=True)
    _check_service_labels(labels)
    annotations = string_map(metadata, "annotations", "metadata", labels=False)
    for key in sorted(annotations):
        if key.startswith(GROUP):
            raise ValidationError(
                "metadata.annotations",
                f'invalid key name "{key}"',
                "autoscaling annotations must be put under "
                '"spec.template.metadata.annotations" to work',
            )
    rollout_seconds(annotations)
    spec = get_mapping(obj, "spec", "", required=True) or {}
    check_keys(spec, ("template", "traffic"), "spec")
    template = _template(spec, name, instance_types, features, keep_raw)
    traffic = parse_traffic(spec.get("traffic"), name)
    return Service(name, namespace, template, traffic, labels, annotations)


def _expect(obj: dict[str, Any], key: str, want: str) -> None:
    value = get_str(obj, key, "", required=True)
    if value != want:
        raise invalid_value(value, key, f'expected "{want}"')


def _service_name(metadata: dict[str, Any]) -> str:
    name = get_str(metadata, "name", "metadata", required=True)
    assert name is not None
    if not is_dns1035_label(name):
        raise invalid_value(name, "metadata.name", DNS1035_HELP)
    if len(name) > MAX_SERVICE_NAME:
        raise invalid_value(
            name,
            "metadata.name",
            f"must be no more than {MAX_SERVICE_NAME} characters so that "
            f"revision names like {name[:8]}...-00001 fit in {MAX_LABEL}",
        )
    return name


def _check_service_labels(labels: dict[str, str]) -> None:
    for key, value in labels.items():
        if key in (VISIBILITY_LABEL, VISIBILITY_LABEL_OBSOLETE):
            if value != "cluster-local":
                raise invalid_value(value, f"metadata.labels[{key}]", 'expected "cluster-local"')
        elif key.startswith("serving.knative.dev/"):
            raise ValidationError(
                "metadata.labels",
                f'invalid key name "{key}"',
                "serving.knative.dev/ labels are set by coldbrew",
            )


def _template(
    spec: dict[str, Any],
    service: str,
    instance_types: Collection[str] | None,
    features: Features,
    keep_raw: bool,
) -> RevisionTemplate:
    path = "spec.template"
    template = get_mapping(spec, "template", "spec", required=True) or {}
    check_keys(template, ("metadata", "spec"), path)
    meta_path = join(path, "metadata")
    metadata = get_mapping(template, "metadata", path) or {}
    check_keys(
        metadata,
        ("name", "labels", "annotations", "creationTimestamp"),
        meta_path,
        ("generateName",),
    )
    revision_name = get_str(metadata, "name", meta_path) or None
    if revision_name is not None:
        field = join(meta_path, "name")
        if not is_dns1035_label(revision_name):
            raise invalid_value(f"not a DNS 1035 label: {revision_name}", field, DNS1035_HELP)
        if not revision_name.startswith(f"{service}-"):
            raise invalid_value(f'"{revision_name}" must have prefix "{service}-"', field)
    labels = string_map(metadata, "labels", meta_path, labels=True)
    annotations = string_map(metadata, "annotations", meta_path, labels=False)

    spec_path = join(path, "spec")
    pod = get_mapping(template, "spec", path, required=True) or {}
    gate_pod_spec(pod, spec_path, features, strict=keep_raw)
    full_pod = pod  # every container's mounts count (sidecars are not in the projection)
    if keep_raw:  # cluster mode: the validator parses what it knows, the rest is kept raw
        pod, raw_spec, serving = split_raw(pod, spec_path, _TEMPLATE_SPEC_FIELDS)
    else:
        raw_spec, serving = None, 0
    check_keys(pod, _TEMPLATE_SPEC_FIELDS, spec_path, _POD_SPEC_UNSUPPORTED)
    try:
        parts = parse_pod(pod, spec_path)
    except ValidationError as exc:
        if serving:  # the projection holds the serving container alone: name its real place
            first = f"{join(spec_path, 'containers')}[0]"
            exc.field = exc.field.replace(first, f"{join(spec_path, 'containers')}[{serving}]", 1)
        raise ValidationError(exc.field, exc.message, exc.details) from None
    volumes = parse_volumes(pod, spec_path)
    check_mounts(volumes, _mounts(full_pod, spec_path), spec_path)
    cc = get_int(pod, "containerConcurrency", spec_path, 0, MAX_CONTAINER_CONCURRENCY)
    timeout = get_int(pod, "timeoutSeconds", spec_path, 1, MAX_TIMEOUT_SECONDS)
    timeout = DEFAULT_TIMEOUT_SECONDS if timeout is None else timeout
    response_start = get_int(pod, "responseStartTimeoutSeconds", spec_path, 0, MAX_TIMEOUT_SECONDS)
    if response_start is not None and response_start > timeout:
        raise out_of_bounds(
            response_start, 0, timeout, join(spec_path, "responseStartTimeoutSeconds")
        )
    idle = get_int(pod, "idleTimeoutSeconds", spec_path, 0, MAX_TIMEOUT_SECONDS)
    scaling = parse_scaling(
        annotations, join(meta_path, "annotations"), instance_types=instance_types
    )
    return RevisionTemplate(
        name=revision_name,
        annotations=annotations,
        labels=labels,
        container=parts.container,
        container_concurrency=0 if cc is None else cc,
        timeout_seconds=timeout,
        response_start_timeout_seconds=response_start,
        idle_timeout_seconds=idle,
        scaling=scaling,
        raw_spec=raw_spec,
        sidecars=parts.sidecars,
        serving_index=parts.serving_index,
        termination_grace_period_seconds=parts.termination_grace_period_seconds,
        security_context=parts.security_context,
        image_pull_secrets=parts.image_pull_secrets,
        service_account_name=parts.service_account_name,
        volumes=volumes,
    )


def _mounts(pod: dict[str, Any], spec_path: str) -> list[tuple[str, tuple[VolumeMount, ...]]]:
    """Each container's ``volumeMounts`` (already validated), by container path."""
    out: list[tuple[str, tuple[VolumeMount, ...]]] = []
    for index, c in enumerate(get_list(pod, "containers", spec_path) or []):
        where = f"{join(spec_path, 'containers')}[{index}]"
        out.append((where, parse_mounts(c, where) if isinstance(c, dict) else ()))
    return out

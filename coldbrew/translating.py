"""From the API model to what the pod runtime runs."""

from __future__ import annotations

from coldbrew.api.model import Probe, Resources, RevisionTemplate
from coldbrew.configuring import PodConfig
from coldbrew.runtime import ContainerSpec, PodTemplate, ProbeSpec
from coldbrew.runtime.specs import ContainerLimits
from coldbrew.storing import StoredRevision

SERVICE_LABEL = "serving.knative.dev/service"
REVISION_LABEL = "serving.knative.dev/revision"
CONFIGURATION_LABEL = "serving.knative.dev/configuration"


def probe_spec(probe: Probe | None) -> ProbeSpec | None:
    if probe is None:
        return None
    return ProbeSpec(
        kind=probe.kind,
        path=probe.path or "/",
        port=probe.port,
        period_seconds=probe.period_seconds,
        timeout_seconds=probe.timeout_seconds or 1,
        failure_threshold=probe.failure_threshold or 3,
        success_threshold=probe.success_threshold or 1,
        initial_delay_seconds=probe.initial_delay_seconds,
    )


def container_limits(r: Resources | None) -> ContainerLimits | None:
    if r is None:
        return None
    return ContainerLimits(r.cpu_request, r.memory_request, r.cpu_limit, r.memory_limit)


def pod_template(rev: StoredRevision, template: RevisionTemplate) -> PodTemplate:
    """The pod template of one revision: its container plus Knative's labels."""
    c = template.container
    labels = dict(template.labels)
    labels.update(
        {
            SERVICE_LABEL: rev.service,
            CONFIGURATION_LABEL: rev.service,
            REVISION_LABEL: rev.name,
        }
    )
    return PodTemplate(
        namespace=rev.namespace,
        service=rev.service,
        configuration=rev.service,
        revision=rev.name,
        container=ContainerSpec(
            image=c.image,
            command=c.command,
            args=c.args,
            env=c.env,
            port=c.port,
            readiness_probe=probe_spec(c.readiness_probe),
            image_pull_policy=c.image_pull_policy,
            limits=container_limits(c.resources),
        ),
        labels=labels,
        annotations=dict(template.annotations),
        template_hash=rev.template_hash,
        termination_grace_seconds=template.timeout_seconds,  # as Knative sets it on the pod
        config=pod_config(template),
    )


def pod_config(template: RevisionTemplate) -> PodConfig | None:
    """What the runtime's configurer resolves at pod start; None when nothing is referenced."""
    c = template.container
    if c.env_spec is None and not template.volumes:
        return None
    return PodConfig(
        container_path="spec.template.spec.containers[0]",
        env=c.env,
        env_spec=c.env_spec,
        volumes=template.volumes,
        mounts=c.volume_mounts,
        resources=c.resources,
    )

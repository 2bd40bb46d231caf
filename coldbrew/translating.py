"""From the API model to what the pod runtime runs."""

from __future__ import annotations

from coldbrew.api.model import Container, Handler, Probe, Resources, RevisionTemplate
from coldbrew.api.model import SecurityContext as ApiSecurity
from coldbrew.configuring import PodConfig
from coldbrew.runtime import ContainerSpec, PodTemplate, ProbeSpec
from coldbrew.runtime.container_specs import HookSpec, SecuritySpec
from coldbrew.runtime.specs import CONTAINER_NAME, ContainerLimits
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
        host=probe.host,
        scheme=probe.scheme,
        headers=probe.headers,
        command=probe.command,
        service=probe.service or "",
    )


def hook_spec(hook: Handler | None) -> HookSpec | None:
    if hook is None:
        return None
    return HookSpec(
        kind=hook.kind,
        path=hook.path or "/",
        port=hook.port,
        host=hook.host,
        scheme=hook.scheme,
        headers=hook.headers,
        command=hook.command,
        seconds=hook.seconds,
    )


def security_spec(own: ApiSecurity | None, pod: ApiSecurity | None) -> SecuritySpec | None:
    """The container's context with the pod's filled in (None: neither sets one)."""
    if own is None and pod is None:
        return None
    sc = (own or ApiSecurity()).over(pod)
    return SecuritySpec(
        run_as_user=sc.run_as_user,
        run_as_group=sc.run_as_group,
        run_as_non_root=sc.run_as_non_root,
        read_only_root_filesystem=bool(sc.read_only_root_filesystem),
        allow_privilege_escalation=sc.allow_privilege_escalation,
        capabilities_add=sc.capabilities_add,
        capabilities_drop=sc.capabilities_drop,
        seccomp_profile=sc.seccomp_profile,
        seccomp_localhost_profile=sc.seccomp_localhost_profile,
    )


def container_spec(c: Container, template: RevisionTemplate, default_name: str) -> ContainerSpec:
    return ContainerSpec(
        image=c.image,
        command=c.command,
        args=c.args,
        env=c.env,
        port=c.port,
        readiness_probe=probe_spec(c.readiness_probe),
        image_pull_policy=c.image_pull_policy,
        limits=container_limits(c.resources),
        name=c.name or default_name,
        liveness_probe=probe_spec(c.liveness_probe),
        startup_probe=probe_spec(c.startup_probe),
        security=security_spec(c.security_context, template.security_context),
        working_dir=c.working_dir,
        pre_stop=hook_spec(c.pre_stop),
    )


def container_limits(r: Resources | None) -> ContainerLimits | None:
    if r is None:
        return None
    return ContainerLimits(r.cpu_request, r.memory_request, r.cpu_limit, r.memory_limit)


def pod_template(rev: StoredRevision, template: RevisionTemplate) -> PodTemplate:
    """The pod template of one revision: its container plus Knative's labels."""
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
        container=container_spec(template.container, template, CONTAINER_NAME),
        sidecars=tuple(container_spec(c, template, "sidecar") for c in template.sidecars),
        pull_secrets=template.image_pull_secrets,
        grace_period_seconds=template.termination_grace_period_seconds,
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

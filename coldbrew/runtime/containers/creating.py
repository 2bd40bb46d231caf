"""The Docker Engine API body that creates one pod's container.

* Knative's runtime contract: ``PORT`` is the declared containerPort (else 8080) inside the
  container, plus ``K_SERVICE``, ``K_REVISION``, ``K_CONFIGURATION`` and the container's env.
* ``command`` replaces the image's entrypoint (and drops its cmd), ``args`` replace its cmd,
  with ``$(VAR)`` references expanded, as Kubernetes does.
* The port is published on 127.0.0.1 only, at a host port the runtime picked.
* Limits: reserve pods get their instance type's cpu/memory (``PodTemplate.resources``); other
  pods their ``resources.limits`` (``NanoCpus``, ``Memory``) and requests where the engine has
  them (``CpuShares``, ``MemoryReservation``).
* Security: not privileged, no added capabilities, no new privileges, bridge network (never the
  host's), only the volume binds the pod's configuration asks for (ConfigMaps and Secrets
  read-only), ulimits within this machine's hard limits; the container's
  ``securityContext`` on top (:mod:`coldbrew.runtime.containers.securing`).
* ``workingDir`` -> ``WorkingDir``.
"""

from __future__ import annotations

import resource
from collections.abc import Mapping
from typing import Any

from coldbrew.runtime.containers import securing
from coldbrew.runtime.containers.engine import INSTANCE_LABEL, MANAGED_LABEL, POD_LABEL
from coldbrew.runtime.environment import Prepared
from coldbrew.runtime.launch import expand
from coldbrew.runtime.specs import ContainerSpec, PodTemplate, format_bytes

DEFAULT_PORT = 8080
HOST = "127.0.0.1"
NOFILE, NPROC = 10_000, 1_000  # engines ask for more than many hosts' hard limits allow


def contract_env(
    template: PodTemplate, c: ContainerSpec | None = None, own: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The container's env (``own``: with its references resolved) and Knative's K_*
    variables; PORT for the serving container only."""
    env = dict((c or template.container).env if own is None else own)
    if c is None or c is template.container:
        env["PORT"] = str(container_port(template))
    env.update(
        K_SERVICE=template.service,
        K_REVISION=template.revision,
        K_CONFIGURATION=template.configuration,
    )
    return env


def container_port(template: PodTemplate) -> int:
    return template.container.port or DEFAULT_PORT


def _ulimit(kind: int, want: int) -> int:
    _, hard = resource.getrlimit(kind)
    return want if hard == resource.RLIM_INFINITY else min(want, hard)


def ulimits() -> list[dict[str, Any]]:
    nofile = _ulimit(resource.RLIMIT_NOFILE, NOFILE)
    nproc = _ulimit(resource.RLIMIT_NPROC, NPROC)
    return [
        {"Name": "nofile", "Soft": nofile, "Hard": nofile},
        {"Name": "nproc", "Soft": nproc, "Hard": nproc},
    ]


def limits(template: PodTemplate, c: ContainerSpec | None = None) -> dict[str, int]:
    """HostConfig's cpu/memory fields for the template's serving container (or sidecar ``c``)."""
    out: dict[str, int] = {}
    r = template.resources
    if r is not None and (c is None or c is template.container):  # a reserve pod's size
        if r.cpu is not None:
            out["NanoCpus"] = round(r.cpu * 1e9)
        if r.memory is not None:
            out["Memory"] = int(r.memory)
        return out
    lim = (c or template.container).limits
    if lim is None:
        return out
    if lim.cpu_limit is not None:
        out["NanoCpus"] = round(lim.cpu_limit * 1e9)
    if lim.memory_limit is not None:
        out["Memory"] = int(lim.memory_limit)
    if lim.cpu_request is not None:
        out["CpuShares"] = max(2, round(lim.cpu_request * 1024))
    if lim.memory_request is not None:
        out["MemoryReservation"] = int(lim.memory_request)
    return out


def describe_limits(host_config: dict[str, Any]) -> str:
    """What the engine reports it enforces, e.g. ``engine cpu=0.5 mem=64Mi``."""
    parts = ["engine"]
    nano = host_config.get("NanoCpus") or 0
    quota, period = host_config.get("CpuQuota") or 0, host_config.get("CpuPeriod") or 0
    if nano:
        parts.append(f"cpu={nano / 1e9:g}")
    elif quota and period:
        parts.append(f"cpu={quota / period:g}")
    if host_config.get("Memory"):
        parts.append(f"mem={format_bytes(host_config['Memory'])}")
    return " ".join(parts) if len(parts) > 1 else "engine unlimited"


def create_body(
    template: PodTemplate,
    *,
    pod: str,
    instance: str,
    host_port: int,
    container: ContainerSpec | None = None,
    image_user: str = "",
    extra_ports: Mapping[int, int] | None = None,
    network_of: str | None = None,
    prepared: Prepared | None = None,
) -> dict[str, Any]:
    """The body for ``template``'s serving container, or one of its sidecars (``container``).

    The serving container owns the pod's network: its port, and the sidecars' probe ports
    (``extra_ports``: container port -> host port), are published on 127.0.0.1. A sidecar
    joins it (``network_of``: the serving container's id): one loopback for the pod.
    ``prepared``: the serving container's resolved env and volume binds
    (:mod:`coldbrew.runtime.environment`); a sidecar keeps its literal env and no volumes.
    """
    c = template.container if container is None else container
    prepared = (prepared or Prepared()) if c is template.container else Prepared()
    env = contract_env(template, c, prepared.env)
    port = f"{container_port(template)}/tcp"
    published = {port: str(host_port)}
    published.update({f"{k}/tcp": str(v) for k, v in (extra_ports or {}).items()})
    labels = dict(template.labels)
    labels.update({MANAGED_LABEL: "coldbrew", INSTANCE_LABEL: instance, POD_LABEL: pod})
    body: dict[str, Any] = {
        "Image": c.image,
        "Env": [f"{k}={v}" for k, v in env.items()],
        "Labels": labels,
        "ExposedPorts": {p: {} for p in published},
        "AttachStdin": False,
        "OpenStdin": False,
        "Tty": False,
        "HostConfig": {
            "PortBindings": {p: [{"HostIp": HOST, "HostPort": h}] for p, h in published.items()},
            "NetworkMode": "bridge",
            "Privileged": False,
            "Binds": [
                f"{b.source}:{b.target}:{'ro' if b.read_only else 'rw'}" for b in prepared.binds
            ],
            "RestartPolicy": {"Name": "no"},
            "Ulimits": ulimits(),
            **limits(template, c),
            **securing.host_config(c.security),
        },
    }
    if network_of is not None:
        del body["ExposedPorts"], body["HostConfig"]["PortBindings"]
        body["HostConfig"]["NetworkMode"] = f"container:{network_of}"
    user = securing.user_field(c.security, image_user)
    if user is not None:
        body["User"] = user
    if c.working_dir is not None:
        body["WorkingDir"] = c.working_dir
    if prepared.tmpfs:
        body["HostConfig"]["Tmpfs"] = {
            t.target: f"size={t.size}" if t.size else "" for t in prepared.tmpfs
        }
    if c.command:
        body["Entrypoint"] = expand(c.command, env)
        body["Cmd"] = expand(c.args, env)
    elif c.args:
        body["Cmd"] = expand(c.args, env)
    return body

"""A pod's env references and volumes, resolved against the stored ConfigMaps and Secrets.

The kubelet's part in local mode: :class:`ConfigResolver` is the runtime's
:class:`~coldbrew.runtime.environment.PodConfigurer`. When a pod's run starts it resolves
``envFrom`` (every key, ``prefix`` prepended, keys that are no valid env name skipped) and then
``env`` in order (a later entry wins), and writes the pod's ConfigMap/Secret/projected volumes
in Kubernetes' atomic-writer layout; a missing object or key that is not ``optional`` raises
:class:`ConfigError` with Kubernetes' message (``secret "db" not found``, ``couldn't find key
password in Secret default/db``). Env is fixed for the run (a changed ConfigMap needs a new
revision, as in Kubernetes); mounted files follow changes through :meth:`refresh` (``subPath``
mounts do not, as in Kubernetes). Secret values are never logged.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from coldbrew.api.coreobjects import ConfigObject, parse_config_object
from coldbrew.api.envrefs import ENV_NAME, EnvSpec, FieldRef, KeyRef, RefKind, ResourceRef
from coldbrew.api.model import Resources
from coldbrew.api.volumes import Projection, Volume, VolumeMount
from coldbrew.runtime import volumes as files
from coldbrew.runtime.environment import Bind, ConfigError, PodFacts, Prepared, Tmpfs
from coldbrew.runtime.specs import PodTemplate
from coldbrew.storing import Repository
from coldbrew.storing.frozen import thaw

KIND_NAMES = {"configMap": ("configmap", "ConfigMap"), "secret": ("secret", "Secret")}
POD_IP = HOST_IP = "127.0.0.1"
SERVICE_ACCOUNT = "default"
SUBPATHS = "..subpaths"  # under a pod's volume dir; volume names cannot start with "."


@dataclass(frozen=True, slots=True)
class PodConfig:
    """What :class:`ConfigResolver` needs of a revision (``PodTemplate.config``)."""

    container_path: str  # e.g. "spec.template.spec.containers[0]", for messages
    env: tuple[tuple[str, str], ...]
    env_spec: EnvSpec | None
    volumes: tuple[Volume, ...]
    mounts: tuple[VolumeMount, ...]
    resources: Resources | None = None


def not_found(kind: RefKind, name: str) -> str:
    return f'{KIND_NAMES[kind][0]} "{name}" not found'


class ConfigResolver:
    """Resolves :class:`PodConfig` from ``store``'s ConfigMaps and Secrets."""

    def __init__(self, store: Repository) -> None:
        self.store = store
        self._parsed: dict[tuple[str, str, int], ConfigObject] = {}
        self._written: dict[tuple[str, str], dict[str, tuple[bytes, int]]] = {}

    def lookup(self, kind: RefKind, namespace: str, name: str) -> ConfigObject | None:
        table = self.store.configmaps if kind == "configMap" else self.store.secrets
        rec = table.get(f"{namespace}/{name}")
        if rec is None:
            return None
        cache = (kind, rec.key, rec.version)
        obj = self._parsed.get(cache)
        if obj is None:
            obj = self._parsed[cache] = parse_config_object(thaw(rec.manifest))
        return obj

    # -- PodConfigurer
    def prepare(self, template: PodTemplate, pod: PodFacts, *, mounts: bool) -> Prepared:
        cfg = template.config
        if not isinstance(cfg, PodConfig):
            return Prepared()
        if cfg.mounts and not mounts:
            raise ConfigError(
                f"{cfg.container_path}.volumeMounts[0].mountPath: the process runtime cannot "
                "mount volumes; use --runtime docker"
            )
        env = self.resolve_env(cfg, pod) if cfg.env_spec is not None else None
        binds: list[Bind] = []
        tmpfs: list[Tmpfs] = []
        if cfg.mounts:
            files.private_dir(pod.volume_dir)
            by_name = {v.name: v for v in cfg.volumes}
            for volume in cfg.volumes:
                if volume.kind != "emptyDir":
                    self._write(volume, pod, strict=True)
            for mount in cfg.mounts:
                self._mount(by_name[mount.name], mount, pod, binds, tmpfs)
        return Prepared(env, tuple(binds), tuple(tmpfs))

    def refresh(self, template: PodTemplate, pod: PodFacts) -> None:
        cfg = template.config
        if not isinstance(cfg, PodConfig) or not cfg.mounts:
            return
        for volume in cfg.volumes:
            if volume.kind != "emptyDir":
                try:
                    self._write(volume, pod, strict=False)
                except ConfigError:  # gone now: the files stay as they were, as in Kubernetes
                    continue

    def release(self, pod: PodFacts) -> None:
        files.remove(pod.volume_dir)
        for key in [k for k in self._written if k[0] == pod.name]:
            del self._written[key]

    # -- env
    def resolve_env(self, cfg: PodConfig, pod: PodFacts) -> dict[str, str]:
        spec = cfg.env_spec
        assert spec is not None
        env: dict[str, str] = {}
        for source in spec.env_from:
            obj = self.lookup(source.kind, pod.namespace, source.name)
            if obj is None:
                if source.optional:
                    continue
                raise ConfigError(not_found(source.kind, source.name))
            for key in sorted(obj.data):
                name = source.prefix + key
                if ENV_NAME.fullmatch(name):  # Kubernetes skips (and reports) invalid names
                    env[name] = obj.data[key].decode("utf-8", "replace")
        for var in spec.vars:
            ref = var.source
            if ref is None:
                env[var.name] = var.value
            elif isinstance(ref, KeyRef):
                value = self._key(ref, pod.namespace)
                if value is not None:
                    env[var.name] = value.decode("utf-8", "replace")
            elif isinstance(ref, FieldRef):
                env[var.name] = field_value(ref.field_path, pod)
            else:
                env[var.name] = resource_value(ref, cfg.resources)
        return env

    def _key(self, ref: KeyRef, namespace: str) -> bytes | None:
        obj = self.lookup(ref.kind, namespace, ref.name)
        if obj is None:
            if ref.optional:
                return None
            raise ConfigError(not_found(ref.kind, ref.name))
        if ref.key not in obj.data:
            if ref.optional:
                return None
            kind = KIND_NAMES[ref.kind][1]
            raise ConfigError(f"couldn't find key {ref.key} in {kind} {namespace}/{ref.name}")
        return obj.data[ref.key]

    # -- volumes
    def _write(self, volume: Volume, pod: PodFacts, *, strict: bool) -> None:
        wanted: dict[str, tuple[bytes, int]] = {}
        for source in volume.sources:
            wanted.update(self._files(volume, source, pod))
        key = (pod.name, volume.name)
        target = pod.volume_dir / volume.name
        if self._written.get(key) == wanted and target.exists():
            return
        files.write_atomically(target, wanted)
        self._written[key] = wanted

    def _files(
        self, volume: Volume, source: Projection, pod: PodFacts
    ) -> dict[str, tuple[bytes, int]]:
        if source.kind == "downwardAPI":
            return {
                i.path: (
                    field_value(i.key, pod, whole=True).encode(),
                    i.mode or volume.default_mode,
                )
                for i in source.items
            }
        obj = self.lookup(source.kind, pod.namespace, source.name)
        setup = f'MountVolume.SetUp failed for volume "{volume.name}" : '
        if obj is None:
            if source.optional:
                return {}
            raise ConfigError(setup + not_found(source.kind, source.name))
        if not source.items:
            return {k: (v, volume.default_mode) for k, v in obj.data.items()}
        out: dict[str, tuple[bytes, int]] = {}
        for item in source.items:
            if item.key not in obj.data:
                if source.optional:
                    continue
                what = "config" if source.kind == "configMap" else "secret"
                raise ConfigError(
                    setup + f"{KIND_NAMES[source.kind][0]} references non-existent "
                    f"{what} key: {item.key}"
                )
            mode = volume.default_mode if item.mode is None else item.mode
            out[item.path] = (obj.data[item.key], mode)
        return out

    def _mount(
        self,
        volume: Volume,
        mount: VolumeMount,
        pod: PodFacts,
        binds: list[Bind],
        tmpfs: list[Tmpfs],
    ) -> None:
        base = pod.volume_dir / volume.name
        if volume.kind == "emptyDir":
            if volume.medium == "Memory" and not mount.sub_path:
                size = None if volume.size_limit is None else int(volume.size_limit)
                tmpfs.append(Tmpfs(mount.mount_path, size))
                return
            files.empty_dir(base)
            source = base / mount.sub_path if mount.sub_path else base
            source.mkdir(parents=True, exist_ok=True)
            binds.append(Bind(source, mount.mount_path, mount.read_only))
            return
        source = base
        if mount.sub_path:  # a copy as it is now: does not follow updates (Kubernetes)
            found = Path(os.path.realpath(base / mount.sub_path))
            source = pod.volume_dir / SUBPATHS / f"{len(binds)}-{found.name}"
            shutil.rmtree(source, ignore_errors=True)
            source.parent.mkdir(parents=True, exist_ok=True)
            if found.is_dir():
                shutil.copytree(found, source, symlinks=False)
            elif found.exists():
                shutil.copy2(found, source)
            else:
                source.mkdir()
        binds.append(Bind(source, mount.mount_path, True))  # ConfigMaps/Secrets: read-only


def field_value(path: str, pod: PodFacts, *, whole: bool = False) -> str:
    """A ``fieldRef`` value; ``whole``: the downward API's ``metadata.labels`` file form."""
    simple: dict[str, Callable[[], str]] = {
        "metadata.name": lambda: pod.name,
        "metadata.namespace": lambda: pod.namespace,
        "metadata.uid": lambda: pod.uid,
        "spec.serviceAccountName": lambda: SERVICE_ACCOUNT,
        "spec.nodeName": socket.gethostname,
        "status.podIP": lambda: POD_IP,
        "status.hostIP": lambda: HOST_IP,
    }
    if path in simple:
        return simple[path]()
    if whole and path in ("metadata.labels", "metadata.annotations"):
        values = pod.labels if path == "metadata.labels" else pod.annotations
        return "".join(f'{k}="{v}"\n' for k, v in sorted(values.items()))
    which, _, rest = path.partition("['")
    key = rest[:-2] if rest.endswith("']") else rest
    values = pod.labels if which == "metadata.labels" else pod.annotations
    return values.get(key, "")


def resource_value(ref: ResourceRef, resources: Resources | None) -> str:
    """``resourceFieldRef``: the limit (else this machine's size) or request, over the divisor."""
    r = resources or Resources()
    machine_cpu = float(os.cpu_count() or 1)
    machine_memory = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    value = {
        "limits.cpu": r.cpu_limit or machine_cpu,
        "limits.memory": r.memory_limit or machine_memory,
        "requests.cpu": r.cpu_request or r.cpu_limit or 0.0,
        "requests.memory": r.memory_request or r.memory_limit or 0.0,
    }[ref.resource]
    return str(math.ceil(value / ref.divisor - 1e-9))

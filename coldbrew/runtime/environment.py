"""What a pod needs from its configuration before each run: env values and volume binds.

The runtime knows nothing of ConfigMaps or Secrets: a :class:`PodConfigurer` (the control
plane's :class:`coldbrew.configuring.ConfigResolver`) turns a template's opaque
``PodTemplate.config`` into a :class:`Prepared` when a run starts, or raises
:class:`ConfigError` (Kubernetes' ``CreateContainerConfigError``: the pod waits and tries again
when the configuration changes). ``refresh`` rewrites a running pod's mounted files,
``release`` removes them with the pod.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

from coldbrew.runtime.specs import PodTemplate

CONFIG_ERROR: Final = "CreateContainerConfigError"


class ConfigError(Exception):
    """The pod cannot start with its configuration as it is; ``message`` says why."""

    def __init__(self, message: str, reason: str = CONFIG_ERROR) -> None:
        super().__init__(message)
        self.message, self.reason = message, reason


@dataclass(frozen=True, slots=True)
class PodFacts:
    """What the downward API and the volumes of one pod are made of."""

    name: str
    namespace: str
    uid: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    volume_dir: Path  # this pod's own directory for its volumes' files (0700)


@dataclass(frozen=True, slots=True)
class Bind:
    """A host path mounted at ``target`` in the container."""

    source: Path
    target: str
    read_only: bool = True


@dataclass(frozen=True, slots=True)
class Tmpfs:
    """An ``emptyDir`` with ``medium: Memory``: a tmpfs at ``target`` (``size`` bytes or None)."""

    target: str
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A run's env (None: the template's literal env) and mounts."""

    env: dict[str, str] | None = None
    binds: tuple[Bind, ...] = ()
    tmpfs: tuple[Tmpfs, ...] = field(default_factory=tuple)


class PodConfigurer(Protocol):
    def prepare(self, template: PodTemplate, pod: PodFacts, *, mounts: bool) -> Prepared:
        """Env and volumes for a run; ``mounts`` False: the runtime cannot mount (processes)."""
        ...

    def refresh(self, template: PodTemplate, pod: PodFacts) -> None:
        """Rewrite the pod's mounted ConfigMap/Secret files from the current objects."""
        ...

    def release(self, pod: PodFacts) -> None:
        """The pod is gone: remove its volume files (and whatever is kept about them)."""
        ...

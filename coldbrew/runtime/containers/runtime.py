"""ContainerRuntime: the PodRuntime whose pods are OCI containers on a Docker/Podman engine.

Images the image map resolves (the bundled Knative samples, or a user's ``--images`` map) still
run as local processes: they name a local command on purpose, and the sample images cannot be
pulled without a registry. Every other image runs as a container.

Ownership: each container carries :data:`INSTANCE_LABEL` = this runtime's instance (its state
dir). :meth:`start` removes the containers a crashed predecessor of the same instance left
(they are not adopted: their pods' readiness and drain state died with it);
:meth:`shutdown` stops every pod, then removes whatever of this instance remains.
"""

from __future__ import annotations

import logging
from typing import Any

from coldbrew.runtime.containers.credentials import SecretLookup
from coldbrew.runtime.containers.engine import Engine, remove_labelled
from coldbrew.runtime.containers.pod import ContainerPod
from coldbrew.runtime.containers.pulling import Puller
from coldbrew.runtime.pods import Pod
from coldbrew.runtime.replicas import ReplicaSet
from coldbrew.runtime.runtime import PodRuntime

log = logging.getLogger(__name__)


class ContainerRuntime(PodRuntime):
    """A :class:`PodRuntime` on ``engine``; ``instance`` names this coldbrew in labels."""

    kind = "docker"

    def __init__(
        self,
        *,
        engine: Engine,
        instance: str,
        pull_secrets: SecretLookup | None = None,
        **kw: Any,
    ) -> None:
        """``pull_secrets``: how imagePullSecrets are read (None: they are not)."""
        super().__init__(**kw)
        self.pull_secrets = pull_secrets
        self.engine = engine
        self.instance = instance
        self.puller = Puller(engine.docker)

    async def start(self) -> None:
        """Remove the containers a predecessor with the same state dir left behind."""
        removed = await remove_labelled(self.engine.docker, self.instance)
        if removed:
            log.warning("removed %d container(s) left by a previous run: %s", len(removed),
                        ", ".join(sorted(removed)))  # fmt: skip

    def runs_as_process(self, rs: ReplicaSet) -> bool:
        return self.images.resolve(rs.template.container.image) is not None

    def _make_pod(self, rs: ReplicaSet) -> Pod:
        if self.runs_as_process(rs):
            return super()._make_pod(rs)
        return ContainerPod(
            engine=self.engine,
            puller=self.puller,
            instance=self.instance,
            pull_secrets=self.pull_secrets,
            **self._pod_basics(rs),
        )

    async def shutdown(self, grace: float = 10) -> None:
        try:
            await super().shutdown(grace)
        finally:
            try:
                left = await remove_labelled(self.engine.docker, self.instance)
                if left:
                    log.info("removed %d container(s) at shutdown", len(left))
            finally:
                await self.engine.close()

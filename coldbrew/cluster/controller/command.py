"""``coldbrew controller``: the cluster controller, leader-elected, with its admin app.

A bad ``--config`` returns 1 at once, naming the key; otherwise it runs until SIGTERM
(see :func:`..kube.running.run_with_admin`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from prometheus_client import ProcessCollector

from autoscaler.config import ConfigError
from coldbrew.platform_config import load_config
from gateway.admin import admin_app
from gateway.exposition import metrics_route, registry_of

from ..kube.running import run_with_admin
from .loop import run_controller
from .reconciling import Settings

log = logging.getLogger(__name__)


async def serve_controller(
    *,
    host: str,
    admin_port: int,
    domain: str,
    config: Path | None,
    kubeconfig: str | None,
    lease_namespace: str | None = None,
    identity: str = "",
) -> int:
    try:
        platform = load_config(config)
    except ConfigError as exc:
        log.error("refusing to start: %s", exc)
        return 1
    settings = Settings(
        domain=domain,
        domains=platform.domain.domains,
        autoscaler=platform.autoscaler,
        reserve=platform.reserve,
        features=platform.features,
        record_events=True,
        gc=platform.gc,
        rollout_seconds=platform.network.rollout_seconds,
    )
    # /metrics: the process's CPU and memory (the controller decides nothing per request).
    app = admin_app(routes=[metrics_route(registry_of([ProcessCollector(registry=None)]))])
    work = run_controller(
        settings=settings, kubeconfig=kubeconfig, lease_namespace=lease_namespace, identity=identity
    )
    return await run_with_admin(app, host, admin_port, work, "controller")

"""``coldbrew serve``: gateway, control API, controller and pod runtime in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from aiohttp import web

from autoscaler.config import ConfigError
from autoscaler.streaming import STREAM_PATH
from autoscaler.streaming import add_routes as add_stream_routes
from coldbrew import console, warm_starting
from coldbrew.api import ValidationError, load_documents
from coldbrew.authorizing import (
    TOKEN_ENV,
    TOKEN_FILE,
    is_loopback,
    load_or_create_token,
    with_token,
)
from coldbrew.cli.client_limits import limit_argv
from coldbrew.cli.tls_flags import worker_args
from coldbrew.collecting import RevisionCollector
from coldbrew.config_objects import is_config_object
from coldbrew.configuring import ConfigResolver
from coldbrew.control_api import make_app
from coldbrew.controlling import Controller
from coldbrew.fanning import FEED_PATH, FanOut
from coldbrew.observing import Observer
from coldbrew.platform_config import load_config
from coldbrew.presenting import Presenter
from coldbrew.runtime import ImageMap, ImageMapError, PodRuntime
from coldbrew.runtime.containers import ContainerRuntime, Engine, EngineError, choose_engine
from coldbrew.runtime.containers.credentials import store_lookup
from coldbrew.runtime.identity import PodUser
from coldbrew.storing import SqliteRepository, StoreError
from coldbrew.storing.sqlite import DB_FILE
from coldbrew.supervising import Supervisor
from gateway import Gateway
from gateway.admin import serve_admin
from gateway.exposition import metrics_route
from gateway.limits import DEFAULT_LIMITS, ClientLimits
from gateway.tls import Certificates, TlsFiles, match

if TYPE_CHECKING:  # imported where it is used, with --tls-self-signed only: its
    from coldbrew.local_ca import LocalCA  # cryptography is ~8 MB of memory otherwise

log = logging.getLogger("coldbrew")
WORKER_START_TIMEOUT = 15.0


def default_state_dir() -> Path:
    return Path(platformdirs.user_state_dir("coldbrew"))


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    admin_host: str = "127.0.0.1"  # beyond loopback, the control API needs a token
    admin_port: int = 8081
    state_dir: Path = field(default_factory=default_state_dir)
    domain: str = "example.com"
    images: Path | None = None
    config: Path | None = None
    apply: list[Path] = field(default_factory=list)
    grace: float = 30.0
    workers: int = 1
    runtime: str = "process"  # the CLI's default is "auto"; see choose_engine
    https_port: int | None = None  # None: no HTTPS listener; 0: a free port
    tls: TlsFiles | None = None  # the certificate files (cli/tls_flags.py)
    tls_self_signed: bool = False  # the default certificate from a local CA (local_ca.py)
    limits: ClientLimits = DEFAULT_LIMITS  # client connections' limits (gateway.limits)
    metrics: bool = True  # False: the gateway counts no request figures (benchmarks)
    cold_start_header: bool = False  # X-Coldbrew-Cold-Start on responses that waited
    request_log: str | None = None  # JSON-lines request log: a path, or "-" for stdout
    pod_user: PodUser | None = None  # process pods' user (the CLI: nobody as root; identity)

    def worker_flags(self) -> list[str]:
        flags = [] if self.metrics else ["--no-metrics"]
        if self.cold_start_header:
            flags.append("--cold-start-header")
        if self.request_log:
            flags += ["--request-log", self.request_log]
        return flags


class Platform:
    """Everything ``coldbrew serve`` runs, wired together, startable from tests."""

    def __init__(self, opts: ServeOptions, engine: Engine | None = None) -> None:
        """``engine``: run pods as containers on it (see ``choose_engine``); None: processes."""
        self.opts = opts
        # Read (and deleted) before the store is opened: it holds only while the state
        # file is as the last clean stop left it.
        kept = warm_starting.take(opts.state_dir, self._stamp())
        self.store = SqliteRepository(opts.state_dir)
        self.store.load()  # StoreError: unreadable, corrupt or from a newer coldbrew
        self.token = None if is_loopback(opts.admin_host) else load_or_create_token(opts.state_dir)
        self.local_ca: LocalCA | None = None
        self.tls = opts.tls
        if opts.https_port is not None and opts.tls_self_signed:
            from coldbrew.local_ca import LocalCA

            self.local_ca = LocalCA(opts.state_dir / "tls", opts.domain)
            self.tls = replace(opts.tls or TlsFiles(), default=self.local_ca.pair)
        if opts.https_port is not None:
            if self.tls is None:
                raise ValueError("--https-port needs certificates (--tls-* flags)")
            Certificates(self.tls)  # ValueError naming the file that does not load
        # One worker: the gateway runs in this process. More: worker processes
        # share the port and follow the state this FanOut sends them.
        self.gateway: Gateway | None = None
        self.fanout: FanOut | None = None
        self.workers: Supervisor | None = None
        data_plane: Gateway | FanOut
        if opts.workers > 1:
            data_plane = self.fanout = FanOut(expected=opts.workers)
        else:
            data_plane = self.gateway = Gateway(
                host=opts.host,
                port=opts.port,
                stats_url=with_token(self.stats_url, self.token),
                https_port=opts.https_port,
                tls=self.tls,
                limits=opts.limits,
                metrics=opts.metrics,
                cold_start_header=opts.cold_start_header,
                request_log=opts.request_log,
            )
        self.data_plane = data_plane
        images, log_dir = ImageMap.load(opts.images), opts.state_dir / "logs"
        self.runtime: PodRuntime
        configurer = ConfigResolver(self.store)  # env references and volumes at pod start
        if engine is None:
            self.runtime = PodRuntime(
                log_dir=log_dir, images=images, on_change=self._pods_changed,
                drain=data_plane.drain_endpoint, configurer=configurer, pod_user=opts.pod_user,
            )  # fmt: skip
        else:  # containers of this state dir are this coldbrew's (see ContainerRuntime)
            self.runtime = ContainerRuntime(
                engine=engine, instance=str(opts.state_dir.resolve()), log_dir=log_dir,
                images=images, on_change=self._pods_changed, drain=data_plane.drain_endpoint,
                configurer=configurer, pull_secrets=store_lookup(self.store),
            )  # fmt: skip
        self.config = load_config(opts.config)
        self.controller = Controller(
            self.store,
            self.runtime,
            data_plane,
            domain=opts.domain,
            config=self.config.autoscaler,
            reserve=self.config.reserve,
            prices=self.config.prices,
            features=self.config.features,
            network=self.config.network,
            domains=self.config.domain,
        )
        self._autoscaling: asyncio.Task[None] | None = None
        self.collector = RevisionCollector(self.controller, self.config.gc)
        self._collecting: asyncio.Task[None] | None = None
        if self.fanout is not None:
            self.fanout.on_synced = self.controller.on_routes_synced
        self.presenter = Presenter(self.controller)
        if self.local_ca is not None:
            self.controller.subscribe(self._cover_names)
        if self.tls is not None:
            self.controller.serves_https = self._serves_https
        self.observer = Observer(self.controller, self.runtime)
        self._admin: web.AppRunner | None = None
        if kept is not None:
            self.controller.restore_data_plane(kept)
            log.info(
                "serving the %d hosts the last stop kept until the first pass", len(kept.routes)
            )

    def _stamp(self) -> dict[str, object]:
        opts = self.opts
        return warm_starting.stamp(opts.state_dir / DB_FILE, opts.domain, opts.config)

    @property
    def stats_url(self) -> str:
        """The metrics stream's URL for this machine's gateways (the token not in it)."""
        return f"ws://{self._local_admin_host}:{self.opts.admin_port}{STREAM_PATH}"

    @property
    def admin_url(self) -> str:
        return f"http://{self._local_admin_host}:{self.opts.admin_port}"

    @property
    def _local_admin_host(self) -> str:
        """Where processes of this machine reach the control API."""
        host = self.opts.admin_host
        return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)

    @property
    def port(self) -> int:
        return self.gateway.port if self.gateway is not None else self.opts.port

    @property
    def https_port(self) -> int | None:
        if self.gateway is not None:
            return self.gateway.https_port
        return self.opts.https_port

    def _cover_names(self) -> None:
        """The local CA's certificate follows the namespaces and custom hosts served."""
        if self.local_ca is not None:
            self.local_ca.cover(self.controller.namespaces(), self.controller.custom_hosts())

    def _serves_https(self, host: str) -> bool:
        """A certificate for ``host`` is served: the local CA's covers every mapping."""
        if self.local_ca is not None:
            return True
        files = self.tls
        if files is None:
            return False
        if files.default is not None:
            return True  # served to any SNI (whether it names the host is the user's)
        return match(host, files.pairs()) is not None

    def _pods_changed(self, key: str) -> None:
        self.controller.on_pods_changed(key)
        self.observer.startups.changed(key)

    async def start(self) -> None:
        await self.runtime.start()
        await self.start_admin()
        if self.gateway is not None:
            await self.gateway.start()
        if self.fanout is not None:
            # Spawned first: they start up (import, bind) on the other cores while this
            # process brings back the stored services, then get the table as it stands.
            await self._spawn_workers()
            if self.fanout.has_table:  # the table the last stop kept (restored above)
                # It reaches them before the first pass, which holds this loop (and so
                # their feed) for seconds at 10,000.
                await self.fanout.wait_synced(WORKER_START_TIMEOUT)
        self.controller.start()
        self._autoscaling = asyncio.create_task(self.controller.autoscaler.run())
        if not self.config.gc.disabled:
            self._collecting = asyncio.create_task(self.collector.run())
        for path in self.opts.apply:
            self.apply_file(path)
        if self.fanout is not None:
            await self._workers_connected(self.fanout)

    async def _spawn_workers(self) -> None:
        feed = f"ws://{self._local_admin_host}:{self.opts.admin_port}{FEED_PATH}"
        cmd = [sys.executable, "-m", "coldbrew", "gateway", "--host", self.opts.host]
        cmd += ["--port", str(self.opts.port), "--feed", feed, "--stats-url", self.stats_url]
        cmd += limit_argv(self.opts.limits) + self.opts.worker_flags()
        # The token reaches the workers in their environment, never on a command line.
        env = {TOKEN_ENV: self.token} if self.token else {}
        if self.opts.https_port is not None and self.tls is not None:
            cmd += worker_args(self.opts.https_port, self.tls)
        self.workers = Supervisor(cmd, self.opts.workers, env=env)
        await self.workers.start()

    async def _workers_connected(self, fanout: FanOut) -> None:
        assert self.workers is not None
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while fanout.workers < self.opts.workers:
            if self.workers.exited_at_start():
                raise RuntimeError("a gateway worker exited at start (is the port in use?)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"gateway workers did not connect in {WORKER_START_TIMEOUT}s")
            fanout.connected.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(fanout.connected.wait(), 0.5)

    def apply_file(self, path: Path) -> None:
        for doc in load_documents(path.read_text()):
            mapping = isinstance(doc, dict) and doc.get("kind") == "DomainMapping"
            try:
                if is_config_object(doc):
                    result, obj = self.controller.configs.apply(doc)
                    log.info("%s/%s %s", obj.kind.lower(), obj.name, result)
                    continue
                if mapping:
                    result, dm = self.controller.apply_domain_mapping(doc)
                    log.info("domainmapping.serving.knative.dev/%s %s", dm.name, result)
                else:
                    result, rec = self.controller.apply(doc)
                    log.info("service.serving.knative.dev/%s %s", rec.name, result)
            except ValidationError as exc:
                log.error("%s: %s", path, exc)

    async def start_admin(self) -> None:
        """Serve the control API, the metrics stream, the workers' feed and ``/metrics``."""
        app = make_app(self.controller, self.presenter, token=self.token)
        console.add_routes(
            app, console.Snapshotter(self.controller, totals=self.observer.workers.merged)
        )
        if self.fanout is not None:
            self.fanout.add_routes(app)
        add_stream_routes(app, self.controller.autoscaler, self.observer.workers.record)
        app.router.add_routes([metrics_route(self.observer.registry)])
        self._admin = await serve_admin(app, self.opts.admin_host, self.opts.admin_port)

    async def stop_admin(self) -> None:
        """Close the control API and its connections (the data plane keeps serving)."""
        if self._admin is not None:
            await self._admin.cleanup()
            self._admin = None

    async def stop(self) -> None:
        if self._autoscaling is not None:
            self._autoscaling.cancel()
        if self._collecting is not None:
            self._collecting.cancel()
        if self.gateway is not None:
            await self.gateway.stop(grace=self.opts.grace)
        if self.workers is not None:
            await self.workers.stop()
        await self.stop_admin()
        await self.runtime.shutdown()
        kept = self.controller.data_plane_state()
        self.store.close()  # the last connection checkpoints the WAL into state.db
        if kept.routes or kept.revisions:  # for the next start (warm_starting)
            warm_starting.save(self.opts.state_dir, kept, self._stamp())


async def run(opts: ServeOptions) -> int:
    try:
        engine = await choose_engine(opts.runtime)
    except EngineError as exc:
        log.error("refusing to start: --runtime %s: %s", opts.runtime, exc)
        return 1
    if engine is not None:
        log.info("runtime: containers on %s", engine.describe())
    else:
        why = "asked for" if opts.runtime == "process" else "no container engine answers"
        log.info("runtime: local processes (%s)", why)
    try:
        platform = Platform(opts, engine)
    except (ConfigError, ImageMapError, StoreError, ValueError) as exc:
        if engine is not None:
            await engine.close()
        log.error("refusing to start: %s", exc)
        return 1
    # Handled from here on: a SIGTERM while starting stops cleanly once started.
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await platform.start()
    log.info(
        "coldbrew serving: gateway http://%s:%d, control API http://%s:%d, state %s",
        opts.host,
        platform.port,
        opts.admin_host,
        opts.admin_port,
        opts.state_dir,
    )
    if platform.token:
        log.info(
            "the control API listens beyond loopback: it needs the bearer token in %s",
            opts.state_dir / TOKEN_FILE,
        )
    if platform.https_port is not None:
        log.info("HTTPS on https://%s:%d", opts.host, platform.https_port)
    if platform.local_ca is not None:
        log.info("trust the local CA to reach it: %s", platform.local_ca.ca_cert)
    await stopping.wait()
    log.info("stopping: finishing in-flight requests")
    await platform.stop()
    return 0


def main(opts: ServeOptions) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency
        return asyncio.run(run(opts))
    with contextlib.suppress(KeyboardInterrupt):
        return uvloop.run(run(opts))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(ServeOptions()))

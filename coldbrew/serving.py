"""``coldbrew serve``: gateway, control API, controller and pod runtime in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs
from aiohttp import web

from autoscaler.config import ConfigError
from autoscaler.streaming import STREAM_PATH
from autoscaler.streaming import add_routes as add_stream_routes
from coldbrew.api import ValidationError, load_documents
from coldbrew.control_api import make_app
from coldbrew.controlling import Controller
from coldbrew.fanning import FEED_PATH, FanOut
from coldbrew.observing import Observer
from coldbrew.platform_config import load_config
from coldbrew.presenting import Presenter
from coldbrew.runtime import ImageMap, ImageMapError, PodRuntime
from coldbrew.runtime.containers import ContainerRuntime, Engine, EngineError, choose_engine
from coldbrew.storing import JsonFileRepository, StoreError
from gateway import Gateway
from gateway.admin import serve_admin
from gateway.exposition import metrics_route

log = logging.getLogger("coldbrew")
WORKER_START_TIMEOUT = 15.0


def default_state_dir() -> Path:
    return Path(platformdirs.user_state_dir("coldbrew"))


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    admin_port: int = 8081
    state_dir: Path = field(default_factory=default_state_dir)
    domain: str = "example.com"
    images: Path | None = None
    config: Path | None = None
    apply: list[Path] = field(default_factory=list)
    grace: float = 30.0
    workers: int = 1
    runtime: str = "process"  # the CLI's default is "auto"; see choose_engine
    metrics: bool = True  # False: the gateway counts no request figures (benchmarks)
    cold_start_header: bool = False  # X-Coldbrew-Cold-Start on responses that waited
    request_log: str | None = None  # JSON-lines request log: a path, or "-" for stdout

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
        self.store = JsonFileRepository(opts.state_dir)
        self.store.load()  # StoreError: unreadable, corrupt or from a newer coldbrew
        # One worker: the gateway runs in this process. More: worker processes
        # share the port and follow the state this FanOut sends them.
        self.gateway: Gateway | None = None
        self.fanout: FanOut | None = None
        self.workers: list[asyncio.subprocess.Process] = []
        data_plane: Gateway | FanOut
        if opts.workers > 1:
            data_plane = self.fanout = FanOut(expected=opts.workers)
        else:
            data_plane = self.gateway = Gateway(
                host=opts.host,
                port=opts.port,
                stats_url=self.stats_url,
                metrics=opts.metrics,
                cold_start_header=opts.cold_start_header,
                request_log=opts.request_log,
            )
        self.data_plane = data_plane
        images, log_dir = ImageMap.load(opts.images), opts.state_dir / "logs"
        self.runtime: PodRuntime
        if engine is None:
            self.runtime = PodRuntime(
                log_dir=log_dir, images=images, on_change=self._pods_changed,
                drain=data_plane.drain_endpoint,
            )  # fmt: skip
        else:  # containers of this state dir are this coldbrew's (see ContainerRuntime)
            self.runtime = ContainerRuntime(
                engine=engine, instance=str(opts.state_dir.resolve()), log_dir=log_dir,
                images=images, on_change=self._pods_changed, drain=data_plane.drain_endpoint,
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
        )
        self._autoscaling: asyncio.Task[None] | None = None
        if self.fanout is not None:
            self.fanout.on_synced = self.controller.on_routes_synced
        self.presenter = Presenter(self.controller)
        self.observer = Observer(self.controller, self.runtime)
        self._admin: web.AppRunner | None = None

    @property
    def stats_url(self) -> str:
        return f"ws://{self.opts.host}:{self.opts.admin_port}{STREAM_PATH}"

    @property
    def admin_url(self) -> str:
        return f"http://{self.opts.host}:{self.opts.admin_port}"

    @property
    def port(self) -> int:
        return self.gateway.port if self.gateway is not None else self.opts.port

    def _pods_changed(self, key: str) -> None:
        self.controller.on_pods_changed(key)
        self.observer.startups.changed()

    async def start(self) -> None:
        await self.runtime.start()
        await self.start_admin()
        if self.gateway is not None:
            await self.gateway.start()
        self.controller.start()
        self._autoscaling = asyncio.create_task(self.controller.autoscaler.run())
        for path in self.opts.apply:
            self.apply_file(path)
        if self.fanout is not None:
            await self._start_workers(self.fanout)

    async def _start_workers(self, fanout: FanOut) -> None:
        feed = f"ws://{self.opts.host}:{self.opts.admin_port}{FEED_PATH}"
        for _ in range(self.opts.workers):
            cmd = [sys.executable, "-m", "coldbrew", "gateway", "--host", self.opts.host]
            cmd += ["--port", str(self.opts.port), "--feed", feed, "--stats-url", self.stats_url]
            cmd += self.opts.worker_flags()
            self.workers.append(await asyncio.create_subprocess_exec(*cmd))
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while fanout.workers < self.opts.workers:
            if any(w.returncode is not None for w in self.workers):
                raise RuntimeError("a gateway worker exited at start (is the port in use?)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"gateway workers did not connect in {WORKER_START_TIMEOUT}s")
            fanout.connected.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(fanout.connected.wait(), 0.5)

    def apply_file(self, path: Path) -> None:
        for doc in load_documents(path.read_text()):
            try:
                result, rec = self.controller.apply(doc)
            except ValidationError as exc:
                log.error("%s: %s", path, exc)
                continue
            log.info("service.serving.knative.dev/%s %s", rec.name, result)

    async def start_admin(self) -> None:
        """Serve the control API, the metrics stream, the workers' feed and ``/metrics``."""
        app = make_app(self.controller, self.presenter)
        if self.fanout is not None:
            self.fanout.add_routes(app)
        add_stream_routes(app, self.controller.autoscaler, self.observer.workers.record)
        app.router.add_routes([metrics_route(self.observer.registry)])
        self._admin = await serve_admin(app, self.opts.host, self.opts.admin_port)

    async def stop_admin(self) -> None:
        """Close the control API and its connections (the data plane keeps serving)."""
        if self._admin is not None:
            await self._admin.cleanup()
            self._admin = None

    async def stop(self) -> None:
        if self._autoscaling is not None:
            self._autoscaling.cancel()
        if self.gateway is not None:
            await self.gateway.stop(grace=self.opts.grace)
        for worker in self.workers:
            worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            await worker.wait()
        await self.stop_admin()
        await self.runtime.shutdown()


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
    except (ConfigError, ImageMapError, StoreError) as exc:
        if engine is not None:
            await engine.close()
        log.error("refusing to start: %s", exc)
        return 1
    await platform.start()
    log.info(
        "coldbrew serving: gateway http://%s:%d, control API http://%s:%d, state %s",
        opts.host,
        platform.port,
        opts.host,
        opts.admin_port,
        opts.state_dir,
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
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

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
from coldbrew.authorizing import (
    TOKEN_ENV,
    TOKEN_FILE,
    is_loopback,
    load_or_create_token,
    with_token,
)
from coldbrew.collecting import RevisionCollector
from coldbrew.control_api import make_app
from coldbrew.controlling import Controller
from coldbrew.fanning import FEED_PATH, FanOut
from coldbrew.platform_config import load_config
from coldbrew.presenting import Presenter
from coldbrew.runtime import ImageMap, ImageMapError, PodRuntime
from coldbrew.runtime.containers import ContainerRuntime, Engine, EngineError, choose_engine
from coldbrew.storing import JsonFileRepository, StoreError
from coldbrew.supervising import Supervisor
from gateway import Gateway
from gateway.admin import serve_admin

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


class Platform:
    """Everything ``coldbrew serve`` runs, wired together, startable from tests."""

    def __init__(self, opts: ServeOptions, engine: Engine | None = None) -> None:
        """``engine``: run pods as containers on it (see ``choose_engine``); None: processes."""
        self.opts = opts
        self.store = JsonFileRepository(opts.state_dir)
        self.store.load()  # StoreError: unreadable, corrupt or from a newer coldbrew
        self.token = None if is_loopback(opts.admin_host) else load_or_create_token(opts.state_dir)
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
                host=opts.host, port=opts.port, stats_url=with_token(self.stats_url, self.token)
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
            features=self.config.features,
        )
        self._autoscaling: asyncio.Task[None] | None = None
        self.collector = RevisionCollector(self.controller, self.config.gc)
        self._collecting: asyncio.Task[None] | None = None
        if self.fanout is not None:
            self.fanout.on_synced = self.controller.on_routes_synced
        self.presenter = Presenter(self.controller)
        self._admin: web.AppRunner | None = None

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

    def _pods_changed(self, key: str) -> None:
        self.controller.on_pods_changed(key)

    async def start(self) -> None:
        await self.runtime.start()
        await self.start_admin()
        if self.gateway is not None:
            await self.gateway.start()
        self.controller.start()
        self._autoscaling = asyncio.create_task(self.controller.autoscaler.run())
        if not self.config.gc.disabled:
            self._collecting = asyncio.create_task(self.collector.run())
        for path in self.opts.apply:
            self.apply_file(path)
        if self.fanout is not None:
            await self._start_workers(self.fanout)

    async def _start_workers(self, fanout: FanOut) -> None:
        feed = f"ws://{self._local_admin_host}:{self.opts.admin_port}{FEED_PATH}"
        cmd = [sys.executable, "-m", "coldbrew", "gateway", "--host", self.opts.host]
        cmd += ["--port", str(self.opts.port), "--feed", feed, "--stats-url", self.stats_url]
        # The token reaches the workers in their environment, never on a command line.
        env = {TOKEN_ENV: self.token} if self.token else {}
        self.workers = Supervisor(cmd, self.opts.workers, env=env)
        await self.workers.start()
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
            try:
                result, rec = self.controller.apply(doc)
            except ValidationError as exc:
                log.error("%s: %s", path, exc)
                continue
            log.info("service.serving.knative.dev/%s %s", rec.name, result)

    async def start_admin(self) -> None:
        """Serve the control API, the metrics stream and the workers' feed."""
        app = make_app(self.controller, self.presenter, token=self.token)
        if self.fanout is not None:
            self.fanout.add_routes(app)
        add_stream_routes(app, self.controller.autoscaler)
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

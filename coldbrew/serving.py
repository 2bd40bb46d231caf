"""``coldbrew serve``: gateway, control API, controller and pod runtime in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs
from aiohttp import web

from coldbrew.api import ValidationError, load_documents
from coldbrew.controlling import Controller
from coldbrew.presenting import Presenter
from coldbrew.runtime import ImageMap, PodRuntime
from coldbrew.server import make_app
from coldbrew.store import Store
from gateway import Gateway

log = logging.getLogger("coldbrew")


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


class Platform:
    """Everything ``coldbrew serve`` runs, wired together, startable from tests."""

    def __init__(self, opts: ServeOptions) -> None:
        self.opts = opts
        self.store = Store(opts.state_dir)
        self.gateway = Gateway(host=opts.host, port=opts.port)
        self.runtime = PodRuntime(
            log_dir=opts.state_dir / "logs",
            images=ImageMap.load(opts.images),
            on_change=self._pods_changed,
            drain=self.gateway.drain_endpoint,
        )
        self.controller = Controller(self.store, self.runtime, self.gateway, domain=opts.domain)
        self.presenter = Presenter(self.controller)
        self._admin: web.AppRunner | None = None

    def _pods_changed(self, key: str) -> None:
        self.controller.on_pods_changed(key)

    async def start(self) -> None:
        self.store.load()
        await self.gateway.start()
        self.controller.start()
        self._admin = web.AppRunner(make_app(self.controller, self.presenter), access_log=None)
        await self._admin.setup()
        await web.TCPSite(self._admin, self.opts.host, self.opts.admin_port).start()
        for path in self.opts.apply:
            self.apply_file(path)

    def apply_file(self, path: Path) -> None:
        for doc in load_documents(path.read_text()):
            try:
                result, rec = self.controller.apply(doc)
            except ValidationError as exc:
                log.error("%s: %s", path, exc)
                continue
            log.info("service.serving.knative.dev/%s %s", rec.name, result)

    async def stop(self) -> None:
        if self._admin is not None:
            await self._admin.cleanup()
        await self.gateway.stop(grace=self.opts.grace)
        await self.runtime.shutdown()


async def run(opts: ServeOptions) -> int:
    platform = Platform(opts)
    await platform.start()
    log.info(
        "coldbrew serving: gateway http://%s:%d, control API http://%s:%d, state %s",
        opts.host,
        platform.gateway.port,
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

"""A real container engine for the container tests, and the test image on it.

The engine: the first that answers ($DOCKER_HOST, /var/run/docker.sock,
/run/podman/podman.sock); else, if podman is installed, ``podman system service`` started
here for the session (with runc when it is installed: crun fails on some hosts) and stopped at
the end. No engine at all: the tests skip, except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from coldbrew.runtime.containers import EngineError, connect, detect
from tests.containers.images import HELLO_IMAGE, import_image
from tests.containers.util import containers_of, engine_call, remove_leftovers
from tests.e2e.harness import Server

ENGINE_START_TIMEOUT = 30.0


def _podman_socket() -> Path:
    if os.geteuid() == 0:
        return Path("/run/podman/podman.sock")
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.geteuid()}"
    return Path(runtime_dir) / "podman" / "podman.sock"


async def _answers(url: str | None = None) -> str | None:
    try:
        engine = await (connect(url) if url else detect())
    except EngineError:
        return None
    await engine.close()
    return engine.url


def _no_engine(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and no container engine: {why}")
    pytest.skip(f"no container engine: {why}")


@pytest.fixture(scope="session")
def engine_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Docker API URL of a running engine; exported as DOCKER_HOST for subprocesses.

    At the end of the session, every coldbrew container whose state dir lies under this
    session's temporary root is removed: a test that fails or kills serve leaves none."""
    found = asyncio.run(_answers())
    service: subprocess.Popen[bytes] | None = None
    if found is None:
        podman = shutil.which("podman")
        if podman is None:
            _no_engine("none answers and podman is not installed")
        sock = _podman_socket()
        sock.parent.mkdir(parents=True, exist_ok=True)
        cmd = [podman, *(["--runtime", "runc"] if shutil.which("runc") else [])]
        cmd += ["system", "service", "--time=0", f"unix://{sock}"]
        service = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + ENGINE_START_TIMEOUT
        while found is None:
            if service.poll() is not None or time.monotonic() > deadline:
                service.kill()
                _no_engine(f"`{' '.join(cmd)}` did not start serving")
            time.sleep(0.1)
            found = asyncio.run(_answers(f"unix://{sock}"))
    previous = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = found
    try:
        yield found
    finally:
        with contextlib.suppress(Exception):  # the engine may be gone: nothing to remove
            left = remove_leftovers(found, tmp_path_factory.getbasetemp())
            if left:
                print(f"\nremoved containers the tests left behind: {', '.join(left)}")
        if previous is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = previous
        if service is not None:
            service.terminate()
            try:
                service.wait(15)
            except subprocess.TimeoutExpired:
                service.kill()
                service.wait()
            with contextlib.suppress(OSError):
                _podman_socket().unlink()


@pytest.fixture(scope="session")
def hello_image(engine_url: str) -> str:
    """The test image, imported once per session."""
    engine_call(engine_url, import_image)
    return HELLO_IMAGE


@pytest.fixture
def server(tmp_path: Path, engine_url: str, hello_image: str) -> Iterator[Server]:
    srv = Server(tmp_path / "state", "--runtime", "docker")
    srv.start()
    try:
        yield srv
    finally:
        code = srv.stop()
        assert code == 0, f"coldbrew serve exited {code}:\n{srv.log()[-4000:]}"
        assert containers_of(engine_url, srv.state_dir) == [], "containers left behind"

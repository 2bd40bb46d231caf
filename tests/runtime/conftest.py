"""Helpers for the runtime and sample-app tests: raw HTTP, process checks, deadlines."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from coldbrew.runtime import ContainerSpec, ImageMap, PodRuntime, PodTemplate, ProbeSpec

APPS = Path(__file__).resolve().parents[1] / "apps"
PROBE_APP = str(APPS / "probe_app.py")
SAMPLE_IMAGE = "example.net/knative-samples/helloworld-go:latest"


def alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


async def eventually(pred: Callable[[], object], within: float = 10.0, what: str = "") -> None:
    """Poll ``pred`` every 10 ms until true; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not pred():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or pred}")
        await asyncio.sleep(0.01)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def get(port: int, path: str = "/") -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        status, _, body = await read_response(reader)
        return status, body
    finally:
        writer.close()


def template(
    revision: str = "coffee-00001",
    *,
    image: str = SAMPLE_IMAGE,
    command: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    probe: ProbeSpec | None = None,
) -> PodTemplate:
    env = {"TARGET": "coffee"} if env is None else env
    return PodTemplate(
        namespace="default",
        service="coffee",
        configuration="coffee",
        revision=revision,
        container=ContainerSpec(
            image=image, command=command, env=tuple(env.items()), readiness_probe=probe
        ),
        labels={"app.example/tier": "test"},
        template_hash="abc123",
    )


def probe_app(**env: str) -> tuple[tuple[str, ...], dict[str, str]]:
    return (sys.executable, PROBE_APP), env


class Changes:
    """Records on_change calls."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.hooks: list[Callable[[str], None]] = []

    def __call__(self, key: str) -> None:
        self.keys.append(key)
        for hook in self.hooks:
            hook(key)


@pytest.fixture
def changes() -> Changes:
    return Changes()


@pytest.fixture
async def runtime(tmp_path: Path, changes: Changes) -> AsyncIterator[PodRuntime]:
    rt = PodRuntime(
        log_dir=tmp_path / "logs", images=ImageMap.load(None), on_change=changes, grace=5
    )
    try:
        yield rt
    finally:
        await rt.shutdown(grace=2)

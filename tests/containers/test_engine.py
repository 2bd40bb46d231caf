"""Finding the engine: ``--runtime auto`` and ``docker`` take the one that answers."""

from __future__ import annotations

import asyncio

from coldbrew.runtime.containers import Engine, choose_engine


def test_auto_and_docker_take_the_engine_that_answers(engine_url: str) -> None:
    async def choose(runtime: str) -> Engine | None:
        engine = await choose_engine(runtime, {"DOCKER_HOST": engine_url})
        if engine is not None:
            await engine.close()
        return engine

    for runtime in ("auto", "docker"):
        engine = asyncio.run(choose(runtime))
        assert engine is not None and engine.url == engine_url
        assert engine.name in ("Docker", "Podman") and engine.version
    assert asyncio.run(choose("process")) is None

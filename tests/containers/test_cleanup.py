"""The session's sweep removes coldbrew containers that a failed test left behind."""

from __future__ import annotations

from pathlib import Path

import aiodocker

from coldbrew.runtime.containers.engine import INSTANCE_LABEL, MANAGED_LABEL
from tests.containers.util import containers_of, engine_call, remove_leftovers


def test_leftovers_under_the_root_are_removed_and_others_kept(
    engine_url: str, hello_image: str, tmp_path: Path
) -> None:
    mine, other = tmp_path / "root" / "state", tmp_path / "elsewhere" / "state"

    def create(state: Path):
        labels = {MANAGED_LABEL: "coldbrew", INSTANCE_LABEL: str(state.resolve())}

        async def fn(docker: aiodocker.Docker) -> str:
            body = {"Image": hello_image, "Labels": labels, "Cmd": ["true"]}
            return (await docker.containers.create(body)).id

        return engine_call(engine_url, fn)

    create(mine)
    create(other)
    try:
        assert len(containers_of(engine_url, mine)) == 1
        removed = remove_leftovers(engine_url, tmp_path / "root")
        assert len(removed) == 1
        assert containers_of(engine_url, mine) == []
        assert len(containers_of(engine_url, other)) == 1
    finally:
        remove_leftovers(engine_url, tmp_path)

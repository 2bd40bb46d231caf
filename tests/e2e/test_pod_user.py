"""As root, process pods run as an unprivileged user (``--pod-user``, default nobody).

The interpreter lives where that user may not look (``/root`` here): the pod's private mount
namespace brings back just what it needs, and hides the state dir from it.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from coldbrew.runtime.identity import needed_paths
from tests.e2e.harness import EXAMPLES, Server, wait_for

pytestmark = pytest.mark.skipif(os.getuid() != 0, reason="switching users needs root")


def ids(pid: int) -> tuple[int, int]:
    """(real uid, real gid) of a process, from /proc/<pid>/status."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["Uid"].split()[0]), int(fields["Gid"].split()[0])


def coffee(name: str = "coffee", **container: Any) -> str:
    manifest = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    manifest["metadata"]["name"] = name
    manifest["spec"]["template"]["spec"]["containers"][0].update(container)
    return yaml.safe_dump(manifest)


def pod_of(server: Server, service: str) -> dict[str, Any]:
    def running() -> dict[str, Any] | None:
        for pod in server.pods():
            labels, notes = pod["metadata"]["labels"], pod["metadata"]["annotations"]
            if labels.get("serving.knative.dev/service") == service and "coldbrew.dev/pid" in notes:
                return pod  # type: ignore[no-any-return]
        return None

    return wait_for(running, timeout=30, what=f"a running pod of {service}")


def pid_of(pod: dict[str, Any]) -> int:
    return int(pod["metadata"]["annotations"]["coldbrew.dev/pid"])


@pytest.fixture
def as_nobody(tmp_path: Path) -> Iterator[Server]:
    with Server(tmp_path / "state") as srv:  # no --pod-user: nobody, as root
        yield srv


def test_the_cafe_sample_runs_as_nobody_with_its_own_home(as_nobody: Server) -> None:
    """The exec readiness probe runs as the pod user too: coffee is Ready only if it does."""
    probe = {"exec": {"command": ["/bin/sh", "-c", 'test "$(id -u):$(id -g)" = 65534:65534']}}
    as_nobody.cli("apply", "-f", "-", stdin=coffee(readinessProbe=probe))
    as_nobody.wait_ready("coffee", timeout=40)
    assert as_nobody.request("coffee.default.example.com").text == "Hello coffee!\n"
    pid = pid_of(pod_of(as_nobody, "coffee"))
    assert ids(pid) == (65534, 65534)
    env = dict(
        item.split("=", 1)
        for item in Path(f"/proc/{pid}/environ").read_text().split("\0")
        if "=" in item
    )
    home = Path(env["HOME"])
    assert home != Path.home() and home.stat().st_uid == 65534
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_a_pod_sees_neither_the_state_dir_nor_roots_home(as_nobody: Server) -> None:
    state = as_nobody.state_dir.resolve()
    assert (state / "state.db").is_file()  # there to be read, were it not hidden
    script = (
        f'cat {state}/state.db >/dev/null 2>&1 && echo "state: READ" || echo "state: denied"; '
        f'ls {state}/logs >/dev/null 2>&1 && echo "logs: LISTED" || echo "logs: denied"; '
        'echo "root: $(ls -A /root 2>/dev/null | tr "\\n" " ")"; exec sleep 600'
    )
    as_nobody.cli("apply", "-f", "-", stdin=coffee("peek", command=["/bin/sh", "-c", script]))
    name = pod_of(as_nobody, "peek")["metadata"]["name"]
    log = state / "logs" / f"{name}.log"
    wait_for(lambda: "root:" in log.read_text(), timeout=20, what="the pod's report")
    lines = log.read_text().splitlines()
    assert "state: denied" in lines and "logs: denied" in lines, lines
    # In /root the pod finds at most what it needs (a pyenv, a venv), nothing else of root's.
    seen = set(next(x for x in lines if x.startswith("root:")).split()[1:])
    needed = {Path(p).relative_to("/root").parts[0] for p in needed_paths(sys.executable)
              if Path(p).is_relative_to("/root")}  # fmt: skip
    assert seen <= needed, (seen, needed)


def test_run_as_user_overrides_the_pod_user(as_nobody: Server) -> None:
    security = {"runAsUser": 4242, "runAsGroup": 4343}
    as_nobody.cli("apply", "-f", "-", stdin=coffee("tea", securityContext=security))
    as_nobody.wait_ready("tea", timeout=40)
    assert as_nobody.request("tea.default.example.com").text == "Hello coffee!\n"
    assert ids(pid_of(pod_of(as_nobody, "tea"))) == (4242, 4343)


def test_pod_user_root_keeps_pods_as_root(tmp_path: Path) -> None:
    with Server(tmp_path / "state", "--pod-user", "root") as server:
        server.cli("apply", "-f", "-", stdin=coffee())
        server.wait_ready("coffee", timeout=40)
        assert server.request("coffee.default.example.com").text == "Hello coffee!\n"
        assert ids(pid_of(pod_of(server, "coffee"))) == (0, 0)


def test_an_unknown_pod_user_is_refused(tmp_path: Path) -> None:
    server = Server(tmp_path / "state", "--pod-user", "no-such-user-here")
    with pytest.raises(AssertionError, match="--pod-user: no such user 'no-such-user-here'"):
        server.start()

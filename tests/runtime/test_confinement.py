"""The pod's mount plan (pure: it only stats paths) and who a pod runs as."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from coldbrew.runtime.confinement import MountPlan, blocker, confine, plan, searchable
from coldbrew.runtime.container_specs import SecuritySpec
from coldbrew.runtime.identity import NOBODY, Identity, PodUser, parse_pod_user, serve_pod_user

USER, GROUP = 65534, 65534


@pytest.fixture
def base() -> Iterator[Path]:
    """A directory everyone may search, as are its ancestors (pytest's tmp_path is not)."""
    path = Path(tempfile.mkdtemp(prefix="coldbrew-plan-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path)


def tree(root: Path, spec: dict[str, int]) -> None:
    """Directories (relative path -> mode) under ``root``, made in order."""
    for rel, mode in spec.items():
        (root / rel).mkdir(parents=True, exist_ok=True)
        (root / rel).chmod(mode)


def test_the_outermost_closed_ancestor_is_covered_and_the_path_bound_back(base: Path) -> None:
    tree(base, {"home": 0o700, "home/py": 0o755, "home/py/lib": 0o755, "home/py/lib/deep": 0o700,
                "home/py/lib/deep/pkg": 0o755, "open": 0o755})  # fmt: skip
    (base / "home/py/python").write_text("")
    wanted = [str(base / p) for p in ("home/py", "home/py/lib", "home/py/python",
                                      "home/py/lib/deep/pkg", "open", "missing")]  # fmt: skip
    got = plan(wanted, USER, [GROUP])
    home = str(base / "home")
    # lib and python come with home/py's recursive bind; deep, closed too, inside the bind,
    # gets a cover of its own and pkg is bound back onto it.
    assert got.covers == (home, f"{home}/py/lib/deep")
    assert got.binds == (f"{home}/py", f"{home}/py/lib/deep/pkg")
    assert got  # something to do


def test_closed_dirs_inside_a_cover_need_no_cover(base: Path) -> None:
    tree(base, {"a": 0o700, "a/b": 0o700, "a/b/c": 0o755})
    got = plan([str(base / "a/b/c")], USER, [GROUP])
    assert got == MountPlan((str(base / "a"),), (str(base / "a/b/c"),))


def test_a_wanted_closed_dir_with_wanted_paths_below_is_covered(base: Path) -> None:
    """As an image map's folder (the pods' working dir) holding the state dir and HOME."""
    tree(base, {"a": 0o700, "a/b": 0o700, "a/b/c": 0o755})
    a, b, c = (str(base / p) for p in ("a", "a/b", "a/b/c"))
    got = plan([b, c], USER, [GROUP])
    assert got == MountPlan((a, b), (c,))


@pytest.mark.skipif(os.getuid() != 0, reason="mount namespaces and setuid need root (CI is root)")
def test_the_pod_user_enters_a_covered_wanted_dir_and_reaches_below_it(base: Path) -> None:
    tree(base, {"a": 0o700, "a/b": 0o700, "a/b/c": 0o755})
    (base / "a/b/hidden").write_text("secret")
    (base / "a/b/c/mine").write_text("ok\n")
    b, c = str(base / "a/b"), str(base / "a/b/c")
    enter = confine(plan([b, c], USER, [GROUP]))

    def as_nobody() -> None:
        enter()
        os.setgroups([GROUP])
        os.setgid(GROUP)
        os.setuid(USER)

    script = f"cd {b} && cat c/mine && test ! -e hidden && echo hidden-gone"
    out = subprocess.run(["/bin/sh", "-c", script], preexec_fn=as_nobody, capture_output=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [b"ok", b"hidden-gone"]


def test_nothing_to_do_when_everything_is_reachable(base: Path) -> None:
    tree(base, {"x/y": 0o755})
    assert not plan([str(base / "x/y"), "relative/path", ""], USER, [GROUP])
    assert not plan([str(base / "x/y")], 0, [0])  # root searches everything


def test_search_permission_by_owner_group_or_others(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    os.chown(d, 1000, 2000) if os.getuid() == 0 else None
    d.chmod(0o710)
    st = d.stat()
    assert searchable(str(d), st.st_uid, [])  # the owner's bit
    assert searchable(str(d), st.st_uid + 1, [st.st_gid])  # the group's bit
    assert not searchable(str(d), st.st_uid + 1, [st.st_gid + 1])  # others: none
    assert blocker(str(d / "inside"), st.st_uid + 1, [st.st_gid + 1]) is not None


def test_a_symlinked_path_brings_its_target_too(base: Path) -> None:
    tree(base, {"closed": 0o700, "closed/real": 0o755})
    (base / "link").symlink_to(base / "closed/real")
    got = plan([str(base / "link")], USER, [GROUP])
    assert got.binds == (str(base / "closed/real"),)


def test_pod_user_names_and_numbers() -> None:
    nobody = pwd.getpwnam("nobody")
    assert parse_pod_user("nobody") == PodUser(nobody.pw_uid, nobody.pw_gid)
    assert parse_pod_user("root") == PodUser(0, 0)
    assert parse_pod_user("4242") == PodUser(4242, 4242)  # no such user: its uid as group
    assert parse_pod_user("4242:77") == PodUser(4242, 77)
    assert parse_pod_user("0:65534") == PodUser(0, 65534)
    with pytest.raises(ValueError, match="--pod-user: no such user 'nosuchuser'"):
        parse_pod_user("nosuchuser")
    with pytest.raises(ValueError, match="--pod-user: no such group 'nosuchgroup'"):
        parse_pod_user("root:nosuchgroup")


@pytest.mark.skipif(os.getuid() != 0, reason="as root")
def test_as_root_pods_default_to_nobody_and_security_overrides() -> None:
    assert serve_pod_user(None) == NOBODY
    assert serve_pod_user("root") == PodUser(0, 0)
    who = Identity(NOBODY)
    assert who.target(None) == (65534, 65534)
    assert who.target(SecuritySpec(run_as_user=1000)) == (1000, 65534)
    assert who.target(SecuritySpec(run_as_user=1000, run_as_group=1001)) == (1000, 1001)
    assert Identity(PodUser(0, 0)).target(None) is None  # --pod-user root: as today
    assert Identity(None).target(None) is None  # no pod user (tests' runtimes): as coldbrew
    assert Identity(NOBODY).refusal(SecuritySpec(run_as_non_root=True), "c") is None
    refused = Identity(PodUser(0, 0)).refusal(SecuritySpec(run_as_non_root=True), "c")
    assert refused is not None and "runAsNonRoot" in refused


@pytest.mark.skipif(os.getuid() == 0, reason="runs as a user other than root")
def test_not_root_pods_run_as_coldbrew() -> None:
    assert serve_pod_user(None) is None
    with pytest.raises(ValueError, match="only as root"):
        serve_pod_user("0")

"""The Dockerfile: pinned multi-stage build, non-root, one entrypoint for every component.

No container engine here: the Dockerfile is parsed (continuation lines joined,
comments dropped) and its instructions checked.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

SECRET_WORDS = ("PASSWORD", "PASSWD", "TOKEN", "SECRET", "KEY", "CREDENTIAL", "PRIVATE", "AUTH")
PINNED_TAG = re.compile(r"^\d+\.\d+\.\d+(?:[-.][A-Za-z0-9.-]+)?$")


@dataclass
class Instruction:
    line: int
    name: str  # upper-case: FROM, RUN, ...
    args: str


@dataclass
class Stage:
    image: str
    alias: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, name: str) -> list[Instruction]:
        return [i for i in self.instructions if i.name == name]


def parse_instructions(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined; comments and blank lines dropped."""
    out: list[Instruction] = []
    buf: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not buf):
            continue  # comments (also inside a continuation) and blank lines
        if not buf:
            start = number
        if stripped.endswith("\\"):
            buf.append(stripped[:-1].strip())
            continue
        buf.append(stripped)
        joined = " ".join(part for part in buf if part)
        buf = []
        name, _, args = joined.partition(" ")
        out.append(Instruction(start, name.upper(), args.strip()))
    assert not buf, "the Dockerfile ends inside a continuation line"
    return out


def parse_stages(text: str) -> list[Stage]:
    """Stages; a FROM's ``${ARG}`` is replaced by the global ARG's default, if it has one."""
    stages: list[Stage] = []
    defaults: dict[str, str] = {}
    for ins in parse_instructions(text):
        if ins.name == "FROM":
            words = [w for w in ins.args.split() if not w.startswith("--")]
            alias = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            image = re.sub(
                r"\$\{(\w+)\}|\$(\w+)",
                lambda m: defaults.get(m.group(1) or m.group(2), m.group(0)),
                words[0],
            )
            stages.append(Stage(image=image, alias=alias))
        elif ins.name in ("ARG",) and not stages:
            name, sep, value = ins.args.partition("=")
            if sep:
                defaults[name.strip()] = value.strip().strip('"')
            continue  # global ARGs before the first FROM
        else:
            assert stages, f"line {ins.line}: {ins.name} before the first FROM"
            stages[-1].instructions.append(ins)
    return stages


def env_names(ins: Instruction) -> list[str]:
    """Variable names set by ENV (``K=V K2=V2`` or legacy ``K V``) or declared by ARG."""
    if ins.name == "ARG":
        return [ins.args.split("=", 1)[0].strip()]
    if "=" not in ins.args.split(" ", 1)[0]:
        return [ins.args.split(" ", 1)[0]]
    return re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=", ins.args)


def exec_form(ins: Instruction) -> list[str]:
    value = json.loads(ins.args)
    assert isinstance(value, list), f"line {ins.line}: {ins.name} must use the JSON exec form"
    assert all(isinstance(v, str) for v in value)
    return value


def image_problem(image: str, earlier_aliases: set[str]) -> str | None:
    """Why a FROM image is not pinned to an exact version, or None."""
    if image in earlier_aliases:
        return None
    if "$" in image:
        return "uses a build argument without a default; give it a pinned default"
    name = image.partition("@")[0]
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag (means latest)"
    tag = last.split(":", 1)[1]
    if tag == "latest":
        return "uses latest"
    version = tag.split("-", 1)[0]
    if not re.fullmatch(r"\d+\.\d+\.\d+", version) or not PINNED_TAG.match(tag):
        return f"tag {tag!r} has no exact major.minor.patch version"
    return None


def dockerfile_problems(text: str, scripts: dict[str, str]) -> list[str]:
    """Every rule the image must keep; an empty list means the Dockerfile passes."""
    problems: list[str] = []
    stages = parse_stages(text)
    if len(stages) < 2:
        problems.append("not a multi-stage build")
    aliases: set[str] = set()
    for stage in stages:
        why = image_problem(stage.image, aliases)
        if why:
            problems.append(f"FROM {stage.image}: {why}")
        if stage.alias:
            aliases.add(stage.alias)
    for stage in stages:
        for ins in stage.instructions:
            if ins.name in ("ENV", "ARG"):
                for name in env_names(ins):
                    if any(word in name.upper() for word in SECRET_WORDS):
                        problems.append(f"line {ins.line}: {ins.name} {name} looks like a secret")
            if ins.name == "ADD" and re.search(r"(?:^|\s)(?:https?|ftp)://", ins.args):
                problems.append(f"line {ins.line}: ADD of a URL")
            apt = re.search(r"\bapt(?:-get)?\s+(?:-\S+\s+)*install\b", ins.args)
            if ins.name == "RUN" and apt and "rm -rf /var/lib/apt/lists" not in ins.args:
                problems.append(f"line {ins.line}: apt install without cleaning its lists")
    if not stages:
        return [*problems, "no FROM"]
    final = stages[-1]
    users = final.all("USER")
    if not users:
        problems.append("the final stage has no USER (runs as root)")
    else:
        user = users[-1].args.split(":", 1)[0]
        if not user.isdigit():
            problems.append(f"final USER {user!r} is not numeric (runAsNonRoot needs a UID)")
        elif int(user) == 0:
            problems.append("final USER is root")
    entry = final.all("ENTRYPOINT")
    if not entry:
        problems.append("the final stage has no ENTRYPOINT")
    else:
        argv = exec_form(entry[-1])
        if not argv or argv[0] not in scripts:
            problems.append(f"ENTRYPOINT {argv} is not a [project.scripts] console script")
    return problems


@pytest.fixture(scope="module")
def scripts() -> dict[str, str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["project"]["scripts"]


@pytest.fixture(scope="module")
def text() -> str:
    return DOCKERFILE.read_text()


@pytest.fixture(scope="module")
def stages(text: str) -> list[Stage]:
    return parse_stages(text)


def test_dockerfile_keeps_every_rule(text: str, scripts: dict[str, str]) -> None:
    assert dockerfile_problems(text, scripts) == []


def test_every_from_is_pinned_to_a_slim_python(stages: list[Stage]) -> None:
    aliases = {s.alias for s in stages if s.alias}
    externals = [s.image for s in stages if s.image not in aliases]
    assert externals, "no base image"
    for image in externals:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", image), image
    assert len(set(externals)) == 1, "build and runtime stages use different bases"


def test_build_stage_builds_wheels_and_final_stage_installs_them(stages: list[Stage]) -> None:
    build, final = stages[0], stages[-1]
    assert any("pip wheel" in i.args and "/wheels" in i.args for i in build.all("RUN"))
    installs = [i.args for i in final.all("RUN") if "pip install" in i.args]
    assert installs, "the final stage installs nothing"
    assert all("--no-cache-dir" in a and "--no-index" in a for a in installs)
    assert any("/wheels" in a for a in installs)
    # the sources never reach the final stage
    assert not any(i.args.split()[-1].startswith("/src") for i in final.all("COPY"))


def test_copied_sources_exist_and_cover_every_package(stages: list[Stage]) -> None:
    copied: set[str] = set()
    for ins in stages[0].all("COPY"):
        words = [w for w in ins.args.split() if not w.startswith("--")]
        for src in words[:-1]:
            assert (ROOT / src).exists(), f"COPY {src}: no such file in the repository"
            copied.add(src)
    with (ROOT / "pyproject.toml").open("rb") as f:
        include = tomllib.load(f)["tool"]["setuptools"]["packages"]["find"]["include"]
    for pattern in include:
        assert pattern.rstrip("*") in copied, f"package {pattern} is not copied into the build"
    assert {"pyproject.toml", "README.md"} <= copied


def test_final_stage_environment_ports_and_command(stages: list[Stage]) -> None:
    final = stages[-1]
    names = {n for i in final.all("ENV") for n in env_names(i)}
    assert {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"} <= names
    ports = {p for i in final.all("EXPOSE") for p in i.args.split()}
    assert {"8080", "8081"} <= ports
    assert exec_form(final.all("ENTRYPOINT")[-1]) == ["coldbrew"]
    assert exec_form(final.all("CMD")[-1]) == ["serve", "--host", "0.0.0.0"]
    assert final.all("USER")[-1].args.split(":")[0] == "10001"


def test_dockerignore_excludes_vcs_caches_and_results_but_not_the_build_inputs() -> None:
    patterns = {
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in (".git", "**/__pycache__", ".pytest_cache", ".ruff_cache", "tests"):
        assert needed in patterns, needed
    for kept in ("pyproject.toml", "README.md", "coldbrew", "gateway", "activator", "autoscaler"):
        assert kept not in patterns, f"{kept} is needed by the build"


BAD = {
    "latest": 'FROM python:latest\nFROM python:3.11.11-slim\nUSER 1\nENTRYPOINT ["coldbrew"]\n',
    "untagged": 'FROM python\nFROM python:3.11.11-slim\nUSER 1\nENTRYPOINT ["coldbrew"]\n',
    "minor only": 'FROM python:3.11-slim AS b\nFROM b\nUSER 1\nENTRYPOINT ["coldbrew"]\n',
    "single stage": 'FROM python:3.11.11-slim\nUSER 1\nENTRYPOINT ["coldbrew"]\n',
    "root": 'FROM python:3.11.11 AS b\nFROM b\nUSER 0\nENTRYPOINT ["coldbrew"]\n',
    "named user": 'FROM python:3.11.11 AS b\nFROM b\nUSER app\nENTRYPOINT ["coldbrew"]\n',
    "no user": 'FROM python:3.11.11 AS b\nFROM b\nENTRYPOINT ["coldbrew"]\n',
    "wrong entrypoint": 'FROM python:3.11.11 AS b\nFROM b\nUSER 1\nENTRYPOINT ["python"]\n',
    "secret env": (
        "FROM python:3.11.11 AS b\nFROM b\nENV A=1 \\\n  API_TOKEN=x\nUSER 1\n"
        'ENTRYPOINT ["coldbrew"]\n'
    ),
    "secret arg": (
        'FROM python:3.11.11 AS b\nARG DB_PASSWORD\nFROM b\nUSER 1\nENTRYPOINT ["coldbrew"]\n'
    ),
    "add url": (
        "FROM python:3.11.11 AS b\nADD https://x.io/a.tgz /a\nFROM b\nUSER 1\n"
        'ENTRYPOINT ["coldbrew"]\n'
    ),
    "base arg without default": (
        'ARG BASE\nFROM ${BASE} AS b\nFROM b\nUSER 1\nENTRYPOINT ["coldbrew"]\n'
    ),
    "base arg defaults to latest": (
        'ARG BASE=python:latest\nFROM $BASE AS b\nFROM b\nUSER 1\nENTRYPOINT ["coldbrew"]\n'
    ),
    "apt lists kept": (
        "FROM python:3.11.11 AS b\nRUN apt-get update && \\\n    apt-get install -y curl\n"
        'FROM b\nUSER 1\nENTRYPOINT ["coldbrew"]\n'
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_the_checks_catch_a_bad_dockerfile(case: str, scripts: dict[str, str]) -> None:
    assert dockerfile_problems(BAD[case], scripts), f"{case}: not caught"


def test_the_parser_joins_continuations_and_skips_comments() -> None:
    text = "# syntax=docker/dockerfile:1\nFROM a:1.2.3 AS b\nRUN one \\\n  # note\n  two\n"
    ins = parse_instructions(text)
    assert [(i.name, i.args) for i in ins] == [("FROM", "a:1.2.3 AS b"), ("RUN", "one two")]
    clean = (
        "FROM python:3.11.11 AS b\nRUN apt-get update && apt-get install -y curl \\\n"
        ' && rm -rf /var/lib/apt/lists/*\nFROM b\nUSER 10001\nENTRYPOINT ["coldbrew"]\n'
    )
    assert dockerfile_problems(clean, {"coldbrew": "x"}) == []

"""Parsing of kn's flag values: ``K=V`` / ``K-``, ``name:port``, ``REV=PCT``, ``REV=TAG``.

Every refusal is a :class:`UsageError` whose message starts with the flag
(``--env: "FOO" is not K=V``); the command prints it and exits 2 having sent
nothing. The rules of the objects themselves (what an annotation value may be,
what a port number may be...) stay in :mod:`coldbrew.api`; these functions only
read the shape of what was typed.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

LATEST = "@latest"
_PLACEHOLDER = re.compile(r"\{\{\s*\.(\w+)(?:\s+(\d+))?\s*\}\}")
_CONSONANTS = "bcdfghjklmnpqrstvwxz"


class UsageError(ValueError):
    """A bad flag: the message names it; nothing is sent, the exit code is 2."""


def key_values(flag: str, items: list[str] | None, removable: bool = True) -> dict[str, str | None]:
    """``K=V`` sets K, ``K-`` (when ``removable``) removes it: K -> V, or K -> None.

    Later items win, as in kn; a key both set and removed is refused."""
    out: dict[str, str | None] = {}
    for item in items or []:
        if removable and item.endswith("-") and "=" not in item:
            key, value = item[:-1], None
        elif "=" in item:
            key, value = item.split("=", 1)
        else:
            form = "K=V (or K- to remove K)" if removable else "K=V"
            raise UsageError(f'{flag}: "{item}" is not {form}')
        if not key:
            raise UsageError(f'{flag}: "{item}" has no key')
        if key in out and (out[key] is None) != (value is None):
            raise UsageError(f'{flag}: "{key}" is both set and removed')
        out[key] = value
    return out


def port(text: str | None) -> dict[str, object] | None:
    """``--port 8080`` or kn's ``--port h2c:8080`` as a ``ports[0]`` entry."""
    if text is None:
        return None
    name, _, number = text.rpartition(":")
    if not number.isdigit():
        raise UsageError(f'--port: "{text}" is not PORT or NAME:PORT (e.g. h2c:8080)')
    entry: dict[str, object] = {"containerPort": int(number)}
    if name:
        entry["name"] = name
    return entry


def traffic(items: list[str] | None) -> list[tuple[str, int]]:
    """``--traffic REV=PCT``, ``TAG=PCT`` or ``@latest=PCT``: (identifier, percent) pairs
    summing to 100."""
    pairs: list[tuple[str, int]] = []
    seen: set[str] = set()
    for item in items or []:
        target, sep, pct = item.partition("=")
        pct = pct.removesuffix("%")
        if not sep or not target or not pct.isdigit():
            raise UsageError(f'--traffic: "{item}" is not REVISION=PERCENT (or @latest=PERCENT)')
        if int(pct) > 100:
            raise UsageError(f'--traffic: "{item}": a percentage is at most 100')
        if target in seen:
            raise UsageError(f'--traffic: "{target}" is given more than once')
        seen.add(target)
        pairs.append((target, int(pct)))
    total = sum(p for _, p in pairs)
    if pairs and total != 100:
        raise UsageError(f"--traffic: percentages sum to {total}, want 100")
    return pairs


def tags(items: list[str] | None) -> list[tuple[str, str]]:
    """``--tag REV=TAG`` / ``@latest=TAG``: (revision, tag) pairs, each tag once."""
    pairs: list[tuple[str, str]] = []
    for item in items or []:
        revision, sep, tag = item.partition("=")
        if not sep or not revision or not tag:
            raise UsageError(f'--tag: "{item}" is not REVISION=TAG (or @latest=TAG)')
        if tag in (t for _, t in pairs):
            raise UsageError(f'--tag: tag "{tag}" is given more than once')
        pairs.append((revision, tag))
    return pairs


def untags(items: list[str] | None, tagged: list[tuple[str, str]]) -> list[str]:
    """``--untag TAG``: the tags to drop; one also given to --tag is refused."""
    for tag in items or []:
        if tag in (t for _, t in tagged):
            raise UsageError(f'--untag: "{tag}" is also given to --tag')
    return list(items or [])


def revision_name(service: str, name: str | None, generation: int = 1) -> str | None:
    """kn's ``--revision-name``: ``{service}-{name}`` unless it already starts so.

    As kn, the name may be a template of ``{{.Service}}``, ``{{.Generation}}`` (the
    Service's generation once this change is applied) and ``{{.Random N}}`` (N random
    lower-case consonants), e.g. ``{{.Service}}-{{.Random 5}}-{{.Generation}}``."""
    if name is None or name == "":
        return None

    def expand(match: re.Match[str]) -> str:
        word, count = match.group(1), match.group(2)
        if word == "Service" and count is None:
            return service
        if word == "Generation" and count is None:
            return str(generation)
        if word == "Random" and count is not None and 0 < int(count) <= 32:
            return "".join(secrets.choice(_CONSONANTS) for _ in range(int(count)))
        raise UsageError(f'--revision-name: cannot expand "{match.group(0)}"')

    text = _PLACEHOLDER.sub(expand, name)
    if "{{" in text or "}}" in text:
        raise UsageError(f'--revision-name: cannot expand "{name}" (a stray {{{{ or }}}})')
    return text if text.startswith(f"{service}-") else f"{service}-{text}"


@dataclass(frozen=True)
class Scale:
    """The scale flags as template annotations (``autoscaling.knative.dev/...``)."""

    annotations: dict[str, str]

    @classmethod
    def of(cls, scale: int | None, low: int | None, high: int | None, **rest: object) -> Scale:
        if scale is not None and (low is not None or high is not None):
            raise UsageError("--scale: not with --scale-min or --scale-max")
        if scale is not None:
            low = high = scale
        values = {"min-scale": low, "max-scale": high, **rest}
        return cls(
            {f"autoscaling.knative.dev/{k}": str(v) for k, v in values.items() if v is not None}
        )

"""Kubernetes label selectors (``?labelSelector=``, ``coldbrew get -l``).

The syntax of ``k8s.io/apimachinery/pkg/labels``: requirements joined by commas (all must
hold), each one of ``k=v``, ``k==v``, ``k!=v``, ``k`` (the label exists), ``!k`` (it does
not), ``k in (a,b)``, ``k notin (a,b)``. As Kubernetes, ``k!=v`` and ``k notin (...)`` also
match an object without the label. A selector that does not parse raises
:class:`SelectorError` saying what is wrong and where.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# A label key: an optional DNS-subdomain prefix and a name; a value: a name or empty.
_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_KEY = re.compile(rf"([a-z0-9]([-a-z0-9.]{{0,251}}[a-z0-9])?/)?{_NAME}")
_VALUE = re.compile(rf"({_NAME})?")
_TOKEN = re.compile(r"\s*(!=|==|=|\(|\)|,|!|[^\s!=(),]+)")


class SelectorError(ValueError):
    """The selector does not parse."""


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.op == "exists":
            return self.key in labels
        if self.op == "!":
            return self.key not in labels
        has = self.key in labels and labels[self.key] in self.values
        return has if self.op in ("=", "in") else not has


@dataclass(frozen=True)
class Selector:
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        return all(r.matches(labels or {}) for r in self.requirements)

    def __bool__(self) -> bool:
        return bool(self.requirements)


def parse_selector(text: str) -> Selector:
    """The selector in ``text`` (empty: everything matches)."""
    tokens = _tokens(text)
    requirements: list[Requirement] = []
    pos = 0
    while pos < len(tokens):
        req, pos = _requirement(tokens, pos, text)
        requirements.append(req)
        if pos < len(tokens):
            if tokens[pos] != ",":
                raise SelectorError(f"{text!r}: expected ',' before {tokens[pos]!r}")
            pos += 1
            if pos == len(tokens):
                raise SelectorError(f"{text!r}: a requirement must follow ','")
    return Selector(tuple(requirements))


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    stripped = text.rstrip()
    while pos < len(stripped):
        match = _TOKEN.match(stripped, pos)
        if match is None:  # pragma: no cover - the pattern takes any non-space character
            raise SelectorError(f"{text!r}: cannot read at {pos}")
        out.append(match.group(1))
        pos = match.end()
    return out


def _key(token: str, text: str) -> str:
    if not _KEY.fullmatch(token) or len(token.rpartition("/")[2]) > 63:
        raise SelectorError(f"{text!r}: {token!r} is not a valid label key")
    return token


def _value(token: str, text: str) -> str:
    if not _VALUE.fullmatch(token) or len(token) > 63:
        raise SelectorError(f"{text!r}: {token!r} is not a valid label value")
    return token


def _requirement(tokens: list[str], pos: int, text: str) -> tuple[Requirement, int]:
    if tokens[pos] == "!":
        if pos + 1 >= len(tokens):
            raise SelectorError(f"{text!r}: a label key must follow '!'")
        key = _key(tokens[pos + 1], text)
        return Requirement(key, "!"), pos + 2
    key = _key(tokens[pos], text)
    pos += 1
    if pos == len(tokens) or tokens[pos] == ",":
        return Requirement(key, "exists"), pos
    op = tokens[pos]
    if op in ("=", "==", "!="):
        following = tokens[pos + 1] if pos + 1 < len(tokens) else ","
        if following == ",":  # k= : the empty value
            return Requirement(key, "!=" if op == "!=" else "=", frozenset([""])), pos + 1
        value = _value(following, text)
        return Requirement(key, "!=" if op == "!=" else "=", frozenset([value])), pos + 2
    if op in ("in", "notin"):
        return _set(tokens, pos + 1, key, op, text)
    raise SelectorError(f"{text!r}: expected =, ==, !=, in or notin after {key!r}, not {op!r}")


def _set(tokens: list[str], pos: int, key: str, op: str, text: str) -> tuple[Requirement, int]:
    if pos >= len(tokens) or tokens[pos] != "(":
        raise SelectorError(f"{text!r}: expected '(' after {key!r} {op}")
    values: set[str] = set()
    pos += 1
    if pos < len(tokens) and tokens[pos] == ")":
        raise SelectorError(f"{text!r}: the set of {key!r} may not be empty")
    while True:
        if pos >= len(tokens):
            raise SelectorError(f"{text!r}: the set of {key!r} is not closed with ')'")
        token = tokens[pos]
        if token in (",", ")"):  # an empty value, as in "k in (a,)"
            values.add("")
        else:
            values.add(_value(token, text))
            pos += 1
            token = tokens[pos] if pos < len(tokens) else ""
        if token == ")":
            return Requirement(key, op, frozenset(values)), pos + 1
        if token != ",":
            raise SelectorError(f"{text!r}: the set of {key!r} is not closed with ')'")
        pos += 1

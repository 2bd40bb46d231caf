"""Kubernetes label selectors: what each form matches, and what is refused."""

from __future__ import annotations

import pytest

from coldbrew.selecting import SelectorError, parse_selector

WEB = {"app": "cafe", "tier": "web"}
DB = {"app": "cafe", "tier": "db"}
TEA = {"app": "tea"}
BARE: dict[str, str] = {}
ALL = {"web": WEB, "db": DB, "tea": TEA, "bare": BARE}

CASES = [
    ("", {"web", "db", "tea", "bare"}),
    ("app=cafe", {"web", "db"}),
    ("app==cafe", {"web", "db"}),
    ("app!=cafe", {"tea", "bare"}),  # as Kubernetes: no label also differs
    ("tier", {"web", "db"}),
    ("!tier", {"tea", "bare"}),
    ("tier in (web)", {"web"}),
    (" tier  in ( web , db ) ", {"web", "db"}),
    ("tier notin (web)", {"db", "tea", "bare"}),
    ("app=cafe,tier!=db", {"web"}),
    ("app in (tea,cafe),!tier", {"tea"}),
    ("app=", set()),  # app == "": none has it (a missing label is not "")
    ("example.com/role=x", set()),
]


@pytest.mark.parametrize(("text", "want"), CASES)
def test_matches(text: str, want: set[str]) -> None:
    selector = parse_selector(text)
    got = {name for name, labels in ALL.items() if selector.matches(labels)}
    assert got == want


REFUSED = ["app in cafe", "app=(x)", "=x", "app=cafe,", "tier in ()", "app in (a", "a b",
           "-bad=1", "!", "a,,b", "app=cafe tier=web", "k=" + "v" * 64, "UPPER/x=1"]  # fmt: skip


@pytest.mark.parametrize("text", REFUSED)
def test_refused_naming_the_selector(text: str) -> None:
    with pytest.raises(SelectorError) as err:
        parse_selector(text)
    assert repr(text) in str(err.value)

"""kn-style flags: each bad one is refused naming the flag, with exit 2, before any request.

The commands run in-process against a closed port: a request would fail with
"cannot reach" and exit 1, so exit 2 with the flag's message shows nothing was sent.
"""

from __future__ import annotations

import re

import pytest

from coldbrew.cli import kn_flags
from coldbrew.cli.kn_flags import UsageError
from coldbrew.cli.main import run
from tests.e2e.harness import free_port

IMAGE = "registry.example.com/knative-samples/helloworld-go"

BAD = [
    (["create", "s", "--image", IMAGE, "--env", "FOO"], '--env: "FOO" is not K=V'),
    (["create", "s", "--image", IMAGE, "--env", "=1"], '--env: "=1" has no key'),
    (["create", "s", "--image", IMAGE, "-e", "A=1", "-e", "A-"], '--env: "A" is both set'),
    (["create", "s", "--image", IMAGE, "--annotation", "x"], '--annotation: "x" is not K=V'),
    (["create", "s", "--image", IMAGE, "--port", "h2c:"], '--port: "h2c:" is not PORT'),
    (["create", "s", "--image", IMAGE, "--port", "http"], '--port: "http" is not PORT'),
    (["create", "s", "--image", IMAGE, "--scale", "2", "--scale-min", "1"], "--scale: not with"),
    (["create", "s", "--image", IMAGE, "--revision-name", "{{.Name}}"],
     '--revision-name: cannot expand "{{.Name}}"'),
    (["create", "s", "--image", IMAGE, "--revision-name", "{{.Random 0}}"], "--revision-name:"),
    (["create", "s", "--image", IMAGE, "--revision-name", "v{{1"], "--revision-name:"),
    (["update", "s", "--traffic", "a=50", "--traffic", "b=40"],
     "--traffic: percentages sum to 90, want 100"),
    (["update", "s", "--traffic", "a"], '--traffic: "a" is not REVISION=PERCENT'),
    (["update", "s", "--traffic", "a=x"], '--traffic: "a=x" is not REVISION=PERCENT'),
    (["update", "s", "--traffic", "a=150"], "--traffic: \"a=150\": a percentage is at most 100"),
    (["update", "s", "--traffic", "a=50", "--traffic", "a=50"], '--traffic: "a" is given more'),
    (["update", "s", "--tag", "a"], '--tag: "a" is not REVISION=TAG'),
    (["update", "s", "--tag", "a=t", "--tag", "b=t"], '--tag: tag "t" is given more than once'),
    (["update", "s", "--tag", "a=t", "--untag", "t"], '--untag: "t" is also given to --tag'),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "message"), BAD)
def test_bad_flag_names_itself_and_sends_nothing(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server = f"http://127.0.0.1:{free_port()}"
    assert run(["service", *argv, "--server", server]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "cannot reach" not in err


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["create", "s"], "--image"),
        (["create", "s", "--image", IMAGE, "--scale-min", "one"], "--scale-min"),
        (["create", "s", "--image", IMAGE, "--concurrency-limit", "x"], "--concurrency-limit"),
        (["update", "s", "-o", "xml"], "--output"),
    ],
)
def test_argparse_refusals_name_the_flag(
    argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run(["service", *argv])
    assert exit_info.value.code == 2
    assert flag in capsys.readouterr().err


def test_key_values_set_and_remove() -> None:
    assert kn_flags.key_values("--env", ["A=1", "B=x=y", "C-", "A=2"]) == {
        "A": "2",
        "B": "x=y",
        "C": None,
    }
    with pytest.raises(UsageError, match="--label"):
        kn_flags.key_values("--label", ["C-"], removable=False)


def test_port_forms() -> None:
    assert kn_flags.port("8080") == {"containerPort": 8080}
    assert kn_flags.port("h2c:8080") == {"containerPort": 8080, "name": "h2c"}
    assert kn_flags.port(None) is None


def test_revision_name_as_kn() -> None:
    assert kn_flags.revision_name("coffee", "v1") == "coffee-v1"
    assert kn_flags.revision_name("coffee", "coffee-v1") == "coffee-v1"
    assert kn_flags.revision_name("coffee", None) is None
    templated = kn_flags.revision_name("coffee", "{{.Service}}-{{.Random 5}}-{{.Generation}}", 3)
    assert templated is not None and re.fullmatch(r"coffee-[bcdfghj-np-tv-xz]{5}-3", templated)
    assert kn_flags.revision_name("coffee", "v{{ .Generation }}", 2) == "coffee-v2"


def test_traffic_and_tags() -> None:
    assert kn_flags.traffic(["a=20%", "@latest=80"]) == [("a", 20), ("@latest", 80)]
    assert kn_flags.traffic(None) == []
    assert kn_flags.tags(["a=old", "@latest=current"]) == [("a", "old"), ("@latest", "current")]


def test_scale_annotations() -> None:
    scale = kn_flags.Scale.of(None, 1, 3, target=10, window="60s", **{"initial-scale": 0})
    assert scale.annotations == {
        "autoscaling.knative.dev/min-scale": "1",
        "autoscaling.knative.dev/max-scale": "3",
        "autoscaling.knative.dev/target": "10",
        "autoscaling.knative.dev/window": "60s",
        "autoscaling.knative.dev/initial-scale": "0",
    }
    both = kn_flags.Scale.of(2, None, None).annotations
    assert both == {
        "autoscaling.knative.dev/min-scale": "2",
        "autoscaling.knative.dev/max-scale": "2",
    }

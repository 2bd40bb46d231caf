"""Image maps, pod names, back-off, argv/env building, Pod-shaped output."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from coldbrew.runtime import ImageMap, ImageMapError, PodInfo
from coldbrew.runtime.launch import expand, pod_env, resolve_argv
from coldbrew.runtime.logs import LogFile
from coldbrew.runtime.naming import ALPHABET, pod_name, template_hash_part
from coldbrew.runtime.pods import Backoff

from .conftest import template

# The seed's cafe image, as examples/coffee.yaml names it (the host is not repeated here).
DEMO_IMAGE = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "examples" / "coffee.yaml").read_text()
)["spec"]["template"]["spec"]["containers"][0]["image"]


@pytest.mark.parametrize(
    "image",
    [
        DEMO_IMAGE,
        "example.net/knative-samples/helloworld-go",
        "example.net/knative-samples/autoscale-go:0.1",
        "knative-samples/autoscale-go",
        "example.com/knative-samples/helloworld-go@sha256:abc",
    ],
)
def test_builtin_images(image: str) -> None:
    assert ImageMap.load(None).resolve(image) == ("python", "-m", "coldbrew.sample")


def test_unknown_image() -> None:
    assert ImageMap.load(None).resolve("example.org/library/nginx:1.25") is None


def test_image_map_file(tmp_path: Path) -> None:
    f = tmp_path / "images.yaml"
    f.write_text(
        "images:\n"
        '  "myrepo/app:*": ["python", "app.py", "--port", "$(PORT)"]\n'
        "  'example.com/me/api*': python -m api --name 'a b'\n"
        '  "example.net/knative-samples/helloworld-go": ["./custom"]\n'
    )
    m = ImageMap.load(f)
    assert m.resolve("myrepo/app:v2") == ("python", "app.py", "--port", "$(PORT)")
    assert m.resolve("example.org/myrepo/app:1") == ("python", "app.py", "--port", "$(PORT)")
    assert m.resolve("example.com/me/api:3") == ("python", "-m", "api", "--name", "a b")
    assert m.resolve("example.net/knative-samples/helloworld-go") == ("./custom",)  # user wins
    assert m.resolve("example.net/knative-samples/autoscale-go") == (
        "python",
        "-m",
        "coldbrew.sample",
    )
    assert m.base_dir == tmp_path.resolve()
    # JSON works too (YAML is a superset)
    f.write_text('{"images": {"x/*": ["run"]}}')
    assert ImageMap.load(f).resolve("x/y") == ("run",)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("- a\n- b\n", 'single key "images"'),
        ("imagez: {}\n", 'single key "images"'),
        ("images: [a]\n", "mapping of image pattern"),
        ("images: {'a/*': 3}\n", "list of strings or a command string"),
        ("images: {'a/*': []}\n", "command is empty"),
        ("images: {'a/*': {cmd: x}}\n", "list of strings or a command string"),
        ("images: {'a/*': 'unclosed \"quote'}\n", "cannot split"),
        ("images: {a: [b\n", "not valid YAML"),
    ],
)
def test_image_map_errors(tmp_path: Path, text: str, error: str) -> None:
    f = tmp_path / "images.yaml"
    f.write_text(text)
    with pytest.raises(ImageMapError, match=re.escape(error)) as info:
        ImageMap.load(f)
    assert str(f) in str(info.value)


def test_image_map_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageMapError, match="cannot read"):
        ImageMap.load(tmp_path / "nope.yaml")


def test_resolve_argv() -> None:
    images = ImageMap.load(None)
    t = template()
    assert resolve_argv(t, images, "/py") == (("/py", "-m", "coldbrew.sample"), None)
    t = template(command=("python3", "app.py"))
    assert resolve_argv(t, images, "/py") == (("/py", "app.py"), None)
    argv, err = resolve_argv(template(image="example.com/nope:1"), images, "/py")
    assert argv is None and err is not None and '"example.com/nope:1"' in err


def test_expand_and_env() -> None:
    env = pod_env(template(env={"TARGET": "tea", "PORT": "1"}), 4242)
    assert env["PORT"] == "4242"  # ours wins over the container's
    assert env["TARGET"] == "tea"
    assert (env["K_SERVICE"], env["K_REVISION"], env["K_CONFIGURATION"]) == (
        "coffee",
        "coffee-00001",
        "coffee",
    )
    assert env["PYTHONUNBUFFERED"] == "1"
    assert expand(("--port=$(PORT)", "$$(PORT)", "$(NOPE)"), env) == [
        "--port=4242",
        "$(PORT)",
        "$(NOPE)",
    ]


def test_pod_names() -> None:
    h = template_hash_part("abc123", "default/x")
    assert h == template_hash_part("abc123", "default/y")
    assert len(h) == 10 and set(h) <= set(ALPHABET)
    name = pod_name("coffee-00001", h)
    assert re.fullmatch(rf"coffee-00001-deployment-{h}-[{ALPHABET}]{{5}}", name)
    assert template_hash_part("", "default/a") != template_hash_part("", "default/b")


def test_backoff() -> None:
    b = Backoff(1.0, 30.0)
    assert [b.next() for _ in range(8)] == [0, 1, 2, 4, 8, 16, 30, 30]
    b.reset()
    assert b.next() == 0


def test_pod_info_to_k8s() -> None:
    info = PodInfo(
        name="coffee-00001-deployment-abc-xyz12",
        namespace="default",
        revision_key="default/coffee-00001",
        labels={"serving.knative.dev/revision": "coffee-00001"},
        annotations={"a": "b"},
        phase="Running",
        ready=False,
        status="CrashLoopBackOff",
        restarts=3,
        created=0.0,
        port=4242,
        pid=None,
        image="img",
        exit_code=2,
        message="back-off 4s",
    )
    pod = info.to_k8s()
    assert pod["apiVersion"] == "v1" and pod["kind"] == "Pod"
    assert pod["metadata"]["creationTimestamp"] == "1970-01-01T00:00:00Z"
    assert pod["spec"]["containers"][0]["name"] == "user-container"
    assert pod["spec"]["containers"][0]["ports"] == [{"containerPort": 4242, "protocol": "TCP"}]
    status = pod["status"]
    assert status["podIP"] == "127.0.0.1"
    assert {"type": "Ready", "status": "False"} in status["conditions"]
    cs = status["containerStatuses"][0]
    assert cs["restartCount"] == 3
    assert cs["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 4s"}}
    assert cs["lastState"]["terminated"]["exitCode"] == 2


def test_log_file_keeps_the_tail(tmp_path: Path) -> None:
    lf = LogFile(tmp_path / "pod.log", cap=1000)
    for i in range(500):
        lf.write(f"line {i:04d}\n".encode())
    text = lf.read()
    assert len(text) <= 1500 and text.endswith("line 0499\n")
    assert text.startswith("line ")  # trimmed at a line boundary
    assert lf.tail(10) == "line 0499\n"
    lf.delete()
    assert lf.read() == "" and not (tmp_path / "pod.log").exists()

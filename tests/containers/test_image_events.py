"""Image events end to end on a real engine: Pulled for an image the engine has, Pulling /
Failed / BackOff and a revision saying ImagePullBackOff for one that exists nowhere, and
``coldbrew describe revision`` showing them. No registry is reachable here: a pull from
registry.example.com fails at its name lookup, which the engine reports at once."""

from __future__ import annotations

from tests.containers.test_cafe_containers import COFFEE, service
from tests.e2e.harness import Server, wait_for
from tests.e2e.test_events import events

MISSING = "registry.example.com/coldbrew-test/no-such-image:1"


def _ready(server: Server, revision: str) -> dict:
    rev = server.client().get("revisions", revision)
    return {c["type"]: c for c in rev["status"]["conditions"]}["Ready"]


def test_image_pull_events_and_describe(server: Server, hello_image: str) -> None:
    server.client().apply(service("coffee", hello_image, "coffee", imagePullPolicy="IfNotPresent"))
    server.wait_ready("coffee", timeout=30)
    pulled = wait_for(lambda: events(server, kind="Pod", reason="Pulled"), what="Pulled")
    assert [e["message"] for e in pulled] == [
        f'Container image "{hello_image}" already present on machine'
    ]
    assert pulled[0]["type"] == "Normal"
    assert pulled[0]["involvedObject"]["name"].startswith("coffee-00001-deployment-")
    assert not events(server, kind="Pod", reason="Pulling")  # present: nothing was pulled

    server.client().apply(service("tea", MISSING, "tea", imagePullPolicy="IfNotPresent"))

    def failed() -> list[dict] | None:
        found = events(server, kind="Pod", reason="Failed", message=MISSING)
        backoff = events(server, kind="Pod", reason="BackOff", message=MISSING)
        return found if found and backoff else None

    failure = wait_for(failed, timeout=30, what="tea's Failed and BackOff events")[0]
    assert failure["type"] == "Warning"
    assert failure["involvedObject"]["name"].startswith("tea-00001-deployment-")
    assert "failed to pull image" in failure["message"], failure
    pulling = events(server, kind="Pod", reason="Pulling", message=MISSING)
    assert pulling and pulling[0]["message"] == f'Pulling image "{MISSING}"'
    ready = wait_for(
        lambda: (r := _ready(server, "tea-00001"))["status"] == "False" and r,
        timeout=30,
        what="tea's revision not ready",
    )
    assert ready["reason"] in ("ImagePullBackOff", "ErrImagePull"), ready
    assert MISSING in ready["message"]
    assert server.request(COFFEE).text == "Hello coffee!\n"  # the other service unharmed

    described = server.cli("describe", "revision", "tea-00001")
    assert described.returncode == 0, described.stderr
    text = described.stdout
    for reason in ("Pulling", "Failed", "BackOff"):
        assert reason in text, text
    assert "ImagePullBackOff" in text and MISSING in text, text
    coffee = server.cli("describe", "revision", "coffee-00001").stdout
    assert "Pulled" in coffee and "already present on machine" in coffee, coffee

"""imagePullSecrets -> the X-Registry-Auth header of a pull, through aiodocker on a real socket.

The engine here is a small aiohttp app on a Unix socket that records what a pull sends: the
credential mapping is checked as the engine receives it, not as coldbrew builds it.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from coldbrew.runtime.containers.credentials import (
    auth_from_dockerconfigjson,
    dockerconfigjson_of,
    pull_auth,
)
from coldbrew.runtime.containers.engine import client, close_client
from coldbrew.runtime.containers.pulling import Puller

IMAGE = "registry.example.com/shop/app:1"


def secret(auths: dict[str, Any], kind: str = "kubernetes.io/dockerconfigjson") -> dict[str, Any]:
    raw = json.dumps({"auths": auths}).encode()
    return {"type": kind, "data": {".dockerconfigjson": base64.b64encode(raw).decode()}}


def basic(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_the_entry_for_the_images_registry() -> None:
    data = dockerconfigjson_of(secret({"registry.example.com": basic("robot", "s3cret:x")}))
    assert data is not None
    assert auth_from_dockerconfigjson(IMAGE, data) == {
        "username": "robot",
        "password": "s3cret:x",
        "serveraddress": "registry.example.com",
    }
    assert auth_from_dockerconfigjson("other.example.com/app:1", data) is None
    explicit = secret({"https://registry.example.com": {"username": "u", "password": "p"}})
    assert auth_from_dockerconfigjson(IMAGE, dockerconfigjson_of(explicit) or b"") == {
        "username": "u",
        "password": "p",
        "serveraddress": "registry.example.com",
    }


def test_secrets_are_tried_in_order_and_others_skipped() -> None:
    store = {
        ("default", "opaque"): {"type": "Opaque", "data": {}},
        ("default", "elsewhere"): secret({"other.example.com": basic("a", "b")}),
        ("default", "regcred"): secret({"registry.example.com": basic("robot", "pw")}),
    }
    names = ["missing", "opaque", "elsewhere", "regcred"]
    auth = pull_auth(IMAGE, "default", names, lambda ns, n: store.get((ns, n)))
    assert auth is not None and auth["username"] == "robot"
    assert pull_auth(IMAGE, "default", names, None) is None
    assert pull_auth(IMAGE, "other", names, lambda ns, n: store.get((ns, n))) is None


async def test_the_pull_carries_x_registry_auth(tmp_path: Path) -> None:
    seen: list[str] = []
    pulled: set[str] = set()

    async def create(request: web.Request) -> web.Response:
        seen.append(request.headers.get("X-Registry-Auth", ""))
        pulled.add(request.query["fromImage"])
        return web.Response(text=json.dumps({"status": "Downloaded"}) + "\n")

    async def inspect(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if not any(name.startswith(p.rsplit(":", 1)[0]) for p in pulled):
            return web.json_response({"message": "no such image"}, status=404)
        return web.json_response({"Id": "sha256:1", "Config": {}})

    app = web.Application()
    app.router.add_post("/v1.41/images/create", create)
    app.router.add_get("/v1.41/images/{name:.+}/json", inspect)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = tmp_path / "engine.sock"
    await web.UnixSite(runner, str(sock)).start()
    docker = client(f"unix://{sock}")
    try:
        store = {("default", "regcred"): secret({"registry.example.com": basic("robot", "pw")})}
        auth = pull_auth(IMAGE, "default", ["regcred"], lambda ns, n: store.get((ns, n)))
        await Puller(docker).ensure(IMAGE, "Always", auth)
    finally:
        await close_client(docker)
        await runner.cleanup()
    (header,) = seen
    sent = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    assert sent["username"] == "robot" and sent["password"] == "pw"
    assert sent["serveraddress"] == "registry.example.com"

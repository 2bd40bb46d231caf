"""ConfigMaps and Secrets in a real container: env from a Secret, files from ConfigMaps.

The CGI script answering requests is itself a ConfigMap mounted over the image's cgi-bin, so
the test image stays as it is: it prints the Secret's value from env, the mounted greeting
file (read at each request: updates show), whether the mount is read-only, and an emptyDir.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from tests.containers.util import containers_of
from tests.e2e.harness import Server, wait_for

HOST = "greeter.default.example.com"
CGI = """#!/bin/sh
if ( : > /etc/greeting/probe ) 2>/dev/null; then rw=rw; else rw=ro; fi
echo scratch > /scratch/file
echo mem > /mem/file
printf 'Content-Type: text/plain\\r\\n\\r\\n%s %s %s %s %s\\n' "$PASSWORD" \
  "$(cat /etc/greeting/greeting.txt)" "$rw" "$(cat /scratch/file)" "$(cat /mem/file)"
"""


def configmap(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db"},
    "stringData": {"password": "s3cret"},
}


def greeter(image: str) -> dict[str, Any]:
    container = {
        "image": image,
        "imagePullPolicy": "Never",
        "env": [
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}
        ],
        "volumeMounts": [
            {"name": "cgi", "mountPath": "/www/cgi-bin", "readOnly": True},
            {"name": "greeting", "mountPath": "/etc/greeting", "readOnly": True},
            {"name": "scratch", "mountPath": "/scratch"},
            {"name": "mem", "mountPath": "/mem"},
        ],
    }
    volumes = [
        {"name": "cgi", "configMap": {"name": "cgi", "defaultMode": 0o755}},
        {
            "name": "greeting",
            "configMap": {"name": "greeting", "items": [{"key": "text", "path": "greeting.txt"}]},
        },
        {"name": "scratch", "emptyDir": {}},
        {"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
    ]
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "greeter"},
        "spec": {"template": {"spec": {"containers": [container], "volumes": volumes}}},
    }


def test_secret_env_and_configmap_files_in_a_container(
    server: Server, engine_url: str, hello_image: str
) -> None:
    client = server.client()
    client.apply(greeter(hello_image))  # before its objects: it waits for them
    for obj in (configmap("cgi", {"index.cgi": CGI}), configmap("greeting", {"text": "hello"})):
        client.apply(obj)
    client.apply(SECRET)
    server.wait_ready("greeter", timeout=60)
    assert server.request(HOST).text == "s3cret hello ro scratch mem\n"

    (info,) = containers_of(engine_url, server.state_dir)
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    assert mounts["/www/cgi-bin"]["RW"] is False and mounts["/etc/greeting"]["RW"] is False
    assert mounts["/scratch"]["RW"] is True
    assert info["HostConfig"]["Tmpfs"]["/mem"].split(",")[0] == f"size={2**20}"  # a tmpfs
    pod_dir = Path(mounts["/etc/greeting"]["Source"]).parent
    assert pod_dir.parent == server.state_dir / "volumes"
    assert stat.S_IMODE(pod_dir.stat().st_mode) == 0o700
    assert (pod_dir / "greeting" / "..data").is_symlink()

    client.apply(configmap("greeting", {"text": "bonjour"}))  # reaches the running pod's file
    wait_for(
        lambda: server.request(HOST).text == "s3cret bonjour ro scratch mem\n",
        timeout=30,
        what="the changed ConfigMap in the mounted file",
    )
    assert server.pods()[0]["status"]["containerStatuses"][0]["restartCount"] == 0

    client.delete_service("greeter")
    wait_for(
        lambda: not containers_of(engine_url, server.state_dir), timeout=60, what="the pod gone"
    )
    wait_for(lambda: not pod_dir.exists(), timeout=10, what="the pod's volumes removed")

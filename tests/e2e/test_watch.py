"""Label selectors, paging and watches of the control API, and ``coldbrew get -l/-w``.

One ``coldbrew serve`` for the module (each test in its own namespace); services start at
zero replicas, so that no pod runs and dozens of them stay cheap.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from coldbrew.cli.client import Client
from tests.e2e.harness import ROOT, Server, wait_for

SERVING = "/apis/serving.knative.dev/v1"
HELLO = "import http.server as h, os; h.HTTPServer(('', int(os.environ['PORT'])), h.BaseHTTPRequestHandler).serve_forever()"  # noqa: E501


def ksvc(name: str, namespace: str, **labels: str) -> dict[str, Any]:
    annotations = {
        "autoscaling.knative.dev/initial-scale": "0",
        "knative.aliyun.com/reserve-instance": "disable",
    }
    container = {"image": "registry.example.com/hello:v1", "command": ["python", "-c", HELLO]}
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"template": {"metadata": {"annotations": annotations},
                              "spec": {"containers": [container]}}},
    }  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("watch")
    config = tmp / "config.yaml"
    config.write_text("autoscaler:\n  allow-zero-initial-scale: true\n")
    with Server(tmp / "state", "--config", str(config)) as srv:
        yield srv


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    c = server.client()
    yield c
    c.close()


def names(answer: dict[str, Any]) -> list[str]:
    return [o["metadata"]["name"] for o in answer["items"]]


class Lines:
    """A subprocess's stdout, line by line, read by a thread: wait for a line with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None
        out = proc.stdout
        threading.Thread(target=lambda: [self._lines.put(x) for x in out], daemon=True).start()

    def wait(self, *words: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.seen:
                if all(w in line.split() for w in words):
                    return line
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no line with {words} in {self.seen}")
            try:
                self.seen.append(self._lines.get(timeout=left).rstrip("\n"))
            except queue.Empty:
                continue


def test_get_ksvc_watch_prints_what_another_client_changes(server: Server, client: Client) -> None:
    ns = "watching"
    client.apply(ksvc("first", ns))
    cmd = [sys.executable, "-m", "coldbrew", "get", "ksvc", "-n", ns, "-w",
           "--output-watch-events", "--server", server.admin_url]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)  # fmt: skip
    try:
        lines = Lines(proc)
        assert lines.wait("EVENT", "NAME", "URL").split()[:2] == ["EVENT", "NAME"]
        lines.wait("ADDED", "first")
        client.apply(ksvc("second", ns))
        lines.wait("ADDED", "second")
        client.delete("ksvc", "second", ns)
        lines.wait("DELETED", "second")
        assert sum(line.startswith("EVENT") for line in lines.seen) == 1  # one header
        assert not any("first" in line for line in lines.seen if "DELETED" in line)
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0, proc.stderr.read() if proc.stderr else ""


def test_plain_watch_prints_a_row_per_change(server: Server, client: Client) -> None:
    ns = "plainwatch"
    cmd = [sys.executable, "-m", "coldbrew", "get", "ksvc", "-n", ns, "-w",
           "--server", server.admin_url]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)  # fmt: skip
    try:
        lines = Lines(proc)
        client.apply(ksvc("late", ns))  # after the (empty) list: the watch shows it
        lines.wait("NAME", "URL")
        assert lines.wait("late").split()[0] == "late"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0


def test_paging_returns_every_item_once_while_more_are_applied(
    server: Server, client: Client
) -> None:
    ns = "paging"
    originals = [f"svc-{i:02d}" for i in range(25)]
    for name in originals:
        client.apply(ksvc(name, ns))
    extra = iter(["svc-00a", "svc-12a", "svc-99"])  # before, amid and after the pages
    first = client.page("ksvc", ns, {"limit": "7"})
    assert len(first["items"]) == 7 and first["metadata"]["remainingItemCount"] == 18
    version, seen, answer = first["metadata"]["resourceVersion"], names(first), first
    while token := answer["metadata"].get("continue"):
        client.apply(ksvc(next(extra), ns))
        answer = client.page("ksvc", ns, {"limit": "7", "continue": token})
        assert answer["metadata"]["resourceVersion"] == version  # the first page's snapshot
        seen += names(answer)
    assert seen == originals  # each exactly once, in key order, none of the late ones
    assert "remainingItemCount" not in answer["metadata"]
    assert len(names(client.get("ksvc", None, ns, chunk_size=7))) == 28  # with the late ones
    table = server.cli("get", "ksvc", "-n", ns, "--chunk-size", "5")
    assert table.returncode == 0, table.stderr
    assert len(table.stdout.splitlines()) == 1 + 28


NOT_YET = "eyJydiI6IDk5OTk5OTksICJzdGFydCI6ICIifQ"  # {"rv": 9999999, "start": ""}


@pytest.mark.parametrize(("token", "code"), [("nonsense", 400), ("e30", 400), (NOT_YET, 410)])
def test_a_token_this_api_never_gave_is_refused(server: Server, token: str, code: int) -> None:
    """A future resourceVersion is a token from before a restart: 410, list again."""
    resp = httpx.get(f"{server.admin_url}{SERVING}/services", params={"continue": token})
    assert resp.status_code == code, resp.text
    if code == 400:
        assert resp.json()["message"].startswith("continue: ")


@pytest.mark.parametrize("query", ["resourceVersion=x", "resourceVersion=-1", "timeoutSeconds=nan"])
def test_a_bad_watch_is_refused(server: Server, query: str) -> None:
    resp = httpx.get(f"{server.admin_url}{SERVING}/services?watch=true&{query}")
    assert resp.status_code == 400 and "resourceVersion" in resp.json()["message"]


SELECTED = {
    "app=cafe": {"a", "b"},
    "app==cafe": {"a", "b"},
    "app!=cafe": {"c", "d"},
    "tier": {"a", "b"},
    "!tier": {"c", "d"},
    "tier in (web,db)": {"a", "b"},
    "tier in (web, db)": {"a", "b"},
    "app notin (cafe)": {"c", "d"},
    "app=cafe,tier!=db": {"a"},
    "app in (tea,cafe),!tier": {"c"},
    "app=nothing": set(),
    "": {"a", "b", "c", "d"},
}
REFUSED = ["app in cafe", "app=(x)", "=x", "app=cafe,", "tier in ()", "app in (a", "a b",
           "-bad=1", "!"]  # fmt: skip


@pytest.fixture(scope="module")
def labelled(server: Server) -> str:
    ns, c = "selecting", server.client()
    c.apply(ksvc("a", ns, app="cafe", tier="web"))
    c.apply(ksvc("b", ns, app="cafe", tier="db"))
    c.apply(ksvc("c", ns, app="tea"))
    c.apply(ksvc("d", ns))
    c.close()
    return ns


@pytest.mark.parametrize("selector", sorted(SELECTED))
def test_label_selectors(server: Server, labelled: str, selector: str) -> None:
    url = f"{server.admin_url}{SERVING}/namespaces/{labelled}/services"
    resp = httpx.get(url, params={"labelSelector": selector})
    assert resp.status_code == 200, resp.text
    assert set(names(resp.json())) == SELECTED[selector]


@pytest.mark.parametrize("selector", REFUSED)
def test_bad_label_selectors_are_refused_naming_them(
    server: Server, labelled: str, selector: str
) -> None:
    url = f"{server.admin_url}{SERVING}/namespaces/{labelled}/services"
    for params in ({"labelSelector": selector}, {"labelSelector": selector, "watch": "true"}):
        resp = httpx.get(url, params=params)
        assert resp.status_code == 400, resp.text
        message = resp.json()["message"]
        assert message.startswith("labelSelector: ") and repr(selector) in message


def test_get_dash_l_on_services_and_revisions(server: Server, labelled: str) -> None:
    table = server.cli("get", "ksvc", "-n", labelled, "-l", "app=cafe")
    assert table.returncode == 0, table.stderr
    assert [line.split()[0] for line in table.stdout.splitlines()] == ["NAME", "a", "b"]
    revs = server.cli("get", "revisions", "-n", labelled, "-l", "serving.knative.dev/service=c")
    assert revs.returncode == 0, revs.stderr
    assert [line.split()[0] for line in revs.stdout.splitlines()] == ["NAME", "c-00001"]
    bad = server.cli("get", "ksvc", "-n", labelled, "-l", "app in cafe")
    assert bad.returncode == 1 and "labelSelector" in bad.stderr


def watch_events(server: Server, path: str, want: int, **params: str) -> list[dict[str, Any]]:
    """The first ``want`` events of a watch (or all it sends within its timeoutSeconds)."""
    events: list[dict[str, Any]] = []
    query = {"watch": "true", "timeoutSeconds": "20", **params}
    with httpx.stream("GET", f"{server.admin_url}{path}", params=query, timeout=30) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("application/json;stream=watch")
        for line in resp.iter_lines():
            events.append(json.loads(line))
            if len(events) >= want:
                break
    return events


def test_watch_from_a_list_replays_the_changes_after_it(server: Server, client: Client) -> None:
    ns = "replaying"
    client.apply(ksvc("x", ns, app="x"))
    path = f"{SERVING}/namespaces/{ns}/services"
    listed = client.page("ksvc", ns, {})
    assert names(listed) == ["x"]
    version = listed["metadata"]["resourceVersion"]
    client.apply(ksvc("y", ns, app="y"))
    client.delete("ksvc", "x", ns)
    wait_for(lambda: names(client.page("ksvc", ns, {})) == ["y"], what="x gone")
    events = watch_events(server, path, 99, resourceVersion=version, timeoutSeconds="3")
    seen = [(e["type"], e["object"]["metadata"]["name"]) for e in events]
    assert seen.index(("ADDED", "y")) < seen.index(("DELETED", "x"))
    assert ("ADDED", "x") not in seen
    assert all(t in ("MODIFIED", "ADDED", "DELETED") for t, _ in seen)
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and versions[0] > int(version)
    only_y = watch_events(server, path, 99, resourceVersion=version, timeoutSeconds="3",
                          labelSelector="app=y")  # fmt: skip
    assert {e["object"]["metadata"]["name"] for e in only_y} == {"y"}
    current = watch_events(server, path, 1)  # no resourceVersion: what there is, as ADDED
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in current] == [("ADDED", "y")]


def test_revisions_watch_and_list_carry_the_feed_versions(server: Server, client: Client) -> None:
    ns = "revwatch"
    listed = client.page("revisions", ns, {})
    client.apply(ksvc("r", ns))
    path = f"{SERVING}/namespaces/{ns}/revisions"
    first = watch_events(server, path, 1, resourceVersion=listed["metadata"]["resourceVersion"])
    assert (first[0]["type"], first[0]["object"]["metadata"]["name"]) == ("ADDED", "r-00001")
    one = client.get("revisions", "r-00001", ns)
    added = first[0]["object"]["metadata"]["resourceVersion"]
    assert int(one["metadata"]["resourceVersion"]) >= int(added)


def test_too_old_a_resource_version_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLDBREW_WATCH_HISTORY", "4")  # a short ring: easy to outrun
    with Server(tmp_path / "state") as small:
        c = small.client()
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m"}}
        c.apply({**cm, "data": {"v": "0"}})
        start = c.page("configmaps", "default", {"limit": "1"})
        c.apply({**cm, "metadata": {"name": "n"}})
        first_page = c.page("configmaps", "default", {"limit": "1"})
        assert first_page["metadata"]["remainingItemCount"] == 1
        for i in range(1, 8):  # seven new objects: changes even when looked at only once
            c.apply({**cm, "metadata": {"name": f"m{i}"}, "data": {"v": str(i)}})
        path = "/api/v1/namespaces/default/configmaps"
        version = start["metadata"]["resourceVersion"]
        events = watch_events(small, path, 1, resourceVersion=version)
        assert events[0]["type"] == "ERROR" and events[0]["object"]["code"] == 410
        token = first_page["metadata"]["continue"]
        resp = httpx.get(f"{small.admin_url}{path}", params={"limit": "1", "continue": token})
        assert resp.status_code == 410 and resp.json()["reason"] == "Expired"
        future = watch_events(small, path, 1, resourceVersion="999999")  # before a restart
        assert future[0]["type"] == "ERROR" and future[0]["object"]["code"] == 410
        recent = c.page("configmaps", "default", {})["metadata"]["resourceVersion"]
        c.apply({**cm, "data": {"v": "last"}})
        events = watch_events(small, path, 1, resourceVersion=recent)
        assert events[0]["type"] == "MODIFIED"
        assert events[0]["object"]["data"] == {"v": "last"}

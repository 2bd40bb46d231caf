"""The seed's kubectl session, verbatim, with the real kubectl against the emulated cluster.

kubectl (v1.32 on these machines) talks to :mod:`tests.cluster.emulator` over a plain
kubeconfig: discovery, OpenAPI v3 (which tells kubectl the server validates fields, so it
sends ``fieldValidation=Strict``), the ``Table`` form for ``kubectl get``, client-side apply
(its ``last-applied-configuration`` annotation, JSON merge patch for the Knative Service,
strategic merge patch for the core Service). The real :class:`ClusterController` and the
kubelet stand-in make the Revisions, Deployments and Pods the session prints. Waits are
on the emulator's change notifications; no sleeps.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from coldbrew.cluster import ClusterController
from tests.cluster.emulator import Emulator
from tests.cluster.emulator.kubelet import Kubelet
from tests.cluster.objects import api_client, api_server, kubeconfig
from tests.cluster.test_pod_spec import POD_SPEC, manifest
from tests.tooling import needs_tool

pytestmark = [pytest.mark.timeout(120), needs_tool("kubectl")]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
KSVC = "serving.knative.dev/v1"
GATEWAY_SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: ingress-gateway
  namespace: knative-serving
spec:
  type: LoadBalancer
  selector: {app.kubernetes.io/component: gateway}
  ports:
    - name: http
      port: 80
      targetPort: http
"""
LB_IP = "203.0.113.10"  # documentation range: what the cloud's load balancer would get


@dataclass
class Session:
    emu: Emulator
    kubelet: Kubelet
    env: dict[str, str]
    tmp: Path

    async def kubectl(self, *args: str, ok: bool = True) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            "kubectl",
            *args,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        rc = proc.returncode or 0
        if ok:
            assert rc == 0, f"kubectl {' '.join(args)}: {err.decode()}"
        return rc, out.decode(), err.decode()

    def file(self, name: str, text: str) -> str:
        path = self.tmp / name
        path.write_text(text)
        return str(path)

    async def until(self, predicate: Callable[[], Any], within: float = 60.0) -> Any:
        return await self.emu.wait_for(predicate, within)

    def ksvc(self, name: str = "coffee") -> dict[str, Any]:
        return self.emu.get(KSVC, "services", "default", name) or {}


def ready_revision(session: Session, revision: str) -> Callable[[], bool]:
    def check() -> bool:
        status = session.ksvc().get("status") or {}
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        return ready and status.get("latestReadyRevisionName") == revision

    return check


def table(text: str, columns: list[str]) -> list[dict[str, str]]:
    """kubectl's aligned columns, cut at the header's column starts."""
    lines = [line for line in text.splitlines() if line.strip()]
    header = lines[0]
    assert header.split() == " ".join(columns).split(), header
    starts = []
    pos = 0
    for col in columns:
        pos = header.index(col, pos)
        starts.append(pos)
        pos += len(col)
    bounds = [*starts[1:], None]
    return [
        {c: line[s:e].strip() for c, s, e in zip(columns, starts, bounds, strict=True)}
        for line in lines[1:]
    ]


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[Session]:
    emu = Emulator()
    kubelet = Kubelet(emu)
    async with api_server(emu) as port:
        api = api_client(port)
        task = asyncio.create_task(ClusterController(api).run())
        kubelet.start()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),  # kubectl's discovery cache lives under it
            "KUBECONFIG": str(kubeconfig(tmp_path / "kubeconfig", port)),
        }
        try:
            yield Session(emu, kubelet, env, tmp_path)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await kubelet.stop()
            await api.close()


async def test_the_seed_session_with_the_real_kubectl(session: Session) -> None:
    _, out, _ = await session.kubectl("apply", "-f", str(EXAMPLES / "coffee.yaml"))
    assert out == "service.serving.knative.dev/coffee created\n"
    stored = session.ksvc()
    applied = stored["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    assert json.loads(applied)["metadata"]["name"] == "coffee"
    await session.until(ready_revision(session, "coffee-00001"))

    _, out, _ = await session.kubectl("get", "ksvc")
    columns = ["NAME", "URL", "LATESTCREATED", "LATESTREADY", "READY", "REASON"]
    assert table(out, columns) == [
        {
            "NAME": "coffee",
            "URL": "http://coffee.default.example.com",
            "LATESTCREATED": "coffee-00001",
            "LATESTREADY": "coffee-00001",
            "READY": "True",
            "REASON": "",
        }
    ]

    _, out, _ = await session.kubectl("get", "revisions")
    columns = [
        "NAME",
        "CONFIG NAME",
        "GENERATION",
        "READY",
        "REASON",
        "ACTUAL REPLICAS",
        "DESIRED REPLICAS",
    ]
    (row,) = table(out, columns)
    assert row["NAME"] == "coffee-00001" and row["CONFIG NAME"] == "coffee"
    assert row["GENERATION"] == "1" and row["READY"] == "True"

    await session.until(lambda: session.kubelet.ready("default", "coffee-00001-deployment"))
    _, out, _ = await session.kubectl("get", "pod")
    rows = table(out, ["NAME", "READY", "STATUS", "RESTARTS", "AGE"])
    running = [r for r in rows if r["STATUS"] == "Running"]
    assert running, out
    for r in running:
        assert re.fullmatch(r"coffee-00001-deployment-[a-z0-9]{10}-[a-z0-9]{5}", r["NAME"]), r
        assert r["READY"] == "1/1" and r["RESTARTS"] == "0"
        assert re.fullmatch(r"\d+s|\d+m\d*s?", r["AGE"]), r

    # the gateway's Service, as the chart installs it, with the load balancer's address
    _, out, _ = await session.kubectl("apply", "-f", session.file("gw.yaml", GATEWAY_SERVICE))
    assert out == "service/ingress-gateway created\n"
    await session.emu.put_status(
        "v1",
        "services",
        "knative-serving",
        "ingress-gateway",
        {"loadBalancer": {"ingress": [{"ip": LB_IP}]}},
    )
    _, out, _ = await session.kubectl("-n", "knative-serving", "get", "svc")
    (row,) = table(out, ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"])
    assert row["NAME"] == "ingress-gateway" and row["TYPE"] == "LoadBalancer"
    assert row["EXTERNAL-IP"] == LB_IP
    assert re.fullmatch(r"10\.96\.\d+\.\d+", row["CLUSTER-IP"])
    assert re.fullmatch(r"80:3\d{4}/TCP", row["PORT(S)"])

    seen = len(session.emu.patches)  # the controllers patch too, at any time
    _, out, _ = await session.kubectl("apply", "-f", str(EXAMPLES / "coffee-v1.yaml"))
    assert out == "service.serving.knative.dev/coffee configured\n"
    assert (
        "/apis/serving.knative.dev/v1/namespaces/default/services/coffee",
        "application/merge-patch+json",
    ) in session.emu.patches[seen:]
    await session.until(ready_revision(session, "coffee-v1"))
    _, out, _ = await session.kubectl("get", "ksvc")
    (row,) = table(out, ["NAME", "URL", "LATESTCREATED", "LATESTREADY", "READY", "REASON"])
    assert (row["LATESTCREATED"], row["LATESTREADY"], row["READY"]) == (
        "coffee-v1",
        "coffee-v1",
        "True",
    )
    _, out, _ = await session.kubectl("apply", "-f", str(EXAMPLES / "coffee-v1.yaml"))
    assert out == "service.serving.knative.dev/coffee unchanged\n"


def _with_unknown_field() -> str:
    doc = yaml.safe_load((EXAMPLES / "coffee.yaml").read_text())
    doc["spec"]["foo"] = "bar"
    doc["spec"]["traffic"] = [{"latestRevision": True, "percent": 100, "weight": 1}]
    return yaml.safe_dump(doc)


async def test_field_validation_strict_warn_ignore(session: Session) -> None:
    path = session.file("coffee-bad.yaml", _with_unknown_field())
    rc, out, err = await session.kubectl("apply", "-f", path, ok=False)
    assert rc == 1 and out == ""
    assert (
        'Service in version "v1" cannot be handled as a Service: strict decoding error: '
        'unknown field "spec.foo", unknown field "spec.traffic[0].weight"'
    ) in err
    assert session.ksvc() == {}  # nothing stored

    _, out, err = await session.kubectl("apply", "--validate=warn", "-f", path)
    assert out == "service.serving.knative.dev/coffee created\n"
    assert 'Warning: unknown field "spec.foo"' in err
    assert 'Warning: unknown field "spec.traffic[0].weight"' in err
    spec = session.ksvc()["spec"]
    assert "foo" not in spec and "weight" not in spec["traffic"][0]  # pruned

    _, _, err = await session.kubectl("delete", "ksvc", "coffee")
    _, out, err = await session.kubectl("apply", "--validate=false", "-f", path)
    assert out == "service.serving.knative.dev/coffee created\n" and "Warning" not in err
    assert "foo" not in session.ksvc()["spec"]


async def test_patches_merge_json_and_strategic(session: Session) -> None:
    await session.kubectl("apply", "-f", str(EXAMPLES / "coffee.yaml"))
    _, out, _ = await session.kubectl(
        "patch", "ksvc", "coffee", "--type=merge", "-p", '{"metadata":{"labels":{"team":"cafe"}}}'
    )
    assert out == "service.serving.knative.dev/coffee patched\n"
    ops = '[{"op":"replace","path":"/metadata/labels/team","value":"bar"}]'
    await session.kubectl("patch", "ksvc", "coffee", "--type=json", "-p", ops)
    assert session.ksvc()["metadata"]["labels"] == {"team": "bar"}
    rc, _, err = await session.kubectl(
        "patch", "ksvc", "coffee", "-p", '{"metadata":{"labels":{"x":"y"}}}', ok=False
    )
    assert rc == 1 and "application/merge-patch+json" in err  # CRDs: no strategic merge

    # the core Service: kubectl apply sends a strategic merge patch; ports merge by port
    await session.kubectl("apply", "-f", session.file("gw.yaml", GATEWAY_SERVICE))
    gw = session.emu.get("v1", "services", "knative-serving", "ingress-gateway") or {}
    node_port = gw["spec"]["ports"][0]["nodePort"]
    changed = GATEWAY_SERVICE + "    - name: https\n      port: 443\n      targetPort: https\n"
    seen = len(session.emu.patches)
    _, out, _ = await session.kubectl("apply", "-f", session.file("gw.yaml", changed))
    assert out == "service/ingress-gateway configured\n"
    assert (
        "/api/v1/namespaces/knative-serving/services/ingress-gateway",
        "application/strategic-merge-patch+json",
    ) in session.emu.patches[seen:]
    gw = session.emu.get("v1", "services", "knative-serving", "ingress-gateway") or {}
    ports = {p["name"]: p for p in gw["spec"]["ports"]}
    assert set(ports) == {"http", "https"}
    assert ports["http"]["nodePort"] == node_port  # kept by the merge, not replaced


async def test_a_manifest_using_every_allowed_field_applies_strictly(session: Session) -> None:
    """kubectl's Strict field validation passes the whole pod spec; the Deployment has it."""
    path = session.file("everything.yaml", yaml.safe_dump(manifest(POD_SPEC)))
    _, out, err = await session.kubectl("apply", "-f", path)
    assert out == "service.serving.knative.dev/coffee created\n" and "Warning" not in err
    name = "coffee-00001-deployment"
    dep = await session.until(lambda: session.emu.get("apps/v1", "deployments", "default", name))
    spec = dep["spec"]["template"]["spec"]
    assert spec["volumes"] == POD_SPEC["volumes"]
    assert spec["containers"][1] == POD_SPEC["containers"][1]
    assert spec["serviceAccountName"] == "coffee-robot"

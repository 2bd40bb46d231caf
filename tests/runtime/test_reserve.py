"""Reserve pods (ASK reserved instances): a replica set of their own next to the standard one."""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from coldbrew.runtime import ImageMap, PodResources, PodRuntime, PodTemplate
from coldbrew.runtime.naming import ALPHABET
from coldbrew.runtime.specs import ENFORCED_ANNOTATION, RESERVE_LABEL

from .conftest import PROBE_APP, Changes, alive, eventually, get, template

KEY = "default/coffee-00001"
RKEY = "default/coffee-00001/reserve"
ECI = {
    "k8s.aliyun.com/eci-instance-spec": "ecs.t5-lc1m2.small",
    "k8s.aliyun.com/eci-instance-cpu": "1.000",
    "k8s.aliyun.com/eci-instance-mem": "2.00",
}


def reserve_of(t: PodTemplate) -> PodTemplate:
    return replace(
        t,
        role="reserve",
        annotations=ECI,
        resources=PodResources(cpu=1, memory=2 << 30, instance_type="ecs.t5-lc1m2.small"),
    )


def test_keys_and_validation() -> None:
    t = template()
    assert t.key == KEY and t.role == "standard" and t.resources is None
    assert reserve_of(t).key == RKEY
    with pytest.raises(ValueError, match="role"):
        replace(t, role="spot")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cpu"):
        PodResources(cpu=0)
    with pytest.raises(ValueError, match="memory"):
        PodResources(memory=-1)


async def test_reserve_and_standard_scale_independently(
    runtime: PodRuntime, changes: Changes
) -> None:
    std = template(command=(sys.executable, PROBE_APP))
    res = reserve_of(std)
    runtime.scale(std, 1)
    assert await runtime.wait_ready(KEY)
    assert runtime.endpoints(RKEY) == [] and runtime.revision_state(RKEY).desired == 0

    changes.keys.clear()
    runtime.scale(res, 1)  # 0 -> 1 reserve while the standard pod serves
    assert await runtime.wait_ready(RKEY)
    assert RKEY in changes.keys and KEY not in changes.keys
    (std_ep,), (res_ep,) = runtime.endpoints(KEY), runtime.endpoints(RKEY)
    assert std_ep != res_ep
    assert await get(res_ep[1]) == (200, b"probe app\n")
    assert (runtime.revision_state(KEY).ready, runtime.revision_state(RKEY).ready) == (1, 1)

    by_role = {p.role: p for p in runtime.pods()}
    s, r = by_role["standard"], by_role["reserve"]
    assert s.revision_key == KEY and r.revision_key == RKEY
    assert s.revision == r.revision == "coffee-00001"
    assert s.name.startswith("coffee-00001-deployment-") and "-reserve-" not in s.name
    prefix, hash_part, suffix = r.name.rsplit("-", 2)
    assert prefix == "coffee-00001-deployment-reserve"
    assert len(suffix) == 5 and set(hash_part + suffix) <= set(ALPHABET)
    assert r.labels[RESERVE_LABEL] == "true" and RESERVE_LABEL not in s.labels
    assert r.labels["pod-template-hash"] == hash_part
    for p in (s, r):
        assert p.labels["serving.knative.dev/revision"] == "coffee-00001"
        assert p.labels["serving.knative.dev/service"] == "coffee"
        assert p.labels["app.example/tier"] == "test"
    assert dict(r.annotations).items() >= ECI.items() and not s.annotations
    k8s = r.to_k8s()
    assert k8s["metadata"]["labels"][RESERVE_LABEL] == "true"
    assert k8s["metadata"]["annotations"]["k8s.aliyun.com/eci-instance-cpu"] == "1.000"
    assert k8s["metadata"]["annotations"][ENFORCED_ANNOTATION] == r.enforced != ""
    limits = k8s["spec"]["containers"][0]["resources"]["limits"]
    assert limits == {"cpu": "1", "memory": "2Gi"}
    assert ENFORCED_ANNOTATION not in s.to_k8s()["metadata"]["annotations"]
    assert "resources" not in s.to_k8s()["spec"]["containers"][0]

    changes.keys.clear()
    runtime.scale(std, 0)  # standard goes to zero; the reserve pod stays
    await eventually(lambda: [p.role for p in runtime.pods()] == ["reserve"], what="std gone")
    assert KEY in changes.keys
    assert runtime.endpoints(KEY) == [] and runtime.endpoints(RKEY) == [res_ep]
    assert s.pid is not None and not alive(s.pid)
    assert r.pid is not None and alive(r.pid)
    runtime.scale(res, 0)
    await eventually(lambda: not runtime.pods(), what="reserve gone")


async def test_reserve_pod_restarts_and_drains(tmp_path: Path) -> None:
    drained: list[tuple[str, int]] = []

    async def drain(endpoint: tuple[str, int]) -> None:
        drained.append(endpoint)

    runtime = PodRuntime(log_dir=tmp_path, images=ImageMap.load(None), drain=drain, grace=5)
    try:
        await _restart_and_drain(runtime, drained)
    finally:
        await runtime.shutdown(grace=2)


async def _restart_and_drain(runtime: PodRuntime, drained: list[tuple[str, int]]) -> None:
    res = reserve_of(template())
    runtime.scale(res, 1)
    assert await runtime.wait_ready(RKEY)
    (before,) = runtime.pods()
    assert before.pid is not None
    os.kill(before.pid, signal.SIGKILL)
    await eventually(lambda: runtime.pods()[0].restarts == 1, what="restart")
    assert await runtime.wait_ready(RKEY)
    (after,) = runtime.pods()
    assert after.name == before.name and after.pid != before.pid and after.role == "reserve"
    assert after.enforced == before.enforced
    assert await get(after.port) == (200, b"Hello coffee!\n")
    runtime.scale(res, 0)
    await eventually(lambda: not runtime.pods(), what="reserve gone")
    assert drained == [("127.0.0.1", after.port)]

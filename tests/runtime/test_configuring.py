"""ConfigResolver against a real store: env resolution, volume files, atomic updates."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from coldbrew.api import parse_service
from coldbrew.api.features import Features
from coldbrew.config_objects import ConfigObjects
from coldbrew.configuring import ConfigResolver
from coldbrew.runtime.environment import ConfigError, PodFacts
from coldbrew.runtime.volumes import write_atomically
from coldbrew.storing import MemoryRepository, StoredRevision
from coldbrew.translating import pod_template

FIELDREF = Features.from_mapping({"kubernetes.podspec-fieldref": "Enabled"})


def make(container: dict[str, Any], volumes: list[Any] | None = None) -> Any:
    spec: dict[str, Any] = {"containers": [{"image": "registry.example.com/a:1", **container}]}
    if volumes:
        spec["volumes"] = volumes
    obj = {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "a"},
        "spec": {"template": {"spec": spec}},
    }
    template = parse_service(obj, features=FIELDREF).template
    rev = StoredRevision("default", "a-00001", "a", 1, template.template_hash(), obj, "u", 0.0)
    return pod_template(rev, template)


@pytest.fixture
def objects() -> tuple[ConfigObjects, ConfigResolver, list[str]]:
    store = MemoryRepository()
    changed: list[str] = []
    return ConfigObjects(store, changed.append), ConfigResolver(store), changed


def facts(tmp_path: Path) -> PodFacts:
    return PodFacts(
        "a-00001-deployment-x-y", "default", "uid-1", {"app": "a"}, {"note": "n"}, tmp_path / "pod"
    )


def cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def test_env_from_then_env_with_optional_and_fields(objects: Any, tmp_path: Path) -> None:
    configs, resolver, changed = objects
    configs.apply(cm("web", GREETING="hi", **{"1st": "y"}))
    configs.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db"},
            "stringData": {"password": "pw", "GREETING": "s", "9lives": "skipped"},
        }
    )
    assert changed == ["default", "default"]
    template = make(
        {
            "env": [
                {"name": "GREETING", "value": "literal wins"},
                {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                {
                    "name": "NONE",
                    "valueFrom": {
                        "configMapKeyRef": {"name": "gone", "key": "k", "optional": True}
                    },
                },
                {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {
                    "name": "MEM",
                    "valueFrom": {
                        "resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}
                    },
                },
            ],
            "envFrom": [
                {"configMapRef": {"name": "web"}, "prefix": "CFG_"},
                {"secretRef": {"name": "db"}},
            ],
            "resources": {"limits": {"memory": "64Mi"}},
        }
    )
    env = resolver.prepare(template, facts(tmp_path), mounts=False).env
    assert env == {
        "CFG_GREETING": "hi",
        "CFG_1st": "y",
        "GREETING": "literal wins",
        "password": "pw",
        "PW": "pw",
        "APP": "a",
        "NAME": "a-00001-deployment-x-y",
        "MEM": "64",
    }


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ({"secretKeyRef": {"name": "db", "key": "pw"}}, 'secret "db" not found'),
        (
            {"configMapKeyRef": {"name": "web", "key": "nope"}},
            "couldn't find key nope in ConfigMap default/web",
        ),
    ],
)
def test_missing_references_name_what_is_missing(
    objects: Any, tmp_path: Path, ref: dict[str, Any], message: str
) -> None:
    configs, resolver, _ = objects
    configs.apply(cm("web", k="v"))
    template = make({"env": [{"name": "X", "valueFrom": ref}]})
    with pytest.raises(ConfigError) as err:
        resolver.prepare(template, facts(tmp_path), mounts=True)
    assert err.value.message == message and err.value.reason == "CreateContainerConfigError"


def test_volumes_are_written_atomically_and_follow_changes(objects: Any, tmp_path: Path) -> None:
    configs, resolver, _ = objects
    configs.apply(cm("web", greeting="hello", other="o"))
    template = make(
        {
            "volumeMounts": [
                {"name": "cfg", "mountPath": "/etc/cfg", "readOnly": True},
                {
                    "name": "one",
                    "mountPath": "/etc/one.txt",
                    "subPath": "greeting",
                    "readOnly": True,
                },
                {"name": "tmp", "mountPath": "/tmp-mem"},
            ]
        },
        [
            {
                "name": "cfg",
                "configMap": {
                    "name": "web",
                    "defaultMode": 0o600,
                    "items": [{"key": "greeting", "path": "sub/g.txt"}],
                },
            },
            {"name": "one", "configMap": {"name": "web"}},
            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
        ],
    )
    pod = facts(tmp_path)
    with pytest.raises(ConfigError) as err:
        resolver.prepare(template, pod, mounts=False)
    assert "volumeMounts[0].mountPath: the process runtime cannot mount" in err.value.message
    prepared = resolver.prepare(template, pod, mounts=True)
    binds = {b.target: b for b in prepared.binds}
    assert set(binds) == {"/etc/cfg", "/etc/one.txt"} and all(b.read_only for b in binds.values())
    assert [(t.target, t.size) for t in prepared.tmpfs] == [("/tmp-mem", 2**20)]
    assert stat.S_IMODE(pod.volume_dir.stat().st_mode) == 0o700
    cfg = binds["/etc/cfg"].source
    assert (cfg / "sub" / "g.txt").read_text() == "hello"
    assert stat.S_IMODE((cfg / "sub" / "g.txt").stat().st_mode) == 0o600
    assert os.readlink(cfg / "sub") == "..data/sub" and (cfg / "..data").is_symlink()
    assert not (cfg / "other").exists()
    single = binds["/etc/one.txt"].source
    assert single.read_text() == "hello" and not single.is_symlink()

    configs.apply(cm("web", greeting="bonjour", other="o"))
    resolver.refresh(template, pod)
    assert (cfg / "sub" / "g.txt").read_text() == "bonjour"
    stamped = [p for p in cfg.iterdir() if p.name.startswith("..") and p.name != "..data"]
    assert len(stamped) == 1  # the old timestamped dir is gone
    assert single.read_text() == "hello"  # subPath mounts do not follow, as in Kubernetes
    assert resolver.prepare(template, pod, mounts=True).binds[1].source.read_text() == "bonjour"


def test_write_atomically_replaces_the_whole_set(tmp_path: Path) -> None:
    target = tmp_path / "vol"
    write_atomically(target, {"a": (b"1", 0o644), "b": (b"2", 0o644)})
    write_atomically(target, {"b": (b"3", 0o400)})
    names = sorted(p.name for p in target.iterdir() if not p.name.startswith(".."))
    assert names == ["b"] and (target / "b").read_text() == "3"

"""env references, volumes and core v1 ConfigMaps/Secrets: what is accepted and how it shows."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from coldbrew.api import ValidationError, load_documents, parse_service
from coldbrew.api.coreobjects import MAX_SIZE, config_object_dict, parse_config_object
from coldbrew.api.envrefs import EnvFrom, FieldRef, KeyRef, ResourceRef
from coldbrew.api.features import Features
from tests.api.conftest import Manifest

FIELDREF = Features.from_mapping({"kubernetes.podspec-fieldref": "Enabled"})  # Knative: a flag

ENV = [
    {"name": "A", "value": "1"},
    {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
    {"name": "G", "valueFrom": {"configMapKeyRef": {"name": "web", "key": "g", "optional": True}}},
    {"name": "L", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
    {
        "name": "M",
        "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}},
    },
]
ENV_FROM = [{"prefix": "CFG_", "configMapRef": {"name": "web"}}, {"secretRef": {"name": "db"}}]
MOUNTS = [
    {"name": "cfg", "mountPath": "/etc/cfg", "readOnly": True},
    {"name": "tmp", "mountPath": "/cache", "subPath": "a/b"},
]
VOLUMES = [
    {
        "name": "cfg",
        "projected": {
            "defaultMode": 0o440,
            "sources": [
                {
                    "configMap": {
                        "name": "web",
                        "items": [{"key": "g", "path": "g.txt", "mode": 0o400}],
                    }
                },
                {"secret": {"name": "db"}},
                {
                    "downwardAPI": {
                        "items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]
                    }
                },
            ],
        },
    },
    {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
]


def test_references_are_parsed_in_order_and_shown_as_written(manifest: Manifest) -> None:
    obj = manifest(
        container={"env": ENV, "envFrom": ENV_FROM, "volumeMounts": MOUNTS},
        pod={"volumes": VOLUMES},
    )
    svc = parse_service(obj, features=FIELDREF)
    c = svc.template.container
    assert c.env == (("A", "1"),)  # the literal values, as before
    assert c.env_spec is not None
    sources = [v.source for v in c.env_spec.vars]
    assert sources == [
        None,
        KeyRef("secret", "db", "password"),
        KeyRef("configMap", "web", "g", optional=True),
        FieldRef("metadata.labels['app']"),
        ResourceRef("limits.memory", 2**20),
    ]
    assert c.env_spec.env_from == (EnvFrom("configMap", "web", "CFG_"), EnvFrom("secret", "db"))
    spec = svc.template.revision_spec()
    assert spec["containers"][0]["env"] == ENV
    assert spec["containers"][0]["envFrom"] == ENV_FROM
    assert spec["containers"][0]["volumeMounts"] == MOUNTS
    assert spec["volumes"] == VOLUMES
    cfg, tmp = svc.template.volumes
    assert cfg.default_mode == 0o440 and [s.kind for s in cfg.sources] == [
        "configMap",
        "secret",
        "downwardAPI",
    ]
    assert cfg.sources[0].items[0].mode == 0o400
    assert tmp.medium == "Memory" and tmp.size_limit == 64 * 2**20
    assert parse_service(obj, features=FIELDREF).template.template_hash() == (
        svc.template.template_hash()
    )
    with pytest.raises(ValidationError) as err:  # the flag's default: Disabled
        parse_service(obj)
    assert err.value.field == "spec.template.spec.containers[0].env[3].valueFrom.fieldRef"


def test_literal_env_keeps_its_old_shape(manifest: Manifest) -> None:
    svc = parse_service(manifest(container={"env": [{"name": "TARGET", "value": "x"}]}))
    assert svc.template.container.env_spec is None
    assert svc.template.revision_spec()["containers"][0]["env"] == [
        {"name": "TARGET", "value": "x"}
    ]


def core(kind: str, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": "db"}, **fields}


def test_secret_data_and_string_data_merge_and_show_base64() -> None:
    obj = parse_config_object(
        core("Secret", data={"a": "eA==", "b": "eQ=="}, stringData={"b": "z"})
    )
    assert obj.data == {"a": b"x", "b": b"z"} and obj.type == "Opaque"
    shown = config_object_dict(obj, uid="u", created="2026-01-01T00:00:00Z", version=3)
    assert shown["data"] == {"a": "eA==", "b": "eg=="}
    assert "stringData" not in shown and shown["metadata"]["resourceVersion"] == "3"
    assert parse_config_object(shown) == obj


def test_configmap_binary_data_round_trips() -> None:
    obj = parse_config_object(core("ConfigMap", data={"t": "text"}, binaryData={"b": "AAE="}))
    assert obj.data == {"t": b"text", "b": b"\x00\x01"}
    shown = config_object_dict(obj, uid="u", created="2026-01-01T00:00:00Z", version=1)
    assert shown["data"] == {"t": "text"} and shown["binaryData"] == {"b": "AAE="}


def test_size_is_bounded_at_one_mebibyte() -> None:
    big = "x" * (MAX_SIZE - 10)
    parse_config_object(core("ConfigMap", data={"k": big}))
    with pytest.raises(ValidationError) as err:
        parse_config_object(core("Secret", stringData={"k": big, "k2": "y" * 20}))
    assert err.value.field == "data" and "Too long" in str(err.value)


def test_immutable_objects_refuse_changes() -> None:
    old = parse_config_object(core("ConfigMap", data={"k": "1"}, immutable=True))
    parse_config_object(core("ConfigMap", data={"k": "1"}, immutable=True)).check_update(old)
    with pytest.raises(ValidationError) as err:
        parse_config_object(core("ConfigMap", data={"k": "2"}, immutable=True)).check_update(old)
    assert err.value.field == "data" and "immutable" in str(err.value)
    with pytest.raises(ValidationError) as err:
        parse_config_object(core("ConfigMap", data={"k": "1"})).check_update(old)
    assert err.value.field == "immutable"


def test_errors_never_carry_secret_values() -> None:
    secret = base64.b64encode(b"hunter2").decode() + "!"
    with pytest.raises(ValidationError) as err:
        parse_config_object(core("Secret", data={"pw": secret}))
    assert "hunter2" not in str(err.value) and secret not in str(err.value)


def test_the_readme_example_refers_to_the_objects_it_ships() -> None:
    folder = Path(__file__).resolve().parents[2] / "examples" / "config"
    objects = [
        parse_config_object(d) for d in load_documents((folder / "greeter-config.yaml").read_text())
    ]
    have = {(o.kind, o.name): o for o in objects}
    svc = parse_service(load_documents((folder / "greeter.yaml").read_text())[0])
    spec = svc.template.container.env_spec
    assert spec is not None
    kinds = {"configMap": "ConfigMap", "secret": "Secret"}
    for kind, name in spec.refs():
        assert (kinds[kind], name) in have
    (volume,) = svc.template.volumes
    source = volume.sources[0]
    assert source.items[0].key in have[("ConfigMap", source.name)].data


def test_resource_field_ref_names_a_known_resource(manifest: Manifest) -> None:
    ref = {"resourceFieldRef": {"resource": "limits.nvidia.com/gpu"}}
    with pytest.raises(ValidationError) as err:
        parse_service(
            manifest(container={"env": [{"name": "G", "valueFrom": ref}]}), features=FIELDREF
        )
    assert (
        err.value.field
        == "spec.template.spec.containers[0].env[0].valueFrom.resourceFieldRef.resource"
    )

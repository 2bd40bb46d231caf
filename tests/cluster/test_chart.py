"""The Helm chart, checked offline.

Rendered and linted with Helm's own engine (the ``helm-python-sdk`` package, which
binds Helm's Go SDK: no helm binary, no cluster); every rendered object and both
CRDs validated with ``kubernetes-validate`` in strict mode; values.schema.json and
the CRDs' openAPIV3Schema checked with ``jsonschema``.
"""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from coldbrew.cli.main import build_parser

jsonschema = pytest.importorskip("jsonschema", reason="needs jsonschema")
kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="needs kubernetes-validate (pip install kubernetes-validate)"
)
helm = pytest.importorskip(
    "helm_python", reason="needs helm-python-sdk (pip install helm-python-sdk)"
)

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "coldbrew"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
K8S_VERSION = "1.33.0"  # a recent release kubernetes-validate ships strict schemas for
NS = "knative-serving"

Doc = dict[str, Any]


def load_chart() -> Any:
    try:
        return helm.Chart.load(CHART)
    except helm.HelmLibraryError as exc:  # the bundled libhelm_c cannot load here
        pytest.skip(f"helm-python-sdk's native library is unusable: {exc}")


@pytest.fixture(scope="module")
def chart() -> Any:
    c = load_chart()
    yield c
    c.close()


def render(chart: Any, values: Doc | None = None) -> dict[str, str]:
    return chart.render(values, name="coldbrew", namespace=NS, is_install=True)


def objects(rendered: dict[str, str]) -> list[Doc]:
    docs: list[Doc] = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


def find(docs: list[Doc], kind: str, name: str) -> Doc:
    hits = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(hits) == 1, f"{kind}/{name}: {len(hits)} found"
    return hits[0]


@pytest.fixture(scope="module")
def docs(chart: Any) -> list[Doc]:
    return objects(render(chart))


@pytest.fixture(scope="module")
def crds(chart: Any) -> dict[str, Doc]:
    out = {}
    for entry in chart.crds:
        doc = yaml.safe_load(entry["data"])
        out[doc["metadata"]["name"]] = doc
    return out


# prometheus-operator's ServiceMonitor is a CRD kubernetes-validate has no schema for: it is
# checked strictly (unknown fields refused) against this schema of the fields of
# monitoring.coreos.com/v1 ServiceMonitor the chart may render.
DURATION = "^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
_LABEL_SELECTOR: Doc = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "matchExpressions": {"type": "array"},
    },
}
SERVICE_MONITOR_SCHEMA: Doc = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "namespace"],
            "properties": {
                "name": {"type": "string"},
                "namespace": {"type": "string"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "endpoints"],
            "properties": {
                "jobLabel": {"type": "string"},
                "selector": _LABEL_SELECTOR,
                "namespaceSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "any": {"type": "boolean"},
                        "matchNames": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string"},
                            "scheme": {"enum": ["http", "https"]},
                            "interval": {"type": "string", "pattern": DURATION},
                            "scrapeTimeout": {"type": "string"},
                        },
                    },
                },
            },
        },
    },
}


def k8s_validate(doc: Doc) -> None:
    if doc["kind"] == "ServiceMonitor":
        validator = jsonschema.Draft7Validator(SERVICE_MONITOR_SCHEMA)
        errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)]
        assert errors == [], f"ServiceMonitor/{doc['metadata']['name']}: {errors}"
        return
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.path)
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        pytest.fail(f"{name} invalid for Kubernetes {K8S_VERSION} at {where}: {exc.message}")


# --- Chart metadata and lint -------------------------------------------------------------


def test_chart_metadata(chart: Any) -> None:
    meta = chart.metadata
    with (ROOT / "pyproject.toml").open("rb") as f:
        version = tomllib.load(f)["project"]["version"]
    assert meta["apiVersion"] == "v2"
    assert meta["name"] == "coldbrew"
    assert meta["appVersion"] == version == "0.1.0"


def test_helm_lint_is_clean_in_strict_mode() -> None:
    report = helm.lint(CHART, strict=True, kube_version=f"v{K8S_VERSION}")
    assert report["errors"] == []
    bad = [m for m in report["messages"] if m["severity"] >= 2]
    assert bad == [], bad


# --- Every rendered object and CRD is valid Kubernetes -----------------------------------

VARIANTS: dict[str, Doc] = {
    "defaults": {},
    "create namespace": {"createNamespace": True},
    "other namespace and domain": {"namespace": "coldbrew-system", "domain": "apps.example.org"},
    "cluster ip, no pdb": {
        "gateway": {"service": {"type": "ClusterIP"}, "podDisruptionBudget": {"enabled": False}}
    },
    "scheduling and args": {
        "imagePullSecrets": [{"name": "regcred"}],
        "image": {"tag": "0.1.0-rc1", "pullPolicy": "Always"},
        "gateway": {
            "replicas": 3,
            "extraArgs": ["--no-reuse-port"],
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "tolerations": [{"key": "serving", "operator": "Exists", "effect": "NoSchedule"}],
            "podDisruptionBudget": {"minAvailable": "50%"},
            "service": {"annotations": {"service.beta.kubernetes.io/x": "y"}},
        },
        "autoscaler": {"stable-window": "120s", "scale-down-delay": "15m"},
        "reserve": {"reserve-instance": "enable"},
    },
    "tls, no local gateway": {
        "gateway": {
            "tls": {
                "enabled": True,
                "secretName": "wildcard-example-com",
                "domainSecrets": {"shop.example.org": "shop-tls", "*.example.net": "net-tls"},
            },
            "localService": {"enabled": False},
        }
    },
    "service monitor": {
        "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}}
    },
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_rendered_objects_are_valid_kubernetes(chart: Any, variant: str) -> None:
    values = VARIANTS[variant]
    chart.validate_schema(values)
    docs = objects(render(chart, values))
    assert len(docs) >= 18
    for doc in docs:
        k8s_validate(doc)
    cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
    namespaced = [d for d in docs if d["kind"] not in cluster_scoped]
    expected_ns = values.get("namespace", NS)
    assert {d["metadata"]["namespace"] for d in namespaced} == {expected_ns}
    namespaces = [d for d in docs if d["kind"] == "Namespace"]
    if values.get("createNamespace"):
        assert [n["metadata"]["name"] for n in namespaces] == [expected_ns]
    else:
        assert namespaces == []


def test_crds_are_valid_kubernetes(crds: dict[str, Doc]) -> None:
    assert set(crds) == {
        "services.serving.knative.dev",
        "revisions.serving.knative.dev",
        "domainmappings.serving.knative.dev",
    }
    for doc in crds.values():
        k8s_validate(doc)


# --- What the objects say ----------------------------------------------------------------


def container(deployment: Doc) -> Doc:
    (c,) = deployment["spec"]["template"]["spec"]["containers"]
    return c


@pytest.mark.parametrize("component", ["gateway", "controller", "autoscaler"])
def test_every_component_runs_the_one_image_locked_down(docs: list[Doc], component: str) -> None:
    dep = find(docs, "Deployment", f"coldbrew-{component}")
    pod = dep["spec"]["template"]["spec"]
    c = container(dep)
    assert c["image"] == "coldbrew/coldbrew:0.1.0"
    assert c["args"][0] == component
    assert "command" not in c, "the image's ENTRYPOINT (coldbrew) must stay"
    assert pod["serviceAccountName"] == f"coldbrew-{component}"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == dockerfile_uid()
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports["admin"] == 8081
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}
    # the gateway and the autoscaler are ready only when they can do their job
    ready = "/healthz" if c["name"] == "controller" else "/readyz"
    assert c["readinessProbe"]["httpGet"] == {"path": ready, "port": "admin"}
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    assert "/tmp" in mounts  # writable scratch on a read-only root


@pytest.mark.parametrize("component", ["gateway", "controller", "autoscaler"])
def test_container_args_are_a_command_line_coldbrew_accepts(
    docs: list[Doc], component: str
) -> None:
    args = container(find(docs, "Deployment", f"coldbrew-{component}"))["args"]
    parsed = build_parser().parse_args(args)  # exits (SystemExit) on an unknown flag
    assert parsed.command == component
    assert parsed.admin_port == 8081


def dockerfile_uid() -> int:
    users = re.findall(r"^USER\s+(\d+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert users, "the Dockerfile has no numeric USER"
    return int(users[-1])


def test_gateway_deployment_service_and_pdb(docs: list[Doc]) -> None:
    dep = find(docs, "Deployment", "coldbrew-gateway")
    assert dep["spec"]["replicas"] == 2
    c = container(dep)
    assert {p["name"]: p["containerPort"] for p in c["ports"]}["http"] == 8080
    args = c["args"]
    assert "--kubernetes" in args and "--feed" not in args
    assert args[args.index("--drain-delay") + 1] == "5"
    assert args[args.index("--admin-port") + 1] == "8081"
    assert args[args.index("--stats-url") + 1] == (
        f"ws://coldbrew-autoscaler.{NS}.svc:8081/autoscaler/stream"
    )
    svc = find(docs, "Service", "ingress-gateway")
    assert svc["spec"]["type"] == "LoadBalancer"
    (port,) = svc["spec"]["ports"]
    assert (port["port"], port["targetPort"]) == (80, "http")
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= labels.items()
    pdb = find(docs, "PodDisruptionBudget", "coldbrew-gateway")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_knative_local_gateway_selects_the_gateway_pods(docs: list[Doc]) -> None:
    dep = find(docs, "Deployment", "coldbrew-gateway")
    local = find(docs, "Service", "knative-local-gateway")
    assert local["spec"]["type"] == "ClusterIP"
    (port,) = local["spec"]["ports"]
    assert (port["port"], port["targetPort"]) == (80, "http")
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert local["spec"]["selector"].items() <= labels.items()
    assert "--https-port" not in container(dep)["args"]  # TLS is off by default


def test_tls_mounts_secrets_and_passes_their_files(chart: Any) -> None:
    values = VARIANTS["tls, no local gateway"]
    docs = objects(render(chart, values))
    assert not [d for d in docs if d["metadata"]["name"] == "knative-local-gateway"]
    dep = find(docs, "Deployment", "coldbrew-gateway")
    c = container(dep)
    parsed = build_parser().parse_args(c["args"])
    assert parsed.https_port == 8443
    assert str(parsed.tls_cert) == "/etc/coldbrew/tls/default/tls.crt"
    assert str(parsed.tls_key) == "/etc/coldbrew/tls/default/tls.key"
    assert parsed.tls_domain_cert == [
        "*.example.net=/etc/coldbrew/tls/domain-0/tls.crt:/etc/coldbrew/tls/domain-0/tls.key",
        "shop.example.org=/etc/coldbrew/tls/domain-1/tls.crt:/etc/coldbrew/tls/domain-1/tls.key",
    ]
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    secrets = {
        v["name"]: v["secret"]["secretName"] for v in dep["spec"]["template"]["spec"]["volumes"]
        if "secret" in v
    }  # fmt: skip
    assert secrets[mounts["/etc/coldbrew/tls/default"]] == "wildcard-example-com"
    assert secrets[mounts["/etc/coldbrew/tls/domain-0"]] == "net-tls"
    assert secrets[mounts["/etc/coldbrew/tls/domain-1"]] == "shop-tls"
    assert str(parsed.tls_dir) == "/tmp/tls-mappings"  # DomainMappings' own Secrets
    assert rules(docs, "coldbrew-gateway")[("", "secrets")] == READ
    assert {p["name"]: p["containerPort"] for p in c["ports"]}["https"] == 8443
    svc = find(docs, "Service", "ingress-gateway")
    ports = {p["name"]: (p["port"], p["targetPort"]) for p in svc["spec"]["ports"]}
    assert ports == {"http": (80, "http"), "https": (443, "https")}
    with pytest.raises(helm.HelmError, match=r"gateway\.tls\.secretName"):
        render(chart, {"gateway": {"tls": {"enabled": True}}})


@pytest.mark.parametrize("component", ["controller", "autoscaler"])
def test_controller_and_autoscaler_services_reach_their_pods(
    docs: list[Doc], component: str
) -> None:
    dep = find(docs, "Deployment", f"coldbrew-{component}")
    svc = find(docs, "Service", f"coldbrew-{component}")
    assert svc["spec"]["selector"].items() <= dep["spec"]["template"]["metadata"]["labels"].items()
    assert svc["spec"]["ports"][0]["port"] == 8081
    c = container(dep)
    assert c["args"][c["args"].index("--config") + 1] == "/etc/coldbrew/config.yaml"
    volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
    assert volumes["config"]["configMap"]["name"] == "config-autoscaler"


def test_config_maps_hold_knative_keys_coldbrew_accepts(docs: list[Doc]) -> None:
    from coldbrew.platform_config import parse_config

    cm = find(docs, "ConfigMap", "config-autoscaler")["data"]
    assert cm["stable-window"] == "60s"
    assert cm["container-concurrency-target-percentage"] == "70"
    config = parse_config(yaml.safe_load(cm["config.yaml"]))
    assert config.autoscaler.stable_window == 60.0
    assert config.autoscaler.container_concurrency_target_percentage == 70.0
    assert find(docs, "ConfigMap", "config-domain")["data"] == {"example.com": ""}


def test_autoscaler_values_reach_the_config_file(chart: Any) -> None:
    from coldbrew.platform_config import parse_config

    values = {"autoscaler": {"stable-window": "120s", "max-scale-down-rate": "4.0"}}
    cm = find(objects(render(chart, values)), "ConfigMap", "config-autoscaler")["data"]
    config = parse_config(yaml.safe_load(cm["config.yaml"]))
    assert config.autoscaler.stable_window == 120.0
    assert config.autoscaler.max_scale_down_rate == 4.0


def test_feature_flags_reach_the_config_file(chart: Any) -> None:
    from coldbrew.api.features import DEFAULTS
    from coldbrew.platform_config import parse_config

    docs = objects(render(chart))
    assert find(docs, "ConfigMap", "config-features")["data"] == DEFAULTS
    values = {"features": {"kubernetes.podspec-affinity": "Enabled"}}
    rendered = objects(render(chart, values))
    cm = find(rendered, "ConfigMap", "config-autoscaler")["data"]
    config = parse_config(yaml.safe_load(cm["config.yaml"]))
    assert config.features.flag("kubernetes.podspec-affinity") == "Enabled"
    assert config.features.flag("multi-container") == "Enabled"  # the other defaults stay
    flags = find(rendered, "ConfigMap", "config-features")["data"]
    assert flags["kubernetes.podspec-affinity"] == "Enabled"


def rules(docs: list[Doc], name: str) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for rule in find(docs, "ClusterRole", name)["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out.setdefault((group, resource), set()).update(rule["verbs"])
    return out


READ = {"get", "list", "watch"}


def test_controller_rbac(docs: list[Doc]) -> None:
    r = rules(docs, "coldbrew-controller")
    crud = READ | {"create", "update", "patch", "delete"}
    for resource in ("services", "revisions"):
        assert r[("serving.knative.dev", resource)] == crud
        assert {"update", "patch"} <= r[("serving.knative.dev", f"{resource}/status")]
    assert r[("apps", "deployments")] == crud
    assert r[("serving.knative.dev", "domainmappings")] == READ
    assert {"update", "patch"} <= r[("serving.knative.dev", "domainmappings/status")]
    assert ("apps", "deployments/scale") not in r  # the autoscaler owns replicas
    assert ("", "pods") not in r
    assert r[("", "events")] == {"create", "patch"}  # Created/Updated; repeats patch the count
    assert not any("*" in verbs for verbs in r.values())
    assert not any("*" in key[1] or key[1] == "secrets" for key in r)


def test_autoscaler_and_gateway_rbac_are_narrower(docs: list[Doc]) -> None:
    a = rules(docs, "coldbrew-autoscaler")
    assert set(a) == {
        ("serving.knative.dev", "services"),
        ("serving.knative.dev", "revisions"),
        ("apps", "deployments"),
        ("apps", "deployments/scale"),
        ("", "events"),
    }
    assert a[("apps", "deployments/scale")] == {"get", "patch"}  # replicas, nothing else
    assert a[("", "events")] == {"create", "patch"}  # rescales and hand-overs
    assert a[("apps", "deployments")] == READ
    assert a[("serving.knative.dev", "revisions")] == READ
    g = rules(docs, "coldbrew-gateway")
    assert set(g) == {
        ("serving.knative.dev", "services"),
        ("serving.knative.dev", "revisions"),
        ("serving.knative.dev", "domainmappings"),
        ("", "pods"),
    }
    assert all(verbs == READ for verbs in g.values())
    for component in ("controller", "autoscaler", "gateway"):
        binding = find(docs, "ClusterRoleBinding", f"coldbrew-{component}")
        assert binding["roleRef"]["name"] == f"coldbrew-{component}"
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": f"coldbrew-{component}", "namespace": NS}
        ]
        find(docs, "ServiceAccount", f"coldbrew-{component}")
    lease = find(docs, "Role", "coldbrew-leader-election")["rules"]
    assert lease == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "verbs": ["get", "create", "update"],
        }
    ]


def test_notes_tell_how_to_reach_the_first_service(chart: Any) -> None:
    notes = render(chart)["coldbrew/templates/NOTES.txt"]
    assert "kubectl -n knative-serving get svc ingress-gateway" in notes
    assert 'curl -H "Host: coffee.default.example.com" http://<EXTERNAL-IP>' in notes


# --- values.schema.json ------------------------------------------------------------------

BAD_VALUES: dict[str, Doc] = {
    "replicas is a word": {"gateway": {"replicas": "two"}},
    "zero gateways": {"gateway": {"replicas": 0}},
    "unknown autoscaler key": {"autoscaler": {"stable-windw": "60s"}},
    "autoscaler value not a string": {"autoscaler": {"stable-window": 60}},
    "bad pull policy": {"image": {"pullPolicy": "Sometimes"}},
    "unknown top-level value": {"replicaCount": 3},
    "unknown feature flag": {"features": {"kubernetes.podspec-nope": "Enabled"}},
    "feature flag not a flag": {"features": {"multi-container": "yes"}},
    "service type": {"gateway": {"service": {"type": "Ingress"}}},
}


def test_default_values_satisfy_the_schema(chart: Any) -> None:
    chart.validate_schema(None)
    schema = chart.schema
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(chart.values)


def walk_values(value: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every leaf's path as its keys (keys may hold dots: kubernetes.podspec-affinity)."""
    if isinstance(value, dict) and value:
        return {p for k, v in value.items() for p in walk_values(v, (*prefix, k))}
    return {prefix}


def test_schema_covers_every_value(chart: Any) -> None:
    schema = chart.schema
    for parts in sorted(walk_values(chart.values)):
        node = schema
        path = ".".join(parts)
        for part in parts:
            props = node.get("properties", {})
            if "$ref" in props.get(part, {}):
                break  # a shared definition (resources)
            assert part in props, f"values.schema.json does not describe {path}"
            node = props[part]


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_schema_rejects_bad_values(chart: Any, case: str) -> None:
    values = BAD_VALUES[case]
    with pytest.raises(helm.HelmValuesError):
        chart.validate_schema(values)
    with pytest.raises(helm.HelmError):
        render(chart, values)  # helm install would refuse it too
    merged = chart.merge_values(values)
    assert not jsonschema.Draft7Validator(chart.schema).is_valid(merged)


# --- CRDs: names, columns and an openAPIV3Schema that takes the examples -----------------


def test_crd_names_and_versions(crds: dict[str, Doc]) -> None:
    ksvc = crds["services.serving.knative.dev"]["spec"]
    rev = crds["revisions.serving.knative.dev"]["spec"]
    assert ksvc["names"]["kind"] == "Service"
    assert ksvc["names"]["shortNames"] == ["ksvc", "kservice"]
    assert rev["names"]["kind"] == "Revision"
    assert rev["names"]["shortNames"] == ["rev"]
    for spec in (ksvc, rev):
        assert spec["group"] == "serving.knative.dev"
        assert spec["scope"] == "Namespaced"
        (version,) = spec["versions"]
        assert (version["name"], version["served"], version["storage"]) == ("v1", True, True)
        assert version["subresources"] == {"status": {}}


def columns(crd: Doc) -> list[tuple[str, str]]:
    cols = crd["spec"]["versions"][0]["additionalPrinterColumns"]
    return [(c["name"], c["jsonPath"]) for c in cols]


READY = ".status.conditions[?(@.type=='Ready')]"


def test_printer_columns_match_knative(crds: dict[str, Doc]) -> None:
    assert columns(crds["services.serving.knative.dev"]) == [
        ("URL", ".status.url"),
        ("LatestCreated", ".status.latestCreatedRevisionName"),
        ("LatestReady", ".status.latestReadyRevisionName"),
        ("Ready", f"{READY}.status"),
        ("Reason", f"{READY}.reason"),
    ]
    assert columns(crds["revisions.serving.knative.dev"]) == [
        ("Config Name", ".metadata.labels['serving\\.knative\\.dev/configuration']"),
        ("Generation", ".metadata.labels['serving\\.knative\\.dev/configurationGeneration']"),
        ("Ready", f"{READY}.status"),
        ("Reason", f"{READY}.reason"),
        ("Actual Replicas", ".status.actualReplicas"),
        ("Desired Replicas", ".status.desiredReplicas"),
    ]
    assert columns(crds["domainmappings.serving.knative.dev"]) == [
        ("URL", ".status.url"),
        ("Ready", f"{READY}.status"),
        ("Reason", f"{READY}.reason"),
    ]


def test_domain_mapping_crd_takes_a_mapping_and_refuses_a_bad_one(crds: dict[str, Doc]) -> None:
    crd = crds["domainmappings.serving.knative.dev"]["spec"]
    assert crd["names"]["shortNames"] == ["dm"]
    (version,) = crd["versions"]
    assert (version["name"], version["subresources"]) == ("v1beta1", {"status": {}})
    validator = jsonschema.Draft7Validator(
        service_schema(crds, "domainmappings.serving.knative.dev")
    )
    ref = {"name": "coffee", "kind": "Service", "apiVersion": "serving.knative.dev/v1"}
    doc = {
        "apiVersion": "serving.knative.dev/v1beta1",
        "kind": "DomainMapping",
        "metadata": {"name": "shop.example.org", "namespace": "default"},
        "spec": {"ref": ref, "tls": {"secretName": "shop-tls"}},
    }
    assert list(validator.iter_errors(doc)) == []
    doc["spec"] = {"ref": {"name": "coffee"}}
    assert list(validator.iter_errors(doc))


def assert_structural(node: Doc, path: str = "") -> None:
    """Every node has a type unless it preserves unknown fields (structural-schema rule)."""
    if not node.get("x-kubernetes-preserve-unknown-fields") and not node.get(
        "x-kubernetes-int-or-string"
    ):
        assert "type" in node, f"{path or '/'}: no type"
    for forbidden in ("$ref", "definitions", "additionalItems", "patternProperties"):
        assert forbidden not in node, f"{path}: {forbidden} is not allowed in a CRD schema"
    assert not ("properties" in node and "additionalProperties" in node), path
    for name, child in node.get("properties", {}).items():
        assert_structural(child, f"{path}/{name}")
    if isinstance(node.get("items"), dict):
        assert_structural(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        assert_structural(node["additionalProperties"], f"{path}/*")


def to_json_schema(node: Doc) -> Doc:
    """openAPIV3Schema -> JSON schema. Kubernetes extensions are dropped; an object with
    properties and no x-kubernetes-preserve-unknown-fields refuses unknown fields (as
    kubectl's strict field validation does, instead of pruning them)."""
    out: Doc = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-") or key in ("format", "description", "nullable"):
            continue
        if key == "properties":
            out[key] = {k: to_json_schema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = to_json_schema(value)
        else:
            out[key] = copy.deepcopy(value)
    if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def service_schema(crds: dict[str, Doc], name: str = "services.serving.knative.dev") -> Doc:
    raw = crds[name]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert_structural(raw)
    schema = to_json_schema(raw)
    jsonschema.Draft7Validator.check_schema(schema)
    return schema


def test_crd_schemas_are_structural(crds: dict[str, Doc]) -> None:
    for name in crds:
        service_schema(crds, name)


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_fits_the_service_crd(crds: dict[str, Doc], example: Path) -> None:
    assert EXAMPLES, "no examples/*.yaml"
    validator = jsonschema.Draft7Validator(service_schema(crds))
    docs = [d for d in yaml.safe_load_all(example.read_text()) if d]
    assert docs
    for doc in docs:
        assert (doc["apiVersion"], doc["kind"]) == ("serving.knative.dev/v1", "Service")
        errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)]
        assert errors == []


def broken(change: str) -> Doc:
    doc = yaml.safe_load((ROOT / "examples" / "coffee-canary.yaml").read_text())
    spec = doc["spec"]
    if change == "percent is a word":
        spec["traffic"][0]["percent"] = "seventy"
    elif change == "percent over 100":
        spec["traffic"][0]["percent"] = 170
    elif change == "containers not a list":
        spec["template"]["spec"]["containers"] = {"image": "x"}
    elif change == "misspelt traffic":
        spec["trafic"] = spec.pop("traffic")
    elif change == "env without a name":
        del spec["template"]["spec"]["containers"][0]["env"][0]["name"]
    elif change == "negative concurrency":
        spec["template"]["spec"]["containerConcurrency"] = -1
    elif change == "annotation not a string":
        spec["template"]["metadata"]["annotations"]["autoscaling.knative.dev/target"] = 10
    return doc


@pytest.mark.parametrize(
    "change",
    [
        "percent is a word",
        "percent over 100",
        "containers not a list",
        "misspelt traffic",
        "env without a name",
        "negative concurrency",
        "annotation not a string",
    ],
)
def test_service_crd_rejects_an_invalid_document(crds: dict[str, Doc], change: str) -> None:
    validator = jsonschema.Draft7Validator(service_schema(crds))
    assert validator.is_valid(broken("none"))
    assert not validator.is_valid(broken(change))


def test_gc_values_reach_config_gc_and_the_config_file(chart: Any) -> None:
    from coldbrew.platform_config import parse_config
    from rulebook.gc import GCConfig

    docs = objects(render(chart))
    assert find(docs, "ConfigMap", "config-gc")["data"] == {
        "retain-since-create-time": "48h",
        "retain-since-last-active-time": "15h",
        "min-non-active-revisions": "20",
        "max-non-active-revisions": "1000",
    }
    cm = find(docs, "ConfigMap", "config-autoscaler")["data"]
    assert parse_config(yaml.safe_load(cm["config.yaml"])).gc == GCConfig()
    values = {"gc": {"retain-since-create-time": "disabled", "min-non-active-revisions": "3"}}
    cm = find(objects(render(chart, values)), "ConfigMap", "config-autoscaler")["data"]
    gc = parse_config(yaml.safe_load(cm["config.yaml"])).gc
    assert (gc.retain_since_create, gc.min_non_active, gc.max_non_active) == (None, 3, 1000)


# --- Prometheus: scrape annotations, the optional ServiceMonitor -------------------------


@pytest.mark.parametrize("component", ["gateway", "controller", "autoscaler"])
def test_pods_are_annotated_for_scraping(docs: list[Doc], component: str) -> None:
    deployment = find(docs, "Deployment", f"coldbrew-{component}")
    pod = deployment["spec"]["template"]
    notes = pod["metadata"]["annotations"]
    assert notes["prometheus.io/scrape"] == "true"
    assert notes["prometheus.io/path"] == "/metrics"
    ports = {p["name"]: p["containerPort"] for p in pod["spec"]["containers"][0]["ports"]}
    assert int(notes["prometheus.io/port"]) == ports["admin"]
    assert not [d for d in docs if d["kind"] == "ServiceMonitor"]  # off by default


def test_service_monitor_finds_every_component(chart: Any) -> None:
    values = {"metrics": {"podAnnotations": False, "serviceMonitor": {"enabled": True}}}
    docs = objects(render(chart, values))
    monitor = find(docs, "ServiceMonitor", "coldbrew")
    k8s_validate(monitor)
    assert monitor["spec"]["endpoints"] == [
        {"port": "http-admin", "path": "/metrics", "interval": "15s"}
    ]
    selector = monitor["spec"]["selector"]["matchLabels"]
    with_admin = [
        d["metadata"]["name"]
        for d in docs
        if d["kind"] == "Service"
        and selector.items() <= d["metadata"]["labels"].items()
        and any(p["name"] == "http-admin" for p in d["spec"]["ports"])
    ]
    assert sorted(with_admin) == [
        "coldbrew-autoscaler",
        "coldbrew-controller",
        "coldbrew-gateway-admin",
    ]
    gateway = find(docs, "Deployment", "coldbrew-gateway")["spec"]["template"]["metadata"]
    assert "annotations" not in gateway  # podAnnotations: false


def test_service_monitor_schema_is_strict() -> None:
    validator = jsonschema.Draft7Validator(SERVICE_MONITOR_SCHEMA)
    good = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "x", "namespace": NS},
        "spec": {"selector": {"matchLabels": {}}, "endpoints": [{"port": "http-admin"}]},
    }
    assert validator.is_valid(good)
    bad = copy.deepcopy(good)
    bad["spec"]["endpoints"][0]["prot"] = "http-admin"
    assert not validator.is_valid(bad)

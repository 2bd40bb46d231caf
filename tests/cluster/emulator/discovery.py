"""What the emulator serves: its resources, legacy discovery, and OpenAPI v3 for kubectl.

Custom resources come from the chart's CRDs (``charts/coldbrew/crds``: names, short
names, categories, ``additionalPrinterColumns``, ``openAPIV3Schema``); core and other
built-in kinds are listed here with the columns kubectl shows for them (built by
:mod:`.tables`). Discovery is the legacy form (``/api``, ``/apis``, ``/api/v1``,
``/apis/{group}/{version}``), which kubectl falls back to when the answer is not the
aggregated form. ``/openapi/v3`` lists one document per group-version whose PATCH
operations carry ``x-kubernetes-group-version-kind`` and the ``fieldValidation`` query
parameter: that is how kubectl decides the server validates fields (so it sends
``fieldValidation=Strict`` instead of validating client-side). The documents hold no
schemas: kubectl then computes strategic merge patches from its built-in types.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CRDS = Path(__file__).resolve().parents[3] / "charts" / "coldbrew" / "crds"
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core group
    version: str
    plural: str
    singular: str
    kind: str
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    columns: tuple[dict[str, Any], ...] = ()  # a CRD's additionalPrinterColumns
    schema: dict[str, Any] | None = None  # a CRD's openAPIV3Schema
    subresources: tuple[str, ...] = ()
    namespaced: bool = True
    custom: bool = False  # a CRD: JSON merge patch only, fields checked against schema

    @property
    def gv(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def api_resources(self) -> list[dict[str, Any]]:
        main = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": VERBS,
        }
        if self.short_names:
            main["shortNames"] = list(self.short_names)
        if self.categories:
            main["categories"] = list(self.categories)
        subs = [
            {
                "name": f"{self.plural}/{sub}",
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": "Scale" if sub == "scale" else self.kind,
                "verbs": ["get", "patch", "update"],
                **({"group": "autoscaling", "version": "v1"} if sub == "scale" else {}),
            }
            for sub in self.subresources
        ]
        return [main, *subs]


def _crd(path: Path) -> list[Resource]:
    doc = yaml.safe_load(path.read_text())
    spec, names = doc["spec"], doc["spec"]["names"]
    return [
        Resource(
            group=spec["group"],
            version=v["name"],
            plural=names["plural"],
            singular=names.get("singular", names["kind"].lower()),
            kind=names["kind"],
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            columns=tuple(v.get("additionalPrinterColumns") or ()),
            schema=(v.get("schema") or {}).get("openAPIV3Schema"),
            subresources=tuple(v.get("subresources") or {}),
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            custom=True,
        )
        for v in spec["versions"]
        if v.get("served", True)
    ]


BUILT_IN = (
    Resource("", "v1", "pods", "pod", "Pod", ("po",), ("all",), subresources=("status",)),
    Resource(
        "", "v1", "services", "service", "Service", ("svc",), ("all",), subresources=("status",)
    ),
    Resource("", "v1", "configmaps", "configmap", "ConfigMap", ("cm",)),
    Resource("", "v1", "secrets", "secret", "Secret"),
    Resource("", "v1", "events", "event", "Event", ("ev",)),
    Resource(
        "apps",
        "v1",
        "deployments",
        "deployment",
        "Deployment",
        ("deploy",),
        ("all",),
        subresources=("status", "scale"),
    ),
    Resource("coordination.k8s.io", "v1", "leases", "lease", "Lease"),
)


@dataclass
class Catalog:
    """Every resource the emulator serves, by ``(group/version, plural)``."""

    resources: dict[tuple[str, str], Resource] = field(default_factory=dict)

    @classmethod
    def default(cls) -> Catalog:
        out = cls()
        for r in [*BUILT_IN, *(r for p in sorted(CRDS.glob("*.yaml")) for r in _crd(p))]:
            out.resources[(r.gv, r.plural)] = r
        return out

    def get(self, gv: str, plural: str) -> Resource | None:
        return self.resources.get((gv, plural))

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for r in self.resources.values():
            versions = out.setdefault(r.group, [])
            if r.version not in versions:
                versions.append(r.version)
        return out

    # -- discovery documents --------------------------------------------------

    def api_versions(self) -> dict[str, Any]:
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}

    def api_group_list(self) -> dict[str, Any]:
        groups = []
        for group, versions in sorted(self.groups().items()):
            if not group:
                continue
            listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
            groups.append({"name": group, "versions": listed, "preferredVersion": listed[0]})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def resource_list(self, gv: str) -> dict[str, Any] | None:
        found = [r for r in self.resources.values() if r.gv == gv]
        if not found:
            return None
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": gv,
            "resources": [entry for r in found for entry in r.api_resources()],
        }

    # -- OpenAPI v3 -------------------------------------------------------------

    def openapi_document(self, gv: str) -> dict[str, Any] | None:
        found = [r for r in self.resources.values() if r.gv == gv]
        if not found:
            return None
        prefix = f"/apis/{gv}" if "/" in gv else f"/api/{gv}"
        paths: dict[str, Any] = {}
        for r in found:
            gvk = {"group": r.group, "version": r.version, "kind": r.kind}
            params = [
                {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
            ]
            paths[f"{prefix}/namespaces/{{namespace}}/{r.plural}/{{name}}"] = {
                "patch": {
                    "operationId": f"patch{r.kind}",
                    "parameters": params,
                    "x-kubernetes-group-version-kind": gvk,
                    "x-kubernetes-action": "patch",
                    "responses": {"200": {"description": "OK"}},
                },
            }
        return {
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": "v1.32.0"},
            "paths": paths,
        }

    def openapi_root(self) -> dict[str, Any]:
        paths = {}
        for gv in sorted({r.gv for r in self.resources.values()}):
            key = f"apis/{gv}" if "/" in gv else f"api/{gv}"
            body = json.dumps(self.openapi_document(gv), sort_keys=True).encode()
            digest = hashlib.sha512(body).hexdigest()[:32].upper()
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
        return {"paths": paths}

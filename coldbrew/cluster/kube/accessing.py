"""Raw-dict access to any namespaced resource through kubernetes-asyncio.

kubernetes-asyncio's ``CustomObjectsApi`` speaks the generic
``/apis/{group}/{version}/namespaces/{ns}/{plural}`` paths, which serve
``apps/v1`` Deployments as well as Knative's resources; objects stay plain dicts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio import config as kube_config
from kubernetes_asyncio.client.exceptions import ApiException

MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True, slots=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def core(self) -> bool:
        return not self.group


SERVICES = Resource("serving.knative.dev", "v1", "services", "Service")
REVISIONS = Resource("serving.knative.dev", "v1", "revisions", "Revision")
DOMAIN_MAPPINGS = Resource("serving.knative.dev", "v1beta1", "domainmappings", "DomainMapping")
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")
PODS = Resource("", "v1", "pods", "Pod")  # core group: served under /api/v1
SECRETS = Resource("", "v1", "secrets", "Secret")


async def connect(kubeconfig: str | None = None) -> client.ApiClient:
    """An API client: an explicit ``kubeconfig``, else in-cluster, else ``~/.kube/config``.

    The caller closes it (``await api.close()`` or ``async with``).
    """
    if kubeconfig:
        await kube_config.load_kube_config(config_file=kubeconfig)
    else:
        try:
            kube_config.load_incluster_config()
        except kube_config.ConfigException:
            await kube_config.load_kube_config()
    return client.ApiClient()


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of an :class:`ApiException` (None for anything else)."""
    return exc.status if isinstance(exc, ApiException) else None


class Kube:
    """get/list/create/patch/replace-status/watch of raw objects."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self.api_client = api_client
        self.api = client.CustomObjectsApi(api_client)
        self.core = client.CoreV1Api(api_client)

    async def get(self, res: Resource, ns: str, name: str) -> dict[str, Any] | None:
        try:
            obj: dict[str, Any] = await self.api.get_namespaced_custom_object(
                res.group, res.version, ns, res.plural, name
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return obj

    async def list(
        self, res: Resource, ns: str | None = None, selector: str | None = None
    ) -> dict[str, Any]:
        """The whole list object (``items`` and ``metadata.resourceVersion``)."""
        kwargs: dict[str, Any] = {}
        if selector:
            kwargs["label_selector"] = selector
        if res.core:
            return await self._core_list(res, ns, **kwargs)
        if ns is None:
            out: dict[str, Any] = await self.api.list_cluster_custom_object(
                res.group, res.version, res.plural, **kwargs
            )
        else:
            out = await self.api.list_namespaced_custom_object(
                res.group, res.version, ns, res.plural, **kwargs
            )
        return out

    async def _core_list(self, res: Resource, ns: str | None, **kwargs: Any) -> Any:
        """Core resources (pods) through CoreV1Api, raw: no model classes on the way."""
        every: Any
        one: Any
        if res.plural == "pods":
            every, one = self.core.list_pod_for_all_namespaces, self.core.list_namespaced_pod
        elif res.plural == "secrets":
            every, one = self.core.list_secret_for_all_namespaces, self.core.list_namespaced_secret
        else:
            raise ValueError(f"core resource {res.plural!r} is not supported")
        if ns is None:
            response = await every(_preload_content=False, **kwargs)
        else:
            response = await one(ns, _preload_content=False, **kwargs)
        if kwargs.get("watch"):
            return response
        try:
            return json.loads(await response.read())
        finally:
            response.release()

    async def create(self, res: Resource, ns: str, body: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = await self.api.create_namespaced_custom_object(
            res.group, res.version, ns, res.plural, body
        )
        return out

    async def patch(
        self, res: Resource, ns: str, name: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        out: dict[str, Any] = await self.api.patch_namespaced_custom_object(
            res.group, res.version, ns, res.plural, name, body, _content_type=MERGE_PATCH
        )
        return out

    async def delete(self, res: Resource, ns: str, name: str) -> bool:
        """DELETE the object (dependents cascade); False when it was already gone."""
        try:
            await self.api.delete_namespaced_custom_object(
                res.group, res.version, ns, res.plural, name
            )
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def replace(
        self, res: Resource, ns: str, name: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """PUT the whole object; ``body`` carries ``metadata.resourceVersion`` (409 if stale)."""
        out: dict[str, Any] = await self.api.replace_namespaced_custom_object(
            res.group, res.version, ns, res.plural, name, body
        )
        return out

    async def scale(self, res: Resource, ns: str, name: str, replicas: int) -> dict[str, Any]:
        """Set ``spec.replicas`` through the ``/scale`` subresource (merge patch)."""
        out: dict[str, Any] = await self.api.patch_namespaced_custom_object_scale(
            res.group,
            res.version,
            ns,
            res.plural,
            name,
            {"spec": {"replicas": replicas}},
            _content_type=MERGE_PATCH,
        )
        return out

    async def replace_status(
        self, res: Resource, ns: str, name: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """PUT ``/status``; ``body`` carries ``metadata.resourceVersion`` (409 if stale)."""
        out: dict[str, Any] = await self.api.replace_namespaced_custom_object_status(
            res.group, res.version, ns, res.plural, name, body
        )
        return out

    async def watch(
        self,
        res: Resource,
        resource_version: str,
        timeout_seconds: int,
        selector: str | None = None,
    ) -> Any:
        """Open a watch stream (all namespaces); the raw aiohttp response."""
        if res.core:
            return await self._core_list(
                res,
                None,
                watch=True,
                resource_version=resource_version,
                timeout_seconds=timeout_seconds,
                allow_watch_bookmarks=True,
                **({"label_selector": selector} if selector else {}),
            )
        return await self.api.list_cluster_custom_object(
            res.group,
            res.version,
            res.plural,
            watch=True,
            resource_version=resource_version,
            timeout_seconds=timeout_seconds,
            allow_watch_bookmarks=True,
            _preload_content=False,
            **({"label_selector": selector} if selector else {}),
        )


def decode_line(line: bytes) -> dict[str, Any] | None:
    line = line.strip()
    return json.loads(line) if line else None

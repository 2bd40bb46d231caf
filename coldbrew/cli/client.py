"""A typed client of the control API (httpx), used by the CLI and by tests."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from coldbrew.authorizing import client_token

if TYPE_CHECKING:  # imported by the Client itself: ``coldbrew serve`` loads this module
    import httpx  # (the CLI's parser) and needs none of httpx, ~5 MB of its memory

DEFAULT_SERVER = "http://127.0.0.1:8081"
SERVING = "/apis/serving.knative.dev/v1"
SERVING_BETA = "/apis/serving.knative.dev/v1beta1"
CORE = "/api/v1"
AUTOSCALING = "/apis/autoscaling.internal.knative.dev/v1alpha1"
APPLIES = "/apis/coldbrew.dev/v1/applies"  # Services in batches (coldbrew.control_batch)
BATCH_READ_TIMEOUT = 300.0

KINDS = {
    # name the user types -> (api prefix, plural)
    "ksvc": (SERVING, "services"),
    "revisions": (SERVING, "revisions"),
    "pods": (CORE, "pods"),
    "kpa": (AUTOSCALING, "podautoscalers"),
    "domainmappings": (SERVING_BETA, "domainmappings"),
    "events": (CORE, "events"),
    "configmaps": (CORE, "configmaps"),
    "secrets": (CORE, "secrets"),
}
# The kinds ``apply`` and ``delete`` take: manifest kind -> what ``get`` calls it.
WRITABLE = {
    "Service": "ksvc",
    "DomainMapping": "domainmappings",
    "ConfigMap": "configmaps",
    "Secret": "secrets",
}
ALIASES = {
    "ksvc": "ksvc",
    "kservice": "ksvc",
    "service": "ksvc",
    "services": "ksvc",
    "revision": "revisions",
    "revisions": "revisions",
    "rev": "revisions",
    "pod": "pods",
    "pods": "pods",
    "po": "pods",
    "kpa": "kpa",
    "podautoscaler": "kpa",
    "podautoscalers": "kpa",
    "dm": "domainmappings",
    "domainmapping": "domainmappings",
    "domainmappings": "domainmappings",
    "events": "events",
    "event": "events",
    "ev": "events",
    "configmap": "configmaps",
    "configmaps": "configmaps",
    "cm": "configmaps",
    "secret": "secrets",
    "secrets": "secrets",
}


class ClientError(RuntimeError):
    """A failure to show the user as it is; ``code``: the HTTP status of a refusal."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class Client:
    def __init__(
        self, server: str | None = None, timeout: float = 30.0, token: str | None = None
    ) -> None:
        """``token``: the control API's bearer token; by default ``$COLDBREW_TOKEN``, else
        the token file of the default state dir (see :mod:`coldbrew.authorizing`)."""
        self.server = (server or os.environ.get("COLDBREW_SERVER") or DEFAULT_SERVER).rstrip("/")
        token = token or client_token()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        import httpx

        self._transport_error = httpx.TransportError
        self._http = httpx.Client(base_url=self.server, timeout=timeout, headers=headers)

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except self._transport_error as exc:
            raise ClientError(
                f"cannot reach the coldbrew server at {self.server} ({exc}); "
                "is `coldbrew serve` running? (set --server or $COLDBREW_SERVER)"
            ) from exc

    @staticmethod
    def _check(resp: httpx.Response) -> Any:
        if resp.status_code >= 400:
            try:
                message = resp.json().get("message", resp.text)
            except ValueError:
                message = resp.text.strip()
            raise ClientError(
                f"Error from server ({resp.status_code}): {message}", resp.status_code
            )
        return resp.json()

    def apply(self, obj: dict[str, Any]) -> str:
        """Apply one Service, DomainMapping, ConfigMap or Secret; created, configured or
        unchanged."""
        metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        name = metadata.get("name") if isinstance(metadata.get("name"), str) else ""
        ns = metadata.get("namespace") if isinstance(metadata.get("namespace"), str) else ""
        if not name:
            raise ClientError("error: resource name may not be empty: metadata.name")
        prefix, plural = KINDS[WRITABLE.get(str(obj.get("kind")), "ksvc")]
        path = f"{prefix}/namespaces/{ns or 'default'}/{plural}/{name}"
        return str(self._check(self._request("PUT", path, json=obj))["result"])

    def apply_services(self, encoded: list[bytes]) -> list[dict[str, Any]]:
        """Apply Services (each a JSON-encoded manifest) in one request and one store
        transaction (:mod:`coldbrew.control_batch`): per item ``{"result": ...}`` or its
        refusal (``code``, ``message``)."""
        body = b'{"items":[' + b",".join(encoded) + b"]}"
        headers = {"Content-Type": "application/json"}
        # A batch is many applies' work: a loaded server may take longer than one PUT.
        import httpx

        timeout = httpx.Timeout(self._http.timeout.connect, read=BATCH_READ_TIMEOUT)
        resp = self._request("POST", APPLIES, content=body, headers=headers, timeout=timeout)
        answers: list[dict[str, Any]] = self._check(resp)["items"]
        return answers

    def get(
        self,
        kind: str,
        name: str | None = None,
        namespace: str | None = None,
        *,
        selector: str | None = None,
        chunk_size: int = 0,
    ) -> Any:
        """One object, or the list (of ``namespace``; None: all) whose labels match
        ``selector``, fetched ``chunk_size`` items a page (0: at once), as kubectl does."""
        if name:
            prefix, plural = KINDS[kind]
            path = f"{prefix}/namespaces/{namespace or 'default'}/{plural}/{name}"
            return self._check(self._request("GET", path))
        params: dict[str, str] = {"labelSelector": selector} if selector else {}
        if chunk_size > 0:
            params["limit"] = str(chunk_size)
        answer = self.page(kind, namespace, params)
        while answer["metadata"].get("continue"):
            token = answer["metadata"]["continue"]
            more = self.page(kind, namespace, {**params, "continue": token})
            answer["items"] += more["items"]
            answer["metadata"]["continue"] = more["metadata"].get("continue")
        answer["metadata"].pop("continue", None)
        answer["metadata"].pop("remainingItemCount", None)
        return answer

    def page(self, kind: str, namespace: str | None, params: dict[str, str]) -> Any:
        """One answer of a list's URL with these query parameters (limit, continue...)."""
        return self._check(self._request("GET", self._list_path(kind, namespace), params=params))

    @staticmethod
    def _list_path(kind: str, namespace: str | None) -> str:
        prefix, plural = KINDS[kind]
        return f"{prefix}/namespaces/{namespace}/{plural}" if namespace else f"{prefix}/{plural}"

    def watch(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        selector: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The watch events of a list (``{"type": ..., "object": ...}``), as they come,
        until the server ends the stream."""
        params = {"watch": "true"}
        if resource_version:
            params["resourceVersion"] = resource_version
        if selector:
            params["labelSelector"] = selector
        path = self._list_path(kind, namespace)
        try:
            with self._http.stream("GET", path, params=params, timeout=None) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    self._check(resp)
                for line in resp.iter_lines():
                    if line.strip():
                        yield json.loads(line)
        except self._transport_error as exc:
            raise ClientError(f"lost the coldbrew server at {self.server} ({exc})") from exc

    def find(self, kind: str, name: str, namespace: str | None = None) -> Any:
        """One object, or None when the server has none of that name."""
        try:
            return self.get(kind, name, namespace)
        except ClientError as exc:
            if exc.code == 404:
                return None
            raise

    def events(
        self, namespace: str | None = None, *, after: int = 0, selector: str | None = None
    ) -> Any:
        """An EventList: events changed after resource version ``after`` (0: all kept)."""
        path = f"{CORE}/namespaces/{namespace}/events" if namespace else f"{CORE}/events"
        params: dict[str, str] = {"after": str(after)} if after else {}
        if selector:
            params["fieldSelector"] = selector
        return self._check(self._request("GET", path, params=params))

    def delete_service(self, name: str, namespace: str | None = None) -> None:
        self.delete("ksvc", name, namespace)

    def delete(self, kind: str, name: str, namespace: str | None = None) -> None:
        """Delete one object of ``kind`` (a ``KINDS`` name: ksvc, domainmappings)."""
        prefix, plural = KINDS[kind]
        path = f"{prefix}/namespaces/{namespace or 'default'}/{plural}/{name}"
        self._check(self._request("DELETE", path))

    def logs(self, pod: str, namespace: str | None = None, container: str | None = None) -> str:
        path = f"{CORE}/namespaces/{namespace or 'default'}/pods/{pod}/log"
        if container:
            path += f"?container={container}"
        resp = self._request("GET", path)
        if resp.status_code >= 400:
            self._check(resp)
        return resp.text

    def follow_logs(
        self, pod: str, namespace: str | None = None, container: str | None = None
    ) -> Iterator[str]:
        """The pod's output (or a sidecar's: ``container``) as it comes, until the pod is gone."""
        path = f"{CORE}/namespaces/{namespace or 'default'}/pods/{pod}/log"
        params = {"follow": "true", **({"container": container} if container else {})}
        try:
            with self._http.stream("GET", path, params=params, timeout=None) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    self._check(resp)
                yield from resp.iter_text()
        except self._transport_error as exc:
            raise ClientError(f"lost the coldbrew server at {self.server} ({exc})") from exc

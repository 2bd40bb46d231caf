"""``imagePullSecrets``: Secrets of type ``kubernetes.io/dockerconfigjson`` -> pull credentials.

A Secret's ``.dockerconfigjson`` is a docker ``config.json`` (``{"auths": {registry: {"auth":
base64("user:password")}}}``, or ``username``/``password`` fields). The entry for the image's
registry becomes the ``auth`` mapping aiodocker sends as the ``X-Registry-Auth`` header of the
pull. As the kubelet, the pod's secrets are tried in order and a missing or unrelated one is
skipped (the pull then goes without, or with the engine's own credentials).

The runtime reads Secrets through a :data:`SecretLookup` (namespace, name -> the Secret as a
Kubernetes object with base64 ``data``, or None), so it needs nothing of the store.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

log = logging.getLogger(__name__)
DOCKER_CONFIG_JSON = "kubernetes.io/dockerconfigjson"
KEY = ".dockerconfigjson"
DOCKER_HUB = "https://index.docker.io/v1/"
SecretLookup = Callable[[str, str], Mapping[str, Any] | None]


def registry_of(image: str) -> str:
    """``registry.example.com/a/b:1`` -> ``registry.example.com``; no host -> ``docker.io``."""
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def match_auth(image: str, auths: Mapping[str, Any]) -> dict[str, str] | None:
    """The ``auths`` entry for ``image``'s registry as aiodocker's ``auth`` mapping."""
    host = registry_of(image)
    keys = [DOCKER_HUB, "docker.io", "index.docker.io"] if host == "docker.io" else [host]
    for key in keys:
        for name in (key, f"https://{key}", f"http://{key}"):
            entry = auths.get(name)
            if not isinstance(entry, Mapping):
                continue
            user, password = entry.get("username"), entry.get("password")
            if entry.get("auth"):
                try:
                    raw = base64.b64decode(str(entry["auth"]), validate=True).decode()
                except (binascii.Error, UnicodeDecodeError):
                    continue
                user, _, password = raw.partition(":")
            if user:
                return {
                    "username": str(user),
                    "password": str(password or ""),
                    "serveraddress": key,
                }
    return None


def auth_from_dockerconfigjson(image: str, data: bytes) -> dict[str, str] | None:
    """The credentials a decoded ``.dockerconfigjson`` holds for ``image`` (None: none)."""
    try:
        config = json.loads(data)
    except ValueError:
        return None
    auths = config.get("auths") if isinstance(config, dict) else None
    return match_auth(image, auths) if isinstance(auths, Mapping) else None


def dockerconfigjson_of(secret: Mapping[str, Any]) -> bytes | None:
    """A Secret object's decoded ``.dockerconfigjson`` (None: another type, or none)."""
    if secret.get("type") != DOCKER_CONFIG_JSON:
        return None
    value = (secret.get("data") or {}).get(KEY)
    if value is None:
        text = (secret.get("stringData") or {}).get(KEY)
        return None if text is None else str(text).encode()
    try:
        return base64.b64decode(str(value), validate=True)
    except binascii.Error:
        return None


def pull_auth(
    image: str, namespace: str, names: Iterable[str], lookup: SecretLookup | None
) -> dict[str, str] | None:
    """The first of the pod's ``imagePullSecrets`` with credentials for ``image``."""
    if lookup is None or "/" not in image:  # aiodocker sends credentials only with a host
        return None
    for name in names:
        secret = lookup(namespace, name)
        data = None if secret is None else dockerconfigjson_of(secret)
        if data is None:
            log.warning("imagePullSecrets: %s/%s is missing or not a %s Secret",
                        namespace, name, DOCKER_CONFIG_JSON)  # fmt: skip
            continue
        auth = auth_from_dockerconfigjson(image, data)
        if auth is not None:
            return auth
    return None


class _Records(Protocol):
    def get(self, key: str) -> Any: ...


class SecretStore(Protocol):
    """What :func:`store_lookup` needs of the store: ``secrets.get("ns/name")`` -> a record
    whose ``manifest`` is the Secret object (base64 ``data``), or None."""

    @property
    def secrets(self) -> _Records: ...


def store_lookup(store: SecretStore) -> SecretLookup:
    """A :data:`SecretLookup` reading the store's Secrets (``ContainerRuntime(pull_secrets=)``)."""

    def lookup(namespace: str, name: str) -> Mapping[str, Any] | None:
        record = store.secrets.get(f"{namespace}/{name}")
        return None if record is None else record.manifest  # type: ignore[no-any-return]

    return lookup

"""DomainMappings' own certificates: their ``spec.tls.secretName`` Secrets as files.

With ``coldbrew gateway --kubernetes --https-port P --tls-dir DIR``, the mirror also
watches Secrets and writes the ``tls.crt``/``tls.key`` of each ``kubernetes.io/tls``
Secret a DomainMapping names (same namespace) as ``DIR/{host}.crt`` and ``{host}.key``;
the gateway's certificate reload (gateway/tls.py) picks them up by SNI, and a file whose
mapping or Secret is gone is removed. Files are written key first, each atomically, so
the reload never pairs a new certificate with a key it does not match for long (a pair
that does not load keeps the old certificate until the next poll).
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
TLS_TYPE = "kubernetes.io/tls"


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".tmp-{path.name}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def tls_pair(obj: dict[str, Any]) -> tuple[bytes, bytes] | None:
    """A ``kubernetes.io/tls`` Secret's (certificate, key) PEM bytes; None otherwise."""
    if obj.get("type") != TLS_TYPE:
        return None
    data = obj.get("data") or {}
    try:
        return base64.b64decode(data["tls.crt"]), base64.b64decode(data["tls.key"])
    except (KeyError, TypeError, binascii.Error):
        return None


def _secret_key(obj: dict[str, Any]) -> str:
    """``"namespace/name"``: how a mapping names its Secret (``set_mappings``)."""
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name')}"


class MappingCertificates:
    """Keeps ``directory`` holding exactly the mapped hosts' Secret pairs."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._secrets: dict[str, tuple[bytes, bytes]] = {}  # "ns/name" -> pair
        self._wanted: dict[str, str] = {}  # host -> "ns/secret"
        self._written: dict[str, tuple[bytes, bytes]] = {}  # host -> pair on disk

    def on_secret(self, kind: str, obj: dict[str, Any]) -> None:
        key = _secret_key(obj)
        pair = tls_pair(obj) if kind != "DELETED" else None
        if pair is None:
            self._secrets.pop(key, None)
        else:
            self._secrets[key] = pair
        self.sync()

    def list_secrets(self, items: list[dict[str, Any]]) -> None:
        self._secrets = {}
        for obj in items:
            if (pair := tls_pair(obj)) is not None:
                self._secrets[_secret_key(obj)] = pair
        self.sync()

    def set_mappings(self, wanted: Mapping[str, str]) -> None:
        """Host -> ``"namespace/secret"`` of every mapping that names a Secret."""
        self._wanted = dict(wanted)
        self.sync()

    def sync(self) -> None:
        for host, secret in self._wanted.items():
            pair = self._secrets.get(secret)
            if pair is None or self._written.get(host) == pair:
                continue
            try:
                _write(self.directory / f"{host}.key", pair[1], 0o600)
                _write(self.directory / f"{host}.crt", pair[0], 0o644)
            except OSError as exc:
                log.warning("cannot write the certificate of %s: %s", host, exc)
                continue
            self._written[host] = pair
        for host in list(self._written):
            if self._secrets.get(self._wanted.get(host, "")) is None:
                for suffix in (".crt", ".key"):
                    (self.directory / f"{host}{suffix}").unlink(missing_ok=True)
                del self._written[host]

"""Applied ConfigMaps and Secrets: validated, stored durably, shown as kubectl shows them.

Applying or deleting one calls ``on_change(namespace)``: the runtime retries pods waiting on it
(``CreateContainerConfigError``) and rewrites mounted files of running pods. Secret values
appear in nothing logged; ``get -o yaml`` shows their data base64, as kubectl does.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from typing import Any

from coldbrew.api.coreobjects import ConfigObject, Kind, config_object_dict, parse_config_object
from coldbrew.api.errors import ValidationError
from coldbrew.api.objects import rfc3339
from coldbrew.storing import Repository, StoredConfig, StoredConfigMap, StoredSecret
from coldbrew.storing.frozen import thaw

RECORDS: dict[Kind, type[StoredConfigMap] | type[StoredSecret]] = {
    "ConfigMap": StoredConfigMap,
    "Secret": StoredSecret,
}
PLURALS: dict[Kind, str] = {"ConfigMap": "configmaps", "Secret": "secrets"}


class ConfigObjects:
    def __init__(self, store: Repository, on_change: Callable[[str], None]) -> None:
        self.store, self.on_change = store, on_change

    def _table(self, kind: Kind) -> Any:
        return self.store.configmaps if kind == "ConfigMap" else self.store.secrets

    def apply(self, obj: dict[str, Any]) -> tuple[str, ConfigObject]:
        """Create or replace one; ``created``, ``configured`` or ``unchanged``."""
        parsed = parse_config_object(obj)
        table = self._table(parsed.kind)
        old_rec: StoredConfig | None = table.get(parsed.key)
        now = time.time()
        if old_rec is None:
            result = "created"
            rec: StoredConfig = RECORDS[parsed.kind](
                parsed.namespace, parsed.name, {}, str(uuid.uuid4()), now, 0
            )
        else:
            old = parse_config_object(thaw(old_rec.manifest))
            parsed.check_update(old)
            if old == parsed:
                return "unchanged", parsed
            result, rec = "configured", old_rec
        rec = dataclasses.replace(rec, version=rec.version + 1)
        manifest = config_object_dict(
            parsed, uid=rec.uid, created=rfc3339(rec.created), version=rec.version
        )
        with self.store.transaction():
            table.put(dataclasses.replace(rec, manifest=manifest))
        self.on_change(parsed.namespace)
        return result, parsed

    def delete(self, kind: Kind, namespace: str, name: str) -> bool:
        with self.store.transaction():
            deleted = bool(self._table(kind).delete(f"{namespace}/{name}"))
        if deleted:
            self.on_change(namespace)
        return deleted

    def get(self, kind: Kind, namespace: str, name: str) -> dict[str, Any] | None:
        rec = self._table(kind).get(f"{namespace}/{name}")
        return None if rec is None else thaw(rec.manifest)

    def list(self, kind: Kind, namespace: str | None = None) -> list[dict[str, Any]]:
        return [thaw(rec.manifest) for rec in self._table(kind).list(namespace)]


def is_config_object(obj: Any) -> bool:
    """A core v1 ConfigMap or Secret document (else: a Service, or refused as one)."""
    return isinstance(obj, dict) and obj.get("kind") in RECORDS and obj.get("apiVersion") == "v1"


__all__ = ["PLURALS", "ConfigObjects", "ValidationError", "is_config_object"]

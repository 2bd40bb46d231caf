"""Pure revision planning: which revision does the current template map to?

Rules (Knative's Configuration controller):

* If the latest revision was made from the same template (equal
  :meth:`RevisionTemplate.template_hash`), nothing changes.
* Otherwise a new revision is made, named ``spec.template.metadata.name``
  (bring-your-own) or ``{service}-{n:05d}`` where ``n`` is the next
  configuration generation. Numbers are never reused, even after deletions,
  as long as the caller passes the highest generation ever issued as
  ``generation_floor``.
* A bring-your-own name that already exists with the same template is reused
  (e.g. re-applying ``coffee-v1`` after ``coffee-v2``) and becomes the latest;
  with a different template it is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ValidationError
from .model import Service


@dataclass(frozen=True, slots=True)
class ExistingRevision:
    """An existing revision, as :func:`plan` needs to know it.

    ``generation`` is the configuration generation it was created at (its
    ``serving.knative.dev/configurationGeneration`` label); ``template`` is
    the optional :meth:`RevisionTemplate.spec_dict` it was made from (used only
    to explain a refused change).
    """

    name: str
    generation: int
    template_hash: str
    created: float
    template: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RevisionPlan:
    """Outcome of :func:`plan`: ``generation`` is the revision's configuration generation."""

    name: str
    is_new: bool
    generation: int
    template_hash: str


def plan(
    service: Service,
    existing: Iterable[ExistingRevision],
    *,
    latest: str | None = None,
    generation_floor: int = 0,
) -> RevisionPlan:
    """Decide the revision for ``service.template``.

    ``latest`` names the current latest-created revision (default: the record
    with the highest generation, then newest). ``generation_floor`` is the
    highest generation ever issued for this service (so deleted revisions'
    numbers are not reused). Raises :class:`ValidationError` on
    ``spec.template.metadata.name`` for a reused name with a changed template.
    """
    records = {r.name: r for r in existing}
    template = service.template
    digest = template.template_hash()
    current = _latest(records, latest)
    if current is not None and current.template_hash == digest:
        return RevisionPlan(current.name, False, current.generation, digest)
    generation = max([generation_floor, *(r.generation for r in records.values())]) + 1
    if template.name is not None:
        found = records.get(template.name)
        if found is None:
            return RevisionPlan(template.name, True, generation, digest)
        if found.template_hash == digest:
            return RevisionPlan(found.name, False, found.generation, digest)
        raise ValidationError(
            "spec.template.metadata.name",
            "Saw the following changes without a name change (-old +new)",
            _explain(found, template.spec_dict()),
        )
    name = f"{service.name}-{generation:05d}"
    while name in records:  # a bring-your-own name took this number
        generation += 1
        name = f"{service.name}-{generation:05d}"
    return RevisionPlan(name, True, generation, digest)


def plan_revision(service: Service, existing: list[ExistingRevision]) -> tuple[str, bool]:
    """``(revision name, is new)`` for the current template; see :func:`plan`."""
    result = plan(service, existing)
    return result.name, result.is_new


def _latest(records: Mapping[str, ExistingRevision], latest: str | None) -> ExistingRevision | None:
    if latest is not None and latest in records:
        return records[latest]
    if not records:
        return None
    return max(records.values(), key=lambda r: (r.generation, r.created))


def _explain(old: ExistingRevision, new: Mapping[str, Any]) -> str:
    head = (
        f'revision "{old.name}" already exists with a different template; '
        "change spec.template.metadata.name (or remove it) to make a new revision"
    )
    if old.template is None:
        return head
    before, after = _flatten(old.template), _flatten(new)
    lines = [head]
    for key in sorted(before.keys() | after.keys()):
        if before.get(key) != after.get(key):
            if key in before:
                lines.append(f"-: {key}: {before[key]!r}")
            if key in after:
                lines.append(f"+: {key}: {after[key]!r}")
    return "\n".join(lines)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list | tuple):
        out = {}
        for index, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}[{index}]"))
        return out
    return {prefix: value}

"""Revision planning: numbering, reuse, bring-your-own names."""

from __future__ import annotations

import pytest

from coldbrew.api import (
    ExistingRevision,
    Service,
    ValidationError,
    parse_service,
    plan,
    plan_revision,
)


def service(manifest, target: str = "v1", name: str | None = None) -> Service:
    return parse_service(
        manifest(container={"env": [{"name": "TARGET", "value": target}]}, revision_name=name)
    )


def record(svc: Service, name: str, generation: int, created: float = 0.0) -> ExistingRevision:
    t = svc.template
    return ExistingRevision(name, generation, t.template_hash(), created, t.spec_dict())


def test_first_revision(manifest) -> None:
    assert plan_revision(service(manifest), []) == ("coffee-00001", True)


def test_unchanged_template_reuses_latest(manifest) -> None:
    svc = service(manifest)
    assert plan_revision(svc, [record(svc, "coffee-00001", 1)]) == ("coffee-00001", False)


def test_changed_template_bumps_generation(manifest) -> None:
    v1, v2 = service(manifest, "v1"), service(manifest, "v2")
    existing = [record(v1, "coffee-00001", 1)]
    result = plan(v2, existing)
    assert (result.name, result.is_new, result.generation) == ("coffee-00002", True, 2)
    assert result.template_hash == v2.template.template_hash()


def test_reverting_template_makes_a_new_generated_revision(manifest) -> None:
    v1, v2 = service(manifest, "v1"), service(manifest, "v2")
    existing = [record(v1, "coffee-00001", 1), record(v2, "coffee-00002", 2)]
    assert plan_revision(v1, existing) == ("coffee-00003", True)


def test_numbers_never_reused_after_deletion(manifest) -> None:
    v1, v3 = service(manifest, "v1"), service(manifest, "v3")
    # coffee-00002 was deleted; the controller remembers generation 2 was issued
    existing = [record(v1, "coffee-00001", 1)]
    assert plan(v3, existing, generation_floor=2).name == "coffee-00003"
    # all deleted
    assert plan(v3, [], generation_floor=7).name == "coffee-00008"


def test_generated_name_skips_byo_collision(manifest) -> None:
    v1, v2 = service(manifest, "v1"), service(manifest, "v2")
    # a bring-your-own revision that happens to be called coffee-00002
    existing = [record(v1, "coffee-00001", 1), ExistingRevision("coffee-00002", 1, "h", 1.0)]
    assert plan(v2, existing).name == "coffee-00003"


def test_byo_new_name(manifest) -> None:
    v1 = service(manifest, "v1", name="coffee-v1")
    result = plan(v1, [])
    assert (result.name, result.is_new, result.generation) == ("coffee-v1", True, 1)


def test_byo_reapply_older_revision_is_reused(manifest) -> None:
    v1 = service(manifest, "v1", name="coffee-v1")
    v2 = service(manifest, "v2", name="coffee-v2")
    existing = [record(v1, "coffee-v1", 1, 1.0), record(v2, "coffee-v2", 2, 2.0)]
    assert plan_revision(v2, existing) == ("coffee-v2", False)
    result = plan(v1, existing)
    assert (result.name, result.is_new, result.generation) == ("coffee-v1", False, 1)
    # once the controller records coffee-v1 as latest, re-applying it is "unchanged"
    assert plan(v1, existing, latest="coffee-v1").is_new is False


def test_byo_name_with_changed_template_is_refused(manifest) -> None:
    v1 = service(manifest, "v1", name="coffee-v1")
    changed = service(manifest, "changed", name="coffee-v1")
    with pytest.raises(ValidationError) as info:
        plan_revision(changed, [record(v1, "coffee-v1", 1)])
    err = info.value
    assert err.field == "spec.template.metadata.name"
    assert err.message == "Saw the following changes without a name change (-old +new)"
    assert '"coffee-v1" already exists' in err.details
    assert "-: spec.containers[0].env[0].value: 'v1'" in err.details
    assert "+: spec.containers[0].env[0].value: 'changed'" in err.details


def test_byo_refusal_without_stored_template(manifest) -> None:
    changed = service(manifest, "changed", name="coffee-v1")
    with pytest.raises(ValidationError):
        plan_revision(changed, [ExistingRevision("coffee-v1", 1, "other-hash", 0.0)])


def test_byo_after_generated(manifest) -> None:
    v1 = service(manifest, "v1")
    byo = service(manifest, "v2", name="coffee-blue")
    existing = [record(v1, "coffee-00001", 1)]
    result = plan(byo, existing)
    assert (result.name, result.is_new, result.generation) == ("coffee-blue", True, 2)
    v3 = service(manifest, "v3")
    assert plan(v3, [*existing, record(byo, "coffee-blue", 2)]).name == "coffee-00003"


def test_latest_is_highest_generation(manifest) -> None:
    v1, v2 = service(manifest, "v1"), service(manifest, "v2")
    existing = [record(v2, "coffee-00002", 2, created=1.0), record(v1, "coffee-00001", 1, 5.0)]
    assert plan_revision(v2, existing) == ("coffee-00002", False)

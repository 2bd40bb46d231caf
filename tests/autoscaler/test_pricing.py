"""Instance catalogue, reserve spec resolution, price tables and the cost ledger."""

from __future__ import annotations

import pytest

from autoscaler.accounting import CostLedger
from autoscaler.config import ConfigError
from autoscaler.pricing import (
    CATALOGUE,
    KNOWN_TYPES,
    InstanceType,
    PriceTable,
    UnknownInstanceType,
    parse_specs,
    resolve_specs,
)


def test_catalogue_has_the_seed_and_example_types() -> None:
    for name in ("ecs.t5-lc1m2.small", "ecs.t5-c1m2.large", "ecs.t5-lc2m1.nano"):
        assert name in KNOWN_TYPES
    assert CATALOGUE["ecs.t5-lc1m2.small"] == InstanceType("ecs.t5-lc1m2.small", 1, 2, True)
    assert CATALOGUE["ecs.t5-lc2m1.nano"].memory_gib == 0.5
    assert CATALOGUE["ecs.c6.large"] == InstanceType("ecs.c6.large", 2, 4, False)
    assert not CATALOGUE["ecs.g6.large"].burstable and CATALOGUE["ecs.g6.large"].memory_gib == 8


def test_resolve_specs_tries_types_in_order() -> None:
    assert resolve_specs(("ecs.t5-c1m2.large", "ecs.t5-lc1m2.small")).name == "ecs.t5-c1m2.large"
    assert resolve_specs(("ecs.nope.large", "ecs.t6-c1m1.large")).name == "ecs.t6-c1m1.large"
    assert resolve_specs(()).name == "ecs.t5-lc1m2.small"  # the default
    with pytest.raises(UnknownInstanceType, match=r"ecs\.nope\.large"):
        resolve_specs(("ecs.nope.large",))


def test_resolve_specs_cpu_memory_form() -> None:
    assert resolve_specs((), "1", "2Gi") == InstanceType("1-2Gi", 1.0, 2.0, True)
    assert resolve_specs((), "500m", "512Mi") == InstanceType("500m-512Mi", 0.5, 0.5, True)
    assert parse_specs("2-4Gi") == ((), "2", "4Gi")
    assert parse_specs("ecs.t5-c1m2.large, ecs.t5-lc1m2.small") == (
        ("ecs.t5-c1m2.large", "ecs.t5-lc1m2.small"),
        None,
        None,
    )
    with pytest.raises(ValueError):
        parse_specs("a,b,c,d,e,f")


def test_default_prices_burstable_46_percent_cheaper() -> None:
    p = PriceTable()
    compute = p.price_per_hour("ecs.c6.large")
    assert compute == pytest.approx(2 * 0.0353 + 4 * 0.0051)
    for burstable in ("ecs.t5-c1m2.large", "ecs.t6-c1m2.large", "2-4Gi"):
        assert p.price_per_hour(burstable) == pytest.approx(compute * 0.54)
    assert p.standard_price_per_hour(2, 4) == pytest.approx(compute)
    assert p.standard_price_per_hour(None, None) == p.standard_price_per_hour(1, 2)
    assert p.price_per_hour("ecs.t5-lc1m2.small") < p.standard_price_per_hour(1, 2)
    with pytest.raises(UnknownInstanceType):
        p.price_per_hour("ecs.nope.large")


def test_price_table_from_mapping() -> None:
    p = PriceTable.from_mapping(
        {
            "currency": "CNY",
            "vcpu-hour": "0.2",
            "gib-hour": 0.05,
            "instances": {"ecs.t5-lc1m2.small": 0.07},
        }
    )
    assert (p.currency, p.vcpu_hour, p.gib_hour) == ("CNY", 0.2, 0.05)
    assert p.price_per_hour("ecs.t5-lc1m2.small") == 0.07
    assert p.price_per_hour("ecs.c6.large") == pytest.approx(0.6)
    assert PriceTable.from_mapping(None) == PriceTable()


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"instances": {"foo": 1}}, "prices.instances.foo: unknown instance type"),
        ({"instances": {"ecs.c6.large": -1}}, "prices.instances.ecs.c6.large: must be"),
        ({"instances": [1]}, "prices.instances: must be a mapping"),
        ({"vcpu-hour": "cheap"}, "prices.vcpu-hour: must be a number"),
        ({"gib-hour": True}, "prices.gib-hour: must be a number"),
        ({"currency": ""}, "prices.currency: must be"),
        ({"burstable-discount": 1}, "prices.burstable-discount: must be in"),
        ({"color": "blue"}, "prices.color: unknown key"),
    ],
)
def test_price_table_errors_name_the_key(mapping: dict, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        PriceTable.from_mapping(mapping)
    assert str(exc.value).startswith(message)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cost_ledger_integrates_over_time() -> None:
    clock = FakeClock()
    prices = PriceTable(vcpu_hour=3.6, gib_hour=0.0)  # 1 vCPU = 0.001 per second
    ledger = CostLedger(prices, clock=clock)
    ledger.running("ns/rev", "a", "standard", None, 1.0, 2.0)
    clock.now += 10
    ledger.running("ns/rev", "b", "standard", None, 2.0, 4.0)
    ledger.running("ns/rev", "a", "standard", None, 1.0, 2.0)  # repeated: ignored
    clock.now += 10
    ledger.stopped("ns/rev", "a")
    ledger.stopped("ns/rev", "a")  # repeated: ignored
    ledger.running("ns/rev", "r", "reserve", "ecs.t5-c1m2.large", None, None)
    clock.now += 5
    s = ledger.summary("ns/rev")
    assert s["pod_seconds"] == pytest.approx(20 + 15 + 5)
    assert s["by_type"]["standard"]["pod_seconds"] == pytest.approx(35)
    assert s["by_type"]["standard"]["cost"] == pytest.approx(20 * 0.001 + 15 * 0.002)
    reserve_cost = 5 * 0.002 * 0.54
    assert s["by_type"]["ecs.t5-c1m2.large"]["cost"] == pytest.approx(reserve_cost)
    assert s["by_kind"]["reserve"]["pod_seconds"] == pytest.approx(5)
    assert s["cost"] == pytest.approx(0.05 + reserve_cost)
    clock.now += 100  # b and r still running
    assert ledger.summary("ns/rev")["pod_seconds"] == pytest.approx(40 + 200)
    assert ledger.summary("other")["pod_seconds"] == 0
    ledger.forget("ns/rev")
    assert ledger.summary("ns/rev")["by_type"] == {}
    with pytest.raises(ValueError, match="kind"):
        ledger.running("ns/rev", "x", "spot", None, 1, 1)  # type: ignore[arg-type]

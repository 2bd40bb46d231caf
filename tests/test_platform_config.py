"""coldbrew's platform config file: autoscaler, reserve and prices sections."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoscaler.config import AutoscalerConfig, ConfigError
from autoscaler.pricing import PriceTable
from coldbrew.api.model import ReserveSpecs
from coldbrew.platform_config import PlatformConfig, ReserveDefaults, load_config, parse_config


def test_defaults() -> None:
    c = parse_config(None)
    assert c == PlatformConfig() == load_config(None)
    assert c.autoscaler == AutoscalerConfig() and c.prices == PriceTable()
    r = c.reserve
    assert (r.enabled, r.replicas, r.instance_type) == (True, 1, "eci")
    assert r.eci_use_specs == ReserveSpecs(instance_types=("ecs.t5-lc1m2.small",))
    assert r.resolved().name == "ecs.t5-lc1m2.small"
    assert parse_config({"reserve": None, "prices": None}) == PlatformConfig()


def test_sections_parse(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "autoscaler:\n  stable-window: 30s\n"
        "reserve:\n  reserve-instance: disable\n  reserve-instance-replicas: '2'\n"
        "  reserve-instance-type: ecs\n"
        "  reserve-instance-eci-use-specs: ecs.t5-c1m2.large, ecs.t5-lc1m2.small\n"
        "prices:\n  currency: CNY\n  instances:\n    ecs.t5-c1m2.large: 0.1\n"
    )
    c = load_config(path)
    assert c.autoscaler.stable_window == 30
    assert c.reserve == ReserveDefaults(
        enabled=False,
        replicas=2,
        instance_type="ecs",
        eci_use_specs=ReserveSpecs(instance_types=("ecs.t5-c1m2.large", "ecs.t5-lc1m2.small")),
    )
    assert c.reserve.resolved().name == "ecs.t5-c1m2.large"
    assert c.prices.currency == "CNY" and c.prices.price_per_hour("ecs.t5-c1m2.large") == 0.1
    sized = parse_config({"reserve": {"reserve-instance-eci-use-specs": "2-4Gi"}}).reserve
    assert sized.eci_use_specs == ReserveSpecs(cpu="2", memory="4Gi")
    assert sized.resolved().cpu == 2 and sized.resolved().burstable


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"reserve": {"reserve-instance": "on"}}, "reserve.reserve-instance: must be one of"),
        ({"reserve": {"reserve-instance": True}}, "reserve.reserve-instance: must be one of"),
        ({"reserve": {"reserve-instance-replicas": 0}}, "reserve.reserve-instance-replicas:"),
        ({"reserve": {"reserve-instance-replicas": "x"}}, "reserve.reserve-instance-replicas:"),
        ({"reserve": {"reserve-instance-type": "k8s"}}, "reserve.reserve-instance-type:"),
        (
            {"reserve": {"reserve-instance-eci-use-specs": "ecs.nope.large"}},
            "reserve.reserve-instance-eci-use-specs: unknown instance type",
        ),
        (
            {"reserve": {"reserve-instance-eci-use-specs": "a b"}},
            "reserve.reserve-instance-eci-use-specs: expected",
        ),
        ({"reserve": {"replicas": 1}}, "reserve.replicas: unknown key"),
        ({"reserve": ["x"]}, "reserve: must be a mapping"),
        ({"prices": {"instances": {"foo": 1}}}, "prices.instances.foo: unknown instance type"),
        ({"prices": {"vcpu-hour": -1}}, "prices.vcpu-hour: must be"),
        ({"prices": {"nope": 1}}, "prices.nope: unknown key"),
        ({"pricing": {}}, "pricing: unknown section"),
        ({"autoscaler": {"nope": 1}}, "autoscaler.nope: unknown key"),
    ],
)
def test_bad_values_name_the_key(doc: dict, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(doc)
    assert str(exc.value).startswith(message), str(exc.value)

from __future__ import annotations

import pytest

from coldbrew.api import ValidationError, parse_service
from coldbrew.api.resources import parse_quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", 0.5),
        ("1", 1.0),
        ("0.25", 0.25),
        ("128Mi", 128 * 2**20),
        ("1Gi", 2**30),
        ("1G", 1e9),
        ("1e3", 1000.0),
        (2, 2.0),
    ],
)
def test_quantities(text: str | int, value: float) -> None:
    assert parse_quantity(text, "f") == pytest.approx(value)


@pytest.mark.parametrize("text", ["lots", "1Zi", "", "-1", "1.2.3"])
def test_bad_quantities(text: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_quantity(text, "x.cpu")
    assert err.value.field == "x.cpu"


def test_resources_parsed_and_round_tripped() -> None:
    svc = parse_service(
        {
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Service",
            "metadata": {"name": "coffee"},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "image": "x/y",
                                "resources": {
                                    "requests": {"cpu": "250m", "memory": "64Mi"},
                                    "limits": {"cpu": "1", "memory": "128Mi"},
                                },
                            }
                        ]
                    }
                }
            },
        }
    )
    res = svc.template.container.resources
    assert res is not None
    assert res.cpu == 1.0 and res.memory == 128 * 2**20 and res.cpu_request == 0.25
    assert svc.template.container.to_dict()["resources"]["limits"] == {
        "cpu": "1",
        "memory": "128Mi",
    }

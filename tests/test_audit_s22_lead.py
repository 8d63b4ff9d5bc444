"""The twenty-second session's lead fixes: the published scenario schema agrees with the engine."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

SCHEMA = json.loads((Path(__file__).parent.parent / "schemas" / "scenario.schema.json").read_text(encoding="utf-8"))


def _consumption(quantity: object) -> dict[str, object]:
    return {
        "id": "s",
        "as_of": "2015-05-01T10:00:00+02:00",
        "consumptions": [
            {
                "id": "r",
                "organisation": "o",
                "credit_type": "t",
                "quantity": quantity,
                "at": "2015-05-01T10:00:00+02:00",
            }
        ],
    }


@pytest.mark.parametrize("quantity", ["0", "0.00", "00", 0, 0.0])
def test_schema_refuses_a_consumption_of_nothing_as_the_engine_does(quantity: object) -> None:
    """Until 2026-12-03 the schema's pattern let the text "0" through, which `decide` refuses (BR602)."""
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(_consumption(quantity)))
    assert [error.path[-1] for error in errors] == ["quantity"]


@pytest.mark.parametrize("quantity", ["0.5", "1", "10", "000.01", 3, 0.25])
def test_schema_takes_every_positive_consumption(quantity: object) -> None:
    assert list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(_consumption(quantity))) == []

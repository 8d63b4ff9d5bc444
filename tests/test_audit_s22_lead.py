"""The twenty-second session's lead fixes: the published scenario schema agrees with the engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from engine import load_rules

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


REPO = Path(__file__).resolve().parent.parent


def _december_bill(
    as_of: str, period: tuple[str, str] = ("2015-12-01", "2015-12-31"), added_on: str = "2015-12-01"
) -> dict[str, object]:
    """A retention offer (shipped: at most 12 bills a calendar year) on a bill with 12 applications
    in 2015 already."""
    history = [{"discount": "retention-offer", "on": f"2015-{month:02d}-15"} for month in range(1, 12)]
    history.append({"discount": "retention-offer", "on": "2015-11-30"})
    return {
        "id": "retention-dec",
        "as_of": as_of,
        "account": {
            "code": "A",
            "classification": "Residential",
            "payment_preference": "card",
            "presentment_preference": "paper",
        },
        "subscription": {
            "code": "S",
            "type": "residential-tv",
            "plan": "tv-essentials-24",
            "billing_term_scheme": "monthly-12",
            "billing_frequency": "monthly",
            "binding_period": "12 months",
            "start": "2014-01-01",
            "status_history": [{"status": "active", "from": "2014-01-01"}],
            "products": [{"product": "tv-essentials", "main": True}],
            "billing_period": {"from": period[0], "to": period[1]},
        },
        "agent": {"user": "rita.retention"},
        "requested_discounts": [{"discount": "retention-offer", "value": "10.00 EUR", "added_on": added_on}],
        "approvals": [{"discount": "retention-offer", "by": "max.manager"}],
        "discount_history": history,
    }


def _retention(decision: dict[str, Any]) -> dict[str, Any]:
    (found,) = [d for d in decision["discounts"]["definitions"] if d["code"] == "retention-offer"]
    return found


@pytest.fixture(scope="module")
def shipped() -> Any:
    return load_rules(REPO / "rules")


@pytest.mark.parametrize("as_of", ["2015-12-31T10:00:00Z", "2016-01-01T10:00:00Z", "2016-01-20T10:00:00Z"])
def test_a_december_bill_counts_in_its_own_calendar_year_whatever_day_it_runs(shipped: Any, as_of: str) -> None:
    """Until 2026-12-03 the calendar window was the run day's year: the December bill run on
    1 January was the 13th application of 2015, applied for 10.00 EUR."""
    found = _retention(shipped.decide(_december_bill(as_of)))
    assert found["status"] == "limit_reached"
    assert found["reasons"][0]["facts"]["used"] == 12
    assert found["reasons"][0]["facts"]["since"] == "2015-01-01"


def test_a_january_bill_run_ahead_in_december_counts_none_of_last_year(shipped: Any) -> None:
    found = _retention(
        shipped.decide(_december_bill("2015-12-28T10:00:00Z", ("2016-01-01", "2016-01-31"), "2015-12-28"))
    )
    assert found["status"] == "applied"
    assert found["amount"] == "10.00 EUR"

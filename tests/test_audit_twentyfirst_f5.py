"""Findings of the twenty-first session's audits (2026-12-03), discount definitions against seed
002: an ad hoc free period requested as a fraction of its unit is rejected, as the rule file
refuses one (BR405); a subscription's request added after `as_of` reduces no bill, as a job's does
not; the reasons' words say "1 month", "3 times", "1 billing period"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shipped_bills import complaint, retention

from engine import load_rules
from engine.cli.scenario_checks import check_scenario_paths
from engine.decide.reasons import Reason
from tests.test_audit_twentieth_checks import rules

__all__ = ["rules"]  # the fixture, shared

REPO = Path(__file__).resolve().parent.parent

# --- an ad hoc free period requested as a fraction --------------------------------------------------

_FREE_RANGE = """\
kind: discount
code: free-months
name: Free months, as the agent chooses
type: ad_hoc
classification: subscription
applied_service_type: non_usage
state: effective
amount:
  type: free_period
  range: [2, 6]
  unit: months
discounted_products:
  - product: tv-essentials
validity:
  effective: 2015-01-01
allowed_units: [customer-care]
"""


def _free_months(rules: Path, value: Any) -> dict[str, Any]:
    """The complaint bill's agent requesting `value` months of `free-months` (2 to 6)."""
    (rules / "discounts" / "free_months.yaml").write_text(_FREE_RANGE, encoding="utf-8")
    data = complaint()
    data["requested_discounts"] = [{"discount": "free-months", "value": value, "added_on": "2015-06-20"}]
    data["approvals"] = []
    decision = load_rules(rules).decide(data)
    [found] = [d for d in decision["discounts"]["definitions"] if d["code"] == "free-months"]
    return dict(found)


@pytest.mark.parametrize("value", [2.5, "2.5", "3.25"])
def test_a_free_period_requested_as_a_fraction_is_rejected(rules: Path, value: Any) -> None:
    # until 2026-12-03 `2.5` of a `range: [2, 6]` months took 2.5 months' worth off the bill,
    # where a free period of 2.5 in the rule file is BR405
    found = _free_months(rules, value)
    assert found["status"] == "rejected"
    [reason] = found["reasons"]
    assert reason["code"] == "requested_value_invalid"
    assert reason["text"] == (f"requested value `{value}` is not whole: a free period is a whole number of months")
    assert found["requested"] == str(value)


@pytest.mark.parametrize("value", [3, "3", "3.0"])
def test_a_whole_free_period_is_still_applied(rules: Path, value: Any) -> None:
    assert _free_months(rules, value)["status"] == "applied"


def test_validate_scenarios_takes_a_fractional_free_period_as_any_invalid_requested_value(
    rules: Path, tmp_path: Path
) -> None:
    # an invalid requested value is a decision (`rejected`, with its reason), not a scenario error:
    # `validate --scenarios` passes `2.5` as it passes `abc` or money finer than the cent
    (rules / "discounts" / "free_months.yaml").write_text(_FREE_RANGE, encoding="utf-8")
    found = {}
    for value in (2.5, "abc"):
        data = complaint()
        data["requested_discounts"] = [{"discount": "free-months", "value": value, "added_on": "2015-06-20"}]
        path = tmp_path / "scenario.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        found[value] = [(d.code, d.message) for d in check_scenario_paths(str(rules), [str(path)])]
    assert found[2.5] == found["abc"]


# --- a subscription's request added after `as_of` ---------------------------------------------------


def _retention_offer(added_on: str) -> dict[str, Any]:
    """The shipped retention offer, 10.00 EUR from 1 June on June's bill (`as_of` 2015-06-15),
    approved, added on `added_on`."""
    data = retention()
    request = {"discount": "retention-offer", "value": "10.00 EUR", "start": "2015-06-01", "added_on": added_on}
    data["requested_discounts"] = [request]
    data["approvals"] = [{"discount": "retention-offer", "by": "max.manager", "units": ["retention-team"]}]
    decision = load_rules(REPO / "rules").decide(data)
    [found] = [d for d in decision["discounts"]["definitions"] if d["code"] == "retention-offer"]
    return dict(found)


def test_a_subscription_request_added_after_as_of_reduces_no_bill() -> None:
    # until 2026-12-03 it was applied (its `start` lay in the period billed), where a job's
    # request added after `as_of` was already `not_effective`
    found = _retention_offer("2015-06-16")
    assert found["status"] == "not_effective"
    [reason] = found["reasons"]
    assert (reason["code"], reason["text"]) == ("starts_later", "starts on 2015-06-16")
    assert _retention_offer("2015-06-15")["status"] == "applied"  # added on the day of `as_of`


# --- words ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "facts", "words"),
    [
        (
            "requested_outside_range",
            {"requested": "1 months", "low": "2 months", "high": "6 months"},
            "requested 1 month is outside the range 2 months to 6 months",
        ),
        (
            "requested_outside_range",
            {"requested": "11 days", "low": "1 days", "high": "10 days"},
            "requested 11 days is outside the range 1 day to 10 days",
        ),
        ("offered", {"low": "1 weeks", "high": "3 weeks"}, "may be requested between 1 week and 3 weeks"),
        (
            "no_value_requested",
            {"low": "1 years", "high": "2 years"},
            "no value requested; choose one between 1 year and 2 years",
        ),
        (
            "free_period_used",
            {"free": "1 days", "from": "2015-06-01", "until": "2015-06-01"},
            "its 1 day free ran from 2015-06-01 to 2015-06-01",
        ),
        (
            "periods_used",
            {"periods": 1, "from": "2015-06-01", "until": "2015-07-01"},
            "ran for its 1 billing period from 2015-06-01 (until 2015-07-01)",
        ),
        (
            "periods_used",
            {"periods": 6, "from": "2015-01-01", "until": "2015-07-01"},
            "ran for its 6 billing periods from 2015-01-01 (until 2015-07-01)",
        ),
        (
            "limit_reached",
            {"used": 1, "since": "2015-01-01", "window": "calendar", "per": "1 year", "limit": 1},
            "applied 1 time since 2015-01-01 (calendar 1 year); the limit is 1",
        ),
        (
            "limit_reached",
            {"used": 3, "since": "2014-07-02", "window": "rolling", "per": "1 year", "limit": 3},
            "applied 3 times since 2014-07-02 (rolling 1 year); the limit is 3",
        ),
    ],
)
def test_reasons_say_one_month_and_three_times(code: str, facts: dict[str, Any], words: str) -> None:
    # until 2026-12-03: "requested 1 months", "applied 3 time(s)", "its 6 billing period(s)"
    assert Reason(code, facts).words() == words


def test_a_request_of_one_month_below_the_range_says_one_month(rules: Path) -> None:
    found = _free_months(rules, 1)
    assert found["status"] == "rejected"
    [reason] = found["reasons"]
    assert reason["text"] == "requested 1 month is outside the range 2 months to 6 months"
    assert reason["facts"]["requested"] == "1 months"  # the facts as they were: the words alone changed

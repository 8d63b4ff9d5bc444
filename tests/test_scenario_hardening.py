"""Scenarios that pass the scenario schema decide without an exception (issue 8).

Money and numbers stay within the limits (15 digits before the decimal point, 9 after, finite) or
are refused at their field (BR602); dates are text, never Unix timestamps; date arithmetic in the
decision clamps at the calendar's ends; no decision shows a number in exponent form.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules
from engine.cli.main import main
from engine.decide.decision import to_json
from engine.decide.scenarios import ScenarioInvalid, read_scenarios
from engine.models.common import Validity
from engine.models.criteria import DayWindow

REPO = Path(__file__).resolve().parent.parent
RULES = load_rules(REPO / "rules")
AGENT = {"user": "anna.agent", "units": ["customer-care"]}
EXPONENT = re.compile(r"[0-9][eE][+-]?[0-9]")

SCENARIO = """\
id: s1
as_of: {as_of}
subscription:
  code: S1
  plan: tv-essentials-24
  billing_frequency: monthly
  start: {start}
  products:
    - product: tv-essentials
      bundle: tv-essentials-bundle
      price: {price}
      quantity: {quantity}
  billing_period: {{from: {period_from}, to: {period_to}}}
"""
DEFAULTS = {
    "as_of": "2015-06-15T10:00:00Z",
    "start": "2014-01-01",
    "price": "29.99 EUR",
    "quantity": 1,
    "period_from": "2015-06-01",
    "period_to": "2015-06-30",
}


def scenario_file(tmp_path: Path, **values: Any) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(**{**DEFAULTS, **values}), encoding="utf-8")
    return path


def diagnostics(path: Path) -> list[tuple[str, int, int, str]]:
    item = next(read_scenarios(path))
    return [(d.code, d.line, d.column, d.message) for d in item.diagnostics]


def decide_file(path: Path) -> dict[str, Any]:
    item = next(read_scenarios(path))
    assert not item.diagnostics, item.diagnostics
    decision: dict[str, Any] = RULES.decide(item.scenario, explain=True)
    return decision


# --- 5. money and numbers within the limits --------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("100000000000000000000000000 EUR", "`100000000000000000000000000` is too large"),
        ("1000000000000000 EUR", "`1000000000000000` is too large"),
        ("10.0000000001 EUR", "`10.0000000001` is too precise"),
        ("0." + "0" * 5000 + "1 EUR", "`0.0000000000000000…000000000000000001` is too precise"),
    ],
)
def test_money_beyond_the_limits_is_refused_at_its_field(tmp_path: Path, price: str, message: str) -> None:
    found = diagnostics(scenario_file(tmp_path, price=price))
    assert len(found) == 1
    code, line, column, text = found[0]
    assert (code, line, column) == ("BR602", 11, 14)
    assert text.startswith(f"scenario field `subscription.products[0].price`: {message}")


def test_numbers_beyond_the_limits_are_refused_at_their_field() -> None:
    data = {
        "id": "n",
        "as_of": "2015-06-15T10:00:00Z",
        "usage": [{"at": "2015-06-10T10:00:00Z", "quantity": value} for value in ("1e30", "NaN", 1e-10, "12.5")],
    }
    with pytest.raises(ScenarioInvalid) as caught:
        RULES.decide(data)
    assert [d.message for d in caught.value.diagnostics] == [
        "scenario field `usage[0].quantity`: `1e30` is too large: at most 15 digits before the decimal point",
        "scenario field `usage[1].quantity`: `NaN` is not a finite number",
        "scenario field `usage[2].quantity`: `1e-10` is too precise: at most 9 digits after the decimal point",
    ]


def test_money_finer_than_the_minor_unit_decides_exactly_and_rounds_once(tmp_path: Path) -> None:
    decision = decide_file(scenario_file(tmp_path, price="10.001 EUR"))
    line = decision["discounts"]["lines"][0]
    # 5 % of 10.001 = 0.50005, rounded once to 0.50; the net keeps the gross's precision
    assert (line["gross"], line["net"]) == ("10.001 EUR", "9.501 EUR")


def test_no_decision_shows_exponent_form(tmp_path: Path) -> None:
    data = {
        "id": "tiny",
        "as_of": "2015-06-15T10:00:00Z",
        "subscription": {
            "code": "S1",
            "plan": "tv-essentials-24",
            "billing_frequency": "monthly",
            "start": "2014-01-01",
            "products": [{"product": "tv-essentials", "bundle": "tv-essentials-bundle", "price": "0.000000001 EUR"}],
        },
        "agent": AGENT,
        "requested_discounts": [{"discount": "complaint-discount", "value": "1e1"}],
        "approvals": [{"discount": "complaint-discount", "by": "sara.supervisor"}],
    }
    decision = RULES.decide(data, explain=True)
    text = to_json(decision)
    assert not EXPONENT.search(text.replace(decision["rules_version"], ""))
    assert decision["discounts"]["lines"][0]["gross"] == "0.000000001 EUR"
    complaint = next(d for d in decision["discounts"]["definitions"] if d["code"] == "complaint-discount")
    assert (complaint["status"], complaint["requested"]) == ("applied", "10")


def test_catalog_price_times_a_huge_quantity_names_the_quantity(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "s.yaml"
    text = SCENARIO.format(**DEFAULTS).replace("      price: 29.99 EUR\n", "")
    path.write_text(text.replace("quantity: 1", "quantity: 999999999999999"), encoding="utf-8")
    assert main(["decide", "--rules", str(REPO / "rules"), str(path)]) == 1
    err = capsys.readouterr().err
    assert "s.yaml:11:17: error[BR603] 999999999999999 × the catalog price 29.99 EUR is larger than" in err
    assert "Traceback" not in err and "internal error" not in err


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("NaN", "requested value `NaN` is not a finite number"),
        ("abc", "requested value `abc` is not a number"),
        ("1e30", "requested value `1e30` is too large: at most 15 digits before the decimal point"),
    ],
)
def test_a_requested_value_that_is_no_number_is_rejected_with_a_reason(value: str, reason: str) -> None:
    data = {
        "id": "r",
        "as_of": "2015-06-15T10:00:00Z",
        "subscription": {"code": "S", "start": "2014-01-01", "products": [{"product": "tv-essentials"}]},
        "agent": AGENT,
        "requested_discounts": [{"discount": "complaint-discount", "value": value}],
    }
    complaint = next(d for d in RULES.decide(data)["discounts"]["definitions"] if d["code"] == "complaint-discount")
    assert (complaint["status"], [r["text"] for r in complaint["reasons"]]) == ("rejected", [reason])


def test_a_union_field_error_names_the_field_once() -> None:
    data = {
        "id": "u",
        "as_of": "2015-06-15T10:00:00Z",
        "requested_discounts": [{"discount": "complaint-discount", "value": float("inf")}],
    }
    with pytest.raises(ScenarioInvalid) as caught:
        RULES.decide(data)
    assert [d.message for d in caught.value.diagnostics] == [
        "scenario field `requested_discounts[0].value`: `inf` is not a finite number"
    ]


# --- 6. dates are text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "line", "column", "message"),
    [
        ("as_of", "0", 2, 8, "scenario field `as_of`: a date-time must be written as text"),
        ("as_of", "1.5", 2, 8, "scenario field `as_of`: a date-time must be written as text"),
        ("as_of", '"0"', 2, 8, "scenario field `as_of`: `0` is not a date-time"),
        ("start", "0", 7, 10, "scenario field `subscription.start`: a date must be written as text"),
        ("start", '"1434326400"', 7, 10, "scenario field `subscription.start`: `1434326400` is not a date"),
        ("period_from", "0", 13, 26, "scenario field `subscription.billing_period.from`: a date must be written"),
    ],
)
def test_a_number_where_a_date_belongs_is_a_scenario_error(
    tmp_path: Path, field: str, value: str, line: int, column: int, message: str
) -> None:
    found = diagnostics(scenario_file(tmp_path, **{field: value}))
    assert len(found) == 1
    assert found[0][:3] == ("BR602", line, column)
    assert found[0][3].startswith(message)


def test_dates_written_as_text_still_work(tmp_path: Path) -> None:
    decision = decide_file(scenario_file(tmp_path, as_of="2015-06-15T00:00:00", start='"2014-01-01"'))
    assert decision["discounts"]["lines"][0]["net"] == "28.49 EUR"


def test_rule_file_dates_and_times_are_text_too() -> None:
    from pydantic import ValidationError

    assert Validity.model_validate({"from": "2015-01-01"}).from_.isoformat() == "2015-01-01"
    with pytest.raises(ValidationError, match="a date must be written as text"):
        Validity.model_validate({"from": 0})
    with pytest.raises(ValidationError, match="a time of day must be written as text"):
        DayWindow.model_validate({"day": "monday", "from": 3600})


# --- 7. decision-time date arithmetic near the calendar's ends --------------------------------------


@pytest.mark.parametrize(
    ("as_of", "period_from", "period_to"),
    [
        ("9999-12-31T23:00:00-05:00", "9999-12-01", "9999-12-31"),
        ("0001-01-01T01:00:00+05:00", "0001-01-01", "0001-01-31"),
    ],
)
def test_scenarios_at_the_calendar_edges_decide(tmp_path: Path, as_of: str, period_from: str, period_to: str) -> None:
    path = scenario_file(tmp_path, as_of=as_of, start=period_from, period_from=period_from, period_to=period_to)
    data = next(read_scenarios(path)).scenario.model_dump(by_alias=True, mode="json")
    data["discount_history"] = [{"discount": "complaint-discount", "on": period_from}]
    data["agent"] = AGENT
    data["requested_discounts"] = [{"discount": "complaint-discount", "value": 10, "start": period_to}]
    decision = RULES.decide(copy.deepcopy(data), explain=True)
    assert json.loads(to_json(decision))["scenario"] == "s1"


def test_huge_durations_in_rules_decide(tmp_path: Path) -> None:
    root = tmp_path / "rules"
    root.mkdir()
    (root / "ruleset.yaml").write_text(
        'kind: rule_set\ncode: t\nname: T\nversion: "1"\ndefault_currency: EUR\n', encoding="utf-8"
    )
    (root / "d.yaml").write_text(
        "kind: product\ncode: tv\nname: TV\ntype: termed\nprice: 30.00 EUR\nbilling_frequency: monthly\n---\n"
        "kind: discount\ncode: long\nname: Long\ntype: auto_apply\nclassification: subscription\n"
        "applied_service_type: non_usage\nstate: effective\namount: {type: percentage, value: 10}\n"
        "discounted_products: [{product: tv}]\nvalidity: {effective: 0001-01-01}\n"
        "duration: {billing_periods: 99999999999999}\nlimit: {times: 1, per: 9998 years}\n",
        encoding="utf-8",
    )
    rules = load_rules(root)
    for as_of, start in (("9999-12-31T10:00:00Z", "9999-12-01"), ("0001-01-02T10:00:00Z", "0001-01-01")):
        data = {
            "id": "edge",
            "as_of": as_of,
            "subscription": {
                "code": "S",
                "start": start,
                "billing_frequency": "monthly",
                "products": [{"product": "tv"}],
            },
            "discount_history": [{"discount": "long", "on": start}],
        }
        definition = rules.decide(data)["discounts"]["definitions"][0]
        assert definition["status"] == "limit_reached"  # applied once in a window reaching past the calendar


def test_minor_units_are_bounded(tmp_path: Path) -> None:
    from engine.ruleset import RuleSetError

    (tmp_path / "ruleset.yaml").write_text(
        'kind: rule_set\ncode: t\nname: T\nversion: "1"\ndefault_currency: EUR\nminor_units: {EUR: 40}\n',
        encoding="utf-8",
    )
    with pytest.raises(RuleSetError) as caught:
        load_rules(tmp_path)
    found = [(d.code, d.line) for d in caught.value.diagnostics]
    assert found == [("BR206", 6)]


def test_a_period_that_ends_before_it_starts_is_a_scenario_error(tmp_path: Path) -> None:
    found = diagnostics(scenario_file(tmp_path, period_from="2015-06-02", period_to="2015-06-01"))
    message = (
        "scenario field `subscription.billing_period`: the period ends on 2015-06-01, before it starts on 2015-06-02"
    )
    assert found == [("BR602", 13, 19, message)]


def test_an_interruption_that_ends_before_it_starts_is_a_scenario_error() -> None:
    data = {
        "id": "i",
        "as_of": "2015-06-15T10:00:00Z",
        "subscription": {
            "code": "S",
            "start": "2015-01-01",
            "status_history": [{"status": "rested", "from": "2015-06-30", "to": "2015-01-01"}],
        },
    }
    with pytest.raises(ScenarioInvalid) as caught:
        RULES.decide(data)
    assert [d.message for d in caught.value.diagnostics] == [
        "scenario field `subscription.status_history[0]`: the period ends on 2015-01-01, before it starts on 2015-06-30"
    ]


def test_free_days_on_a_one_day_period_decide(tmp_path: Path) -> None:
    (tmp_path / "ruleset.yaml").write_text(
        'kind: rule_set\ncode: t\nname: T\nversion: "1"\ndefault_currency: EUR\n', encoding="utf-8"
    )
    (tmp_path / "d.yaml").write_text(
        "kind: product\ncode: box\nname: Box\ntype: expense\nprice: 10.00 EUR\n---\n"
        "kind: discount\ncode: free\nname: F\ntype: auto_apply\nclassification: subscription\n"
        "applied_service_type: non_usage\nstate: effective\namount: {type: free_period, value: 3, unit: days}\n"
        "discounted_products: [{product: box}]\nvalidity: {effective: 2015-01-01}\n",
        encoding="utf-8",
    )
    period = {"from": "2015-06-01", "to": "2015-06-01"}
    data = {
        "id": "x",
        "as_of": "2015-06-15T00:00:00Z",
        "subscription": {
            "code": "S",
            "start": "2015-01-01",
            "products": [{"product": "box"}],
            "billing_period": period,
        },
    }
    assert load_rules(tmp_path).decide(data)["discounts"]["lines"][0]["net"] == "0.00 EUR"

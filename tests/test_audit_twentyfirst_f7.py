"""Findings of the twenty-first session's audits (2026-12-03), the Python API: one record whose
validation raises costs that record, not the batch (`decide_records`); odd Python values in a
scenario (a 5,000-digit number in a text field, an id no JSON writer takes, nesting 1,000 deep,
`pandas.NaT` as a date-time) are refused at their field; `RuleSetError` counts errors and warnings
apart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.decide.scenarios import ScenarioInvalid, validate_scenario
from engine.ruleset import RuleSet, RuleSetError, load_rules
from engine.run import decide_records
from tests.test_audit_twentieth_checks import rules
from tests.test_money_checks import edit

REPO = Path(__file__).resolve().parent.parent

__all__ = ["rules"]  # the fixture, shared


@pytest.fixture(scope="module")
def shipped() -> RuleSet:
    return load_rules(REPO / "rules")


def _scenario(name: str, **balance: Any) -> dict[str, Any]:
    events = [{"id": "E", "type": "debit", "request": "r", "amount": 1, "at": "2015-09-03T10:00:00+02:00"}]
    facts: dict[str, Any] = {"policy": "standard-balance", "opening": 20, "events": events, **balance}
    return {"id": name, "as_of": "2015-09-30T18:00:00+02:00", "balance": facts}


# --- 1. decide_records: a record whose validation raises is that record's error record ---------------


def test_a_record_whose_validation_raises_is_an_error_record_and_the_others_are_decided(
    shipped: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until 2026-12-03 the exception left `decide_records`: no outcome at all for the batch."""
    real = validate_scenario

    def failing(data: Any, *args: Any, **kwargs: Any) -> Any:
        if data.get("id") == "bad":
            raise ValueError("odd")
        return real(data, *args, **kwargs)

    monkeypatch.setattr("engine.run.evaluate.validate_scenario", failing)
    records = [_scenario("ok-1"), _scenario("ok-2"), _scenario("bad"), _scenario("ok-4")]
    found = list(decide_records(shipped.brief(), records, workers=1))
    assert [(o.line, o.kind, o.scenario) for o in found] == [
        (1, "decision", "ok-1"),
        (2, "decision", "ok-2"),
        (3, "error", "bad"),
        (4, "decision", "ok-4"),
    ]
    error = json.loads(found[2].text)
    assert error["diagnostics"][0]["code"] == "internal"
    assert "ValueError: odd" in error["diagnostics"][0]["message"]


# --- 2. odd Python values in a scenario: a ScenarioInvalid at the field, never a raw exception ------


def _nested(depth: int, *, mapping: bool = False) -> Any:
    value: Any = "debit"
    for _ in range(depth):
        value = {"a": value} if mapping else [value]
    return value


def _refused(rules: RuleSet, scenario: dict[str, Any]) -> ScenarioInvalid:
    with pytest.raises(ScenarioInvalid) as caught:
        rules.decide(scenario)
    with pytest.raises(ScenarioInvalid):
        rules.decide_json(scenario)
    return caught.value


@pytest.mark.parametrize("digits", [4400, 5000])
def test_a_number_of_thousands_of_digits_in_a_text_field_is_br602_at_the_field(shipped: RuleSet, digits: int) -> None:
    """Until 2026-12-03 a raw ValueError ("Exceeds the limit (4300 digits) … sys.set_int_max_str_digits")."""
    problem = _refused(shipped, _scenario("s", policy=10**digits))
    assert (problem.code, problem.field) == ("BR602", "balance.policy")
    assert "set_int_max_str_digits" not in problem.message + problem.hint
    assert problem.hint


@pytest.mark.parametrize(
    ("written", "shown"),
    [({(1, 2): 1}, "a mapping"), (_nested(1500), "a list"), ({"a": 1}, '`{"a": 1}`')],
)
def test_an_id_no_json_writer_takes_is_br602_at_id(shipped: RuleSet, written: Any, shown: str) -> None:
    """Until 2026-12-03 a raw TypeError (a key of a tuple) or RecursionError (nesting 1,500 deep)."""
    problem = _refused(shipped, {**_scenario("s"), "id": written})
    assert (problem.code, problem.field) == ("BR602", "id")
    assert problem.message == f"scenario field `id`: an id is text or a whole number, not {shown}"
    assert problem.hint


@pytest.mark.parametrize("mapping", [False, True])
def test_a_value_nested_a_thousand_deep_is_br107_at_its_field(shipped: RuleSet, mapping: bool) -> None:
    """Until 2026-12-03 a raw RecursionError; JSON text of the same scenario was BR107 already."""
    scenario = _scenario("s")
    scenario["balance"]["events"][0]["type"] = _nested(990 if mapping else 1000, mapping=mapping)
    problem = _refused(shipped, scenario)
    assert (problem.code, problem.field) == ("BR107", "balance.events[0].type")
    assert problem.message == (
        "scenario field `balance.events[0].type`: nesting is too deep (over 254 levels of objects and arrays)"
    )
    assert problem.hint == "flatten the structure"


def test_decide_records_decides_around_a_record_of_each_odd_value(shipped: RuleSet) -> None:
    """The audit's batch: one bad record among good ones (until 2026-12-03 no outcome at all)."""
    bad = [_scenario("huge", policy=10**5000), {**_scenario("key"), "id": {(1, 2): 1}}]
    deep = _scenario("deep")
    deep["balance"]["events"][0]["type"] = _nested(1000)
    records = [_scenario("ok-1"), *bad, deep, _scenario("ok-5")]
    found = list(decide_records(shipped.brief(), records, workers=1))
    assert [o.kind for o in found] == ["decision", "error", "error", "error", "decision"]
    codes = [json.loads(o.text)["diagnostics"][0]["code"] for o in found[1:4]]
    assert codes == ["BR602", "BR602", "BR107"]


# --- 3. pandas.NaT is not a date-time (nor a date) ---------------------------------------------------


def test_pandas_nat_as_a_date_time_is_br602_at_the_field(shipped: RuleSet) -> None:
    """Until 2026-12-03 taken: a decision crashed on it, or a balance's ledger showed `"at": "NaT"`."""
    pd = pytest.importorskip("pandas")
    scenario = _scenario("s")
    scenario["balance"]["events"][0]["at"] = pd.NaT
    problem = _refused(shipped, scenario)
    assert (problem.code, problem.field) == ("BR602", "balance.events[0].at")
    assert "`NaT` is not a date-time" in problem.message
    problem = _refused(shipped, {**_scenario("s"), "as_of": pd.NaT})
    assert (problem.code, problem.field) == ("BR602", "as_of")
    # a date field: "not a date" (until 2026-12-03 "a date, written with a time of day")
    sample = {
        "id": "s",
        "as_of": "2015-09-30T18:00:00+02:00",
        "subscription": {"plan": "x", "start": pd.NaT},
    }
    found = [d.message for d in _refused(shipped, sample).diagnostics]
    assert any("subscription.start`: `NaT` is not a date:" in m for m in found), found
    # a timestamp with a value still decides
    when = pd.Timestamp("2015-09-03T10:00:00+02:00")
    scenario["balance"]["events"][0]["at"] = when
    assert shipped.decide_json(scenario) == shipped.decide_json(_scenario("s"))


# --- 8. RuleSetError counts errors and warnings apart and names the first error ---------------------


def test_rule_set_error_counts_a_warning_apart_and_names_the_first_error(rules: Path) -> None:
    """Until 2026-12-03 "the rule set has 2 error(s) (first: …loyalty.yaml:17:10 percentage 0.5 …)":
    the warning (BR423) counted as an error and named as the first."""
    edit(rules / "discounts/loyalty.yaml", "  value: 10\n", "  value: 0.5\n")  # BR423, a warning
    edit(rules / "discounts/loyalty.yaml", "- product: fibre-100", "- product: fibre-999")  # BR302
    with pytest.raises(RuleSetError) as caught:
        load_rules(rules)
    assert [d.code for d in caught.value.diagnostics] == ["BR423", "BR302"]
    message = str(caught.value)
    assert message.startswith("the rule set has 1 error and 1 warning (first: ")
    assert message.endswith("loyalty.yaml:21:14 unknown product `fibre-999`)")
    assert str(RuleSetError(caught.value.diagnostics[1:] * 2)).startswith("the rule set has 2 errors (first: ")

"""A decision's bill, kept by the discount evaluator and written once, decides and writes what the
long way does, byte for byte, and is never handed to a scenario it does not fit.

With brief reasons, a decision that meets a sheet (`DiscountEvaluator._sheet`: every block of the
decision resolved, as one) takes the sheet's bill on its lines (`DiscountEvaluator._billed`): the
applied results and the lines' amounts, kept per the sheet, each line, the values of the applied
results the scenario asks for and (with a free period) the period billed; the writer keeps what
it writes of a bill (`decision.discounts_json`), and `decide_text` puts a bill's definitions in as
text (`decision.DefinitionsText`) rather than having orjson write and decode them. Compared here
with the long way (`by_blocks` off: every amount worked out, every result written afresh) and with
`to_json(decide(...))`: the samples decided again and again, then changed one fact at a time (a
line's price, quantity or order, the period billed, a requested value, the agent, the history).
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.decide import decision
from engine.decide.decision import DefinitionsText, _evaluator, criteria_outcomes, decide, decide_text, to_json
from engine.decide.scenarios import validate_scenario
from engine.ruleset import RuleSet
from tests.test_decide_differential import SAMPLES, USERS
from tests.test_discount_speed_blocks import (
    DISCOUNT_SAMPLES,
    SHIPPED,
    _generated,
    _moved,
    _pairs,
    _same,
    asking_scenario,
)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _text_for_every_rule_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """The definitions put in as text for the shipped rules' few definitions too
    (`decision.TEXT_FROM`: by default from 100 on), so that the splice is tested on every sample."""
    monkeypatch.setattr(decision, "TEXT_FROM", 0)


def _again(pairs: list[tuple[RuleSet, RuleSet]], data: dict[str, Any], times: int = 3) -> bool:
    """`data` decided `times` times in a row (a sheet is made the second time, its bill the third),
    each time as the long way decides it."""
    return all(_same(pairs, data) for _ in range(times))


def _bills(rules: RuleSet) -> dict[Any, Any]:
    found: dict[Any, Any] = _evaluator(rules)._bills
    return found


def test_bills_are_made_used_and_written_as_text() -> None:
    """Not vacuous: the samples decided again go by bills, and `decide_text` puts their definitions
    in as text."""
    blocks, _ = SHIPPED[0]
    for _, data in SAMPLES:
        _again(SHIPPED, data)
    assert _bills(blocks)
    data = next(d for name, d in SAMPLES if name.startswith("discounts/") and "subscription" in d)
    scenario = validate_scenario(copy.deepcopy(data), None).scenario
    decided = _evaluator(blocks).decide(scenario, criteria_outcomes(blocks, scenario), why=False)
    assert decided.written is not None  # a bill's
    again = _evaluator(blocks).decide(scenario, criteria_outcomes(blocks, scenario), why=False)
    assert again.lines is decided.lines and again.written is decided.written  # the same bill, shared
    part = decide(blocks, scenario, shared=True, text=True)["discounts"]
    assert type(part["definitions"]) is DefinitionsText
    assert decide_text(blocks, scenario) == to_json(decide(blocks, scenario))


def _line_changes(data: dict[str, Any]) -> list[dict[str, Any]]:
    """`data` with one fact of its lines or its period changed at a time."""
    subject = "subscription" if "subscription" in data else "job"
    products = (data.get(subject) or {}).get("products") or []
    out = []
    if products:
        for change in ({"quantity": 2}, {"price": "12.34 EUR"}, {"price": "7 EUR"}, {"main": False}):
            changed = copy.deepcopy(data)
            changed[subject]["products"][0].update(change)
            out.append(changed)
    if len(products) > 1:
        reordered = copy.deepcopy(data)
        reordered[subject]["products"].reverse()
        out.append(reordered)
    period = (data.get("subscription") or {}).get("billing_period")
    if period:
        for days in (-1, 1, 27):
            moved = copy.deepcopy(data)
            end = date.fromisoformat(str(period["to"])) + timedelta(days=days)
            moved["subscription"]["billing_period"]["to"] = end.isoformat()
            out.append(moved)
    return out


@pytest.mark.parametrize(("name", "data"), SAMPLES, ids=[name for name, _ in SAMPLES])
def test_a_bill_is_not_handed_to_other_lines_or_periods(name: str, data: dict[str, Any]) -> None:
    """Each sample's bill made, then its lines and period changed one at a time, each change
    decided again and again: as the long way decides it (one bill per lines and period)."""
    if not _again(SHIPPED, data):
        return
    for changed in _line_changes(data):
        _again(SHIPPED, changed)
    _same(SHIPPED, data)  # the first bill, still its own


def test_requested_values_and_agents_have_bills_of_their_own() -> None:
    """A bill whose sheet asks for a discount is kept per the values of those it applies: each
    requested value decided again and again, in turn, as the long way decides it."""
    for _, data in SAMPLES:
        if not data.get("requested_discounts"):
            continue
        for value in (5, 10, "5.00 EUR", 25, 5):
            changed = copy.deepcopy(data)
            changed["requested_discounts"][0]["value"] = value
            _again(SHIPPED, changed)
        for user in USERS[:3]:
            changed = copy.deepcopy(data)
            changed["agent"] = {"user": user, "units": []}
            _again(SHIPPED, changed)
        _again(SHIPPED, data)


def test_a_decision_of_a_bill_changed_by_its_caller_does_not_change_the_next() -> None:
    """The dict API's decisions are fresh data, though their bill is shared."""
    blocks, _ = SHIPPED[0]
    data = next(d for name, d in SAMPLES if name.startswith("discounts/") and "subscription" in d)
    scenario = validate_scenario(copy.deepcopy(data), None).scenario
    expected = blocks.decide_json(scenario)
    for _ in range(3):
        first = blocks.decide(scenario)
        for definition in first["discounts"]["definitions"]:
            definition["reasons"].append("changed by the caller")
            definition["status"] = "changed"
        for line in first["discounts"]["lines"]:
            line["discounts"].append("changed")
        for totals in first["discounts"]["totals"].values():
            totals["net"] = "changed"
    assert blocks.decide_json(scenario) == expected == to_json(blocks.decide(scenario))


def test_definitions_are_put_in_where_the_decision_leaves_them() -> None:
    """A NUL in the scenario's text is escaped by orjson (`\\u0000`): the raw NUL `decide_text`
    puts the definitions in at is the only one."""
    blocks, _ = SHIPPED[0]
    data = copy.deepcopy(next(d for name, d in SAMPLES if name.startswith("discounts/") and "subscription" in d))
    data["id"] = "nul\x00 in the id \x00"
    scenario = validate_scenario(copy.deepcopy(data), None).scenario
    for _ in range(3):
        text = blocks.decide_json(scenario)
        assert text == to_json(blocks.decide(scenario))
    assert "\x00" not in text and "\\u0000" in text
    assert orjson.loads(text)["scenario"] == data["id"]


# --- a generated rule set of many definitions ------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[tuple[RuleSet, RuleSet]], list[str]]:
    rules = _generated(tmp_path_factory.mktemp("bills"), 100)
    ad_hoc = sorted(code for code, d in rules.models("discount").items() if d.type.value == "ad_hoc")
    return _pairs(rules), ad_hoc


def test_the_samples_and_their_changes_decide_alike_by_bills_on_many_definitions(
    generated: tuple[list[tuple[RuleSet, RuleSet]], list[str]],
) -> None:
    pairs, _ = generated
    for data in DISCOUNT_SAMPLES:
        moved = _moved(data, 0)
        if _again(pairs, moved):
            for changed in _line_changes(moved)[:4]:
                _again(pairs, changed)
    assert _bills(pairs[0][0]) and _bills(pairs[1][0])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_requests_and_history_decide_alike_by_bills_on_many_definitions(
    generated: tuple[list[tuple[RuleSet, RuleSet]], list[str]], data: st.DataObject
) -> None:
    """Requests (values, dates), agents and history, each scenario decided again and again."""
    pairs, ad_hoc = generated
    codes = st.lists(st.sampled_from(ad_hoc), max_size=2, unique=True)
    _again(pairs, asking_scenario(data, ad_hoc, 60, codes))


def test_the_results_applied_are_found_without_spreading_the_blocks() -> None:
    """`DiscountDecision.applied` (what a purchase reads of its bill) reads only the results
    decided afresh: a block's shared results are never applied."""
    blocks, _ = SHIPPED[0]
    evaluator = _evaluator(blocks)
    seen = 0
    for _ in range(3):
        for _, data in SAMPLES:
            checked = validate_scenario(copy.deepcopy(data), None)
            if checked.diagnostics or ("subscription" not in data and "job" not in data):
                continue
            decided = evaluator.decide(checked.scenario, criteria_outcomes(blocks, checked.scenario), why=False)
            found = decided.applied()
            assert found == [r for r in decided.definitions if r.status == "applied"]
            seen += bool(found) and decided.blocks is not None
    assert seen


def test_a_bill_with_a_free_period_follows_the_period_billed_and_the_frequency(tmp_path: Path) -> None:
    """A free period in days or weeks removes its share of the period billed: a bill is kept per
    the period's length and the billing frequency, never read back from another period's. Each
    scenario decided again and again, then all of them again (their bills made), as the long way
    (lines worked out anew) decides them."""
    from tests.test_discount_speed_paths import _decided_text, _free_period_rules

    data = next(d for name, d in SAMPLES if name.startswith("discounts/free_period_yearly"))
    periods = [("2015-03-01", "2016-02-29"), ("2015-03-01", "2015-03-31"), ("2015-03-01", "2015-03-07")]
    for n, (unit, value) in enumerate([("days", 10), ("weeks", 2), ("months", 2)]):
        kept, long_way = _free_period_rules(tmp_path / str(n), unit, value)
        scenarios = []
        for frequency in ("yearly", "monthly", "quarterly"):
            for start, end in periods:
                subscription = {**data["subscription"], "billing_frequency": frequency}
                subscription["billing_period"] = {"from": start, "to": end}
                scenarios.append({**data, "subscription": subscription})
        texts = set()
        for scenario in scenarios + scenarios[::-1] + scenarios:
            for _ in range(3):
                text = _decided_text(kept, scenario)
                assert text == _decided_text(long_way, scenario), (unit, scenario["subscription"])
            texts.add(text)
        assert len(texts) > 1  # (not vacuous: the periods and frequencies bill apart)
        assert _bills(kept)


def test_explained_decisions_of_a_bill_are_written_alike() -> None:
    """With `explain`, the trace follows the definitions put in as text."""
    blocks, _ = SHIPPED[0]
    for name, data in SAMPLES:
        if not name.startswith("discounts/"):
            continue
        scenario = validate_scenario(copy.deepcopy(data), None).scenario
        expected = to_json(decide(blocks, scenario, explain=True))
        for _ in range(3):
            assert blocks.decide_json(scenario, explain=True) == expected, name


def test_the_definitions_are_put_in_as_text_from_a_hundred_definitions_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """`decide(text=True)` gives the definitions as text only for a rule set of `TEXT_FROM`
    discount definitions or more (the shipped rules have 20: orjson writes their few pieces)."""
    blocks, _ = SHIPPED[0]
    data = next(d for name, d in SAMPLES if name.startswith("discounts/") and "subscription" in d)
    scenario = validate_scenario(copy.deepcopy(data), None).scenario
    count = len(_evaluator(blocks).by_code)
    monkeypatch.setattr(decision, "TEXT_FROM", count + 1)
    assert type(decide(blocks, scenario, shared=True, text=True)["discounts"]["definitions"]) is list
    assert decide_text(blocks, scenario) == to_json(decide(blocks, scenario))
    monkeypatch.setattr(decision, "TEXT_FROM", count)
    assert type(decide(blocks, scenario, shared=True, text=True)["discounts"]["definitions"]) is DefinitionsText
    assert decide_text(blocks, scenario) == to_json(decide(blocks, scenario))

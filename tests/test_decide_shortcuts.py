"""The decision path's shortcuts (issue 11, second round) decide what the long way decides.

- (`CouponIndex.nearest` weighing a few codes per coupon: tests/test_coupons.py);
- the discount evaluator keeps the results that the dates and the subject settle, and the
  not-eligible results per failing conditions, and shares them between decisions: a caller that
  changes one decision must not change the next;
- a line nothing is taken from is written as before (`20 EUR` gross → `20.00 EUR` net);
- the frozen reference evaluator agrees on scenarios that reuse the kept results under other dates.
"""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine import load_rules
from engine.decide.decision import to_json
from engine.decide.discounts_reference import ReferenceEvaluator, in_old_words
from engine.decide.scenarios import validate_scenario
from tests.test_applied_only import SAMPLES

REPO = Path(__file__).resolve().parent.parent
RULES = load_rules(REPO / "rules")
SCENARIOS = [validate_scenario(data, None).scenario for _, data in SAMPLES]  # every sample


def _decide(data: dict[str, Any]) -> dict[str, Any]:
    checked = validate_scenario(copy.deepcopy(data), None)
    assert not checked.diagnostics
    return RULES.decide(checked.scenario)


def _subscription(as_of: str, **line: Any) -> dict[str, Any]:
    return {
        "id": "shortcuts",
        "as_of": as_of,
        "account": {"code": "A1", "classification": "Residential"},
        "subscription": {
            "code": "S1",
            "plan": "tv-essentials-24",
            "billing_frequency": "monthly",
            "start": "2014-01-01",
            "products": [{"product": "tv-essentials", "bundle": "tv-essentials-bundle", **line}],
        },
    }


def test_a_changed_decision_does_not_change_the_next() -> None:
    data = _subscription("2015-07-10T10:00:00+02:00")
    first = _decide(data)
    expected = to_json(_decide(data))
    for definition in first["discounts"]["definitions"]:
        definition["reasons"].append("changed by the caller")
        definition["status"] = "changed"
    first["discounts"]["lines"].clear()
    assert to_json(_decide(data)) == expected


def test_a_whole_price_without_discount_is_written_as_before() -> None:
    data = _subscription("2015-07-10T10:00:00+02:00", price="20 EUR")
    decision = _decide(data)
    reference = copy.copy(RULES)
    reference.__dict__["_evaluators"] = {"discounts": ReferenceEvaluator(RULES)}
    expected = reference.decide(validate_scenario(data, None).scenario)
    assert to_json(in_old_words(decision)) == to_json(in_old_words(expected))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.dates(min_value=date(2013, 1, 1)), st.sampled_from(["subscription", "job"])),
        min_size=1,
        max_size=6,
    )
)
def test_kept_results_follow_the_dates_and_the_subject(days: list[Any]) -> None:
    """Decisions on several dates and subjects, in any order, equal the reference's each time."""
    reference = copy.copy(RULES)
    reference.__dict__["_evaluators"] = {"discounts": ReferenceEvaluator(RULES)}
    for day, subject in days:
        data = _subscription(f"{day.isoformat()}T10:00:00+00:00")
        if subject == "job":
            data["job"] = {"code": "J1", "products": data.pop("subscription")["products"][:0]}
        scenario = validate_scenario(data, None).scenario
        assert to_json(in_old_words(RULES.decide(scenario))) == to_json(in_old_words(reference.decide(scenario)))


def test_term_exceptions_alone_come_out_as_the_whole_program_says() -> None:
    """A cancellation asked without a discount question evaluates only the terms' exceptions
    (`CriteriaProgram.evaluate_group`): the same outcomes as the whole program's, and no
    discount criterion is run."""
    from engine.decide.decision import criteria_outcomes

    program = RULES.criteria
    terms = [owner for owner in program.by_owner if owner.startswith("term:")]
    assert terms  # the shipped rules have exceptions
    seen = 0
    for scenario in SCENARIOS:
        whole = program.outcomes(scenario)
        alone = criteria_outcomes(RULES, scenario)
        assert [alone[owner] for owner in terms] == [whole[owner] for owner in terms]
        assert alone._results is None  # the discounts' criteria never ran
        assert alone.results == program.evaluate(scenario)
        seen += any(holds for owner in terms for _, holds in whole[owner])
    assert seen  # some exception holds somewhere, so agreement is not all-False


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_masked_evaluation_gives_the_live_conditions_outcomes(data: st.DataObject) -> None:
    """`masked_function(scenario, mask(live))` (the discounts still open once the dates have settled the
    rest): each live condition comes out as in the whole evaluation, the others False; identical
    conditions shared by a live and a dead entry are evaluated for the live one."""
    compiled = RULES.criteria.compiled
    scenario = data.draw(st.sampled_from(SCENARIOS))
    live = data.draw(st.sets(st.integers(0, compiled.count - 1)))
    whole = compiled.function(scenario)
    masked = compiled.masked_function(scenario, compiled.mask(live))
    shared = {compiled.positions[i] for i in live}
    assert len(masked) == len(whole) == compiled.count
    for i, (outcome, full) in enumerate(zip(masked, whole, strict=True)):
        assert outcome == (full if compiled.positions[i] in shared else False), i
    assert compiled.masked_function(scenario, compiled.mask(range(compiled.count))) == whole


def test_a_masked_evaluation_split_into_parts_gives_the_same() -> None:
    """A large rule set's function is split into parts (`build(chunk)`): the mask reaches each."""
    from engine.criteria.compile import RuleSetCompiler
    from engine.criteria.environment import scenario_environment

    compiler = RuleSetCompiler(scenario_environment())
    for entry in RULES.criteria.entries:
        compiler.add(entry.node)
    compiled = compiler.build(chunk=4)
    assert compiled.source.count("def _part") >= 3
    live = set(range(0, compiled.count, 3))
    shared = {compiled.positions[i] for i in live}
    for scenario in SCENARIOS:
        whole = compiled.function(scenario)
        masked = compiled.masked_function(scenario, compiled.mask(live))
        assert whole == RULES.criteria.evaluate(scenario)
        assert masked == tuple(w if compiled.positions[i] in shared else False for i, w in enumerate(whole))

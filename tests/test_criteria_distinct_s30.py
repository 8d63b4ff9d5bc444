"""The masked evaluator gives the distinct conditions' outcomes, and its readers pick them right.

`CompiledRules.distinct_function(scenario, mask)` returns one outcome per distinct condition
(identical conditions are evaluated once; `positions` says which is whose) instead of spreading
them into every condition's slot; the discount evaluator reads each definition's entries at their
positions (`_Definition.picks`), each block's key at the distinct positions it reads
(`_Span.pick`, `_reading`) and the plan's `window` over them. Checked here against the unmasked
`function` (every condition's outcome) on the shipped rules and a generated rule set of 100
definitions (whose variants share many conditions), over the samples and generated scenarios:

- each distinct outcome is its conditions' outcome where the mask names it, else False;
- `masked_function` (the spread form) and `distinct_of` agree with `function`;
- each definition's picks equal its entries' outcomes;
- a block's key changes with every distinct outcome it reads and with no other.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import load_rules
from engine.decide.decision import _evaluator
from engine.decide.scenarios import ScenarioError, checked_scenario
from engine.ruleset import RuleSet
from tests.test_decide_differential import SAMPLES, scenarios
from tests.test_discount_speed_blocks import generated_rules

REPO = Path(__file__).resolve().parent.parent


def _generated(target: Path, definitions: int) -> RuleSet:
    return load_rules(generated_rules(target, definitions))


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    return _generated(tmp_path_factory.mktemp("distinct"), 100)


SHIPPED = load_rules(REPO / "rules")


def _scenario(data: dict[str, Any]) -> Any:
    data = {k: v for k, v in data.items() if k != "expect"}
    try:
        return checked_scenario(data)
    except ScenarioError:
        return None


def _masks(count: int, distinct: int, seed: int) -> list[list[int]]:
    """Sets of live conditions: all, none, and random halves and tenths."""
    draw = random.Random(seed)
    return [
        list(range(count)),
        [],
        *(sorted(draw.sample(range(count), count // 2)) for _ in range(3)),
        *(sorted(draw.sample(range(count), max(1, count // 10))) for _ in range(3)),
    ]


def _check_outcomes(rules: RuleSet, scenario: Any, seed: int) -> None:
    compiled = rules.criteria.compiled
    positions = compiled.positions
    every = compiled.function(scenario)
    distinct_count = max(positions) + 1
    assert len(compiled.distinct_of(every)) == distinct_count
    for i, k in enumerate(positions):
        assert compiled.distinct_of(every)[k] is every[i]
    for live in _masks(compiled.count, distinct_count, seed):
        mask = compiled.mask(live)
        distinct = compiled.distinct_function(scenario, mask)
        assert len(distinct) == distinct_count
        for i, k in enumerate(positions):
            assert distinct[k] is (every[i] if mask[k] else False), (i, k)
        spread = compiled.masked_function(scenario, mask)
        assert spread == tuple(every[i] if mask[k] else False for i, k in enumerate(positions))
    assert compiled.distinct_function(scenario, compiled.mask(range(compiled.count))) == compiled.distinct_of(every)


def _check_picks(rules: RuleSet, scenario: Any) -> None:
    evaluator = _evaluator(rules.brief())
    compiled = rules.criteria.compiled
    every = compiled.function(scenario)
    distinct = compiled.distinct_function(scenario, compiled.mask(range(compiled.count)))
    for d in evaluator.definitions:
        picked = d.picks(distinct)
        entries = tuple(every[i] for i, _ in d.entries)
        assert (picked if isinstance(picked, tuple) else (picked,)) == entries, d.code


def test_the_generated_set_shares_conditions(generated: RuleSet) -> None:
    """(Else the checks below would not tell the distinct outcomes from every condition's.)"""
    compiled = generated.criteria.compiled
    assert max(compiled.positions) + 1 < compiled.count * 2 / 3


@pytest.mark.parametrize("index", range(0, len(SAMPLES), 3))
def test_samples_distinct_outcomes_shipped_and_generated(generated: RuleSet, index: int) -> None:
    scenario = _scenario(SAMPLES[index][1])
    if scenario is None:
        pytest.skip("a refused sample")
    for rules in (SHIPPED, generated):
        _check_outcomes(rules, scenario, index)
        _check_picks(rules, scenario)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(scenarios(), st.integers(0, 1000))
def test_generated_scenarios_distinct_outcomes(generated: RuleSet, data: dict[str, Any], seed: int) -> None:
    scenario = _scenario(data)
    if scenario is None:
        return
    for rules in (SHIPPED, generated):
        _check_outcomes(rules, scenario, seed)
        _check_picks(rules, scenario)


@pytest.mark.parametrize("index", range(0, len(SAMPLES), 4))
def test_a_blocks_key_reads_exactly_its_distinct_outcomes(generated: RuleSet, index: int) -> None:
    """Flip each distinct outcome of a plan's outcomes: a block's key changes exactly when the
    flipped one is one its open definitions read (so two decisions share a block only when they
    agree on what it reads, and no outcome it does not read splits them)."""
    scenario = _scenario(SAMPLES[index][1])
    if scenario is None:
        pytest.skip("a refused sample")
    rules = generated.brief()
    evaluator = _evaluator(rules)
    compiled = rules.criteria.compiled
    subject = "subscription" if scenario.subscription is not None else "job"
    today = scenario.as_of.date()
    plan = evaluator._settle(subject, today, today)
    outcomes = list(compiled.distinct_function(scenario, plan.mask))
    read_by_plan: set[int] = set()
    for span in plan.spans:
        reads = {
            compiled.positions[i]
            for d in evaluator.definitions[span.start : span.stop]
            if plan.settled[d.index] is None
            for i, _ in d.entries
        }
        read_by_plan |= reads
        before = span.pick(tuple(outcomes))
        for k in range(len(outcomes)):
            flipped = list(outcomes)
            flipped[k] = not flipped[k]
            assert (span.pick(tuple(flipped)) != before) is (k in reads), (span.start, k)
    assert plan.window is not None
    window = plan.window(tuple(outcomes))
    for k in read_by_plan:
        flipped = list(outcomes)
        flipped[k] = not flipped[k]
        assert plan.window(tuple(flipped)) != window, k

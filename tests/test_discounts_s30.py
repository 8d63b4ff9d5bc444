"""The discount evaluator's per-decision shortcuts (session 30) decide what the plain way does.

- `decide(only=...)` (a purchase pricing its lines) keeps the definitions and their criteria's
  mask per set of codes (`DiscountEvaluator._chosen`), and finds which of those definitions a line
  matches from the lines' reducing indices, not from every definition each line matches: the
  codes found are those `matching` gives, restricted to `only`, and the decision is the same
  whether `only` comes as a frozenset, a set or a list, the first time or again, and on an
  evaluator that has decided nothing before.
- A decision of every definition reads which definitions the lines match from the memo the blocks
  use (`_context`), once: a warm evaluator decides as a fresh one does, with detailed and brief
  reasons, by blocks and the long way.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules
from engine.decide.decision import _evaluator, criteria_outcomes, to_json
from engine.decide.discounts import DiscountDecision, DiscountEvaluator, _lines
from engine.decide.scenarios import ScenarioError, validate_scenario
from engine.ruleset import RuleSet
from tests.test_decide_differential import SAMPLES

REPO = Path(__file__).resolve().parent.parent
RULES = load_rules(REPO / "rules")


def _checked(data: dict[str, Any]) -> Any:
    checked = validate_scenario(copy.deepcopy(data), None)
    return None if checked.diagnostics else checked.scenario


SCENARIOS = [(name, s) for name, data in SAMPLES if (s := _checked(data)) is not None]


def _shown(decision: DiscountDecision) -> list[Any]:
    """What a decision says: every result (status, reasons, value, amounts) and the lines' amounts."""
    results = [
        (r.code, r.status, [repr(x) for x in r.reasons], repr(r.value), dict(r.amounts)) for r in decision.definitions
    ]
    lines = [(x.line.field, x.takes, repr(x.net), x.discount) for x in decision.lines]
    return [results, lines]


def _subsets(codes: list[str], seed: int) -> list[list[str]]:
    chance = random.Random(seed)
    picks = [codes[:1], codes[-2:], codes]
    picks += [chance.sample(codes, chance.randint(1, len(codes))) for _ in range(4)]
    return picks


def _only_decided(evaluator: DiscountEvaluator, rules: RuleSet, scenario: Any, only: Any, why: bool) -> Any:
    try:
        return _shown(evaluator.decide(scenario, criteria_outcomes(rules, scenario), only, why=why))
    except ScenarioError as exc:
        return ("error", exc.code, exc.field)


@pytest.mark.parametrize(("name", "scenario"), SCENARIOS, ids=[name for name, _ in SCENARIOS])
def test_only_matches_the_lines_as_matching_does(name: str, scenario: Any) -> None:
    evaluator = _evaluator(RULES)
    try:
        _, lines = _lines(evaluator.products, scenario)
    except ScenarioError:
        return
    every = {d.code for line in lines for d in evaluator.matching(line)}
    for only in _subsets(list(evaluator.by_code), len(name)):
        definitions = evaluator._chosen(frozenset(only)).definitions
        assert [d.code for d in definitions] == [c for c in evaluator.by_code if c in set(only)]
        reducing = [evaluator._reducing(line) for line in lines]
        found = {d.code for d in definitions if any(d.index in r for r in reducing)}
        assert found == every & set(only)


@pytest.mark.parametrize("why", [True, False])
def test_only_decides_alike_however_given_and_again(why: bool) -> None:
    warm = _evaluator(RULES)
    codes = list(warm.by_code)
    long_way = DiscountEvaluator(RULES)
    long_way.by_blocks = False
    compared = 0
    for name, scenario in SCENARIOS:
        for only in _subsets(codes, len(name) + 7):
            fresh = DiscountEvaluator(RULES)
            first = _only_decided(fresh, RULES, scenario, frozenset(only), why)
            assert first == _only_decided(fresh, RULES, scenario, frozenset(only), why)  # (kept per codes)
            assert first == _only_decided(fresh, RULES, scenario, set(only), why)
            assert first == _only_decided(fresh, RULES, scenario, list(reversed(only)), why)
            assert first == _only_decided(warm, RULES, scenario, frozenset(only), why)
            if first[0] == "error":
                continue
            compared += 1
            # a result the lines' amounts do not touch (not applied) is the one the decision of
            # every definition gives, which finds the lines' definitions among all of them
            whole = {r[0]: r for r in _only_decided(long_way, RULES, scenario, None, why)[0]}
            for result in first[0]:
                assert result[1] == whole[result[0]][1]
                if result[1] != "applied":
                    assert result == whole[result[0]]
    assert compared > 100


@pytest.mark.parametrize("brief", [False, True])
def test_a_warm_evaluator_decides_as_a_fresh_one(brief: bool) -> None:
    rules = RULES.brief() if brief else RULES
    warm = copy.copy(rules)
    warm.__dict__["_evaluators"] = {}
    long_way = copy.copy(rules)
    long_way.__dict__["_evaluators"] = {}
    _evaluator(long_way).by_blocks = False
    for _ in range(2):  # (the second time: every memo met before)
        for _, scenario in SCENARIOS:
            fresh = copy.copy(rules)
            fresh.__dict__["_evaluators"] = {}
            try:
                expected = to_json(fresh.decide(scenario))
            except ScenarioError as exc:
                expected = ("error", exc.code, exc.field)
            for other in (warm, long_way):
                try:
                    found = to_json(other.decide(scenario))
                except ScenarioError as exc:
                    found = ("error", exc.code, exc.field)
                assert found == expected

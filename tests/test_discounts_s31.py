"""The discount evaluator's session-31 cuts decide what the plain way does.

- A line carries what the definitions that reduce it (`reach`) and a bill's key (`billed`) read
  of it, made with the line: the same as reading its fields, and no part of its equality or repr.
- `_dated_codes` looks at the auto-apply definitions with a run of their own that the history
  names (every one of them only when the subscription holds add-ons): the same codes as asking
  each of them, on dates before and after their expirations, with and without a history and
  add-ons.
- `_agent_kept` takes the agent's user and units (read from the model's fields).
- Brief decisions by blocks, on varied scenarios (moved in time, with histories of the running
  definitions, without agents), say what the long way says (`by_blocks` and `keep_lines` off).
"""

from __future__ import annotations

import copy
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules
from engine.decide.decision import criteria_outcomes
from engine.decide.discounts import (
    _KEPT_AGENT_TEXT,
    _KEPT_AGENT_UNITS,
    DiscountDecision,
    DiscountEvaluator,
    Line,
    _agent_kept,
    _lines,
)
from engine.decide.scenarios import ScenarioError, validate_scenario
from engine.values import Money
from tests.test_decide_differential import SAMPLES

REPO = Path(__file__).resolve().parent.parent
RULES = load_rules(REPO / "rules").brief()

_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(T.*)?$")


def _moved(value: Any, days: int) -> Any:
    """`value` with every ISO date and date-time moved by `days`."""
    if isinstance(value, dict):
        return {k: _moved(v, days) for k, v in value.items()}
    if isinstance(value, list):
        return [_moved(v, days) for v in value]
    if isinstance(value, str) and (found := _DATE.match(value)):
        day = date.fromisoformat(found.group(1)) + timedelta(days=days)
        return day.isoformat() + (found.group(2) or "")
    return value


def _variants(data: dict[str, Any], running: list[str]) -> list[dict[str, Any]]:
    """The sample, moved past the running definitions' expirations, with their history, with and
    without add-ons and an agent."""
    base = {k: v for k, v in data.items() if k != "expect"}
    found = [base]
    for days in (200, 400, 800):
        moved = _moved(base, days)
        found.append(moved)
        as_of = moved["as_of"][:10]
        with_history = copy.deepcopy(moved)
        with_history["discount_history"] = [*with_history.get("discount_history", [])] + [
            {"discount": code, "on": as_of} for code in running
        ]
        found.append(with_history)
        subscription = with_history.get("subscription")
        if isinstance(subscription, dict) and subscription.get("add_ons"):
            without = copy.deepcopy(with_history)
            without["subscription"]["add_ons"] = []
            without["subscription"].pop("add_on_starts", None)
            found.append(without)
        if "agent" in moved:
            found.append({k: v for k, v in moved.items() if k != "agent"})
    return found


def _checked(data: dict[str, Any]) -> Any:
    checked = validate_scenario(copy.deepcopy(data), None)
    return None if checked.diagnostics else checked.scenario


RUNNING = [d.code for d in DiscountEvaluator(RULES).running]
SCENARIOS = [
    (f"{name}#{i}", s)
    for name, data in SAMPLES
    for i, variant in enumerate(_variants(data, RUNNING))
    if (s := _checked(variant)) is not None
]


def test_the_variants_reach_the_running_definitions() -> None:
    """(the variants are billed after the running definitions' expirations, with their history)"""
    evaluator = DiscountEvaluator(RULES)
    assert RUNNING
    late = [s for _, s in SCENARIOS if s.as_of.date() > evaluator.running_after and s.discount_history]
    assert len(late) > 20


def _dated_each(
    evaluator: DiscountEvaluator, scenario: Any, requests: dict[str, Any], histories: dict[str, Any], billed: date
) -> set[str]:
    """`_dated_codes` as it was until session 31: every running definition asked."""
    dated = {c for c, q in requests.items() if q.added_on is not None} if requests else set()
    if billed > evaluator.running_after:
        subscription = scenario.subscription
        add_ons = subscription is not None and bool(subscription.add_ons)
        for d in evaluator.running:
            if d.expiration is not None and billed > d.expiration and (d.code in histories or add_ons):
                dated.add(d.code)
    return dated


@pytest.mark.parametrize("shift", [0, 1, 2])
def test_dated_codes_are_those_of_every_running_definition(shift: int) -> None:
    evaluator = DiscountEvaluator(RULES)
    seen = 0
    for _, scenario in SCENARIOS[shift::3]:
        requests = {q.discount: q for q in scenario.requested_discounts}
        histories: dict[str, list[Any]] = {}
        for h in scenario.discount_history:
            histories.setdefault(h.discount, []).append(h)
        subscription = scenario.subscription
        period = subscription.billing_period if subscription is not None else None
        for billed in {scenario.as_of.date(), period.from_ if period is not None else scenario.as_of.date()}:
            found = evaluator._dated_codes(scenario, requests, histories, billed)
            assert found == _dated_each(evaluator, scenario, requests, histories, billed)
            seen += bool(found)
    assert seen  # (some scenario dates a definition)


def test_lines_carry_what_is_read_of_them() -> None:
    evaluator = DiscountEvaluator(RULES)
    checked = 0
    for _ in range(2):  # (the second time, from the memo of lines made)
        for _, scenario in SCENARIOS:
            try:
                _, lines = _lines(evaluator.products, scenario, evaluator._catalog_lines, evaluator._lines_made)
            except ScenarioError:
                continue
            for x in lines:
                assert x.reach == (x.product, x.type, x.bundle, x.main)
                gross = x.gross
                assert x.bill_key == (
                    x.field,
                    x.product,
                    x.type,
                    x.bundle,
                    x.main,
                    gross.currency,
                    str(gross.amount),
                    x.frequency,
                )
                checked += 1
    assert checked > 100


def test_a_lines_keys_are_not_part_of_its_equality_or_repr() -> None:
    one = Line(0, "subscription.products[0]", "p", "service", None, Money.parse("20.00 EUR"), None)
    same = Line(0, "subscription.products[0]", "p", "service", None, Money.parse("20.00 EUR"), None)
    other = Line(0, "subscription.products[0]", "p", "service", None, Money.parse("20.0 EUR"), None)
    assert one == same and one.bill_key == same.bill_key
    assert one.bill_key != other.bill_key  # (the gross as written: `20.0` is not `20.00`)
    assert "reach" not in repr(one) and "billed" not in repr(one)


@pytest.mark.parametrize(
    ("user", "units", "kept"),
    [
        (None, [], True),
        ("agent-1", ["care"], True),
        ("agent-1", ["u"] * _KEPT_AGENT_UNITS, True),
        ("agent-1", ["u"] * (_KEPT_AGENT_UNITS + 1), False),
        ("a" * _KEPT_AGENT_TEXT, [], True),
        ("a" * _KEPT_AGENT_TEXT, ["u"], False),
        ("a", ["u" * (_KEPT_AGENT_TEXT - 1)], True),
        (None, ["u" * (_KEPT_AGENT_TEXT + 1)], False),
    ],
)
def test_agent_kept_by_its_user_and_units(user: str | None, units: list[str], kept: bool) -> None:
    assert _agent_kept(user, units) is kept


def _shown(decision: DiscountDecision) -> list[Any]:
    results = [
        (r.code, r.status, [repr(x) for x in r.reasons], repr(r.value), dict(r.amounts), r.approvers)
        for r in decision.definitions
    ]
    lines = [(x.line.field, x.takes, repr(x.net), x.discount) for x in decision.lines]
    return [results, lines]


def _decided(evaluator: DiscountEvaluator, scenario: Any) -> Any:
    try:
        return _shown(evaluator.decide(scenario, criteria_outcomes(RULES, scenario), why=False))
    except ScenarioError as exc:
        return ("error", exc.code, exc.field)


def test_brief_decisions_by_blocks_are_those_of_the_long_way() -> None:
    fast = DiscountEvaluator(RULES)
    slow = DiscountEvaluator(RULES)
    slow.by_blocks = slow.keep_lines = False
    decided = 0
    for _ in range(2):  # (again: from the memos the first round filled)
        for name, scenario in SCENARIOS:
            if scenario.subscription is None and scenario.job is None:
                continue
            assert _decided(fast, scenario) == _decided(slow, scenario), name
            decided += 1
    assert decided > 200

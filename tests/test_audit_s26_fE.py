"""Audit c3 of the twenty-sixth session (2026-12-04), findings F5 and F2.

- F5: overlapping status periods were read two ways in one decision. The discounts' interruptions
  counted every day of a `rested` or `deactivated` period whatever began later, while the purchase
  took the period begun latest (deactivated 2015-03-01 to 2015-03-20, then active 2015-03-10 to
  2015-12-31, on 2015-03-12: "interrupted since 2015-03-01: 12 days so far" for the bill, in effect
  and charged a running contract's penalty for the purchase). Both read "the status in force that
  day" with one function now (`environment.status_runs`): the period begun latest by that day that
  has not ended, of those begun the same day the one listed last.
- F2: a date-time literal with an offset without its colon (`2015-03-29T02:30:00+02`, `+0200`) was
  "cannot compute a date-time + a number" with a hint to add a duration; it is BR505 naming the
  offset as it is written, `+02:00`.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from engine import load_rules
from engine.criteria.ast import Span
from engine.criteria.check import CriteriaError, check_condition
from engine.criteria.environment import (
    AGE,
    interruptions,
    scenario_environment,
    status_in_force,
    uninterrupted_ordinal,
    uninterrupted_ordinals,
)
from engine.criteria.parse import parse
from engine.decide.purchases import _deactivated_since

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def rules() -> Any:
    return load_rules(REPO / "rules")


def _scenario(history: list[dict[str, str]], purchase: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "overlap",
        "as_of": "2015-03-12T10:00:00Z",
        "subscription": {
            "code": "S1",
            "plan": "tv-essentials-24",
            "billing_frequency": "monthly",
            "start": "2015-01-01",
            "status_history": history,
            "products": [{"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True}],
        },
        "purchase": {**purchase, "payment_method": "card"},
    }


OPEN_ACTIVE = {"status": "active", "from": "2015-01-01"}
DEACTIVATED = {"status": "deactivated", "from": "2015-03-01", "to": "2015-03-20"}
ACTIVE_AGAIN = {"status": "active", "from": "2015-03-10", "to": "2015-12-31"}
CHANGE_PLAN = {"plan": "tv-flex"}
ADD_ONS = {"add_ons": ["sports-bundle"]}


def _maturity_text(decision: dict[str, Any]) -> str:
    (loyal,) = [d for d in decision["discounts"]["definitions"] if d["code"] == "hd-loyal-half"]
    (reason,) = [r for r in loyal["reasons"] if r["code"] == "duration_not_met"]
    return str(reason["text"])


@pytest.mark.parametrize(
    "history",
    [[OPEN_ACTIVE, DEACTIVATED, ACTIVE_AGAIN], [OPEN_ACTIVE, ACTIVE_AGAIN, DEACTIVATED]],
    ids=["c3-repro", "deactivation-listed-last"],
)
def test_an_active_period_begun_later_is_in_force_for_the_bill_and_the_purchase(rules: Any, history: Any) -> None:
    # (c3's scen/overlap_status_change_plan.yaml and overlap_status_listed_last.yaml)
    decision = rules.decide(_scenario(history, CHANGE_PLAN))
    # the bill: deactivated 03-01 to 03-09, active from 03-10 (until 2026-12-04 "12 days so far")
    assert _maturity_text(decision) == (
        "subscription uninterrupted for 0 months and 2 days (since 2015-03-10, after 9 days interrupted "
        "from 2015-03-01 to 2015-03-09); the rule needs at least 6 months"
    )
    # the purchase: the contract runs on 03-12, and the change of plan ends it
    assert decision["purchase"]["allowed"] is True
    assert [r["code"] for r in decision["purchase"]["reasons"]] == ["plan_change_penalty"]
    assert decision["purchase"]["reasons"][0]["facts"]["total"] == "249.90 EUR"
    # add-ons alone are sold to it: in effect that day
    bought = rules.decide(_scenario(history, ADD_ONS))
    assert "subscription_not_in_effect" not in [r["code"] for r in bought["purchase"]["reasons"]]


def test_a_deactivation_begun_later_is_in_force_for_the_bill_and_the_purchase(rules: Any) -> None:
    history = [{"status": "active", "from": "2015-01-01", "to": "2015-12-31"}, DEACTIVATED]
    decision = rules.decide(_scenario(history, CHANGE_PLAN))
    assert _maturity_text(decision) == (
        "subscription uninterrupted for 0 months (interrupted since 2015-03-01: 12 days so far); "
        "the rule needs at least 6 months"
    )
    assert "plan_change_penalty" not in [r["code"] for r in decision["purchase"]["reasons"]]
    bought = rules.decide(_scenario(history, ADD_ONS))
    (refusal,) = [r for r in bought["purchase"]["reasons"] if r["code"] == "subscription_not_in_effect"]
    assert refusal["facts"]["since"] == "2015-03-01"


def _periods(*rows: tuple[str, str, str | None]) -> list[Any]:
    return [
        SimpleNamespace(status=s, from_=date.fromisoformat(f), to=None if t is None else date.fromisoformat(t))
        for s, f, t in rows
    ]


def _ordinals(history: list[Any], start: date, end: date, tolerances: list[int]) -> tuple[int | None, ...]:
    subscription = SimpleNamespace(start=start, status_history=history)
    scenario = SimpleNamespace(as_of=datetime.combine(end, time(12)))
    return uninterrupted_ordinals(subscription, tolerances, scenario)  # type: ignore[arg-type]


def test_a_transition_inside_an_explicit_deactivation_ends_it_for_every_reader() -> None:
    # c3's second kind: deactivated 03-13 to 03-26, and `active from 03-19` (a transition)
    history = _periods(("active", "2015-01-01", None), ("deactivated", "2015-03-13", "2015-03-26"))
    history += _periods(("active", "2015-03-19", None))
    end = date(2015, 3, 31)
    assert interruptions(history, end, date(2015, 1, 1)) == [(date(2015, 3, 13), date(2015, 3, 18))]
    assert status_in_force(history, date(2015, 3, 20)) is history[2]
    assert _deactivated_since(SimpleNamespace(status_history=history), date(2015, 3, 20)) is None
    assert _deactivated_since(SimpleNamespace(status_history=history), date(2015, 3, 18)) == "2015-03-13"
    # the compiled evaluator's form reads it alike: 6 days, so a tolerance of 6 days forgives it
    day = date.toordinal
    assert _ordinals(history, date(2015, 1, 1), end, [0, 5, 6, AGE]) == (
        day(date(2015, 3, 19)),
        day(date(2015, 3, 19)),
        day(date(2015, 1, 1)),
        day(date(2015, 1, 1)),
    )


def test_a_period_ended_inside_a_longer_one_gives_the_day_back_to_it() -> None:
    # deactivated all March, rested 03-10 to 03-15 within it: deactivated again from 03-16
    history = _periods(
        ("deactivated", "2015-03-01", "2015-03-31"),
        ("rested", "2015-03-10", "2015-03-15"),
        ("active", "2015-04-01", None),
    )
    assert status_in_force(history, date(2015, 3, 12)) is history[1]
    assert status_in_force(history, date(2015, 3, 20)) is history[0]
    assert _deactivated_since(SimpleNamespace(status_history=history), date(2015, 3, 20)) == "2015-03-01"
    assert _deactivated_since(SimpleNamespace(status_history=history), date(2015, 3, 12)) is None  # rested
    assert interruptions(history, date(2015, 4, 30), date(2015, 1, 1)) == [(date(2015, 3, 1), date(2015, 3, 31))]
    # of two begun the same day, the one listed last, while it lasts
    same_day = _periods(("deactivated", "2015-03-01", "2015-03-31"), ("active", "2015-03-01", "2015-03-05"))
    assert interruptions(same_day, date(2015, 4, 30)) == [(date(2015, 3, 6), date(2015, 3, 31))]
    assert _deactivated_since(SimpleNamespace(status_history=same_day), date(2015, 3, 3)) is None


def test_the_bill_and_the_purchase_read_random_histories_alike() -> None:
    """Day by day, a day is an interruption exactly when the status in force is not `active`, and
    the purchase reads it deactivated exactly when that status is `deactivated` (c3's run_status.py
    in small: overlaps, transitions, periods in any order)."""
    rng = random.Random(2026_12_04)
    base = date(2015, 3, 1)
    for _ in range(600):
        history = []
        for _ in range(rng.randint(1, 5)):
            first = base + timedelta(days=rng.randint(-20, 20))
            last = first + timedelta(days=rng.randint(0, 20)) if rng.random() < 0.5 else None
            history.append(
                SimpleNamespace(status=rng.choice(["active", "rested", "deactivated"]), from_=first, to=last)
            )
        if rng.random() < 0.7:
            history.sort(key=lambda p: p.from_)
        start, end = base - timedelta(days=10), base + timedelta(days=40)
        interrupted = {
            first + timedelta(days=k)
            for first, last in interruptions(history, end, start)
            for k in range((last - first).days + 1)
        }
        day = start
        while day <= end:
            period = status_in_force(history, day)
            status = None if period is None else period.status
            assert (day in interrupted) == (status in ("rested", "deactivated")), (history, day)
            since = _deactivated_since(SimpleNamespace(status_history=history), day)
            assert (since is not None) == (status == "deactivated"), (history, day)
            day += timedelta(days=1)
        subscription = SimpleNamespace(start=start, status_history=history)
        scenario = SimpleNamespace(as_of=datetime.combine(end, time(12)))
        tolerances = [0, 3, 10]
        assert _ordinals(history, start, end, tolerances) == tuple(
            uninterrupted_ordinal(subscription, t, scenario) for t in tolerances
        )


ENV = scenario_environment()


def _diagnostic(text: str) -> Any:
    with pytest.raises(CriteriaError) as caught:
        check_condition(parse(text, lambda b, e: Span("t", 1, b + 1, e + 1)), ENV)
    return caught.value.diagnostic


@pytest.mark.parametrize(
    ("written", "offset"),
    [
        ("2015-03-29T02:30:00+02", "+02:00"),
        ("2015-03-29T02:30:00+0200", "+02:00"),
        ("2015-03-29T02:30-0530", "-05:30"),
        ("2015-03-29T02:30:00.5+2", "+02:00"),
    ],
)
def test_an_offset_without_its_colon_is_named(written: str, offset: str) -> None:
    prefix = "any u in usage where u.at >= "
    found = _diagnostic(prefix + written)
    assert found.code == "BR505"
    assert found.message == f"`{written}` is not a date-time: write the offset as {offset}"
    moment = written[: written.rindex(offset[0])]
    assert found.hint == f"an offset is written with a colon between its hours and minutes: `{moment}{offset}`"
    assert (found.column, found.end_column) == (len(prefix) + 1, len(prefix) + len(written) + 1)


def test_a_number_added_with_spaces_is_still_arithmetic() -> None:
    found = _diagnostic("any u in usage where u.at >= 2015-03-29T02:30:00 + 02")
    assert (found.code, found.message) == ("BR503", "cannot compute a date-time + a number")
    past = _diagnostic("any u in usage where u.at >= 2015-03-29T02:30:00+25")  # no offset goes past ±23:59
    assert (past.code, past.message) == ("BR503", "cannot compute a date-time + a number")

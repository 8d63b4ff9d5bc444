"""Diagnostics left by the criteria audit of 2026-12-03 (a2 F2, F6), fixed 2026-12-04: a comment's
last word is not the condition's, a percentage or currency written apart from the language's form,
a time of day with a fraction of a second, and an abbreviated weekday."""

from __future__ import annotations

import pytest

from engine.criteria.ast import Span
from engine.criteria.check import check_condition
from engine.criteria.environment import scenario_environment
from engine.criteria.parse import CriteriaError, parse


def _refused(text: str) -> tuple[str, int, str, str]:
    try:
        check_condition(parse(text, lambda a, b: Span("f", 1, a + 1, b + 1)), scenario_environment())
    except CriteriaError as exc:
        d = exc.diagnostic
        return d.code, d.column, d.message, d.hint
    raise AssertionError(f"accepted: {text}")


@pytest.mark.parametrize(
    ("text", "after"),
    [
        ('account.classification == "SME" and # todo', "and"),
        ("account.classification == # the segment\n", "=="),
        ('account.classification == "a # b" and', "and"),  # a `#` inside quotes is no comment
    ],
)
def test_an_expression_ending_in_a_comment_is_told_what_comes_before_it(text: str, after: str) -> None:
    code, column, message, _ = _refused(text)
    assert (code, message) == ("BR501", f"the expression ends too early: expected a value after `{after}`")
    assert column == text.rindex(after) + len(after)  # on the condition's last character, not in the comment


def test_a_condition_that_is_only_a_comment_names_no_word() -> None:
    assert _refused("# only a comment")[:3:2] == ("BR501", "the expression ends too early: expected a value")


@pytest.mark.parametrize(
    ("text", "column_of", "message", "hint"),
    [
        (
            "subscription.concurrent_usage_rate >= 40 %",
            "%",
            "unexpected character `%`",
            "write the percentage without a space: `40%`",
        ),
        (
            "any p in subscription.products where p.price >= 20.00 eur",
            "eur",
            None,
            "a currency is its ISO code in capitals: `20.00 EUR`",
        ),
        (
            "as_of.time > 22:00:00.5",
            ".5",
            "a time of day has no fraction of a second",
            "write whole seconds, e.g. `22:00:00`",
        ),
    ],
)
def test_a_literal_written_almost_right_is_told_the_form(
    text: str, column_of: str, message: str | None, hint: str
) -> None:
    code, column, said, told = _refused(text)
    assert code == "BR501"
    assert column == text.rindex(column_of) + 1
    if message is not None:
        assert said == message
    assert told == hint


def test_a_text_in_a_currency_s_place_keeps_its_own_words() -> None:
    """Only a currency's code in lower case gets the capitals hint: another word does not."""
    assert "currency" not in _refused("any p in subscription.products where p.price >= 20.00 abc")[3]


@pytest.mark.parametrize(("written", "day"), [("sat", "saturday"), ("thurs", "thursday"), ("wed", "wednesday")])
def test_an_abbreviated_weekday_is_told_the_weekday(written: str, day: str) -> None:
    code, _, message, hint = _refused(f"count(u in usage where u.at.weekday == {written}) >= 1")
    assert (code, message, hint) == ("BR502", f"unknown name `{written}` (not a weekday)", f"did you mean `{day}`?")


def test_a_field_name_is_not_taken_for_a_weekday() -> None:
    """`sun` starts `sunday` only; a known field is no weekday, whatever it starts."""
    assert _refused("count(u in usage where u.at.weekday == t) >= 1")[2] == "unknown field `t`"


# --- the purchase reads a same-day transition as `uninterrupted` does (left by 2026-12-03's fix) --


def test_a_deactivation_superseded_the_same_day_is_not_in_force_after_the_period_that_superseded_it() -> None:
    """`deactivated from 02-01`, then `active from 02-01 to 02-10`, nothing after: the deactivation
    lasted no day (`uninterrupted` reads no interruption); until 2026-12-04 the purchase read it as
    in force again from 02-11 (its open end was no later start)."""
    from datetime import date, timedelta
    from types import SimpleNamespace

    from engine.criteria.environment import interruptions
    from engine.decide.purchases import _deactivated_on

    history = [
        SimpleNamespace(status="deactivated", from_=date(2015, 2, 1), to=None),
        SimpleNamespace(status="active", from_=date(2015, 2, 1), to=date(2015, 2, 10)),
    ]
    subscription = SimpleNamespace(status_history=history)
    assert interruptions(history, date(2015, 3, 1)) == []
    day = date(2015, 1, 25)
    while day <= date(2015, 3, 1):
        assert _deactivated_on(subscription, day) is False, day
        day += timedelta(days=1)
    # listed the other way round, the deactivation is the newest: in force from 02-01 on
    reversed_history = SimpleNamespace(status_history=history[::-1])
    assert _deactivated_on(reversed_history, date(2015, 2, 5)) is True

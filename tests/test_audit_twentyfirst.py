"""The twenty-first session's fixes (2026-12-03), each with the case that showed it."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli.decide_cmd import step_words
from tests.test_audit_twentieth_checks import _LYON_WHEN, rules, underlined
from tests.test_money_checks import edit, found

__all__ = ["rules"]  # the fixture, shared


def _step(**facts: object) -> dict[str, object]:
    return {
        "kind": "between",
        "verdict": "does not hold",
        "source": {"file": "rules/d.yaml", "line": 3, "column": 9},
        **facts,
    }


def test_the_explain_line_of_a_between_two_fields_shows_both_bounds_values() -> None:
    step = _step(
        condition="as_of.date between subscription.start and subscription.billing_term_start",
        subject="as_of.date",
        actual="2016-04-01",
        low="2015-01-15",
        high="2014-06-01",
        low_other="subscription.start",
        high_other="subscription.billing_term_start",
    )
    assert step_words(step) == (
        "✗ as_of.date = 2016-04-01, subscription.start = 2015-01-15, subscription.billing_term_start = 2014-06-01: "
        "`as_of.date between subscription.start and subscription.billing_term_start` does not hold (rules/d.yaml:3:9)"
    )


def test_a_constant_between_a_field_and_a_constant_names_the_field_once() -> None:
    step = _step(
        condition="10 between account.due_days_ago and 20",
        subject="account.due_days_ago",
        actual="25",
        value="10",
        low="25",
        high="20",
        low_other="account.due_days_ago",
    )
    assert step_words(step).startswith("✗ account.due_days_ago = 25: `10 between")


# --- BR413: a credit's quantity range at or below zero -----------------------------------------------


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("  quantity: {max: 0}", "`quantity` at most 0 (a consumption is more than 0): no consumption can meet it"),
        (
            "  quantity: {min: -5, max: -1}",
            "`quantity` at most -1 (a consumption is more than 0): no consumption can meet it",
        ),
    ],
)
def test_a_credit_s_quantity_range_at_or_below_zero_is_br413(rules: Path, section: str, message: str) -> None:
    edit(rules / "credits" / "credits.yaml", _LYON_WHEN, section)
    (diagnostic,) = found(rules)
    assert (diagnostic.code, diagnostic.message) == ("BR413", message)
    assert underlined(diagnostic, rules) == section.rsplit(" ", 1)[1].rstrip("}")


def test_a_credit_s_quantity_range_reaching_above_zero_passes(rules: Path) -> None:
    edit(rules / "credits" / "credits.yaml", _LYON_WHEN, "  quantity: {min: -5, max: 0.5}")
    assert found(rules) == []

"""Session 23 (lead): rule-file checks found by the twenty-second session's audits and left then."""

from __future__ import annotations

from pathlib import Path

from engine.diagnostics import Severity
from engine.validate import validate_paths
from tests.test_money_checks import edit, rules

__all__ = ["rules"]  # the fixture (a copy of the shipped rules)


def test_a_due_condition_given_both_ways_is_an_error(rules: Path) -> None:
    """Seed 002: "The due date can be specified in one of the following ways: 'Due in X days' or
    'Due X days ago'" — both in one `due` was read as either (until 2026-12-03)."""
    edit(
        rules / "discounts/customer_care.yaml",
        "      due_days_ago: 30\n",
        "      due_days_ago: 30\n      due_in_days: 5\n",
    )
    [found] = validate_paths([rules])
    assert (found.code, found.severity) == ("BR435", Severity.ERROR)
    assert found.message == (
        "give one of `due_in_days` and `due_days_ago` (seed 002: the due date is given in one of the two ways)"
    )
    assert found.hint == (
        "keep one; for either of the two write "
        "`when: account.due_in_days between 0 and 5 or account.due_days_ago >= 30`"
    )
    assert found.file.endswith("customer_care.yaml")
    text = (rules / "discounts/customer_care.yaml").read_text(encoding="utf-8").splitlines()
    assert text[found.line - 1].strip() == "due:"


def test_a_due_condition_given_one_way_is_no_error(rules: Path) -> None:
    edit(rules / "discounts/customer_care.yaml", "      due_days_ago: 30\n", "      due_in_days: 5\n")
    assert validate_paths([rules]) == []

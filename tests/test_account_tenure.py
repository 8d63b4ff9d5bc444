"""The account's start date: what analysts needed for tenure conditions (issue 13, item 8)."""

from __future__ import annotations

import pytest

from engine.criteria import ast
from engine.criteria.check import check_condition
from engine.criteria.environment import scenario_environment
from engine.criteria.parse import parse
from engine.criteria.program import CriteriaProgram, Entry
from engine.decide.scenarios import validate_scenario


@pytest.mark.parametrize(
    ("start", "holds"),
    [("2014-06-01", True), ("2014-06-02", False), (None, False)],  # two years to the day; missing: unknown
)
def test_tenure_is_written_with_the_accounts_start(start: str | None, holds: bool) -> None:
    text = "as_of.date - account.start >= 2 years"
    node = check_condition(parse(text, lambda b, e: ast.Span("<c>", 1, b + 1, e + 1)), scenario_environment())
    program = CriteriaProgram([Entry("discount:x", "when", node)])
    account = {"code": "ACC-1", **({"start": start} if start else {})}
    checked = validate_scenario({"id": "t", "as_of": "2016-06-01T00:00:00Z", "account": account}, None)
    assert checked.diagnostics == []
    assert program.evaluate(checked.scenario) == (holds,)


def test_an_account_start_is_a_date() -> None:
    checked = validate_scenario(
        {"id": "t", "as_of": "2016-06-01T00:00:00Z", "account": {"code": "A", "start": 2014}}, None
    )
    assert [d.code for d in checked.diagnostics] == ["BR602"]
    assert "account.start" in checked.diagnostics[0].message

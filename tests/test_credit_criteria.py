"""Criteria decide credits too (SPEC 3.6, issue 9 item 3): typed against the consumption and the
consumer, compiled with the rule set, named in `why` and in refusals."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules
from engine.cli.main import main
from engine.decide.decision import to_json
from engine.pipeline import compile_ruleset

REPO = Path(__file__).resolve().parent.parent
RULES = load_rules(REPO / "rules")

SATURDAY = "2015-05-16T10:00:00+02:00"
MONDAY = "2015-05-18T10:00:00+02:00"


def consumption(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": "R1",
        "organisation": "globex-fr-lyon",
        "service": "network-offer",
        "quantity": 1,
        "at": SATURDAY,
    }
    item.update(changes)
    return item


def scenario(*consumptions: dict[str, Any]) -> dict[str, Any]:
    return {"id": "c", "as_of": "2015-05-18T18:00:00+02:00", "consumptions": list(consumptions)}


def why(decision: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(w["request"], c["credit"]): c["verdict"] for w in decision["credits"]["why"] for c in w["credits"]}


def _line_of(path: Path, needle: str) -> tuple[int, int]:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return n, line.index(needle) + 1
    raise AssertionError(needle)


# --- the weekday example (rules/credits/credits.yaml, samples/credits/) ---------------------------


def test_weekday_only_credit_is_skipped_on_saturday_and_used_on_monday() -> None:
    d = RULES.decide(scenario(consumption(), consumption(id="R2", at=MONDAY)), explain=True)
    assert [(a["request"], a["credit"]) for a in d["credits"]["allocations"]] == [
        ("R1", "globex-network-shared"),
        ("R2", "globex-fr-lyon-weekday-network"),
    ]
    verdicts = why(d)
    assert verdicts[("R2", "globex-fr-lyon-weekday-network")]["code"] == "used"
    saturday = verdicts[("R1", "globex-fr-lyon-weekday-network")]
    assert saturday["code"] == "criteria_not_met"
    weekdays = "{monday, tuesday, wednesday, thursday, friday}"
    assert saturday["facts"] == {
        "credit": "globex-fr-lyon-weekday-network",
        "of": "credit `globex-fr-lyon-weekday-network`",
        "section": "when",
        "criterion": f"consumption.at.weekday in {weekdays}",
        "values": f"consumption.at.weekday = saturday is not in {weekdays}",
    }
    credits_file = REPO / "rules" / "credits" / "credits.yaml"
    line, column = _line_of(credits_file, "consumption.at.weekday in")
    source = saturday["source"]
    assert source["file"].endswith("rules/credits/credits.yaml")
    assert (source["line"], source["column"]) == (line, column)
    assert saturday["text"] == (
        "criterion of credit `globex-fr-lyon-weekday-network` does not hold: "
        f"`consumption.at.weekday in {weekdays}` (consumption.at.weekday = saturday is not in {weekdays})"
    )


def test_explain_text_names_the_failing_criterion(capsys: pytest.CaptureFixture[str]) -> None:
    sample = REPO / "samples" / "credits" / "weekday_only_credit_skipped_on_saturday.yaml"
    assert main(["decide", "--rules", str(REPO / "rules"), "--explain", str(sample)]) == 0
    out = capsys.readouterr().out
    assert "globex-fr-lyon-weekday-network    criterion of credit `globex-fr-lyon-weekday-network` does not hold" in out
    assert "consumption.at.weekday = saturday is not in" in out


def test_a_refusal_names_the_credits_excluded_by_their_criteria() -> None:
    # Lyon asks for the type only it holds: on a Saturday nothing can pay
    d = RULES.decide(scenario(consumption(service=None, credit_type="network-offer", quantity=20)))
    (refused,) = d["credits"]["refused"]
    codes = [r["code"] for r in refused["reasons"]]
    assert codes[0] == "not_enough_credit"
    assert "criteria_not_met" in codes
    excluded = next(r for r in refused["reasons"] if r["code"] == "criteria_not_met")
    assert excluded["facts"]["credit"] == "globex-fr-lyon-weekday-network"
    assert excluded["source"]["file"].endswith("credits.yaml")


def test_a_pickled_ruleset_decides_the_same() -> None:
    data = scenario(consumption(), consumption(id="R2", at=MONDAY), consumption(id="R3", quantity=40))
    again = pickle.loads(pickle.dumps(RULES))
    assert to_json(again.decide(data, explain=True)) == to_json(RULES.decide(data, explain=True))
    # the AST travels and is compiled again on the other side
    assert len(again.criteria.credit_entries) == len(RULES.criteria.credit_entries) >= 1


# --- type and credit criteria, sections ----------------------------------------------------------

TREE = """\
kind: organisation
code: org
name: Org
---
kind: organisation
code: branch
name: Branch
parent: org
"""


def _rules(ruleset: Callable[..., Path], type_criteria: str, credit_criteria: str) -> Path:
    return ruleset(
        {
            "c.yaml": TREE
            + f"""\
---
kind: credit_type
code: calls
name: Calls
service: phone
{type_criteria}
---
kind: credit
code: c1
name: C1
type: calls
quantity: 5
holder: org
allocation: all_organisations
issued: 2015-01-01
{credit_criteria}
"""
        }
    )


def _decide(root: Path, **changes: Any) -> dict[str, Any]:
    item = {"id": "R", "organisation": "branch", "credit_type": "calls", "quantity": 2, "at": MONDAY}
    item.update(changes)
    return load_rules(root).decide(
        {"id": "s", "as_of": "2015-05-18T18:00:00+02:00", "consumptions": [item]}, explain=True
    )


def test_criteria_of_the_type_and_of_the_credit_must_both_hold(ruleset: Callable[..., Path]) -> None:
    root = _rules(
        ruleset,
        "criteria:\n  quantity: {max: 3}",
        'criteria:\n  organisations: [branch]\n  when: consumption.at.hour < 12 and consumption.service == "phone"',
    )
    assert [a["credit"] for a in _decide(root)["credits"]["allocations"]] == ["c1"]
    too_many = _decide(root, quantity=4)["credits"]["why"][0]["credits"][0]["verdict"]
    assert (too_many["code"], too_many["facts"]["of"], too_many["facts"]["section"]) == (
        "criteria_not_met",
        "credit type `calls`",
        "quantity",
    )
    assert too_many["facts"]["values"] == "consumption.quantity = 4 is not at most 3"
    assert too_many["source"]["line"] == 15  # the type's `quantity:` line
    afternoon = _decide(root, at="2015-05-18T15:00:00+02:00")["credits"]["why"][0]["credits"][0]["verdict"]
    assert (afternoon["facts"]["of"], afternoon["facts"]["section"]) == ("credit `c1`", "when")
    assert afternoon["facts"]["values"] == "consumption.at.hour = 15 is not less than 12"
    at_root = _decide(root, organisation="org")["credits"]["why"][0]["credits"][0]["verdict"]
    assert at_root["facts"]["section"] == "organisations"
    assert _decide(root, organisation="org")["credits"]["refused"][0]["reasons"][0]["code"] == "no_candidate"


def test_sections_execution_days_and_dates(ruleset: Callable[..., Path]) -> None:
    root = _rules(
        ruleset,
        "criteria:\n  execution_days:\n    - {day: monday, from: '08:00', to: '18:00'}\n    - {day: saturday}",
        "criteria:\n  execution_dates: {from: 2015-05-01T00:00:00+02:00, to: 2015-05-31T23:59:59+02:00}",
    )
    assert _decide(root)["credits"]["refused"] == []
    assert _decide(root, at=SATURDAY)["credits"]["refused"] == []
    sunday = _decide(root, at="2015-05-17T10:00:00+02:00")["credits"]["why"][0]["credits"][0]["verdict"]
    assert sunday["facts"]["section"] == "execution_days"
    june = _decide(root, at="2015-06-01T10:00:00+02:00")["credits"]["why"][0]["credits"][0]["verdict"]
    assert june["facts"]["section"] == "execution_dates"


# --- type errors at the right place ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "message", "hint", "column"),
    [
        (
            "consumtion.at.weekday == monday",
            "unknown field `consumtion`",
            "did you mean `consumption`?",
            9,
        ),
        (
            'consumption.at.weekday == monday and consumer.organisaton == "org"',
            "`consumer` has no field `organisaton`",
            "did you mean `organisation`?",
            46,
        ),
        (
            "subscription.maturity >= 6 months",
            "unknown field `subscription`",
            "`subscription` is a fact of discount criteria; a credit criterion sees `as_of`, `consumer`, `consumption`",
            9,
        ),
        ('consumption.quantity > "5"', "cannot compare a number with text using `>`", "quote both sides", 9),
    ],
    ids=["unknown-root", "unknown-field", "discount-only", "mismatch"],
)
def test_credit_criteria_are_type_checked_with_located_diagnostics(
    ruleset: Callable[..., Path], when: str, message: str, hint: str, column: int
) -> None:
    root = _rules(ruleset, "", f"criteria:\n  when: {when}")
    found = [d for d in compile_ruleset(root).diagnostics if d.severity.value == "error"]
    assert len(found) == 1, found
    (d,) = found
    assert d.code == ("BR503" if "compare" in message else "BR502")
    assert d.message == message
    assert hint in d.hint
    assert (Path(d.file).name, d.line, d.column) == ("c.yaml", 25, column)


def test_discount_criteria_still_see_the_scenario_not_the_consumption(ruleset: Callable[..., Path]) -> None:
    from engine.criteria.ast import Span
    from engine.criteria.check import check_condition
    from engine.criteria.environment import scenario_environment
    from engine.criteria.parse import CriteriaError, parse

    node = parse("consumption.quantity > 1", lambda b, e: Span("t", 1, b + 1, e + 1))
    with pytest.raises(CriteriaError) as exc:
        check_condition(node, scenario_environment())
    assert exc.value.diagnostic.code == "BR502"


def test_a_credit_used_up_and_failing_its_criteria_is_named_used_up_alike(ruleset: Callable[..., Path]) -> None:
    """A refusal's facts name a credit used up; `--explain` named the same credit by the criterion
    that failed for the later consumption, `criteria_not_met` (credits audit, 2026-12-03): one
    credit, two reasons in one decision. Used up decides first, whatever the criteria say."""
    root = _rules(ruleset, "", "criteria:\n  quantity: {max: 5}")
    first = {"id": "R1", "organisation": "branch", "credit_type": "calls", "quantity": 5, "at": MONDAY}
    later = {**first, "id": "R2", "quantity": 7}
    d = load_rules(root).decide(
        {"id": "s", "as_of": "2015-05-18T18:00:00+02:00", "consumptions": [first, later]}, explain=True
    )
    assert [(a["request"], a["credit"]) for a in d["credits"]["allocations"]] == [("R1", "c1")]
    (refused,) = d["credits"]["refused"]
    assert refused["request"] == "R2"
    facts = next(r["facts"] for r in refused["reasons"] if "used_up" in r["facts"])
    assert facts["used_up"] == ["c1"]
    assert why(d)[("R2", "c1")]["code"] == "used_up"

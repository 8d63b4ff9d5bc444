"""Findings of the twentieth session's audits (2026-12-03), explanations: each failing condition
told with its value and the values that made it so (SPEC 3.3), from the scenario's side, in the
words an analyst reads, at the rule's line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import load_rules
from engine.criteria.ast import Span
from engine.criteria.check import check_condition
from engine.criteria.environment import scenario_environment
from engine.criteria.explain import Explainer
from engine.criteria.parse import parse
from engine.criteria.program import CriteriaProgram, Entry
from engine.decide.reasons import Reason
from engine.decide.scenarios import read_scenarios, validate_scenario
from engine.decide.why import WhyNot, _name

REPO = Path(__file__).resolve().parent.parent
RULES = load_rules(REPO / "rules")

#: an account in two segments, 25 days past its due date; a subscription interrupted for 20 days
#: in March 2015, so uninterrupted since 2015-03-21; four usage records (three on a set-top box)
_DATA: dict[str, Any] = {
    "id": "w3",
    "as_of": "2015-07-01T02:00:00+02:00",
    "account": {
        "code": "A1",
        "classification": "Business",
        "segments": ["vip", "students"],
        "due_date": "2015-06-06",
        "start": "2014-06-01",
    },
    "subscription": {
        "code": "S1",
        "type": "residential-tv",
        "plan": "tv-essentials-24",
        "billing_term_scheme": "monthly-24",
        "billing_frequency": "monthly",
        "billing_period": {"from": "2015-06-01", "to": "2015-06-30"},
        "start": "2015-01-10",
        "status_history": [
            {"status": "active", "from": "2015-01-10", "to": "2015-02-28"},
            {"status": "rested", "from": "2015-03-01", "to": "2015-03-20"},
            {"status": "active", "from": "2015-03-21"},
        ],
        "products": [{"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True}],
    },
    "usage": [
        {"at": "2015-05-15T21:00:00+02:00", "amount": "4.99 EUR", "device": "stb"},
        {"at": "2015-06-05T21:10:00+02:00", "amount": "3.99 EUR", "device": "smart-tv"},
        {"at": "2015-06-28T21:10:00+02:00", "amount": "2.99 EUR", "device": "stb"},
        {"at": "2015-06-29T20:00:00+02:00", "amount": "9.99 EUR", "device": "stb"},
    ],
}


def _scenario(data: dict[str, Any] | None = None) -> Any:
    checked = validate_scenario(data or _DATA, None)
    assert not checked.diagnostics
    return checked.scenario


def _condition(text: str) -> Any:
    return check_condition(parse(text, lambda b, e: Span("rules/x.yaml", 3, 5 + b, 5 + e)), scenario_environment())


def _reason(text: str, data: dict[str, Any] | None = None) -> Reason:
    (reason,) = WhyNot(CriteriaProgram([Entry("discount:d", "when", _condition(text))])).reasons(0, _scenario(data))
    return reason


def test_a_constant_written_first_in_in_overlaps_and_between_is_told_from_the_scenarios_side() -> None:
    """`"acme-staff" in account.segments` said "`"acme-staff"`: `acme-staff`; the rule needs one
    of `vip`, `students`": the account's segments as what the rule needs. Told now as `contains`
    and comparisons tell a constant written first: the scenario's value, and the constant needed."""
    reason = _reason('"acme-staff" in account.segments')
    assert (reason.code, reason.facts["subject"], reason.facts["actual"], reason.facts["expected"]) == (
        "not_contained",
        "account.segments",
        ["vip", "students"],
        ["acme-staff"],
    )
    assert reason.words() == "account segments: `vip`, `students`; the rule needs `acme-staff` among them"
    for text in ('not "vip" in account.segments', '"vip" not in account.segments'):
        reason = _reason(text)
        assert reason.code == "contained_excluded"
        assert reason.words() == "account segments: `vip`, `students`; the rule needs `vip` not among them"
    reason = _reason('{"acme-staff"} overlaps account.segments')
    assert (reason.code, reason.facts["subject"], reason.facts["expected"]) == (
        "no_overlap",
        "account.segments",
        ["acme-staff"],
    )
    assert reason.words() == "account segments: `vip`, `students`; the rule needs one of `acme-staff`"
    assert _reason('not {"vip"} overlaps account.segments').words() == (
        "account segments: `vip`, `students`; the rule excludes `vip`"
    )
    reason = _reason("10 between account.due_days_ago and 20")
    assert (reason.facts["subject"], reason.facts["actual"], reason.facts["value"]) == (
        "account.due_days_ago",
        "25",
        "10",
    )
    assert reason.words() == "account due days ago: 25; the rule needs 10 between account due days ago and 20"
    # `--explain` names the field and its value, not the constant alone
    explainer = Explainer(scenario_environment(), _scenario())
    explainer.explain(_condition('"acme-staff" in account.segments'))
    assert explainer.steps[-1].detail == 'account.segments = ["vip", "students"] does not contain "acme-staff"'


def test_arithmetic_over_aggregates_is_named_as_written() -> None:
    """`count(u in usage) + count(u in usage where u.device == "stb") >= 10` said "count of usage
    where `u.device == "stb"`: 7" (3 such records): the total named as its second aggregate."""
    text = 'count(u in usage) + count(u in usage where u.device == "stb")'
    assert _reason(f"{text} >= 10").words() == f"`{text}`: 7; the rule needs at least 10"
    assert (
        _name("max(u in usage.amount) - min(u in usage.amount)") == "`max(u in usage.amount) - min(u in usage.amount)`"
    )
    # the window of a `within` on the second aggregate is told too
    windowed = 'count(u in usage) - count(u in usage where u.device == "stb" within 1 month) >= 5'
    assert _reason(windowed).facts["window"] == {
        "after": "2015-06-01T02:00:00+02:00",
        "until": "2015-07-01T02:00:00+02:00",
    }
    # an aggregate alone is still named by what it counts, a `)` in quoted text included
    assert _name('count(u in usage where u.device == ")")') == 'count of usage where `u.device == ")"`'
    assert _name('count(u in usage where u.device == "stb" within 1 month)') == (
        'count of usage where `u.device == "stb"` within 1 month'
    )


def test_a_field_on_the_other_side_is_named_with_its_value() -> None:
    """`subscription.start < account.start` said "the rule needs less than 2014-06-01", as if the
    rule stated the date: the other side is the account's start."""
    reason = _reason("subscription.start < account.start")
    assert reason.facts["other"] == "account.start"
    assert reason.words() == "subscription start: 2015-01-10; the rule needs less than account start (2014-06-01)"
    assert _reason("subscription.billing_period.from > subscription.start + 6 months").words() == (
        "subscription billing period from: 2015-06-01; the rule needs more than "
        "`subscription.start + 6 months` (2015-07-10)"
    )
    assert _reason("subscription.start between account.start and 2015-01-01").words() == (
        "subscription start: 2015-01-10; the rule needs between account start (2014-06-01) and 2015-01-01"
    )
    assert (
        _reason("subscription.maturity >= as_of.date - account.start")
        .words()
        .endswith("the rule needs at least time since account start: 395 days (since 2014-06-01)")
    )


def _definition(decision: dict[str, Any], code: str) -> dict[str, Any]:
    found: dict[str, Any] = next(d for d in decision["discounts"]["definitions"] if d["code"] == code)
    return found


def test_a_brief_reason_names_a_block_written_sections_key() -> None:
    """A brief `section_not_met` pointed at the section's first entry, which may hold
    (`- product: tv-essentials`, on the bill; `include:` where `exclude:` failed)."""
    brief = RULES.brief()
    for sample, code, line in (
        ("usage_vod_weekend_nights.yaml", "multi-service-10", 27),  # `products:` (its first entry: 29)
        ("sections_exclude_segment.yaml", "staff-20", 175),  # `segments:` (`include:`, which holds: 176)
    ):
        (item,) = read_scenarios(REPO / "samples" / "discounts" / sample)
        reasons = _definition(brief.decide(item.scenario), code)["reasons"]
        (section,) = [r for r in reasons if r["code"] == "section_not_met" and r["source"]["line"] == line]
        assert section["source"]["file"] == "rules/discounts/loyalty.yaml"
        assert (REPO / "rules/discounts/loyalty.yaml").read_text().splitlines()[line - 1].strip().endswith(":")


def test_a_negated_all_names_its_values() -> None:
    """`not (all u in usage where …)` said "does not hold" alone, where `not any` names its counts."""
    reason = _reason("not (all u in usage where u.amount > 1.00 EUR)")
    assert (reason.code, reason.facts["count"], reason.facts["matched"]) == ("all_match", 4, 4)
    assert reason.words() == "usage: all 4 match `u.amount > 1.00 EUR`; the rule needs one that does not"
    assert _reason("not all u in usage where u.amount > 1.00 EUR").code == "all_match"


def test_a_maturity_between_two_durations_is_told_in_the_rules_unit_with_its_interruption() -> None:
    """It said "subscription maturity: 102 days (since 2015-03-21); the rule needs between 6 months
    and 12 months", the 20 days' rest that reset it untold."""
    reason = _reason("subscription.maturity between 6 months and 12 months")
    assert (reason.code, reason.facts["actual"]) == ("out_of_range", "3 months and 10 days")
    assert reason.words() == (
        "subscription uninterrupted for 3 months and 10 days (since 2015-03-21, after 20 days interrupted "
        "from 2015-03-01 to 2015-03-20); the rule needs between 6 months and 12 months"
    )
    assert (
        "a value outside 1 month and 6 months"
        in _reason("not subscription.maturity between 1 month and 6 months").words()
    )


def test_a_negative_due_in_days_between_bounds_is_said_as_days_ago() -> None:
    assert _reason("account.due_in_days between 0 and 10").words() == (
        "account due in days: -25 (due 25 days ago); the rule needs between 0 and 10"
    )


def test_the_trace_keeps_the_not_of_an_unknown_condition() -> None:
    data = {k: v for k, v in _DATA.items() if k != "account"}
    explainer = Explainer(scenario_environment(), _scenario(data))
    explainer.explain(_condition('not account.segments overlaps {"vip"}'))
    (step,) = explainer.steps
    assert (step.text, step.outcome, step.facts["negated"]) == ('not account.segments overlaps {"vip"}', None, True)
    assert step.detail.endswith('`not account.segments overlaps {"vip"}` is unknown')


def test_an_interruption_still_going_on_is_not_said_since_the_billing_day() -> None:
    facts = {
        "subject": "subscription.maturity",
        "actual": "0 months",
        "since": "2015-07-01",
        "op": ">=",
        "expected": "12 months",
        "after_interruption": {"from": "2015-06-01", "to": "2015-07-01", "days": 31, "ongoing": True},
    }
    assert Reason("duration_not_met", facts).words() == (
        "subscription uninterrupted for 0 months (interrupted since 2015-06-01: 31 days so far); "
        "the rule needs at least 12 months"
    )


_CREDITS = """\
kind: credit
code: paris-a
type: targeting-offer
quantity: 5
usage_period: {from: 2015-01-01, to: 2015-12-31}
holder: globex-fr-paris
allocation: this_organisation
issued: 2015-01-01
criteria:
  quantity: {min: 2, max: 3}
  execution_days:
    - {day: monday}
    - {day: tuesday, from: "09:00:00", to: "17:00:00"}
  when: consumption.quantity <= 10 and consumption.at.weekday == wednesday
---
kind: credit
code: paris-b
type: targeting-offer
quantity: 5
usage_period: {from: 2015-01-01, to: 2015-12-31}
holder: globex-fr-paris
allocation: this_organisation
issued: 2015-01-02
criteria:
  when: not (consumption.quantity >= 4 or consumption.at.weekday == saturday)
"""

_CONSUMPTION = {
    "id": "cs1",
    "as_of": "2015-05-18T18:00:00+02:00",
    "consumptions": [
        {
            "id": "R1",
            "organisation": "globex-fr-paris",
            "service": "targeting-experience",
            "quantity": 4,
            "at": "2015-05-16T10:00:00+02:00",
        }
    ],
}


def _credit_rules(tmp_path: Path) -> Any:
    import shutil

    shutil.copytree(REPO / "rules", tmp_path / "rules")
    (tmp_path / "rules" / "credits" / "extra.yaml").write_text(_CREDITS, encoding="utf-8")
    return load_rules(tmp_path / "rules")


def test_credit_reasons_name_every_failing_criterion_with_its_values(tmp_path: Path) -> None:
    """A credit's `not (…)` named no values (a discount's does); `--explain` named the first failing
    criterion of a credit alone, where the refusal lists each; a section of several failing
    entries was located at its first entry, not its key."""
    rules = _credit_rules(tmp_path)
    decision = rules.decide(_CONSUMPTION, explain=True)
    (refused,) = decision["credits"]["refused"]
    texts = [r["text"] for r in refused["reasons"]]
    paris_b = next(t for t in texts if "paris-b" in t)
    assert paris_b.endswith(
        "(consumption.quantity = 4 is at least 4; consumption.at.weekday = saturday is equal to saturday)"
    )
    (why,) = decision["credits"]["why"]
    verdicts = {c["credit"]: c["verdict"] for c in why["credits"]}
    paris_a = verdicts["paris-a"]
    assert paris_a["text"].startswith("criteria of credit `paris-a` do not hold: `execution_days")
    assert [m["section"] for m in paris_a["facts"]["more"]] == ["quantity", "when"]
    assert paris_a["source"]["line"] == 11  # `execution_days:`, both its entries failing

"""Findings of audit s23/a1 fixed by f2 (2026-12-03): a `not_allowed` / `allowed` term whose
exceptions impose a penalty may carry a `penalty:` section, which gives that penalty its grace
period, tax, tax provider, ledger account and invoice line type (BR411 refused the section as
"has no effect", so such a penalty was never taxed nor booked); BR410's hint for a term that does
not renew; `not_comparable`'s words say only the kind of values that applies."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import engine.decide.why  # noqa: F401  (registers the words of `not_comparable`)
from engine.decide.reasons import Reason
from engine.diagnostics import Severity
from engine.ruleset import load_rules
from engine.validate import validate_paths

REPO = Path(__file__).resolve().parent.parent

_TERM = """\
kind: term
code: f2-exc
name: not allowed, except when moving abroad
period: 12
unit: months
basis: calendar
early_cancellation: {rule}
{section}exceptions:
  - when: cancellation.reason in {{"moved_abroad"}}
    outcome: penalty
{fee}    pro_rata: true
  - when: cancellation.date >= 2015-06-01
    outcome: allowed
---
kind: plan
code: f2-plan
name: plan with the exception term
bundles: [tv-essentials-bundle]
validity: {{from: 2015-01-01}}
term: f2-exc
"""

_SECTION = """\
penalty:
  grace_period: 1
  grace_period_unit: months
  fee: 100.00 EUR
  pro_rata: false
  {tax}
  ledger_account: "4410-early-termination-fees"
  invoice_line_type: early_termination_fee
"""


def _rules(
    tmp_path: Path,
    *,
    rule: str = "not_allowed",
    section: bool = True,
    fee: bool = True,
    tax: str = "tax: {rate: 19}",
    penalty_exception: bool = True,
) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    text = _TERM.format(
        rule=rule,
        section=_SECTION.format(tax=tax) if section else "",
        fee="    fee: 73.00 EUR\n" if fee else "",
    )
    if not penalty_exception:
        text = text.replace("    outcome: penalty\n    fee: 73.00 EUR\n    pro_rata: true\n", "    outcome: allowed\n")
    (root / "catalog" / "f2.yaml").write_text(text, encoding="utf-8")
    return root


def _cancel(date: str = "2015-03-01", reason: str = "moved_abroad") -> dict[str, Any]:
    return {
        "id": "f2",
        "as_of": f"{date}T09:00:00+00:00",
        "account": {"code": "A1", "classification": "Residential"},
        "subscription": {
            "code": "S1",
            "plan": "f2-plan",
            "start": "2015-01-01",
            "status_history": [{"status": "active", "from": "2015-01-01"}],
        },
        "cancellation": {"date": date, "reason": reason},
    }


def _plan_term(rules: Path, scenario: dict[str, Any]) -> dict[str, Any]:
    decision = load_rules(rules).decide(scenario)
    [term] = decision["cancellation"]["terms"]
    return term  # type: ignore[no-any-return]


# --- 1. the `penalty:` section of a not_allowed term gives its exception's penalty the rest ------


def test_an_exception_penalty_on_a_not_allowed_term_is_taxed_booked_and_given_grace(tmp_path: Path) -> None:
    """Until 2026-12-03 the section was BR411 ("has no effect"), and without it the penalty was
    61.20 EUR untaxed, unbooked and due on the cancellation day."""
    rules = _rules(tmp_path, fee=False)
    assert validate_paths([rules]) == []
    term = _plan_term(rules, _cancel())
    assert term["outcome"] == "penalty"
    penalty = term["penalty"]
    # the section's fee (the exception names none) with the exception's pro rata: 100 * 306/365
    assert (penalty["maximum"], penalty["pro_rata"], penalty["share"]) == ("100.00 EUR", True, "306/365")
    assert (penalty["fee"], penalty["tax_rate"], penalty["tax"], penalty["total"]) == (
        "83.84 EUR",
        "19",
        "15.93 EUR",
        "99.77 EUR",
    )
    assert (penalty["due"], penalty["grace_period"]) == ("2015-04-01", "1 month")
    assert (penalty["ledger_account"], penalty["invoice_line_type"]) == (
        "4410-early-termination-fees",
        "early_termination_fee",
    )


def test_the_exception_s_own_fee_takes_tax_and_booking_from_the_section(tmp_path: Path) -> None:
    rules = _rules(tmp_path)  # the audit's rules_br411: the exception names 73.00 EUR
    diagnostics = validate_paths([rules])
    assert [(d.code, d.severity) for d in diagnostics] == [("BR411", Severity.WARNING)]
    [warning] = diagnostics
    assert warning.message == (
        "`penalty.fee` (100.00 EUR) is charged by nothing: with `early_cancellation: not_allowed` only "
        "the term's exceptions impose a penalty, and each names its own fee (73.00 EUR)"
    )
    assert Path(warning.file).name == "f2.yaml"
    term = _plan_term(rules, _cancel())
    penalty = term["penalty"]
    assert (penalty["maximum"], penalty["fee"], penalty["tax"], penalty["total"], penalty["due"]) == (
        "73.00 EUR",
        "61.20 EUR",
        "11.63 EUR",
        "72.83 EUR",
        "2015-04-01",
    )
    assert (penalty["ledger_account"], penalty["invoice_line_type"]) == (
        "4410-early-termination-fees",
        "early_termination_fee",
    )
    assert load_rules(rules).decide(_cancel())["cancellation"]["total"] == {"EUR": "72.83 EUR"}


def test_the_section_s_tax_provider_reaches_an_exception_s_penalty(tmp_path: Path) -> None:
    rules = _rules(tmp_path, fee=False, tax="tax: {code: DE-VAT-STD}\n  tax_provider: acme-tax-engine")
    assert validate_paths([rules]) == []
    term = _plan_term(rules, _cancel())
    penalty = term["penalty"]
    assert (penalty["tax"], penalty["tax_code"], penalty["tax_provider"]) == (None, "DE-VAT-STD", "acme-tax-engine")
    assert "tax_by_provider" in [r["code"] for r in term["reasons"]]


def test_the_section_is_the_exception_s_on_an_allowed_term_too(tmp_path: Path) -> None:
    rules = _rules(tmp_path, rule="allowed", fee=False)
    assert validate_paths([rules]) == []
    penalty = _plan_term(rules, _cancel())["penalty"]
    assert (penalty["total"], penalty["due"], penalty["ledger_account"]) == (
        "99.77 EUR",
        "2015-04-01",
        "4410-early-termination-fees",
    )


def test_the_term_s_own_rule_is_unchanged_by_the_section(tmp_path: Path) -> None:
    rules = _rules(tmp_path, fee=False)
    term = _plan_term(rules, _cancel(reason="other"))
    assert (term["allowed"], term["outcome"], term["earliest"]) == (False, "not_allowed", "2015-06-01")
    assert "penalty" not in term


@pytest.mark.parametrize("rule", ["not_allowed", "allowed"])
def test_a_section_no_exception_can_use_is_still_br411(tmp_path: Path, rule: str) -> None:
    rules = _rules(tmp_path, rule=rule, penalty_exception=False)
    diagnostics = validate_paths([rules])
    assert [(d.code, d.severity) for d in diagnostics] == [("BR411", Severity.ERROR)]
    [error] = diagnostics
    assert error.message == (
        f"a `penalty:` section has no effect with `early_cancellation: {rule}` when no exception has `outcome: penalty`"
    )


def test_a_penalty_exception_without_any_fee_is_still_br411(tmp_path: Path) -> None:
    rules = _rules(tmp_path, section=False, fee=False)
    [error] = validate_paths([rules])
    assert error.code == "BR411"
    assert "neither it nor the term names a fee" in error.message


# --- 2. BR410's hint for a term that does not renew ------------------------------------------------

_ZERO = """\
kind: term
code: Z
name: zero
period: 0
unit: months
basis: calendar
early_cancellation: allowed
"""


@pytest.mark.parametrize(
    ("renewal", "hint"),
    [
        (
            "",
            "give the commitment a length greater than zero; one of zero length ends the day it starts and "
            "binds the customer to nothing (for no commitment, leave `term` out of the plan or bundle)",
        ),
        (
            "renewal_term: commit-12m\n",
            "give the commitment a length greater than zero; one of zero length ends the day it starts and "
            "passes straight into `commit-12m` (to commit to `commit-12m` alone, make it the plan's or "
            "bundle's `term`)",
        ),
        ("renewal_term: Z\n", "give the commitment a length greater than zero; a renewal would otherwise never end"),
    ],
)
def test_br410_hints_at_a_renewal_only_where_there_is_one(tmp_path: Path, renewal: str, hint: str) -> None:
    """Until 2026-12-03 every zero-period term was told "a renewal would otherwise never end"."""
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    (root / "catalog" / "zero.yaml").write_text(_ZERO + renewal, encoding="utf-8")
    [diagnostic] = validate_paths([root])
    assert diagnostic.code == "BR410"
    assert diagnostic.hint == hint


# --- 3. `not_comparable` names only the kind of values that applies ----------------------------------


def test_buy_in_advance_in_days_against_months_says_days_with_months_only() -> None:
    scenario = {
        "id": "bia182d",
        "as_of": "2015-09-01T09:00:00+00:00",
        "account": {"code": "A1", "classification": "Residential"},
        "subscription": {
            "code": "S1",
            "plan": "tv-essentials-24",
            "start": "2015-01-01",
            "billing_frequency": "monthly",
            "billing_term_scheme": "monthly-24",
            "buy_in_advance": "183 days",
            "status_history": [{"status": "active", "from": "2015-01-01"}],
            "billing_period": {"from": "2015-09-01", "to": "2015-09-30"},
            "products": [{"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True}],
        },
    }
    decision = load_rules(REPO / "rules").decide(scenario)
    reasons = {d["code"]: d["reasons"] for d in decision["discounts"]["definitions"]}["prepay-saver"]
    texts = [r["text"] for r in reasons if r["code"] == "not_comparable"]
    assert texts == [
        "`subscription.buy_in_advance between 6 months and 11 months` cannot hold: subscription buy in advance "
        "`183 days` does not compare with what the rule names (days with months)",
        "`subscription.buy_in_advance between 1 year and 2 years` cannot hold: subscription buy in advance "
        "`183 days` does not compare with what the rule names (days with years)",
    ]


@pytest.mark.parametrize(
    ("facts", "tail"),
    [
        (
            {"condition": "account.balance > 1.00 EUR", "subject": "account.balance", "actual": "5.00 USD"},
            "(money in USD with money in EUR)",
        ),
        ({"condition": "all u in usage where u.amount > 1.00 EUR"}, "(money in another currency)"),
        ({"condition": "x in {2 weeks}", "subject": "x", "actual": "3 months"}, "(weeks with months)"),
        ({"condition": "x == y"}, "(days with months, money in another currency)"),
    ],
)
def test_not_comparable_words_name_the_kind_that_applies(facts: dict[str, Any], tail: str) -> None:
    words = Reason("not_comparable", facts).words()
    assert words.endswith(f"does not compare with what the rule names {tail}") or words.endswith(
        f"some values do not compare with what the rule names {tail}"
    ), words

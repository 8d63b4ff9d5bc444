"""Findings of the twenty-first session's audits (2026-12-03), criteria checks and reasons: a total
with a window but no bounds (BR206), an order on a catalog code (BR503, which BR302 and BR408 no
longer miss), and the reason for the time since a date still ahead that is no start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.validate import validate_paths
from tests.test_audit_nineteenth import _shipped_with_termed_discount
from tests.test_audit_twentieth_checks import _retention_when, rules, underlined
from tests.test_money_checks import edit, found

__all__ = ["rules"]  # the fixture, shared

# --- 2. a total with a window but no bounds states no condition: BR206 ------------------------------

_SPORTS_TOTAL = "    total_usage:\n      max: 4\n      per: 1 month\n"


@pytest.mark.parametrize("name", ["total_usage", "total_quantity"])
def test_a_total_with_a_window_but_no_bounds_is_br206_at_the_total(
    rules: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sports-fan-ppv`'s `total_usage: {max: 4, per: 1 month}` without its `max`: accepted until
    2026-12-03, and the section vanished (the discount applied to every customer)."""
    monkeypatch.chdir(rules)
    edit(rules / "discounts/usage.yaml", _SPORTS_TOTAL, f"    {name}: {{per: 1 month}}\n")
    (diagnostic,) = validate_paths([Path(".")])
    assert diagnostic.code == "BR206" and diagnostic.file.endswith("usage.yaml")
    assert diagnostic.message == (
        f"`criteria.quantitative.{name}` has a window (`per: 1 month`) but neither `min` nor `max`: "
        "it states no condition, so it would restrict nothing"
    )
    assert diagnostic.hint == f"write `min` or `max`, e.g. `{name}: {{min: 2, per: 1 month}}`, or remove the key"
    assert underlined(diagnostic, rules) == "{per: 1 month}"


def test_a_total_with_a_bound_and_a_window_is_still_accepted(rules: Path) -> None:
    edit(rules / "discounts/usage.yaml", _SPORTS_TOTAL, "    total_quantity: {min: 1, per: 1 month}\n")
    assert found(rules) == []


# --- 3. an order on a catalog code: BR503 (it escaped BR302 and BR408) -----------------------------


@pytest.mark.parametrize(
    ("when", "written", "op"),
    [
        # the audit's cases: a scheme without flexible pricing (BR408 with `==`), codes that do not exist (BR302)
        (
            'subscription.billing_term_scheme between "monthly-24" and "monthly-24"',
            "subscription.billing_term_scheme",
            "between",
        ),
        (
            'subscription.billing_term_scheme between "zzz-unknown" and "zzzz"',
            "subscription.billing_term_scheme",
            "between",
        ),
        ('subscription.billing_term_scheme >= "monthly-24"', "subscription.billing_term_scheme", ">="),
        ('subscription.plan >= "x"', "subscription.plan", ">="),
        # the code on the right, a projection's element, a bare field, an item bound to codes
        ('"monthly-24" < subscription.billing_term_scheme', "subscription.billing_term_scheme", "<"),
        ('any p in subscription.products where p.product > "a"', "p.product", ">"),
        ('count(subscription.products where bundle <= "b") >= 1', "bundle", "<="),
        ('any s in account.segments where s < "m"', "s", "<"),
        ('count(s in subscription.add_ons where s > "a") >= 1', "s", ">"),
        ('any s in {subscription.billing_term_scheme} where s between "a" and "z"', "s", "between"),
        ('"a" between subscription.plan and "z"', "subscription.plan", "between"),
        ('any s in usage.service_type where (any s in account.segments where s > "A")', "s", ">"),
    ],
)
def test_an_order_on_a_catalog_code_is_br503_at_the_comparison(
    rules: Path, when: str, written: str, op: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(rules)
    _retention_when(rules, when)
    (diagnostic,) = validate_paths([Path(".")])
    assert diagnostic.code == "BR503", diagnostic
    assert diagnostic.message.startswith(f"`{written}` is a")
    assert diagnostic.message.endswith(f" code: codes have no order for `{op}`")
    assert diagnostic.hint == "compare codes with `==` or `in {…}`"
    compared = underlined(diagnostic, rules)
    assert compared in when and written in compared and op in compared


def test_the_order_refused_names_the_kind_of_code(rules: Path) -> None:
    _retention_when(rules, 'subscription.billing_term_scheme between "monthly-24" and "monthly-24"')
    (diagnostic,) = found(rules)
    assert diagnostic.message == (
        "`subscription.billing_term_scheme` is a billing term scheme code: codes have no order for `between`"
    )


@pytest.mark.parametrize(
    "when",
    [
        'account.classification >= "A"',  # free text, no code: ordered as text, as before
        'any p in subscription.products where p.product == "tv-essentials"',
        # a name bound to codes, then again to text that is no code: ordered as text
        'any s in account.segments where (any s in usage.service_type where s > "A")',
    ],
)
def test_an_order_on_text_that_is_no_code_is_still_accepted(rules: Path, when: str) -> None:
    _retention_when(rules, when)
    assert found(rules) == []


# --- 6. the time since a date still ahead: "is N days ahead", not "it starts on" -------------------


def _due_in_3_days() -> dict[str, Any]:
    return {
        "id": "due-later",
        "as_of": "2015-07-31T10:00:00+02:00",
        "account": {"code": "A1", "classification": "SME", "due_date": "2015-08-03"},
        "subscription": {
            "code": "S",
            "plan": "tv-essentials-24",
            "billing_term_scheme": "monthly-24",
            "start": "2015-01-01",
            "products": [{"product": "tv-essentials", "main": True}],
        },
    }


def _reason(tmp_path: Path, criteria: str, scenario: dict[str, Any]) -> dict[str, Any]:
    decided = _shipped_with_termed_discount(tmp_path, "overdue", criteria).decide(scenario)
    (overdue,) = [d for d in decided["discounts"]["definitions"] if d["code"] == "overdue"]
    assert overdue["status"] == "not_eligible", overdue
    (reason,) = overdue["reasons"]
    return reason  # type: ignore[no-any-return]


def test_the_time_since_a_due_date_still_ahead_says_it_is_ahead(tmp_path: Path) -> None:
    """The audit's `r8`: until 2026-12-03 "time since account due date for 0 days (it starts on
    2015-08-03)", as if a due date started."""
    reason = _reason(tmp_path, "when: as_of.date - account.due_date >= 30 days", _due_in_3_days())
    assert reason["code"] == "duration_not_met"
    assert reason["text"] == (
        "time since account due date for 0 days (account due date 2015-08-03 is 3 days ahead); "
        "the rule needs at least 30 days"
    )
    facts = reason["facts"]
    assert (facts["actual"], facts["starts"], facts["since"], facts["ahead"]) == (
        "0 days",
        "2015-08-03",
        "2015-08-03",
        "3 days",
    )


def test_a_due_date_one_day_ahead_and_in_a_between(tmp_path: Path) -> None:
    scenario = _due_in_3_days()
    scenario["account"]["due_date"] = "2015-08-01"
    reason = _reason(tmp_path, "when: as_of.date - account.due_date between 10 days and 60 days", scenario)
    assert reason["code"] == "out_of_range"
    assert "time since account due date for 0 days (account due date 2015-08-01 is 1 day ahead)" in reason["text"]


def test_a_start_still_ahead_still_starts(tmp_path: Path) -> None:
    """README documents the billing term's case: "0 days (it starts on …)", fact `starts`, no `ahead`."""
    scenario = _due_in_3_days()
    scenario["subscription"]["billing_term_start"] = "2015-08-03"
    reason = _reason(tmp_path, "when: as_of.date - subscription.billing_term_start >= 30 days", scenario)
    assert "for 0 days (it starts on 2015-08-03)" in reason["text"]
    assert reason["facts"]["starts"] == "2015-08-03" and "ahead" not in reason["facts"]

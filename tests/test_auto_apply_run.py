"""An auto-apply discount with a run of its own (N billing periods, an end date, a free period)
added while its validity lasts runs to its end past its expiration (seed 002: validity are the
dates during which it "can be offered"; its duration, how long it "should be applied, once it is
added to a subscription"), as an ad hoc one requested while valid does. One without a run
(indefinite) stops at its expiration."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules
from tests.test_audit_thirteenth import _rules_with

REPO = Path(__file__).resolve().parent.parent
RULES = load_rules(REPO / "rules")

#: the shipped `welcome-sports-half`: 50 % off sports-pack for 3 billing periods, valid
#: 2015-03-01 to 2015-12-31, granted by the welcome-sports bundle
_MONTHS = {
    "2015-12": ("2015-12-01", "2015-12-31"),
    "2016-01": ("2016-01-01", "2016-01-31"),
    "2016-02": ("2016-02-01", "2016-02-29"),
    "2016-03": ("2016-03-01", "2016-03-31"),
    "2016-04": ("2016-04-01", "2016-04-30"),
}


def _welcome(month: str, history: list[str], starts: str | None = "2015-12-01") -> dict[str, Any]:
    first, last = _MONTHS[month]
    subscription: dict[str, Any] = {
        "code": "S1",
        "type": "business-tv",
        "plan": "tv-essentials-24",
        "add_ons": ["welcome-sports-bundle"],
        "billing_term_scheme": "monthly-24",
        "billing_frequency": "monthly",
        "start": "2015-06-01",
        "status_history": [{"status": "active", "from": "2015-06-01"}],
        "products": [
            {"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True},
            {"product": "sports-pack", "bundle": "welcome-sports-bundle"},
        ],
        "billing_period": {"from": first, "to": last},
    }
    if starts is not None:
        subscription["add_on_starts"] = {"welcome-sports-bundle": starts}
    return {
        "id": f"welcome-{month}",
        "as_of": f"{last}T23:00:00+01:00",
        "account": {"code": "A1", "classification": "Business"},
        "subscription": subscription,
        "discount_history": [{"discount": "welcome-sports-half", "on": on} for on in history],
    }


def _result(rules: Any, data: dict[str, Any], code: str = "welcome-sports-half") -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        d for d in rules.decide(copy.deepcopy(data))["discounts"]["definitions"] if d["code"] == code
    ]
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("brief", [False, True])
@pytest.mark.parametrize(
    ("month", "history", "status", "reason"),
    [
        ("2015-12", [], "applied", None),  # added with the bundle on 1 December, within validity
        ("2016-01", ["2015-12-31"], "applied", None),  # its second bill: past the expiration
        ("2016-02", ["2015-12-31", "2016-01-31"], "applied", None),  # its third
        ("2016-03", ["2015-12-31", "2016-01-31", "2016-02-29"], "not_effective", "periods_used"),
        # no history: the add-on's start alone counts its bills (December, January, February)
        ("2016-02", [], "applied", None),
        ("2016-03", [], "not_effective", "periods_used"),
    ],
)
def test_a_run_added_while_valid_outlasts_the_expiration(
    month: str, history: list[str], status: str, reason: str | None, brief: bool
) -> None:
    rules = RULES.brief() if brief else RULES
    found = _result(rules, _welcome(month, history))
    assert found["status"] == status, found
    if status == "applied":
        assert found["amount"] == "7.50 EUR"  # 14.99 x 50 % = 7.495, half up
    else:
        assert [r["code"] for r in found["reasons"]] == [reason] or brief


@pytest.mark.parametrize("brief", [False, True])
def test_one_added_after_the_expiration_is_expired(brief: bool) -> None:
    """The bundle added on 5 January 2016, after the discount expired: never added while valid."""
    rules = RULES.brief() if brief else RULES
    found = _result(rules, _welcome("2016-01", [], starts="2016-01-05"))
    assert found["status"] == "not_effective"
    assert found["reasons"][0]["code"] == "expired"


def test_an_add_on_without_a_date_came_with_the_subscription() -> None:
    """No add-on start written: the bundle came with the subscription (`add_on_starts` holds those
    bought later), so the discount was added on the subscription's start: from 2015-06-01, its 3
    bills are June to August, and February 2016 is past them (it was "the first bill" every time
    until its expiration, then expired at once). A subscription started after the expiration never
    had it."""
    found = _result(RULES, _welcome("2016-02", [], starts=None))
    assert (found["status"], found["reasons"][0]["code"]) == ("not_effective", "periods_used")
    late = _welcome("2016-02", [], starts=None)
    late["subscription"]["start"] = "2016-01-01"
    late["subscription"]["status_history"] = [{"status": "active", "from": "2016-01-01"}]
    found = _result(RULES, late)
    assert (found["status"], found["reasons"][0]["code"]) == ("not_effective", "expired")


def test_a_december_bill_run_in_january_dates_it_in_december() -> None:
    """A first application on 1 January for December's bill: added in December (its bill's
    period), within validity. (The bundle held through the line alone, not among the add-ons, so
    that the history alone dates it.)"""
    data = _welcome("2016-02", ["2016-01-01", "2016-02-01"], starts=None)
    data["subscription"]["add_ons"] = []
    found = _result(RULES, data)
    assert found["status"] == "applied", found


def test_an_indefinite_auto_apply_discount_stops_at_its_expiration(tmp_path: Path) -> None:
    root = _rules_with(tmp_path, "discounts/promotions.yaml", "duration:\n  billing_periods: 3\n", "")
    found = _result(load_rules(root), _welcome("2016-01", ["2015-12-31"]))
    assert (found["status"], found["reasons"][0]["code"]) == ("not_effective", "expired")


def test_a_fixed_end_date_bounds_the_run(tmp_path: Path) -> None:
    root = _rules_with(tmp_path, "discounts/promotions.yaml", "  billing_periods: 3\n---", "  until: 2016-01-31\n---")
    rules = load_rules(root)
    assert _result(rules, _welcome("2016-01", ["2015-12-31"]))["status"] == "applied"
    late = _result(rules, _welcome("2016-02", ["2015-12-31", "2016-01-31"]))
    assert (late["status"], late["reasons"][0]["code"]) == ("not_effective", "duration_ended")


def _month(month: str) -> dict[str, Any]:
    """`_welcome` for December 2015 with the bundle's start to be set."""
    return _welcome(month, [])


@pytest.mark.parametrize("order", [("2015-06-01", "2015-12-01"), ("2015-12-01", "2015-06-01")])
def test_brief_decisions_keep_no_result_of_another_add_on_start(order: tuple[str, str]) -> None:
    """Two December bills, the bundle added in June (its 3 periods are over) and in December (its
    first): a brief decision kept the first one's result for the second (the memo of results no
    request asks for was keyed by the dates alone, though the run counts from the add-on's start)."""
    rules = RULES.brief()
    expected = {"2015-06-01": "not_effective", "2015-12-01": "applied"}
    for start in (*order, *order):
        data = _welcome("2015-12", [], starts=start)
        assert _result(rules, data)["status"] == expected[start], start
        assert _result(RULES, data)["status"] == expected[start], start


def test_an_add_on_held_before_the_discount_took_effect_dates_it_on_its_effective_day(tmp_path: Path) -> None:
    """The bundle started before the discount's validity began: the discount was added when it
    took effect (within validity), so its run outlasts the expiration (it said `expired`)."""
    root = _rules_with(
        tmp_path, "discounts/promotions.yaml", "  billing_periods: 3\n---", "  until: 2016-02-15\n---"
    )  # welcome-sports-half: valid 2015-03-01 to 2015-12-31, now until 2016-02-15
    rules = load_rules(root)
    for brief in (False, True):
        decided = rules.brief() if brief else rules
        found = _result(decided, _welcome("2016-01", [], starts="2015-02-01"))
        assert found["status"] == "applied", found
        late = _result(decided, _welcome("2016-03", [], starts="2015-02-01"))
        assert late["status"] == "not_effective"


def test_an_earlier_job_s_history_does_not_carry_a_job_discount_past_its_expiration(tmp_path: Path) -> None:
    """A job is one bill: a job discount with a run, applied to an earlier job in 2015, is
    expired for a job billed in 2016."""
    extra = """---
kind: discount
code: job-run
name: Job run
type: auto_apply
classification: job
applied_service_type: non_usage
state: effective
amount: {type: percentage, value: 10, level: 1}
discounted_products:
  - product: installation-fee
validity: {effective: 2015-01-01, expiration: 2015-12-31}
duration: {billing_periods: 2}
"""
    root = tmp_path / "rules"
    import shutil

    shutil.copytree(REPO / "rules", root)
    (root / "discounts" / "job_run.yaml").write_text(extra.lstrip("-\n"), encoding="utf-8")
    rules = load_rules(root)
    job = {
        "id": "job",
        "as_of": "2016-02-01T10:00:00Z",
        "account": {"code": "A1", "classification": "Residential"},
        "job": {"code": "J2", "type": "installation", "products": [{"product": "installation-fee"}]},
        "discount_history": [{"discount": "job-run", "on": "2015-11-20"}],
    }
    found = _result(rules, job, "job-run")
    assert (found["status"], found["reasons"][0]["code"]) == ("not_effective", "expired")


def _with_period(data: dict[str, Any], first: str, last: str) -> dict[str, Any]:
    data["subscription"]["billing_period"] = {"from": first, "to": last}
    data["as_of"] = f"{last}T23:00:00+00:00"
    return data


@pytest.mark.parametrize("half_first", [True, False])
def test_brief_decisions_keep_no_result_of_another_period_end(half_first: bool) -> None:
    """Bills from 1 December, one to the 15th and one to the 31st, the bundle added on the 20th:
    the first does not have it (`starts_later`), the second does. A brief decision kept one's
    result for the other (the kept results were keyed by the period's first day alone)."""
    rules = RULES.brief()
    half = _with_period(_welcome("2015-12", [], starts="2015-12-20"), "2015-12-01", "2015-12-15")
    full = _with_period(_welcome("2015-12", [], starts="2015-12-20"), "2015-12-01", "2015-12-31")
    order = [(half, "not_effective"), (full, "applied")]
    for data, status in order if half_first else order[::-1]:
        assert _result(rules, data)["status"] == status
        assert _result(RULES, data)["status"] == status


def test_a_free_period_s_rest_is_each_scenario_s_own(tmp_path: Path) -> None:
    """10 free days from the bundle's start on 31 December: December's bill gets 1 day of them. The
    kept result of the first scenario lost that share, and every later one got the whole period."""
    root = _rules_with(
        tmp_path,
        "catalog/bundles.yaml",
        "discounts: [welcome-sports-half]",
        "discounts: [welcome-sports-half, free-10-days]",
    )
    (root / "discounts" / "free10.yaml").write_text(
        "kind: discount\ncode: free-10-days\nname: Free 10 days\ntype: auto_apply\nclassification: subscription\n"
        "applied_service_type: non_usage\nstate: effective\namount: {type: free_period, value: 10, unit: days}\n"
        "discounted_products:\n  - product: sports-pack\nvalidity: {effective: 2015-11-01, expiration: 2015-12-31}\n",
        encoding="utf-8",
    )
    rules = load_rules(root)
    brief_rules = rules.brief()  # (one rule set: what it keeps serves the scenarios after the first)
    amounts = []
    for brief in (True, True, True, False):
        data = _welcome("2015-12", [], starts="2015-12-31")
        decided = brief_rules if brief else rules
        amounts.append(_result(decided, data, "free-10-days")["amount"])
    # 14.99 x 1/31 = 0.4835... the day of the 31st (the line's rounded share beside the half price)
    assert len(set(amounts)) == 1 and amounts[0] in ("0.48 EUR", "0.49 EUR"), amounts


def test_an_add_on_held_before_the_discount_took_effect_counts_its_run_from_then(tmp_path: Path) -> None:
    """welcome-sports-half made effective 2015-11-01 (3 periods, expiring 2015-12-31), its bundle
    held from 2015-10-01: added on 1 November, so November, December and January; the run counted
    from October and January was refused."""
    root = _rules_with(tmp_path, "discounts/promotions.yaml", "  effective: 2015-03-01\n", "  effective: 2015-11-01\n")
    rules = load_rules(root)
    jan = _result(rules, _welcome("2016-01", [], starts="2015-10-01"))
    assert jan["status"] == "applied", jan
    feb = _result(rules, _welcome("2016-02", [], starts="2015-10-01"))
    assert (feb["status"], feb["reasons"][0]["code"]) == ("not_effective", "periods_used")


@pytest.mark.parametrize("recent_first", [True, False])
def test_brief_decisions_keep_no_result_of_another_subscription_start(recent_first: bool) -> None:
    """The welcome bundle held without a date, two subscriptions billed for December: one started
    on 1 June (its 3 bills are over), one on 1 December (its first). A result kept for one must not
    serve the other."""
    rules = RULES.brief()
    june = _welcome("2015-12", [], starts=None)
    december = _welcome("2015-12", [], starts=None)
    december["subscription"]["start"] = "2015-12-01"
    december["subscription"]["status_history"] = [{"status": "active", "from": "2015-12-01"}]
    order = [(december, "applied"), (june, "not_effective")]
    for data, status in order if recent_first else order[::-1]:
        assert _result(rules, data)["status"] == status
        assert _result(RULES, data)["status"] == status


def test_a_discount_taking_effect_mid_period_runs_from_the_first_bill_it_reduces(tmp_path: Path) -> None:
    """Valid from 15 December to 15 January, the bundle held since October: December's bill (judged
    on its first day) is before it, so its 3 bills are January to March (its run counted from the
    15th, and the bill that lost it counted among them)."""
    root = _rules_with(
        tmp_path,
        "discounts/promotions.yaml",
        "  effective: 2015-03-01\n  expiration: 2015-12-31\n",
        "  effective: 2015-12-15\n  expiration: 2016-01-15\n",
    )
    rules = load_rules(root)
    statuses = [
        _result(rules, _welcome(m, [], starts="2015-10-01"))["status"]
        for m in ("2015-12", "2016-01", "2016-02", "2016-03", "2016-04")
    ]
    assert statuses == ["not_effective", "applied", "applied", "applied", "not_effective"], statuses


def test_a_discount_valid_between_two_bills_was_never_added(tmp_path: Path) -> None:
    """Valid 10 to 20 December, the bundle held since November, monthly bills from the 1st: no
    bill's period starts within its validity, so it was never added (its run started on 1 January,
    after the expiration, and three bills of 2016 had it)."""
    root = _rules_with(
        tmp_path,
        "discounts/promotions.yaml",
        "  effective: 2015-03-01\n  expiration: 2015-12-31\n",
        "  effective: 2015-12-10\n  expiration: 2015-12-20\n",
    )
    rules = load_rules(root)
    for brief in (False, True):
        decided = rules.brief() if brief else rules
        for month in ("2016-01", "2016-02", "2016-03"):
            found = _result(decided, _welcome(month, [], starts="2015-11-01"))
            assert (found["status"], found["reasons"][0]["code"] if found["reasons"] else None)[0] == "not_effective", (
                month,
                found,
            )

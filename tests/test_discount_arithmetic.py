"""SPEC 3.2 arithmetic and eligibility rules, each on a minimal synthetic rule set."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import load_rules
from engine.decide.money import ROUNDING_MODES, Rounder

RULESET = 'kind: rule_set\ncode: t\nname: T\nversion: "1"\ndefault_currency: EUR\nrounding: {rounding}\n'
CATALOG = """\
kind: product
code: tv
name: TV
type: termed
price: 30.00 EUR
billing_frequency: monthly
---
kind: product
code: tv-year
name: TV yearly
type: termed
price: 120.00 EUR
billing_frequency: yearly
---
kind: product
code: box
name: Box rental
type: expense
price: 10.00 EUR
---
kind: product
code: kids
name: Kids
type: termed
price: 8.00 EUR
billing_frequency: monthly
---
kind: bundle
code: pick
name: Pick your channels
validity: {from: 2015-01-01}
flexible: true
products: [{product: kids, required: false}, {product: tv}]
---
kind: unit
code: care
name: Customer care
---
kind: unit
code: supervisors
name: Supervisors
---
kind: user
code: sara
name: Sara
units: [supervisors]
"""


def discount(
    code: str, amount: str, *, products: str = "[{product: tv}]", extra: str = "", type_: str = "auto_apply"
) -> str:
    return (
        f"kind: discount\ncode: {code}\nname: {code}\ntype: {type_}\nclassification: subscription\n"
        f"applied_service_type: non_usage\nstate: effective\namount: {amount}\ndiscounted_products: {products}\n"
        f"validity: {{effective: 2015-01-01}}\n{extra}"
    )


def build(tmp_path: Path, *definitions: str, rounding: str = "half_up") -> Any:
    (tmp_path / "ruleset.yaml").write_text(RULESET.format(rounding=rounding))
    (tmp_path / "catalog.yaml").write_text(CATALOG)
    (tmp_path / "discounts.yaml").write_text("\n---\n".join(definitions))
    return load_rules(tmp_path)


def bill(rules: Any, *lines: dict[str, Any], **extra: Any) -> dict[str, Any]:
    scenario = {
        "id": "s",
        "as_of": "2015-06-15T10:00:00Z",
        "subscription": {"code": "S", "start": "2015-01-01", "billing_frequency": "monthly", "products": list(lines)},
        **extra,
    }
    result: dict[str, Any] = rules.decide(scenario)["discounts"]
    return result


def takes(line: dict[str, Any]) -> list[tuple[str, str]]:
    return [(t["code"], t["amount"]) for t in line["discounts"]]


def test_same_level_percentages_share_a_base_and_higher_levels_take_the_remainder(tmp_path: Path) -> None:
    rules = build(
        tmp_path,
        discount("a10", "{type: percentage, value: 10, level: 1}"),
        discount("b20", "{type: percentage, value: 20, level: 1}"),
        discount("c50", "{type: percentage, value: 50, level: 2}"),
    )
    line = bill(rules, {"product": "tv"})["lines"][0]
    # level 1: 10 % + 20 % of 30.00 = 3.00 + 6.00; level 2: 50 % of the 21.00 left = 10.50
    assert takes(line) == [("a10", "-3.00 EUR"), ("b20", "-6.00 EUR"), ("c50", "-10.50 EUR")]
    assert line["net"] == "10.50 EUR"


def test_amounts_come_after_percentages(tmp_path: Path) -> None:
    rules = build(
        tmp_path, discount("off5", "{type: amount, value: 5.00 EUR}"), discount("p10", "{type: percentage, value: 10}")
    )
    line = bill(rules, {"product": "tv"})["lines"][0]
    assert takes(line) == [("p10", "-3.00 EUR"), ("off5", "-5.00 EUR")]  # 10 % of 30.00, then 5.00
    assert line["net"] == "22.00 EUR"


def test_two_free_months_on_a_yearly_bill_charge_ten_of_twelve(tmp_path: Path) -> None:
    rules = build(
        tmp_path, discount("free2", "{type: free_period, value: 2, unit: months}", products="[{product: tv-year}]")
    )
    line = bill(rules, {"product": "tv-year"})["lines"][0]
    assert (line["gross"], line["net"]) == ("120.00 EUR", "100.00 EUR")


def test_free_periods_come_first_then_percentages_on_what_is_left(tmp_path: Path) -> None:
    rules = build(
        tmp_path,
        discount("p10", "{type: percentage, value: 10}", products="[{product: tv-year}]"),
        discount("free2", "{type: free_period, value: 2, unit: months}", products="[{product: tv-year}]"),
    )
    line = bill(rules, {"product": "tv-year"})["lines"][0]
    assert takes(line) == [("free2", "-20.00 EUR"), ("p10", "-10.00 EUR")]


def test_cap_limits_what_a_discount_takes_across_lines_in_a_period(tmp_path: Path) -> None:
    rules = build(
        tmp_path,
        discount(
            "half",
            "{type: percentage, value: 50}",
            products="[{product: tv}, {product: box}]",
            extra="cap: 16.00 EUR\n",
        ),
    )
    result = bill(rules, {"product": "tv"}, {"product": "box"})
    # 50 % of 30.00 = 15.00 on the first line, then only 1.00 of the cap is left for the box
    assert [takes(line) for line in result["lines"]] == [[("half", "-15.00 EUR")], [("half", "-1.00 EUR")]]
    assert next(d for d in result["definitions"] if d["code"] == "half")["amount"] == "16.00 EUR"


def test_no_line_goes_below_zero(tmp_path: Path) -> None:
    rules = build(
        tmp_path,
        discount("big", "{type: amount, value: 50.00 EUR}", products="[{product: box}]"),
        discount("p90", "{type: percentage, value: 90}", products="[{product: box}]"),
    )
    line = bill(rules, {"product": "box"})["lines"][0]
    assert takes(line) == [("p90", "-9.00 EUR"), ("big", "-1.00 EUR")]
    assert line["net"] == "0.00 EUR"


@pytest.mark.parametrize(
    ("rounding", "taken", "net"),
    [
        ("half_up", "-1.23 EUR", "8.77 EUR"),
        ("half_even", "-1.22 EUR", "8.78 EUR"),
        ("down", "-1.22 EUR", "8.78 EUR"),
        ("up", "-1.23 EUR", "8.77 EUR"),
    ],
)
def test_rounding_happens_once_per_line_with_the_rule_set_mode(
    tmp_path: Path, rounding: str, taken: str, net: str
) -> None:
    rules = build(
        tmp_path, discount("p", "{type: percentage, value: 12.25}", products="[{product: box}]"), rounding=rounding
    )
    line = bill(rules, {"product": "box"})["lines"][0]  # 12.25 % of 10.00 = 1.225 exactly
    assert (takes(line), line["net"]) == ([("p", taken)], net)


def test_rounding_once_per_line_not_per_discount(tmp_path: Path) -> None:
    rules = build(
        tmp_path,
        *(
            discount(f"p{i}", "{type: percentage, value: 0.05, level: 1}", products="[{product: box}]")
            for i in range(3)
        ),
    )
    line = bill(rules, {"product": "box"})["lines"][0]
    # each takes 0.005; rounded separately that would be 3 x 0.01; once per line: 0.015 -> 0.02
    assert line["net"] == "9.98 EUR"
    assert [t[1] for t in takes(line)] == ["-0.01 EUR", "-0.01 EUR", "0.00 EUR"]  # largest remainders, earlier first


def test_a_gross_finer_than_the_currency_keeps_its_precision_and_the_discount_is_rounded(tmp_path: Path) -> None:
    rules = build(tmp_path, discount("p", "{type: percentage, value: 10}", products="[{product: box}]"))
    decision = bill(rules, {"product": "box", "price": "29.965 EUR"})
    line = decision["lines"][0]
    assert takes(line) == [("p", "-3.00 EUR")]  # 10 % of 29.965 = 2.9965, rounded once
    assert line["net"] == "26.965 EUR"  # what billrules was given is never rounded
    assert decision["totals"]["EUR"] == {"gross": "29.965 EUR", "discount": "3.00 EUR", "net": "26.965 EUR"}


def test_a_gross_finer_than_the_currency_without_a_discount_has_none(tmp_path: Path) -> None:
    """No phantom discount: nothing taken is 0.00 off, whatever the gross's precision."""
    rules = build(tmp_path, discount("p", "{type: percentage, value: 10}", products="[{product: tv}]"))
    decision = bill(rules, {"product": "box", "price": "2.261 EUR"}, {"product": "box", "price": "2.265 EUR"})
    assert [(x["discounts"], x["net"]) for x in decision["lines"]] == [([], "2.261 EUR"), ([], "2.265 EUR")]
    assert decision["totals"]["EUR"] == {"gross": "4.526 EUR", "discount": "0.00 EUR", "net": "4.526 EUR"}


def test_a_discount_rounded_above_a_finer_gross_is_the_gross(tmp_path: Path) -> None:
    """A free line of 2.265 EUR: its discount rounds to 2.27, more than the line; the line is free."""
    rules = build(tmp_path, discount("all", "{type: percentage, value: 100}", products="[{product: box}]"))
    decision = bill(rules, {"product": "box", "price": "2.265 EUR"}, {"product": "box", "price": "7.50 EUR"})
    assert [(takes(x), x["net"]) for x in decision["lines"]] == [
        ([("all", "-2.265 EUR")], "0.000 EUR"),
        ([("all", "-7.50 EUR")], "0.00 EUR"),
    ]
    assert decision["totals"]["EUR"] == {"gross": "9.765 EUR", "discount": "9.765 EUR", "net": "0.000 EUR"}


@pytest.mark.parametrize("mode", ["up", "ceiling"])
def test_a_discount_rounded_up_past_a_finer_gross_is_rounded_down_instead(tmp_path: Path, mode: str) -> None:
    """Rounded up, 50 % + 49.8 % of 2.265 EUR (1.1325 + 1.12797 = 2.26047) is 2.27: more than the
    line. It is rounded down instead (2.26), not made the whole line: the net is 0.005 EUR. Split
    in cents: 1.13 + 1.12, one cent left, to the larger remainder."""
    rules = build(
        tmp_path,
        discount("half", "{type: percentage, value: 50, level: 1}", products="[{product: box}]"),
        discount("most", "{type: percentage, value: 49.8, level: 1}", products="[{product: box}]"),
        rounding=mode,
    )
    line = bill(rules, {"product": "box", "price": "2.265 EUR"})["lines"][0]
    assert takes(line) == [("half", "-1.13 EUR"), ("most", "-1.13 EUR")]
    assert line["net"] == "0.005 EUR"


@pytest.mark.parametrize("mode", sorted(ROUNDING_MODES))
@pytest.mark.parametrize("amount", ["{type: percentage, value: 100}", "{type: amount, value: 5.00 EUR}"])
def test_a_finer_line_taken_whole_is_free_in_every_rounding_mode(tmp_path: Path, mode: str, amount: str) -> None:
    rules = build(tmp_path, discount("all", amount, products="[{product: box}]"), rounding=mode)
    line = bill(rules, {"product": "box", "price": "2.264 EUR"})["lines"][0]
    assert (takes(line), line["net"]) == ([("all", "-2.264 EUR")], "0.000 EUR")


def words(reasons: list[dict[str, Any]]) -> list[str]:
    """Reason records by their words."""
    return [r["text"] for r in reasons]


def test_flexible_bundle_restriction(tmp_path: Path) -> None:
    rules = build(
        tmp_path, discount("kids-half", "{type: percentage, value: 50}", products="[{product: kids, bundle: pick}]")
    )
    inside = bill(rules, {"product": "kids", "bundle": "pick"})["lines"][0]
    outside = bill(rules, {"product": "kids"})
    assert inside["net"] == "4.00 EUR"
    assert outside["lines"][0]["net"] == "8.00 EUR"
    assert words(outside["definitions"][0]["reasons"]) == ["no line of product `kids` in bundle `pick`"]
    assert outside["definitions"][0]["reasons"][0]["facts"] == {"targets": [{"product": "kids", "bundle": "pick"}]}


def test_calendar_year_limit_counts_from_january(tmp_path: Path) -> None:
    rules = build(
        tmp_path,
        discount("once", "{type: percentage, value: 10}", extra="limit: {times: 1, per: 1 year, window: calendar}\n"),
    )
    history = [{"discount": "once", "on": "2014-12-20"}]
    assert bill(rules, {"product": "tv"}, discount_history=history)["definitions"][0]["status"] == "applied"
    history = [{"discount": "once", "on": "2015-01-02"}]
    assert bill(rules, {"product": "tv"}, discount_history=history)["definitions"][0]["status"] == "limit_reached"


def test_ad_hoc_flexible_dates_are_restricted(tmp_path: Path) -> None:
    extra = "allowed_units: [care]\nduration: {indefinite: true, flexible_start: true, latest_start: 30 days, flexible_end: true, max_length: 3 months}\n"
    rules = build(tmp_path, discount("flex", "{type: percentage, range: [5, 20]}", extra=extra, type_="ad_hoc"))
    agent = {"user": "ann", "units": ["care"]}

    def status(request: dict[str, Any]) -> tuple[str, list[str]]:
        definition = bill(
            rules,
            {"product": "tv"},
            agent=agent,
            requested_discounts=[{"discount": "flex", "value": 10, "added_on": "2015-06-01", **request}],
        )["definitions"][0]
        return definition["status"], words(definition["reasons"])

    assert status({"start": "2015-06-10", "end": "2015-08-31"})[0] == "applied"
    assert status({"start": "2015-06-20"}) == ("not_effective", ["starts on 2015-06-20"])
    # a start later than allowed is a request to reject, not one that has not started yet
    assert status({"start": "2015-07-15"}) == (
        "rejected",
        ["starts 2015-07-15, later than 30 days after 2015-06-01 (on 2015-07-01 at the latest)"],
    )
    assert status({"start": "2015-06-10", "end": "2015-12-31"}) == (
        "rejected",
        ["runs until 2015-12-31, longer than 3 months (until 2015-09-09 at the latest)"],
    )
    # the end is the last day covered: 3 months from 10 June end on 9 September at the latest
    assert status({"start": "2015-06-10", "end": "2015-09-09"})[0] == "applied"
    assert status({"start": "2015-06-10", "end": "2015-09-10"}) == (
        "rejected",
        ["runs until 2015-09-10, longer than 3 months (until 2015-09-09 at the latest)"],
    )


def test_an_agents_end_replaces_the_default_number_of_billing_periods(tmp_path: Path) -> None:
    """6 bills by default; an end chosen by the agent (within `max_length`) governs instead."""
    extra = "duration: {billing_periods: 6, flexible_end: true, max_length: 12 months}\n"
    rules = build(tmp_path, discount("d", "{type: percentage, range: [5, 10]}", type_="ad_hoc", extra=extra))
    request = {"discount": "d", "value": 5, "added_on": "2015-01-01", "end": "2015-10-31"}
    eighth = billed_periods(rules, ("2015-08-01", "2015-08-31"), requested_discounts=[request])
    without_end = {k: v for k, v in request.items() if k != "end"}
    assert eighth == "applied"
    assert billed_periods(rules, ("2015-08-01", "2015-08-31"), requested_discounts=[without_end]) == "not_effective"
    assert billed_periods(rules, ("2015-11-01", "2015-11-30"), requested_discounts=[request]) == "not_effective"


def test_free_days_on_a_yearly_line_at_its_catalog_price_are_a_share_of_its_year(tmp_path: Path) -> None:
    """73 free days off a yearly line on a monthly bill: 73/365 of the line, with or without the
    bill's `billing_period` (it took 73/28 of the line, the whole of it, with one)."""
    rules = build(
        tmp_path, discount("free", "{type: free_period, value: 73, unit: days}", products="[{product: tv-year}]")
    )
    nets = [billed_periods_lines(rules, period) for period in (("2015-02-01", "2015-02-28"), None)]
    assert nets == ["96.00 EUR", "96.00 EUR"]  # 120.00 - 73/365 of it (24.00)


def test_approval_by_a_unit_member_and_allowed_units(tmp_path: Path) -> None:
    extra = "allowed_units: [care]\napproval: {required: true, units: [supervisors]}\n"
    rules = build(
        tmp_path, discount("adhoc", "{type: amount, range: [1.00 EUR, 5.00 EUR]}", extra=extra, type_="ad_hoc")
    )
    request = [{"discount": "adhoc", "value": "4.00 EUR"}]
    approved = bill(
        rules,
        {"product": "tv"},
        agent={"user": "ann", "units": ["care"]},
        requested_discounts=request,
        approvals=[{"discount": "adhoc", "by": "sara"}],
    )
    assert approved["definitions"][0]["status"] == "applied" and approved["lines"][0]["net"] == "26.00 EUR"
    outsider = bill(rules, {"product": "tv"}, agent={"user": "bob", "units": ["sales"]})
    assert outsider["definitions"][0] == {
        "code": "adhoc",
        "type": "ad_hoc",
        "status": "not_eligible",
        "reasons": [
            {
                "code": "agent_not_allowed",
                "text": "agent `bob` is not in an allowed unit (care)",
                "facts": {"agent": "bob", "units": ["care"], "agent_units": ["sales"]},
                "source": outsider["definitions"][0]["reasons"][0]["source"],  # at its `allowed_units`
            }
        ],
    }
    assert outsider["definitions"][0]["reasons"][0]["source"]["line"] > 1


def test_validity_is_judged_on_the_period_billed(tmp_path: Path) -> None:
    """A December bill run in January still gets an auto apply discount that expired on 31 December."""
    definition = discount("dec", "{type: percentage, value: 10}").replace(
        "validity: {effective: 2015-01-01}", "validity: {effective: 2015-01-01, expiration: 2015-12-31}"
    )
    rules = build(tmp_path, definition)

    def status(period_from: str) -> str:
        scenario = {
            "id": "s",
            "as_of": "2016-01-02T10:00:00Z",
            "subscription": {
                "code": "S",
                "start": "2015-01-01",
                "billing_frequency": "monthly",
                "products": [{"product": "tv"}],
                "billing_period": {
                    "from": period_from,
                    "to": "2016-01-31" if period_from.startswith("2016") else "2015-12-31",
                },
            },
        }
        result: str = rules.decide(scenario)["discounts"]["definitions"][0]["status"]
        return result

    assert status("2015-12-01") == "applied"
    assert status("2016-01-01") == "not_effective"


def test_not_eligible_lists_every_failing_condition(tmp_path: Path) -> None:
    rules = build(
        tmp_path,
        discount(
            "kids",
            "{type: percentage, value: 50}",
            products="[{product: kids, bundle: pick}]",
            extra='criteria:\n  when: account.classification == "SME"\n',
        ),
    )
    reasons = bill(rules, {"product": "tv"})["definitions"][0]["reasons"]
    assert [r["code"] for r in reasons] == ["no_line", "value_missing"]  # the account has no classification
    assert reasons[1]["facts"]["condition"] == 'account.classification == "SME"'
    assert reasons[1]["facts"]["verdict"] == "unknown"


@settings(max_examples=500, deadline=None)
@given(
    gross=st.decimals(min_value=0, max_value=1000, places=3) | st.decimals(min_value=0, max_value=50, places=2),
    shares=st.lists(st.decimals(min_value=0, max_value=1, places=5), max_size=4),
    mode=st.sampled_from(sorted(ROUNDING_MODES)),
    currency=st.sampled_from(["EUR", "JPY", "BHD"]),
)
def test_a_closed_line_adds_up_and_rounds_once(gross: Decimal, shares: list[Decimal], mode: str, currency: str) -> None:
    """Whatever the gross's precision and the rounding mode: the rounded takes add up to the line's
    discount, net = gross - discount, nothing is negative or above the gross, and the discount is
    within one minor unit of what was taken: in the minor unit, or the whole gross."""
    from engine.decide.discounts import Line, _Caps, _LineBook
    from engine.values import Money

    rounder = Rounder(mode)
    quantum = rounder.quantum(currency)
    book = _LineBook(Line(0, "subscription.products[0]", "p", "service", None, Money(gross, currency), None), _Caps({}))
    for i, share in enumerate(shares):
        book.take(f"d{i}", book.remaining * share)
    exact = sum((amount for _, amount in book.takes), Decimal(0))
    result = book.close(rounder)
    rounded = [amount for _, amount in result.takes]
    assert [code for code, _ in result.takes] == [code for code, _ in book.takes]
    assert sum(rounded, Decimal(0)) == result.discount == gross - result.net.amount
    assert all(amount >= 0 for amount in rounded)
    assert Decimal(0) <= result.net.amount <= gross
    assert result.discount == result.discount.quantize(quantum) or result.discount == gross
    assert abs(result.discount - exact) < quantum
    if exact == gross:  # taken whole: free, whatever the mode
        assert result.net.amount == 0


def billed_periods_lines(rules: Any, period: tuple[str, str] | None) -> str:
    """The net of a `tv-year` line on a monthly bill (of `period`, or of the as_of day alone)."""
    subscription = {
        "code": "S",
        "start": "2015-01-01",
        "billing_frequency": "monthly",
        "products": [{"product": "tv-year"}],
    }
    if period is not None:
        subscription["billing_period"] = {"from": period[0], "to": period[1]}
    decided = rules.decide({"id": "s", "as_of": "2015-03-01T10:00:00Z", "subscription": subscription})
    return str(decided["discounts"]["lines"][0]["net"])


def billed_periods(
    rules: Any, period: tuple[str, str], *, frequency: str = "monthly", history: tuple[str, ...] = (), **extra: Any
) -> str:
    """The status of definition `d` on the bill for `period`, run the day after it (in arrears)."""
    day_after = (date.fromisoformat(period[1]) + timedelta(days=1)).isoformat()
    scenario = {
        "id": "s",
        "as_of": f"{day_after}T10:00:00Z",
        "subscription": {
            "code": "S",
            "start": "2015-01-01",
            "billing_frequency": frequency,
            "products": [{"product": "tv"}],
            "billing_period": {"from": period[0], "to": period[1]},
        },
        "discount_history": [{"discount": "d", "on": on} for on in history],
        **extra,
    }
    found = rules.decide(scenario)["discounts"]["definitions"]
    status: str = next(x["status"] for x in found if x["code"] == "d")
    return status


def test_a_discount_of_one_billing_period_added_mid_period_is_on_that_bill_only(tmp_path: Path) -> None:
    """Added on 20 June: the June bill is its one period; the July bill is not (it used to run
    until 20 July, so the July bill had it too)."""
    rules = build(
        tmp_path,
        discount("d", "{type: percentage, range: [5, 10]}", type_="ad_hoc", extra="duration: {billing_periods: 1}\n"),
    )
    request = {"requested_discounts": [{"discount": "d", "value": 5, "added_on": "2015-06-20"}]}
    assert billed_periods(rules, ("2015-06-01", "2015-06-30"), **request) == "applied"
    assert billed_periods(rules, ("2015-07-01", "2015-07-31"), **request) == "not_effective"


def test_a_discount_of_n_billing_periods_stops_after_n_bills_in_the_history(tmp_path: Path) -> None:
    """Auto apply for 3 periods, billed in arrears: applied on 1 April, 1 May and 1 June (the
    March, April and May bills); the June bill is the fourth, whatever the dates say."""
    rules = build(tmp_path, discount("d", "{type: percentage, value: 10}", extra="duration: {billing_periods: 3}\n"))
    history = ("2015-04-01", "2015-05-01")
    assert billed_periods(rules, ("2015-05-01", "2015-05-31"), history=history) == "applied"
    assert billed_periods(rules, ("2015-06-01", "2015-06-30"), history=(*history, "2015-06-01")) == "not_effective"


def test_weekly_billing_periods_are_weeks(tmp_path: Path) -> None:
    rules = build(
        tmp_path,
        discount("d", "{type: percentage, range: [5, 10]}", type_="ad_hoc", extra="duration: {billing_periods: 2}\n"),
    )
    request = {"requested_discounts": [{"discount": "d", "value": 5, "added_on": "2015-06-01"}]}
    weeks = [("2015-06-01", "2015-06-07"), ("2015-06-08", "2015-06-14"), ("2015-06-15", "2015-06-21")]
    assert [billed_periods(rules, week, frequency="weekly", **request) for week in weeks] == [
        "applied",
        "applied",
        "not_effective",
    ]


@settings(max_examples=400, deadline=None)
@given(
    billed=st.dates(date(1990, 1, 1), date(2100, 12, 31)),
    back=st.integers(-40, 5000),
    months=st.sampled_from([None, 1, 2, 3, 6, 12]),
)
def test_the_periods_before_the_billed_one_reach_back_to_the_one_holding_the_start(
    billed: date, back: int, months: int | None
) -> None:
    """`_periods_before`: k periods, run back from the billed one; the kth before it holds `start`."""
    from engine.decide.discounts import _periods_before, _periods_moved

    start = billed - timedelta(days=back)
    k = _periods_before(billed, start, months)
    if start >= billed:
        assert k == 0
    else:
        assert _periods_moved(billed, -k, months) <= start < _periods_moved(billed, 1 - k, months)


@pytest.mark.parametrize(
    ("frequency", "price", "net"),
    [
        ("yearly", "360.00 EUR", "300.00 EUR"),  # SPEC 3.2: 2 months free on a yearly bill charge 10 of 12
        ("quarterly", "90.00 EUR", "30.00 EUR"),  # 2 of the quarter's 3 months
        ("monthly", "30.00 EUR", "0.00 EUR"),  # more than the month: the whole line, no less than zero
        # the catalog price is one month's, charged for each month of the bill (30.00 EUR a month:
        # 90.00 a quarter, 30.00 left; until 2026-12-02 one month was charged, and taken whole)
        ("quarterly", None, "30.00 EUR"),
        ("yearly", None, "300.00 EUR"),
    ],
)
def test_a_free_period_takes_its_share_of_the_period_the_bill_charges(
    tmp_path: Path, frequency: str, price: str | None, net: str
) -> None:
    """`tv` is a monthly product: priced for a longer bill, its line charges that bill's period."""
    rules = build(tmp_path, discount("free2", "{type: free_period, value: 2, unit: months}"))
    scenario = {
        "id": "s",
        "as_of": "2015-06-15T10:00:00Z",
        "subscription": {
            "code": "S",
            "start": "2015-01-01",
            "billing_frequency": frequency,
            "products": [{"product": "tv", **({"price": price} if price else {})}],
        },
    }
    assert rules.decide(scenario)["discounts"]["lines"][0]["net"] == net


@settings(max_examples=400, deadline=None)
@given(
    start=st.dates(date(1990, 1, 1), date(2100, 12, 31)),
    later=st.integers(-40, 5000),
    months=st.sampled_from([None, 1, 2, 3, 6, 12]),
)
def test_the_periods_since_a_start_reach_the_one_holding_the_day(start: date, later: int, months: int | None) -> None:
    """`_periods_since`: k whole periods from `start`; the day lies in the next one."""
    from engine.decide.discounts import _periods_moved, _periods_since

    day = start + timedelta(days=later)
    k = _periods_since(start, day, months)
    if day <= start:
        assert k == 0
    else:
        assert _periods_moved(start, k, months) <= day < _periods_moved(start, k + 1, months)


def test_without_a_billing_period_the_periods_run_from_the_start(tmp_path: Path) -> None:
    """A scenario without `billing_period` bills its `as_of` day: a discount of 1 period added on
    20 June holds until 20 July (it was over the day after it was added)."""
    rules = build(
        tmp_path,
        discount("d", "{type: percentage, range: [5, 10]}", type_="ad_hoc", extra="duration: {billing_periods: 1}\n"),
    )

    def status(as_of: str) -> str:
        request = {"requested_discounts": [{"discount": "d", "value": 5, "added_on": "2015-06-20"}]}
        scenario = {
            "id": "s",
            "as_of": f"{as_of}T10:00:00Z",
            "subscription": {"code": "S", "start": "2015-01-01", "products": [{"product": "tv"}]},
            **request,
        }
        found = rules.decide(scenario)["discounts"]["definitions"]
        return str(next(x["status"] for x in found if x["code"] == "d"))

    assert [status(day) for day in ("2015-06-21", "2015-07-19", "2015-07-20")] == [
        "applied",
        "applied",
        "not_effective",
    ]
    request = {"requested_discounts": [{"discount": "d", "value": 5, "added_on": "2015-06-20"}]}
    late = {
        "id": "s",
        "as_of": "2016-01-10T10:00:00Z",
        "subscription": {"code": "S", "start": "2015-01-01", "products": [{"product": "tv"}]},
        **request,
    }
    [over] = [x for x in rules.decide(late)["discounts"]["definitions"] if x["code"] == "d"]
    assert over["reasons"][0]["text"] == "ran for its 1 billing period from 2015-06-20 (until 2015-07-20)"


def test_billing_periods_from_a_months_last_day_keep_to_month_ends(tmp_path: Path) -> None:
    """As billing cycles do (SPEC 3.4's month-end rule): 1 period from 28 February runs to 31 March."""
    rules = build(
        tmp_path,
        discount("d", "{type: percentage, range: [5, 10]}", type_="ad_hoc", extra="duration: {billing_periods: 1}\n"),
    )
    request = {"requested_discounts": [{"discount": "d", "value": 5, "added_on": "2015-02-28"}]}
    subscription = {"code": "S", "start": "2015-01-01", "billing_frequency": "monthly", "products": [{"product": "tv"}]}

    def status(day: str) -> str:
        data = {"id": "s", "as_of": f"{day}T10:00:00Z", "subscription": subscription, **request}
        return str(next(x["status"] for x in rules.decide(data)["discounts"]["definitions"] if x["code"] == "d"))

    assert [status(day) for day in ("2015-03-29", "2015-03-30", "2015-03-31")] == [
        "applied",
        "applied",
        "not_effective",
    ]


def test_an_ad_hoc_discount_used_before_is_offered_again_until_its_limit(tmp_path: Path) -> None:
    """Seed 002: offered up to 3 times a year. An earlier use's duration is that use's: it does not
    make a new offer `not_effective` (it did, counted from the first application in the history)."""
    rules = build(
        tmp_path,
        discount(
            "d",
            "{type: percentage, range: [5, 10]}",
            type_="ad_hoc",
            extra="duration: {billing_periods: 1}\nlimit: {times: 3, per: 1 year}\n",
        ),
    )
    agent = {"agent": {"user": "anna", "units": []}}
    uses = ("2015-02-28", "2015-03-31", "2015-04-30")
    statuses = [billed_periods(rules, ("2015-06-01", "2015-06-30"), history=uses[:n], **agent) for n in range(4)]
    assert statuses == ["offered", "offered", "offered", "limit_reached"]

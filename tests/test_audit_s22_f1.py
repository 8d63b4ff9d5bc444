"""Findings of the twenty-second session's audit of purchases and coupons (2026-12-03), fixed:

- F1: a purchase of another plan than the subscription's ends that plan's contract on the day of
  `as_of`; it is judged as the `cancellation` question judges a cancellation on that day: refused
  where the term refuses it (`plan_change_not_allowed`), allowed and saying what it costs where
  the term charges a penalty (`plan_change_penalty`). It was allowed without a word.
- F3: a coupon whose bundle changes nothing in the price (another code's discount took the line
  whole already) is `coupon_grants_nothing` and kept; it was redeemed, its use spent.
- F4: in a refused purchase, a second code of the same coupon is `coupon_bundle_held` (and
  `coupon_used_up` where it is), as in the allowed purchase; it was "kept … the price shows what
  its bundle would give".
- F2: a code of a coupon's shape written past its range with one more digit (`X100` of
  `X95`…`X99`) is "near" that coupon's last code, also in BR624's hint; it named another coupon's.
"""

from __future__ import annotations

import copy
import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules
from engine.cli.main import main
from engine.coupons import index_of
from engine.decide.scenarios import ScenarioError
from engine.ruleset import RuleSet

RULESET = """\
kind: rule_set
code: audit-s22
name: Audit s22 purchases
version: "1"
default_currency: EUR
rounding: half_up
"""

CATALOG = """\
kind: product
code: pm
name: Main
type: termed
price: 30.00 EUR
billing_frequency: monthly
main_service: true
---
kind: product
code: pbox
name: Box
type: one_time
price: 49.99 EUR
---
kind: product
code: pb
name: B
type: termed
price: 3.33 EUR
billing_frequency: monthly
---
kind: product
code: pd
name: D
type: termed
price: 0.99 EUR
billing_frequency: monthly
---
kind: bundle
code: bm
name: Main bundle
validity: {from: 2020-01-01}
products:
  - product: pm
  - product: pbox
---
kind: bundle
code: bm-locked
name: Main bundle with a term of its own
validity: {from: 2020-01-01}
term: t-locked
products:
  - product: pm
---
kind: bundle
code: bb
name: B bundle
validity: {from: 2020-01-01}
products:
  - product: pb
---
kind: bundle
code: bd
name: D bundle
validity: {from: 2020-01-01}
products:
  - product: pd
---
kind: term
code: t-locked
name: 12 months, no early cancellation
period: 12
unit: months
basis: calendar
early_cancellation: not_allowed
---
kind: term
code: t-penalty
name: 12 months, a flat penalty
period: 12
unit: months
basis: calendar
early_cancellation: penalty
penalty:
  grace_period: 14
  grace_period_unit: days
  fee: 100.00 EUR
  pro_rata: false
  tax:
    rate: 19
---
kind: term
code: t-free
name: 12 months, early cancellation allowed
period: 12
unit: months
basis: calendar
early_cancellation: allowed
---
kind: plan
code: plan-locked
name: Locked
bundles: [bm]
validity: {from: 2020-01-01}
term: t-locked
payment_methods: [card]
---
kind: plan
code: plan-penalty
name: Penalty
bundles: [bm]
validity: {from: 2020-01-01}
term: t-penalty
payment_methods: [card]
---
kind: plan
code: plan-free
name: Free
bundles: [bm]
validity: {from: 2020-01-01}
term: t-free
payment_methods: [card]
---
kind: plan
code: plan-bundle-locked
name: Term on its bundle
bundles: [bm-locked]
validity: {from: 2020-01-01}
payment_methods: [card]
---
kind: plan
code: plan-flex
name: Flex
bundles: [bm]
validity: {from: 2020-01-01}
payment_methods: [card]
"""

COUPONS = """\
kind: discount
code: d1
name: 10 % off B
type: auto_apply
classification: subscription
applied_service_type: non_usage
state: effective
amount: {type: percentage, value: 10, level: 1}
discounted_products:
  - product: pb
validity: {effective: 2020-01-01}
---
kind: discount
code: d5
name: 20.00 EUR off B
type: auto_apply
classification: subscription
applied_service_type: non_usage
state: effective
amount: {type: amount, value: 20.00 EUR}
discounted_products:
  - product: pb
validity: {effective: 2020-01-01}
---
kind: discount
code: d7
name: 7 % off D
type: auto_apply
classification: subscription
applied_service_type: non_usage
state: effective
amount: {type: percentage, value: 7, level: 3}
discounted_products:
  - product: pd
validity: {effective: 2020-01-01}
---
kind: bundle
code: cb1
name: coupon 10 %
validity: {from: 2020-01-01}
discounts: [d1]
---
kind: bundle
code: cb5
name: coupon 20 EUR
validity: {from: 2020-01-01}
discounts: [d5]
---
kind: bundle
code: cb7
name: coupon 7 %
validity: {from: 2020-01-01}
discounts: [d7]
---
kind: coupon
code: c1
name: ten percent
provider: Audit
charset: numeric
template: "K1-###"
quantity: 10
redemption_quantity: 3
range_start: 0
bundle: cb1
validity: {from: 2020-01-01}
---
kind: coupon
code: c5
name: twenty euros
provider: Audit
charset: numeric
template: "K5-###"
quantity: 10
redemption_quantity: 3
range_start: 0
bundle: cb5
validity: {from: 2020-01-01}
---
kind: coupon
code: c7
name: seven percent
provider: Audit
charset: numeric
template: "K7-###"
quantity: 10
redemption_quantity: 3
range_start: 0
bundle: cb7
validity: {from: 2020-01-01}
---
kind: coupon
code: cx
name: short numbers
provider: Audit
charset: numeric
template: "X##"
quantity: 5
redemption_quantity: 2
range_start: 95
bundle: cb7
validity: {from: 2020-01-01}
---
kind: bundle
code: cbp
name: coupon that brings B
validity: {from: 2020-01-01}
products:
  - product: pb
discounts: [d7]
---
kind: coupon
code: cp
name: brings B
provider: Audit
charset: numeric
template: "P-###"
quantity: 10
redemption_quantity: 3
range_start: 0
bundle: cbp
validity: {from: 2020-01-01}
---
kind: coupon
code: camt
name: amount codes
provider: Audit
charset: numeric
template: "AMT-###"
quantity: 3
redemption_quantity: 1
range_start: 0
bundle: cb5
validity: {from: 2020-01-01}
"""


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("s22f1")
    (folder / "ruleset.yaml").write_text(RULESET, encoding="utf-8")
    (folder / "catalog.yaml").write_text(CATALOG, encoding="utf-8")
    (folder / "coupons.yaml").write_text(COUPONS, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def rules(rules_dir: Path) -> RuleSet:
    return load_rules(rules_dir)


ACCOUNT = {"code": "ACC-1", "classification": "Residential"}


def _subscription(plan: str, **more: Any) -> dict[str, Any]:
    return {"code": "SUB-9", "plan": plan, "billing_frequency": "monthly", "start": "2026-03-01", **more}


def _scenario(purchase: dict[str, Any], subscription: dict[str, Any] | None, as_of: str) -> dict[str, Any]:
    data: dict[str, Any] = {"id": "s22", "as_of": as_of, "account": ACCOUNT, "purchase": purchase}
    if subscription is not None:
        data["subscription"] = copy.deepcopy(subscription)
    return data


def _decide(
    rules: RuleSet,
    purchase: dict[str, Any],
    subscription: dict[str, Any] | None = None,
    as_of: str = "2026-05-01T10:00:00+00:00",
) -> Any:
    return rules.decide(_scenario(purchase, subscription, as_of))["purchase"]


def _codes(reasons: list[dict[str, Any]]) -> list[str]:
    return [r["code"] for r in reasons]


def _coupons(purchase: Any) -> list[tuple[str, str, list[str]]]:
    return [(c["code"], c["status"], _codes(c["reasons"])) for c in purchase["coupons"]]


def _cli(args: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        code = main(args)
    return code, out.getvalue()


# F1: a change of plan inside the commitment of the current plan's term ----------------------------


def test_a_change_of_plan_a_term_does_not_allow_to_end_early_is_refused(rules: RuleSet) -> None:
    decided = _decide(rules, {"plan": "plan-flex", "payment_method": "card"}, _subscription("plan-locked"))
    assert decided["allowed"] is False
    [reason] = decided["reasons"]
    assert reason["code"] == "plan_change_not_allowed"
    assert reason["facts"] == {
        "plan": "plan-locked",
        "to": "plan-flex",
        "for": "plan",
        "term": "t-locked",
        "commitment_end": "2027-03-01",
        "earliest": "2027-03-01",
    }
    assert reason["text"] == (
        "changing from plan `plan-locked` to `plan-flex` ends its contract early: `t-locked` does not allow "
        "cancelling before its commitment ends on 2027-03-01; possible from 2027-03-01"
    )
    assert reason["source"]["file"].endswith("catalog.yaml")  # the term's `early_cancellation:`
    # the price is still shown (what the customer asked for), as for any refused purchase
    assert decided["price"]["EUR"]["net"] == "79.99 EUR"


def test_the_plan_change_agrees_with_the_cancellation_question_on_the_same_day(rules: RuleSet) -> None:
    data = _scenario({"plan": "plan-flex"}, _subscription("plan-locked"), "2026-05-01T10:00:00+00:00")
    data["cancellation"] = {"date": "2026-05-01"}
    decided = rules.decide(data)
    assert decided["cancellation"]["allowed"] is False
    assert decided["purchase"]["allowed"] is False
    assert decided["purchase"]["reasons"][0]["facts"]["earliest"] == decided["cancellation"]["earliest"]


def test_a_change_of_plan_that_costs_a_penalty_is_allowed_and_says_what_it_costs(rules: RuleSet) -> None:
    decided = _decide(rules, {"plan": "plan-flex"}, _subscription("plan-penalty"))
    assert decided["allowed"] is True
    [reason] = decided["reasons"]
    assert reason["code"] == "plan_change_penalty"
    assert reason["facts"] == {
        "plan": "plan-penalty",
        "to": "plan-flex",
        "for": "plan",
        "term": "t-penalty",
        "commitment_end": "2027-03-01",
        "fee": "100.00 EUR",
        "total": "119.00 EUR",
        "due": "2026-05-15",
    }
    words = "charges a penalty for cancelling before 2027-03-01: 119.00 EUR (fee 100.00 EUR), due 2026-05-15"
    assert words in reason["text"]
    # the same figures as the cancellation decision on that day
    data = _scenario({"plan": "plan-flex"}, _subscription("plan-penalty"), "2026-05-01T10:00:00+00:00")
    data["cancellation"] = {"date": "2026-05-01"}
    penalty = rules.decide(data)["cancellation"]["terms"][0]["penalty"]
    assert (penalty["fee"], penalty["total"], penalty["due"]) == ("100.00 EUR", "119.00 EUR", "2026-05-15")


def test_a_penalty_does_not_refuse_the_purchase_so_its_codes_are_redeemed(rules: RuleSet) -> None:
    purchase = {"plan": "plan-flex", "add_ons": ["bb"], "coupons": ["K1-000"]}
    decided = _decide(rules, purchase, _subscription("plan-penalty"))
    assert decided["allowed"] is True
    assert _codes(decided["reasons"]) == ["plan_change_penalty"]
    assert _coupons(decided) == [("K1-000", "redeemed", ["coupon_redeemed"])]


def test_a_refused_change_of_plan_redeems_no_code(rules: RuleSet) -> None:
    purchase = {"plan": "plan-flex", "add_ons": ["bb"], "coupons": ["K1-000"]}
    decided = _decide(rules, purchase, _subscription("plan-locked"))
    assert decided["allowed"] is False
    assert _coupons(decided) == [("K1-000", "not_redeemed", ["coupon_kept"])]


def test_a_term_of_the_plans_bundle_decides_too(rules: RuleSet) -> None:
    decided = _decide(rules, {"plan": "plan-flex"}, _subscription("plan-bundle-locked"))
    assert decided["allowed"] is False
    [reason] = decided["reasons"]
    assert reason["facts"]["for"] == "bm-locked"
    assert "`t-locked` of bundle `bm-locked` does not allow" in reason["text"]


@pytest.mark.parametrize(
    ("plan", "bought", "as_of"),
    [
        ("plan-locked", "plan-locked", "2026-05-01T10:00:00+00:00"),  # the same plan: a new contract (README)
        ("plan-locked", "plan-flex", "2027-03-01T10:00:00+00:00"),  # on the commitment's end: free
        ("plan-locked", "plan-flex", "2027-06-01T10:00:00+00:00"),  # after it
        ("plan-free", "plan-flex", "2026-05-01T10:00:00+00:00"),  # the term allows it, without penalty
        ("plan-flex", "plan-locked", "2026-05-01T10:00:00+00:00"),  # no term to end
        ("plan-locked", "plan-flex", "2026-02-01T10:00:00+00:00"),  # before the subscription starts
    ],
)
def test_no_word_where_the_change_ends_nothing_early(rules: RuleSet, plan: str, bought: str, as_of: str) -> None:
    decided = _decide(rules, {"plan": bought}, _subscription(plan), as_of)
    assert decided["allowed"] is True
    assert decided["reasons"] == []


def test_an_add_on_with_a_term_ends_with_the_contract_too(rules: RuleSet) -> None:
    """README: the add-ons are not carried into the new contract, so their terms are judged too."""
    subscription = _subscription("plan-flex", add_ons=["bm-locked"])
    decided = _decide(rules, {"plan": "plan-free"}, subscription)
    assert decided["allowed"] is False
    assert [(r["code"], r["facts"]["for"]) for r in decided["reasons"]] == [("plan_change_not_allowed", "bm-locked")]


def test_the_shipped_contract_its_penalty_and_its_exception() -> None:
    """The audit's case: a customer on `tv-essentials-24` (commit-24m, a penalty pro rata) buys
    `tv-flex`; in military service, exception 2 of the term charges a flat 50.00 EUR + VAT."""
    shipped = load_rules(Path(__file__).resolve().parent.parent / "rules")
    data: dict[str, Any] = {
        "id": "t4",
        "as_of": "2015-07-10T14:30:00+02:00",
        "account": {"code": "ACC-1", "classification": "Residential"},
        "purchase": {"plan": "tv-flex", "payment_method": "card"},
        "subscription": {
            "code": "SUB-1",
            "plan": "tv-essentials-24",
            "billing_frequency": "monthly",
            "start": "2015-02-01",
            "products": [{"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True}],
        },
    }
    decided = shipped.decide(data)["purchase"]
    assert decided["allowed"] is True
    [reason] = decided["reasons"]
    assert reason["code"] == "plan_change_penalty"
    assert (reason["facts"]["term"], reason["facts"]["fee"], reason["facts"]["total"]) == (
        "commit-24m",
        "180.00 EUR",
        "214.20 EUR",
    )
    data["account"]["segments"] = ["military"]
    [reason] = shipped.decide(data)["purchase"]["reasons"]
    assert (reason["facts"]["fee"], reason["facts"]["exception"]) == ("50.00 EUR", 2)
    assert "exception 2 of `commit-24m` charges a penalty" in reason["text"]


def test_add_ons_alone_are_no_change_of_plan(rules: RuleSet) -> None:
    decided = _decide(rules, {"add_ons": ["bb"]}, _subscription("plan-locked"))
    assert decided["allowed"] is True
    assert decided["reasons"] == []


def test_an_add_on_bought_after_the_purchase_day_is_not_held_yet(rules: RuleSet) -> None:
    """(the cancellation of it would be refused as BR615, "before add-on `bd` starts")"""
    subscription = _subscription("plan-free", add_ons=["bd"], add_on_starts={"bd": "2026-09-01"})
    decided = _decide(rules, {"plan": "plan-flex"}, subscription)
    assert decided["allowed"] is True
    assert decided["reasons"] == []


def test_the_plan_change_is_worded_in_text_and_html(rules_dir: Path, tmp_path: Path) -> None:
    import json

    scenario = tmp_path / "change.json"
    scenario.write_text(
        json.dumps(_scenario({"plan": "plan-flex"}, _subscription("plan-penalty"), "2026-05-01T10:00:00+00:00"))
    )
    code, out = _cli(["decide", "--rules", str(rules_dir), str(scenario)])
    assert code == 0, out
    assert "purchase (under plan plan-flex): allowed" in out
    assert "changing from plan `plan-penalty` to `plan-flex` ends its contract early" in out
    page = tmp_path / "report.html"
    code, out = _cli(["decide", "--rules", str(rules_dir), str(scenario), "--html", str(page)])
    assert code == 0, out
    assert "ends its contract early" in page.read_text(encoding="utf-8")


def test_the_decision_is_the_same_each_time(rules: RuleSet) -> None:
    first = _decide(rules, {"plan": "plan-flex"}, _subscription("plan-penalty"))
    again = _decide(rules, {"plan": "plan-flex"}, _subscription("plan-penalty"))
    assert first == again
    assert list(first["reasons"][0]["facts"]) == [
        "plan",
        "to",
        "for",
        "term",
        "commitment_end",
        "fee",
        "total",
        "due",
    ]


# F3: a code that changes nothing in the price is kept ---------------------------------------------


def test_a_code_after_one_that_took_the_line_whole_grants_nothing(rules: RuleSet) -> None:
    decided = _decide(rules, {"add_ons": ["bb"], "coupons": ["K5-000", "K1-000"]})
    assert _coupons(decided) == [
        ("K5-000", "redeemed", ["coupon_redeemed"]),
        ("K1-000", "rejected", ["coupon_grants_nothing"]),
    ]
    kept = decided["coupons"][1]["reasons"][0]
    assert kept["facts"] == {"bundle": "cb1", "discounts": ["d1"], "net": {"EUR": "0.00 EUR"}, "beside": ["K5-000"]}
    assert kept["text"] == (
        "grants bundle `cb1`, which adds no product to this purchase; it changes nothing in the price: "
        "0.00 EUR with or without it (beside code `K5-000`): the code is kept"
    )
    [line] = decided["lines"]
    assert line["discounts"] == [{"code": "d5", "amount": "-3.33 EUR"}]
    assert decided["price"]["EUR"]["net"] == "0.00 EUR"


def test_of_two_codes_that_each_take_the_line_whole_the_first_is_kept(rules: RuleSet) -> None:
    """Beside the 20.00 EUR code the 10 % code changes nothing, whichever is entered first: it is
    kept, and the 20.00 EUR code, judged alone then, is redeemed."""
    decided = _decide(rules, {"add_ons": ["bb"], "coupons": ["K1-000", "K5-000"]})
    assert _coupons(decided) == [
        ("K1-000", "rejected", ["coupon_grants_nothing"]),
        ("K5-000", "redeemed", ["coupon_redeemed"]),
    ]
    assert decided["price"]["EUR"]["net"] == "0.00 EUR"


@pytest.mark.parametrize("codes", [["K1-001", "P-001"], ["P-001", "K1-001"]])
def test_a_code_whose_product_a_later_code_brings_is_redeemed(rules: RuleSet, codes: list[str]) -> None:
    """A code is judged beside the codes after it too: the later code's bundle brings the product
    the earlier one's discount reduces (the review of 2026-12-03: judged beside the earlier codes
    only, it was kept and the product sold at full price, 4.25 EUR instead of 3.92)."""
    decided = _decide(rules, {"add_ons": ["bd"], "coupons": codes})
    assert [status for _, status, _ in _coupons(decided)] == ["redeemed", "redeemed"]
    assert decided["price"]["EUR"]["net"] == "3.92 EUR"


def test_a_code_that_changes_the_price_is_redeemed(rules: RuleSet) -> None:
    decided = _decide(rules, {"add_ons": ["bb"], "coupons": ["K1-000"]})
    assert _coupons(decided) == [("K1-000", "redeemed", ["coupon_redeemed"])]
    assert decided["price"]["EUR"]["net"] == "3.00 EUR"


def test_a_kept_code_is_not_counted_and_a_later_code_of_its_coupon_may_redeem(rules: RuleSet) -> None:
    decided = _decide(rules, {"add_ons": ["bb", "bd"], "coupons": ["K5-000", "K1-000", "K7-000"]})
    assert _coupons(decided) == [
        ("K5-000", "redeemed", ["coupon_redeemed"]),
        ("K1-000", "rejected", ["coupon_grants_nothing"]),
        ("K7-000", "redeemed", ["coupon_redeemed"]),
    ]
    assert decided["coupons"][2]["reasons"][0]["facts"]["use"] == 1


# F4: a refused purchase judges a second code of the coupon as the allowed one does ------------------

HELD = _subscription("plan-flex", add_ons=["bb"])


def test_a_second_code_of_a_coupon_in_a_refused_purchase_is_bundle_held(rules: RuleSet) -> None:
    decided = _decide(rules, {"add_ons": ["bb", "bd"], "coupons": ["K7-000", "K7-001"]}, HELD)
    assert decided["allowed"] is False
    assert _coupons(decided) == [
        ("K7-000", "not_redeemed", ["coupon_kept"]),
        ("K7-001", "rejected", ["coupon_bundle_held"]),
    ]
    assert decided["coupons"][1]["reasons"][0]["facts"] == {"bundle": "cb7", "by": "coupon", "holder": "K7-000"}


def test_a_used_up_second_code_in_a_refused_purchase_says_both(rules: RuleSet) -> None:
    purchase = {"add_ons": ["bb", "bd"], "coupons": ["K7-000", "K7-002"], "coupon_redemptions": {"K7-002": 3}}
    refused = _decide(rules, purchase, HELD)
    allowed = _decide(rules, {**purchase, "add_ons": ["bd"]}, HELD)
    assert refused["allowed"] is False and allowed["allowed"] is True
    assert _coupons(refused)[1] == ("K7-002", "rejected", ["coupon_bundle_held", "coupon_used_up"])
    assert _coupons(allowed)[1] == _coupons(refused)[1]


def test_the_same_code_twice_in_a_refused_purchase_is_kept_both_times(rules: RuleSet) -> None:
    """README: "a code entered twice, both times, since neither entry used it" (unchanged)."""
    decided = _decide(rules, {"add_ons": ["bb", "bd"], "coupons": ["K7-000", "K7-000"]}, HELD)
    assert _coupons(decided) == [
        ("K7-000", "not_redeemed", ["coupon_kept"]),
        ("K7-000", "not_redeemed", ["coupon_kept"]),
    ]


# F2: the nearest code of a code one past the range ---------------------------------------------


def test_a_code_one_digit_past_the_range_is_near_its_coupons_last_code(rules: RuleSet) -> None:
    decided = _decide(rules, {"add_ons": ["bd"], "coupons": ["X100"]})
    assert decided["coupons"][0]["reasons"][0]["facts"] == {"code": "X100", "nearest": "X99"}
    index = index_of(rules)
    assert index.nearest("X100") == "X99"
    assert index.nearest("x1000") == "X99"
    assert index.nearest("X5") == "X95"  # one digit short: the first code
    assert index.nearest("AMT-0001") == "AMT-001"
    assert index.nearest("X" + "9" * 100_000) is not None  # (a long run is read no further)
    # leading zeros past int()'s 4,300 digits: the run is short once they are dropped (an internal
    # error until the review of 2026-12-03)
    assert index.nearest("X" + "0" * 5_000 + "1") is not None
    assert _decide(rules, {"add_ons": ["bd"], "coupons": ["X" + "0" * 5_000]})["coupons"][0]["status"] == "rejected"


def test_br624_names_the_coupons_own_code(rules: RuleSet) -> None:
    purchase = {"add_ons": ["bd"], "coupons": ["X95"], "coupon_redemptions": {"X100": 1}}
    with pytest.raises(ScenarioError) as raised:
        _decide(rules, purchase)
    assert raised.value.code == "BR624"
    assert raised.value.hint == "did you mean `X99`?"

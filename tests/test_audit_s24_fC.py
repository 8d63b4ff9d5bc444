"""Audit s24 (a3, SPEC 3.5 coupons / purchases), findings F1 and F2.

- F1: an add-on that only a coupon's code sells (`add_on_coupon_only`), listed with a valid code of
  that coupon, was refused ("enter the code instead") while the code, entered, was rejected
  `coupon_bundle_held` ("this purchase buys it as an add-on"), the price showing the bundle's 50 %.
  Now the code sells it: redeemed, granting the bundle, bought and charged once.
- F2: `coupon_grants_nothing` for a coupon whose discount is not in effect (expired, draft) gave the
  same words and facts as for one whose discount reduces no product bought; it now names the
  discount's status (`statuses`: `not_effective`).
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent

#: the auditor's sc/F1_shipped.yaml: a tv-essentials-24 customer since 2015-02-01
_CUSTOMER: dict[str, Any] = {
    "id": "fC",
    "as_of": "2015-07-10T14:30:00+02:00",
    "account": {
        "code": "ACC-1201",
        "classification": "Residential",
        "payment_preference": "card",
        "presentment_preference": "email",
    },
    "subscription": {
        "code": "SUB-1201",
        "type": "residential-tv",
        "plan": "tv-essentials-24",
        "billing_term_scheme": "monthly-24",
        "billing_frequency": "monthly",
        "binding_period": "24 months",
        "start": "2015-02-01",
        "status_history": [{"status": "active", "from": "2015-02-01"}],
        "products": [{"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True}],
    },
}


def _decide(
    purchase: dict[str, Any], rules: Path = REPO / "rules", subscription: bool | dict[str, Any] = True, **more: Any
) -> dict[str, Any]:
    from engine import load_rules

    scenario = copy.deepcopy(_CUSTOMER)
    scenario.update(more)
    if subscription is False:
        del scenario["subscription"]
    elif isinstance(subscription, dict):
        scenario["subscription"] = subscription
    scenario["purchase"] = purchase
    decided: dict[str, Any] = load_rules(rules).decide(scenario)["purchase"]
    return decided


def _codes(reasons: list[dict[str, Any]]) -> list[str]:
    return [r["code"] for r in reasons]


def _coupons(decided: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    return [(c["code"], c["status"], _codes(c["reasons"])) for c in decided["coupons"]]


def _lines(decided: dict[str, Any]) -> list[tuple[str, str]]:
    return [(line["product"], line["bundle"]) for line in decided["lines"]]


# --- F1: the code sells the add-on only a code sells ----------------------------------------------


@pytest.mark.parametrize("subscription", [True, False], ids=["customer", "no-subscription"])
def test_a_coupon_only_add_on_listed_with_a_valid_code_of_its_coupon_is_sold_by_the_code(subscription: bool) -> None:
    decided = _decide(
        {"add_ons": ["welcome-sports-bundle"], "coupons": ["ACME-A000"], "payment_method": "card"},
        subscription=subscription,
    )
    assert decided["allowed"] is True and decided["reasons"] == [], decided["reasons"]
    (coupon,) = decided["coupons"]
    assert (coupon["status"], coupon["bundle"]) == ("redeemed", "welcome-sports-bundle")
    assert [(r["code"], r["facts"]) for r in coupon["reasons"]] == [
        ("coupon_redeemed", {"use": 1, "allowed": 2, "bundle": "welcome-sports-bundle"})
    ]
    # the add-on entry and the code name one purchase of the bundle: bought, and charged, once
    assert _lines(decided) == [("sports-pack", "welcome-sports-bundle")]
    assert decided["price"] == {"EUR": {"gross": "14.99 EUR", "discount": "7.50 EUR", "net": "7.49 EUR"}}


def test_without_a_code_the_coupon_only_add_on_is_still_refused() -> None:
    decided = _decide({"add_ons": ["welcome-sports-bundle"], "payment_method": "card"})
    assert decided["allowed"] is False and _codes(decided["reasons"]) == ["add_on_coupon_only"]


@pytest.mark.parametrize(
    ("extra", "as_of", "expected"),
    [
        # used up: the code sells nothing
        ({"coupon_redemptions": {"ACME-A000": 2}}, None, ["coupon_used_up"]),
        # expired, and the bundle withdrawn too
        ({}, "2016-01-10T10:00:00+01:00", ["coupon_expired", "bundle_withdrawn"]),
    ],
)
def test_a_code_that_is_rejected_sells_nothing(extra: dict[str, Any], as_of: str | None, expected: list[str]) -> None:
    more = {"as_of": as_of} if as_of else {}
    decided = _decide(
        {"add_ons": ["welcome-sports-bundle"], "coupons": ["ACME-A000"], "payment_method": "card", **extra}, **more
    )
    assert decided["allowed"] is False and "add_on_coupon_only" in _codes(decided["reasons"])
    assert _coupons(decided) == [("ACME-A000", "rejected", expected)]


def test_a_second_code_of_the_coupon_grants_the_bundle_again_no_more() -> None:
    decided = _decide(
        {"add_ons": ["welcome-sports-bundle"], "coupons": ["ACME-A000", "ACME-A001"], "payment_method": "card"}
    )
    assert decided["allowed"] is True
    assert _coupons(decided) == [
        ("ACME-A000", "redeemed", ["coupon_redeemed"]),
        ("ACME-A001", "rejected", ["coupon_bundle_held"]),
    ]
    assert decided["coupons"][1]["reasons"][0]["facts"]["by"] == "coupon"
    assert decided["price"]["EUR"]["net"] == "7.49 EUR"


def test_a_code_granting_a_bundle_the_subscription_holds_is_still_coupon_bundle_held() -> None:
    subscription = {**_CUSTOMER["subscription"], "add_ons": ["welcome-sports-bundle"]}
    decided = _decide(
        {"add_ons": ["welcome-sports-bundle"], "coupons": ["ACME-A000"], "payment_method": "card"},
        subscription=subscription,
    )
    assert decided["allowed"] is False
    assert "add_on_already_held" in _codes(decided["reasons"])
    assert _coupons(decided) == [("ACME-A000", "rejected", ["coupon_bundle_held"])]
    assert decided["coupons"][0]["reasons"][0]["facts"]["by"] == "subscription"


def test_a_purchase_refused_otherwise_keeps_the_code_and_says_only_why() -> None:
    decided = _decide({"add_ons": ["welcome-sports-bundle"], "coupons": ["ACME-A000"], "payment_method": "cash"})
    assert decided["allowed"] is False and _codes(decided["reasons"]) == ["payment_method_not_supported"]
    assert _coupons(decided) == [("ACME-A000", "not_redeemed", ["coupon_kept"])]
    assert decided["price"]["EUR"]["net"] == "7.49 EUR"


def test_under_a_plan_listing_the_bundle_the_add_on_is_bought_and_the_code_grants_nothing(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    plans = rules / "catalog" / "plans.yaml"
    text = plans.read_text(encoding="utf-8")
    plans.write_text(text.replace("  - sports-bundle\n", "  - sports-bundle\n  - welcome-sports-bundle\n", 1))
    decided = _decide(
        {"add_ons": ["welcome-sports-bundle"], "coupons": ["ACME-A000"], "payment_method": "card"}, rules=rules
    )
    assert decided["allowed"] is True and decided["reasons"] == []
    assert _coupons(decided) == [("ACME-A000", "rejected", ["coupon_bundle_held"])]
    assert decided["coupons"][0]["reasons"][0]["facts"]["by"] == "add_on"
    assert _lines(decided) == [("sports-pack", "welcome-sports-bundle")]


# --- F2: a coupon whose discount is not in effect says so -------------------------------------------

_F2_RULES = """---
kind: discount
code: fc-exp
name: fC 20 pct on sports, expiring before its coupon
type: auto_apply
classification: subscription
applied_service_type: non_usage
state: {state}
amount: {{type: percentage, value: 20}}
discounted_products:
  - product: sports-pack
validity: {{effective: 2015-01-01, expiration: 2015-06-14}}
duration: {{billing_periods: 1}}
---
kind: bundle
code: fc-exp-bundle
name: fC expiring discount
validity: {{from: 2015-01-01}}
discounts: [fc-exp]
---
kind: coupon
code: fc-exp
name: fC EXP
provider: me
charset: numeric
template: "FCX#"
quantity: 10
redemption_quantity: 1
range_start: 0
bundle: fc-exp-bundle
validity: {{from: 2015-06-01, to: 2015-06-30}}
"""


def _f2_rules(tmp_path: Path, state: str) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    coupons = rules / "catalog" / "coupons.yaml"
    coupons.write_text(coupons.read_text(encoding="utf-8") + _F2_RULES.format(state=state), encoding="utf-8")
    return rules


@pytest.mark.parametrize("state", ["effective", "draft"])
def test_a_coupon_whose_discount_is_not_in_effect_names_its_status(tmp_path: Path, state: str) -> None:
    rules = _f2_rules(tmp_path, state)
    # expired the day before (or a draft): the code is kept, and the reason says why
    decided = _decide(
        {"add_ons": ["sports-bundle"], "coupons": ["FCX1"], "payment_method": "card"},
        rules=rules,
        as_of="2015-06-15T10:00:00+02:00",
    )
    assert decided["allowed"] is True
    (coupon,) = decided["coupons"]
    assert coupon["status"] == "rejected" and _codes(coupon["reasons"]) == ["coupon_grants_nothing"]
    reason = coupon["reasons"][0]
    assert reason["facts"] == {
        "bundle": "fc-exp-bundle",
        "discounts": ["fc-exp"],
        "statuses": {"fc-exp": "not_effective"},
    }
    assert "(`fc-exp`: not effective)" in reason["text"]
    assert decided["price"]["EUR"]["net"] == "14.99 EUR"


def test_a_coupon_whose_discount_reduces_no_product_bought_says_that_not_a_status(tmp_path: Path) -> None:
    rules = _f2_rules(tmp_path, "effective")
    # in effect (2015-06-10), but the purchase buys the movies pack: the other case, other words
    decided = _decide(
        {"add_ons": ["movies-bundle"], "coupons": ["FCX1"], "payment_method": "card"},
        rules=rules,
        as_of="2015-06-10T10:00:00+02:00",
    )
    (coupon,) = decided["coupons"]
    assert coupon["status"] == "rejected" and _codes(coupon["reasons"]) == ["coupon_grants_nothing"]
    reason = coupon["reasons"][0]
    assert reason["facts"] == {"bundle": "fc-exp-bundle", "discounts": ["fc-exp"]}
    assert "reduce none of its products" in reason["text"]
    # and with the sports pack that day the code takes its 20 %
    applied = _decide(
        {"add_ons": ["sports-bundle"], "coupons": ["FCX1"], "payment_method": "card"},
        rules=rules,
        as_of="2015-06-10T10:00:00+02:00",
    )
    assert _coupons(applied) == [("FCX1", "redeemed", ["coupon_redeemed"])]
    assert applied["price"]["EUR"]["net"] == "11.99 EUR"


def test_a_code_selling_the_add_on_is_not_limited_by_compatible_bundles_only() -> None:
    # README: "A coupon's bundle is granted, not bought as an add-on: `compatible_bundles_only` does
    # not limit it"; the add-on entry naming it is the same purchase
    premium = {**_CUSTOMER["subscription"], "plan": "tv-premium-12", "billing_term_scheme": "monthly-12"}
    premium["products"] = [{"product": "tv-premium", "bundle": "tv-premium-bundle", "main": True}]
    purchase = {"add_ons": ["welcome-sports-bundle"], "payment_method": "direct_debit"}
    plain = _decide(purchase, subscription=premium)
    assert plain["allowed"] is False
    assert _codes(plain["reasons"]) == ["add_on_coupon_only", "add_on_not_compatible"]
    coded = _decide({**purchase, "coupons": ["ACME-A000"]}, subscription=premium)
    assert coded["allowed"] is True and coded["reasons"] == []
    assert _coupons(coded) == [("ACME-A000", "redeemed", ["coupon_redeemed"])]
    assert coded["price"]["EUR"]["net"] == "7.49 EUR"

"""Audit a1 of the twenty-third session (2026-12-03), findings 1, 3 and 4: how a scenario's
purchase and its own cancellation read each other.

- F1: a change of plan ends the current contract on the purchase day, its terms judged as a
  cancellation then (`plan_change_penalty`); a scenario `cancellation` dated after that day was
  judged again on the old contract, its penalty charged a second time. It is of the new plan's
  contract, which the scenario does not describe: not judged (`after_plan_change`), nothing charged.
- F3: add-ons bought (without `plan`) for a subscription no longer in effect on the purchase day
  (deactivated, or ended by the scenario's own allowed cancellation) were sold, a single-use
  coupon spent; refused now, `subscription_not_in_effect`, the coupon kept.
- F4: an add-on the scenario's own allowed cancellation ends on or before the purchase day was
  still "held" (`add_on_already_held`); it may be bought again.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from engine import load_rules
from engine.decision_schema import decision_schema

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def shipped() -> Any:
    return load_rules(REPO / "rules")


def _scenario(as_of: str, **parts: Any) -> dict[str, Any]:
    """tv-essentials-24 (commit-24m: 240 EUR pro rata in cycles, 19 % tax) from 2015-01-01."""
    scenario: dict[str, Any] = {
        "id": "s23-f1",
        "as_of": f"{as_of}T10:00:00+00:00",
        "account": {"code": "A1", "classification": "Residential"},
        "subscription": {
            "code": "S1",
            "plan": "tv-essentials-24",
            "start": "2015-01-01",
            "billing_term_scheme": "monthly-24",
            "billing_frequency": "monthly",
            "status_history": [{"status": "active", "from": "2015-01-01"}],
            "products": [{"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True}],
        },
    }
    for key, value in parts.items():
        if key == "subscription":
            scenario["subscription"].update(value)
        else:
            scenario[key] = value
    return copy.deepcopy(scenario)


def _codes(reasons: list[dict[str, Any]]) -> list[str]:
    return [r["code"] for r in reasons]


UPGRADE = {"plan": "tv-premium-12", "payment_method": "direct_debit"}


# F1 ------------------------------------------------------------------------------------------


def test_a_cancellation_after_a_change_of_plan_is_not_judged_and_charges_nothing(shipped: Any) -> None:
    decided = shipped.decide(_scenario("2015-10-01", purchase=UPGRADE, cancellation={"date": "2015-10-02"}))
    cancellation, purchase = decided["cancellation"], decided["purchase"]
    # the old contract's penalty is named once, by the purchase that ends it
    assert purchase["allowed"] is True
    [penalty] = purchase["reasons"]
    assert (penalty["code"], penalty["facts"]["term"], penalty["facts"]["total"]) == (
        "plan_change_penalty",
        "commit-24m",
        "166.60 EUR",
    )
    # until 2026-12-03 the cancellation charged commit-24m again: 166.60 EUR due 2015-10-16
    assert cancellation["terms"] == []
    assert cancellation["total"] == {}
    [reason] = cancellation["reasons"]
    assert reason["code"] == "after_plan_change"
    assert reason["facts"] == {
        "date": "2015-10-02",
        "purchase_date": "2015-10-01",
        "plan": "tv-essentials-24",
        "to": "tv-premium-12",
    }
    assert reason["text"].startswith(
        "the purchase of 2015-10-01 changes the plan to `tv-premium-12`, ending this contract then: a "
        "cancellation on 2015-10-02 is of the new contract, which this scenario does not describe"
    )
    assert not list(Draft7Validator(decision_schema()).iter_errors(decided))


def test_a_cancellation_of_an_add_on_after_a_change_of_plan_charges_it_once(shipped: Any) -> None:
    subscription = {"add_ons": ["entertainment-pick"], "add_on_starts": {"entertainment-pick": "2015-02-01"}}
    scenario = _scenario(
        "2015-10-01",
        subscription=subscription,
        purchase=UPGRADE,
        cancellation={"date": "2015-10-02", "add_ons": ["entertainment-pick"]},
    )
    decided = shipped.decide(scenario)
    charged = {r["facts"]["term"]: r["facts"]["total"] for r in decided["purchase"]["reasons"]}
    assert charged == {"commit-24m": "166.60 EUR", "commit-12m": "119.00 EUR"}
    assert decided["cancellation"]["total"] == {}  # (until 2026-12-03 119.00 EUR again)
    assert _codes(decided["cancellation"]["reasons"]) == ["after_plan_change"]


def test_a_cancellation_on_the_day_of_the_change_of_plan_is_judged_as_before(shipped: Any) -> None:
    decided = shipped.decide(_scenario("2015-10-01", purchase=UPGRADE, cancellation={"date": "2015-10-01"}))
    assert decided["cancellation"]["total"] == {"EUR": "166.60 EUR"}
    assert [t["outcome"] for t in decided["cancellation"]["terms"]] == ["penalty"]
    assert "reasons" not in decided["cancellation"]
    assert decided["purchase"]["reasons"] == []  # the cancellation names the penalty, once


def test_a_refused_change_of_plan_leaves_the_contract_and_its_cancellation_as_they_are(shipped: Any) -> None:
    purchase = {"plan": "tv-premium-12", "payment_method": "card"}  # the plan takes direct debits only
    decided = shipped.decide(_scenario("2015-10-01", purchase=purchase, cancellation={"date": "2015-10-02"}))
    assert decided["purchase"]["allowed"] is False
    assert "payment_method_not_supported" in _codes(decided["purchase"]["reasons"])
    assert decided["cancellation"]["total"] == {"EUR": "166.60 EUR"}
    assert [t["term"] for t in decided["cancellation"]["terms"]] == ["commit-24m"]


def test_the_same_plan_bought_again_is_no_change_and_a_later_cancellation_is_judged(shipped: Any) -> None:
    purchase = {"plan": "tv-essentials-24", "payment_method": "direct_debit"}
    decided = shipped.decide(_scenario("2015-10-01", purchase=purchase, cancellation={"date": "2015-10-02"}))
    assert [t["term"] for t in decided["cancellation"]["terms"]] == ["commit-24m"]
    assert "after_plan_change" not in _codes(decided["cancellation"].get("reasons", []))


# F3 ------------------------------------------------------------------------------------------

ADD_ON = {"add_ons": ["additional-service-bundle"], "coupons": ["coupon_87"]}


def test_add_ons_are_not_sold_for_a_deactivated_subscription(shipped: Any) -> None:
    history = [{"status": "active", "from": "2015-01-01"}, {"status": "deactivated", "from": "2015-09-01"}]
    decided = shipped.decide(_scenario("2015-10-05", subscription={"status_history": history}, purchase=ADD_ON))
    purchase = decided["purchase"]
    assert purchase["allowed"] is False  # until 2026-12-03 allowed, 8.00 USD, coupon_87's one use spent
    [reason] = purchase["reasons"]
    assert reason["code"] == "subscription_not_in_effect"
    assert reason["facts"] == {
        "subscription": "S1",
        "date": "2015-10-05",
        "status": "deactivated",
        "since": "2015-09-01",
    }
    assert reason["text"] == (
        "subscription `S1` is not in effect on 2015-10-05 (deactivated since 2015-09-01): "
        "add-ons are bought for a subscription in effect"
    )
    assert [(c["code"], c["status"]) for c in purchase["coupons"]] == [("coupon_87", "not_redeemed")]


def test_add_ons_are_sold_for_a_subscription_active_again(shipped: Any) -> None:
    history = [
        {"status": "active", "from": "2015-01-01"},
        {"status": "deactivated", "from": "2015-09-01", "to": "2015-09-10"},
        {"status": "active", "from": "2015-09-11"},
    ]
    decided = shipped.decide(_scenario("2015-10-05", subscription={"status_history": history}, purchase=ADD_ON))
    assert (decided["purchase"]["allowed"], decided["purchase"]["reasons"]) == (True, [])


def test_add_ons_are_not_sold_for_a_subscription_the_scenario_cancels(shipped: Any) -> None:
    scenario = _scenario("2015-10-05", purchase=ADD_ON, cancellation={"date": "2015-10-01"})
    decided = shipped.decide(scenario)
    assert decided["cancellation"]["total"] == {"EUR": "166.60 EUR"}  # allowed, with its penalty
    purchase = decided["purchase"]
    assert purchase["allowed"] is False
    [reason] = purchase["reasons"]
    assert reason["facts"] == {"subscription": "S1", "date": "2015-10-05", "status": "cancelled", "since": "2015-10-01"}
    assert "this scenario's cancellation ends it on 2015-10-01" in reason["text"]
    assert purchase["coupons"][0]["status"] == "not_redeemed"


def test_add_ons_are_sold_for_a_subscription_cancelled_only_later_or_refused(shipped: Any) -> None:
    later = shipped.decide(_scenario("2015-10-05", purchase=ADD_ON, cancellation={"date": "2015-10-06"}))
    assert (later["purchase"]["allowed"], later["purchase"]["reasons"]) == (True, [])
    # a cancellation the sports season refuses ends nothing
    sports = {"add_ons": ["sports-bundle"], "add_on_starts": {"sports-bundle": "2015-03-31"}}
    scenario = _scenario("2015-10-05", subscription=sports, purchase=ADD_ON, cancellation={"date": "2015-10-01"})
    refused = shipped.decide(scenario)
    assert refused["cancellation"]["allowed"] is False
    assert (refused["purchase"]["allowed"], refused["purchase"]["reasons"]) == (True, [])


# F4 ------------------------------------------------------------------------------------------

REBUY = {"add_ons": ["additional-service-bundle"], "add_on_starts": {"additional-service-bundle": "2015-02-01"}}


@pytest.mark.parametrize("cancelled", ["2015-10-01", "2015-10-05"])
def test_an_add_on_the_scenario_cancels_may_be_bought_again(shipped: Any, cancelled: str) -> None:
    cancellation = {"date": cancelled, "add_ons": ["additional-service-bundle"]}
    decided = shipped.decide(_scenario("2015-10-05", subscription=REBUY, purchase=ADD_ON, cancellation=cancellation))
    assert decided["cancellation"]["allowed"] is True
    purchase = decided["purchase"]
    assert (purchase["allowed"], purchase["reasons"]) == (True, [])  # until 2026-12-03 add_on_already_held
    assert purchase["coupons"][0]["status"] == "redeemed"
    assert purchase["price"] == {"USD": {"gross": "10.00 USD", "discount": "2.00 USD", "net": "8.00 USD"}}


def test_an_add_on_cancelled_after_the_purchase_day_is_still_held(shipped: Any) -> None:
    cancellation = {"date": "2015-10-06", "add_ons": ["additional-service-bundle"]}
    decided = shipped.decide(_scenario("2015-10-05", subscription=REBUY, purchase=ADD_ON, cancellation=cancellation))
    assert _codes(decided["purchase"]["reasons"]) == ["add_on_already_held"]


def test_an_add_on_on_the_bill_the_scenario_cancels_may_be_bought_again(shipped: Any) -> None:
    lines = [
        {"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True},
        {"product": "additional-service", "bundle": "additional-service-bundle"},
    ]
    cancellation = {"date": "2015-10-01", "add_ons": ["additional-service-bundle"]}
    scenario = _scenario(
        "2015-10-05", subscription={**REBUY, "products": lines}, purchase=ADD_ON, cancellation=cancellation
    )
    purchase = shipped.decide(scenario)["purchase"]
    assert (purchase["allowed"], purchase["reasons"]) == (True, [])

"""Audit a5 of the twenty-third session (2026-12-03), findings 6, 7 and 8: how a scenario's
purchase reads the other parts of the same decision.

- F6: a scenario `cancellation` the customer renewed within the grace period (`renewed_on` on or
  after its date and on or before the purchase day, its penalty waived) still ended the
  subscription for the purchase: add-ons refused `subscription_not_in_effect`, a change of plan
  judged on no running contract (no `plan_change_penalty`). The contract runs on now.
- F7, F8: the bill's `discounts` part applied a discount (an ad hoc request limited to once a
  year; a coupon bundle's 1-period `coupon-minus-20`) and the `purchase` part applied it again on
  its price, reading only `discount_history`. The purchase reads the bill's applications as
  history entries on the bill's day now, as it reads `discount_history`.
"""

from __future__ import annotations

import copy
import shutil
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


@pytest.fixture(scope="module")
def with_agent_pick(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The shipped rules and one ad hoc discount `pick-agent-10` (10 % off kids-pack in
    entertainment-pick, 1 billing period, once a year) that `entertainment-pick` grants."""
    return _agent_pick_rules(tmp_path_factory, duration=True)


@pytest.fixture(scope="module")
def with_agent_pick_limited(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """As `with_agent_pick`, without the duration: its limit alone, once a year."""
    return _agent_pick_rules(tmp_path_factory, duration=False)


def _agent_pick_rules(tmp_path_factory: pytest.TempPathFactory, duration: bool) -> Any:
    root = tmp_path_factory.mktemp("s23-f5") / "rules"
    shutil.copytree(REPO / "rules", root)
    bundles = root / "catalog" / "bundles.yaml"
    text = bundles.read_text()
    assert text.count("discounts: [pick-kids-half]\n") == 1
    bundles.write_text(text.replace("discounts: [pick-kids-half]\n", "discounts: [pick-kids-half, pick-agent-10]\n"))
    promotions = root / "discounts" / "promotions.yaml"
    promotions.write_text(
        promotions.read_text().rstrip("\n")
        + """
---
kind: discount
code: pick-agent-10
name: Agent's 10 % on the pick & mix kids channels
type: ad_hoc
classification: subscription
applied_service_type: non_usage
state: effective
amount:
  type: percentage
  range: [5, 20]
discounted_products:
  - product: kids-pack
    bundle: entertainment-pick
validity:
  effective: 2015-01-01
"""
        + ("duration:\n  billing_periods: 1\n" if duration else "")
        + """limit:
  times: 1
  per: 1 year
allowed_units: [customer-care]
"""
    )
    return load_rules(root)


def _valid(decided: dict[str, Any]) -> None:
    assert not list(Draft7Validator(decision_schema()).iter_errors(decided))


# F6 ------------------------------------------------------------------------------------------


def _renewed(**parts: Any) -> dict[str, Any]:
    """tv-essentials-24 (commit-24m) from 2015-02-01, cancelled on 2015-06-20 and renewed on
    2015-06-25 (within the 14 days' grace: waived); as of 2015-07-01."""
    scenario: dict[str, Any] = {
        "id": "s23-f5-r",
        "as_of": "2015-07-01T10:00:00+02:00",
        "account": {"code": "A1", "classification": "Residential", "payment_preference": "card"},
        "subscription": {
            "code": "SUB-1201",
            "type": "residential-tv",
            "plan": "tv-essentials-24",
            "billing_term_scheme": "monthly-24",
            "billing_frequency": "monthly",
            "binding_period": "24 months",
            "start": "2015-02-01",
            "status_history": [{"status": "active", "from": "2015-02-01"}],
        },
        "cancellation": {"date": "2015-06-20", "renewed_on": "2015-06-25"},
    }
    scenario.update(parts)
    return copy.deepcopy(scenario)


def test_add_ons_bought_after_a_renewed_cancellation_are_sold(shipped: Any) -> None:
    decided = shipped.decide(_renewed(purchase={"add_ons": ["family-bundle"], "payment_method": "card"}))
    assert decided["cancellation"]["terms"][0]["outcome"] == "waived"
    # until 2026-12-03 refused: subscription_not_in_effect ("this scenario's cancellation ends it on 2015-06-20")
    assert decided["purchase"]["allowed"] is True
    assert decided["purchase"]["reasons"] == []
    assert decided["purchase"]["price"] == {"EUR": {"gross": "9.98 EUR", "discount": "0.00 EUR", "net": "9.98 EUR"}}
    _valid(decided)


def test_a_change_of_plan_after_a_renewed_cancellation_ends_the_running_contract(shipped: Any) -> None:
    decided = shipped.decide(_renewed(purchase={"plan": "tv-flex", "payment_method": "card"}))
    assert decided["cancellation"]["total"] == {"EUR": "0.00 EUR"}
    # until 2026-12-03 nothing: the renewal escaped the penalty the contract without it charges
    [penalty] = decided["purchase"]["reasons"]
    assert penalty["code"] == "plan_change_penalty"
    assert (penalty["facts"]["term"], penalty["facts"]["total"]) == ("commit-24m", "214.20 EUR")
    unrenewed = _renewed(purchase={"plan": "tv-flex", "payment_method": "card"})
    del unrenewed["cancellation"]
    assert shipped.decide(unrenewed)["purchase"]["reasons"] == decided["purchase"]["reasons"]
    _valid(decided)


@pytest.mark.parametrize(
    "renewed_on",
    [
        "2015-07-10",  # after the grace period (until 2015-07-04): the penalty stands, the contract ended
        "2015-06-19",  # before the cancellation: it stands
    ],
)
def test_a_renewal_that_waives_nothing_leaves_the_cancellation_ending_the_subscription(
    shipped: Any, renewed_on: str
) -> None:
    scenario = _renewed(
        as_of="2015-07-15T10:00:00+02:00", purchase={"add_ons": ["family-bundle"], "payment_method": "card"}
    )
    scenario["cancellation"]["renewed_on"] = renewed_on
    decided = shipped.decide(scenario)
    assert decided["cancellation"]["terms"][0]["outcome"] == "penalty"
    assert decided["purchase"]["allowed"] is False
    assert [r["code"] for r in decided["purchase"]["reasons"]] == ["subscription_not_in_effect"]


def test_a_renewal_after_the_purchase_day_leaves_the_subscription_ended_on_it(shipped: Any) -> None:
    scenario = _renewed(purchase={"add_ons": ["family-bundle"], "payment_method": "card"})
    scenario["cancellation"]["renewed_on"] = "2015-07-02"  # within the grace, after the purchase
    decided = shipped.decide(scenario)
    assert decided["cancellation"]["terms"][0]["outcome"] == "waived"
    assert [r["code"] for r in decided["purchase"]["reasons"]] == ["subscription_not_in_effect"]


# F8 ------------------------------------------------------------------------------------------


def _coupon_run(**parts: Any) -> dict[str, Any]:
    """July bill of additional-service with coupon_87's minus-20-bundle (coupon-minus-20: 20 %,
    1 billing period) from 2015-07-01; a change of plan on 2015-08-01 redeeming coupon_88."""
    scenario: dict[str, Any] = {
        "id": "s23-f5-q2",
        "as_of": "2015-08-01T02:00:00+02:00",
        "account": {"code": "ACC-1", "classification": "Residential", "payment_preference": "direct_debit"},
        "subscription": {
            "code": "SUB-1",
            "type": "residential-tv",
            "plan": "tv-essentials-24",
            "add_ons": ["additional-service-bundle", "minus-20-bundle"],
            "add_on_starts": {"additional-service-bundle": "2015-07-01", "minus-20-bundle": "2015-07-01"},
            "billing_term_scheme": "monthly-24",
            "billing_frequency": "monthly",
            "start": "2015-02-01",
            "status_history": [{"status": "active", "from": "2015-02-01"}],
            "products": [
                {"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True},
                {"product": "additional-service", "bundle": "additional-service-bundle"},
            ],
            "billing_period": {"from": "2015-07-01", "to": "2015-07-31"},
        },
        "purchase": {
            "plan": "tv-premium-12",
            "add_ons": ["additional-service-bundle"],
            "coupons": ["coupon_88"],
            "coupon_redemptions": {"coupon_87": 1},
            "payment_method": "direct_debit",
        },
    }
    scenario.update(parts)
    return copy.deepcopy(scenario)


def _status(part: dict[str, Any], code: str) -> str:
    return next(d["status"] for d in part["definitions"] if d["code"] == code)


def test_a_coupon_discount_the_bill_applies_is_spent_for_the_purchase(shipped: Any) -> None:
    decided = shipped.decide(_coupon_run())
    assert _status(decided["discounts"], "coupon-minus-20") == "applied"
    # until 2026-12-03 coupon_88 redeemed and coupon-minus-20 took 2.00 USD again
    [coupon] = decided["purchase"]["coupons"]
    assert (coupon["code"], coupon["status"]) == ("coupon_88", "rejected")
    assert "`coupon-minus-20`: not effective" in coupon["reasons"][0]["text"]
    assert decided["purchase"]["price"]["USD"]["discount"] == "0.00 USD"
    # as when the same application is written in the history (the auditor's control, q2b)
    control = _coupon_run(discount_history=[{"discount": "coupon-minus-20", "on": "2015-08-01"}])
    control["subscription"]["products"] = []
    del control["subscription"]["billing_period"]
    assert shipped.decide(control)["purchase"] == decided["purchase"]
    _valid(decided)


def test_a_purchase_beside_a_bill_that_applies_nothing_is_decided_as_alone(shipped: Any) -> None:
    scenario = _coupon_run()
    scenario["subscription"]["products"] = [{"product": "tv-essentials", "bundle": "tv-essentials-bundle"}]
    del scenario["subscription"]["type"]  # loyalty-5: residential-tv (or a year uninterrupted)
    scenario["account"].update(payment_preference="card", presentment_preference="paper")  # paperless-2
    decided = shipped.decide(scenario)
    assert not [d for d in decided["discounts"]["definitions"] if d["status"] == "applied"]
    alone = copy.deepcopy(scenario)
    alone["subscription"]["products"] = []
    del alone["subscription"]["billing_period"]
    assert shipped.decide(alone)["purchase"] == decided["purchase"]
    assert decided["purchase"]["coupons"][0]["status"] == "redeemed"


# F7 ------------------------------------------------------------------------------------------


def _agent_request() -> dict[str, Any]:
    """A June bill with kids-pack in entertainment-pick, one request of `pick-agent-10` (10) added
    on 2015-06-20, and a change of plan on 2015-07-01 buying entertainment-pick's kids-pack again."""
    return {
        "id": "s23-f5-q1",
        "as_of": "2015-07-01T10:00:00+02:00",
        "account": {"code": "ACC-1", "classification": "Residential", "payment_preference": "card"},
        "subscription": {
            "code": "SUB-1",
            "type": "residential-tv",
            "plan": "tv-essentials-24",
            "add_ons": ["entertainment-pick"],
            "billing_term_scheme": "monthly-24",
            "billing_frequency": "monthly",
            "start": "2015-02-01",
            "status_history": [{"status": "active", "from": "2015-02-01"}],
            "products": [
                {"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True},
                {"product": "kids-pack", "bundle": "entertainment-pick"},
            ],
            "billing_period": {"from": "2015-06-01", "to": "2015-06-30"},
        },
        "agent": {"user": "anna.agent"},
        "requested_discounts": [{"discount": "pick-agent-10", "value": 10, "added_on": "2015-06-20"}],
        "purchase": {
            "plan": "triple-play-24",
            "add_ons": ["entertainment-pick"],
            "products": [{"product": "kids-pack", "bundle": "entertainment-pick"}],
            "payment_method": "direct_debit",
        },
    }


@pytest.mark.parametrize(
    ("limited", "status", "code"), [(False, "not_effective", "periods_used"), (True, "limit_reached", None)]
)
def test_an_agent_request_applied_on_the_bill_is_not_applied_again_on_the_purchase(
    with_agent_pick: Any, with_agent_pick_limited: Any, limited: bool, status: str, code: str | None
) -> None:
    rules = with_agent_pick_limited if limited else with_agent_pick
    decided = rules.decide(_agent_request())
    applied = next(d for d in decided["discounts"]["definitions"] if d["code"] == "pick-agent-10")
    assert (applied["status"], applied["amount"]) == ("applied", "0.50 EUR")
    # until 2026-12-03 applied again on the new contract's kids-pack: 0.50 EUR
    assert decided["purchase"]["price"]["EUR"]["discount"] == "0.00 EUR"
    again = next(d for d in decided["purchase"]["discounts"] if d["code"] == "pick-agent-10")
    assert again["status"] == status
    if code is not None:
        assert again["reasons"][0]["code"] == code
    _valid(decided)

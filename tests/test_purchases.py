"""Purchases (SPEC 3.1, 3.5, seed 003): refusal reasons, coupon redemption, the price, bad facts."""

from __future__ import annotations

import copy
import io
import json
import shutil
from contextlib import redirect_stderr, redirect_stdout
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import load_rules
from engine.cli.main import main
from engine.decide.scenarios import ScenarioError
from engine.ruleset import RuleSet

REPO = Path(__file__).resolve().parent.parent
RULES = str(REPO / "rules")

SUBSCRIPTION = {
    "code": "SUB-1201",
    "plan": "tv-essentials-24",
    "billing_frequency": "monthly",
    "start": "2015-02-01",
    "products": [{"product": "tv-essentials", "bundle": "tv-essentials-bundle"}],
}


@cache
def rules() -> RuleSet:
    return load_rules(RULES)


def decide(purchase: dict[str, Any], *, as_of: str = "2015-07-10T14:30:00+02:00", subscription: bool = True) -> Any:
    scenario: dict[str, Any] = {"id": "p", "as_of": as_of, "purchase": purchase}
    if subscription:
        scenario["subscription"] = copy.deepcopy(SUBSCRIPTION)
    return rules().decide(scenario)["purchase"]


def codes(reasons: list[dict[str, Any]]) -> list[str]:
    return [r["code"] for r in reasons]


def run_cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


# the seed's worked example ---------------------------------------------------------------------


def test_seed_example_10_usd_minus_20_percent_costs_8_usd() -> None:
    purchase = decide({"add_ons": ["additional-service-bundle"], "coupons": ["coupon_87"], "payment_method": "card"})
    assert purchase["allowed"] is True and purchase["reasons"] == []
    assert purchase["coupons"][0] | {"reasons": None} == {
        "code": "coupon_87",
        "coupon": "minus-20",
        "status": "redeemed",
        "bundle": "minus-20-bundle",
        "reasons": None,
    }
    [line] = purchase["lines"]
    assert line == {
        "product": "additional-service",
        "bundle": "additional-service-bundle",
        "gross": "10.00 USD",
        "discounts": [{"code": "coupon-minus-20", "amount": "-2.00 USD"}],
        "net": "8.00 USD",
    }
    assert purchase["price"] == {"USD": {"gross": "10.00 USD", "discount": "2.00 USD", "net": "8.00 USD"}}


def test_a_refused_purchase_redeems_no_coupon_but_prices_it() -> None:
    """SPEC 3.5: a coupon is redeemed during a purchase only; a refused purchase is none, so the
    code stays usable (`not_redeemed`), and the price still shows what its bundle gives."""
    asked = {"add_ons": ["additional-service-bundle", "tv-essentials-bundle"], "coupons": ["coupon_87"]}
    purchase = decide(asked)
    assert codes(purchase["reasons"]) == ["add_on_already_held"]
    [coupon] = purchase["coupons"]
    assert (coupon["status"], coupon["bundle"], codes(coupon["reasons"])) == (
        "not_redeemed",
        "minus-20-bundle",
        ["coupon_kept"],
    )
    assert purchase["price"]["USD"]["net"] == "8.00 USD"
    scenario = {"id": "p", "as_of": "2015-07-10T14:30:00+02:00", "subscription": SUBSCRIPTION, "purchase": asked}
    assert json.loads(str(rules().decide_json(scenario)))["purchase"]["coupons"] == purchase["coupons"]
    # entered twice: neither entry is redeemed, so neither uses the code up
    twice = decide({**asked, "coupons": ["coupon_87", "coupon_87"]})
    assert [(c["status"], codes(c["reasons"])) for c in twice["coupons"]] == [("not_redeemed", ["coupon_kept"])] * 2


def test_without_the_coupon_the_add_on_costs_its_full_price() -> None:
    purchase = decide({"add_ons": ["additional-service-bundle"]})
    assert purchase["price"]["USD"]["net"] == "10.00 USD"
    assert purchase["lines"][0]["discounts"] == []


def test_the_customers_bill_discounts_stay_out_of_the_purchase_price() -> None:
    """loyalty-5 and paperless-2 reduce the bill (the `discounts` part), never the purchase."""
    purchase = decide({"plan": "tv-essentials-24"}, subscription=False)
    assert all(line.get("discounts", []) == [] for line in purchase["lines"])
    assert {d["code"] for d in purchase["discounts"]} == set()  # the plan's bundles grant no discount
    assert purchase["price"] == {"EUR": {"gross": "193.99 EUR", "discount": "0.00 EUR", "net": "193.99 EUR"}}
    assert [line["product"] for line in purchase["lines"] if line.get("priced") is False] == ["vod-rental", "ppv-event"]


# reasons ---------------------------------------------------------------------------------------


def test_every_refusal_reason_is_listed() -> None:
    purchase = decide(
        {"plan": "tv-premium-12", "add_ons": ["movies-bundle", "tv-premium-bundle"], "payment_method": "card"},
        as_of="2015-05-04T11:00:00+02:00",
        subscription=False,
    )
    assert purchase["allowed"] is False
    assert codes(purchase["reasons"]) == [
        "add_on_not_compatible",
        "add_on_already_held",
        "add_on_not_compatible",
        "payment_method_not_supported",
    ]
    method = purchase["reasons"][-1]
    assert method["facts"] == {"plan": "tv-premium-12", "method": "card", "supported": ["direct_debit"]}
    assert method["text"] == "plan `tv-premium-12` does not accept payment by `card`"
    assert method["source"]["file"].endswith("rules/catalog/plans.yaml")


def test_plan_validity_is_judged_on_the_as_of_date() -> None:
    before = decide({"plan": "tv-classic-2014"}, as_of="2014-12-31T23:00:00+01:00", subscription=False)
    after = decide({"plan": "tv-classic-2014"}, as_of="2015-01-01T00:30:00+01:00", subscription=False)
    assert before["allowed"] is True
    assert after["reasons"] == [
        {
            "code": "plan_withdrawn",
            "text": "plan `tv-classic-2014` was sold until 2014-12-31; the purchase is on 2015-01-01",
            "facts": {"plan": "tv-classic-2014", "to": "2014-12-31", "date": "2015-01-01"},
            "source": after["reasons"][0]["source"],
        }
    ]


def test_chosen_products_are_checked_against_their_bundles() -> None:
    purchase = decide(
        {
            "add_ons": ["multiroom-bundle", "entertainment-pick"],
            "products": [
                {"product": "multiroom", "bundle": "multiroom-bundle"},
                {"product": "sports-pack", "bundle": "entertainment-pick"},
                {"product": "kids-pack", "bundle": "family-bundle"},
            ],
        }
    )
    assert [(r["code"], r["facts"]) for r in purchase["reasons"]] == [
        ("product_not_in_bundle", {"product": "sports-pack", "bundle": "entertainment-pick"}),
        ("bundle_not_bought", {"product": "kids-pack", "bundle": "family-bundle"}),
        ("required_product_missing", {"product": "set-top-box", "bundle": "multiroom-bundle"}),
    ]
    assert [line["product"] for line in purchase["lines"]] == ["multiroom"]


def test_a_flexible_bundle_discount_prices_the_chosen_components() -> None:
    chosen = [{"product": "kids-pack", "bundle": "entertainment-pick"}]
    alone = decide({"add_ons": ["entertainment-pick"], "products": chosen})
    both = decide(
        {
            "add_ons": ["entertainment-pick"],
            "products": [*chosen, {"product": "movies-pack", "bundle": "entertainment-pick"}],
        }
    )
    assert alone["price"]["EUR"]["net"] == "4.99 EUR"  # pick-kids-half needs the movies pack too
    assert both["price"] == {"EUR": {"gross": "14.98 EUR", "discount": "2.50 EUR", "net": "12.48 EUR"}}


# coupons ---------------------------------------------------------------------------------------


def test_coupon_rejections_carry_every_reason() -> None:
    purchase = decide(
        {"add_ons": ["additional-service-bundle"], "coupons": ["coupon_89"]}, as_of="2016-01-12T09:00:00+01:00"
    )
    [coupon] = purchase["coupons"]
    assert coupon["status"] == "rejected" and "bundle" not in coupon
    assert codes(coupon["reasons"]) == ["coupon_expired", "bundle_withdrawn"]
    early = decide({"plan": "tv-flex", "coupons": ["ACME-A010"]}, as_of="2015-02-15T12:00:00+01:00", subscription=False)
    assert early["coupons"][0]["reasons"][0]["facts"] == {
        "coupon": "welcome-sports",
        "from": "2015-03-01",
        "date": "2015-02-15",
    }


def test_a_coupon_needs_a_purchase() -> None:
    purchase = decide({"coupons": ["coupon_91"]})
    assert codes(purchase["reasons"]) == ["nothing_bought"] and purchase["allowed"] is False
    assert codes(purchase["coupons"][0]["reasons"]) == ["coupon_outside_purchase"]


def test_unknown_codes_name_the_nearest_code() -> None:
    purchase = decide({"add_ons": ["additional-service-bundle"], "coupons": ["coupon_92", "acme-a00f", "zzz"]})
    facts = [c["reasons"][0]["facts"] for c in purchase["coupons"]]
    assert facts[0] == {"code": "coupon_92", "nearest": "coupon_91"}
    assert facts[1] == {"code": "acme-a00f", "nearest": "ACME-A00F"}  # matching is case-sensitive
    assert all(c["status"] == "rejected" and "coupon" not in c for c in purchase["coupons"])


@settings(max_examples=40, deadline=None)
@given(
    history=st.dictionaries(st.sampled_from(["coupon_87", "coupon_88", "ACME-A001", "ACME-A002"]), st.integers(0, 3)),
    entered=st.lists(st.sampled_from(["coupon_87", "coupon_88", "ACME-A001", "ACME-A002"]), max_size=7),
)
def test_a_code_is_never_accepted_more_often_than_its_redemption_quantity(
    history: dict[str, int], entered: list[str]
) -> None:
    purchase = decide(
        {"plan": "tv-essentials-24", "coupons": entered, "coupon_redemptions": history},
        as_of="2015-07-10T14:30:00+02:00",
        subscription=False,
    )
    allowed = {"coupon_87": 1, "coupon_88": 1, "ACME-A001": 2, "ACME-A002": 2}
    grants = {"coupon_87": "minus-20-bundle", "coupon_88": "minus-20-bundle"}
    used = dict(history)
    granted: set[str] = set()
    for code, outcome in zip(entered, purchase["coupons"], strict=True):  # a model of the rule, in order
        bundle = grants.get(code, "welcome-sports-bundle")
        expected = [
            *(["coupon_bundle_held"] if bundle in granted else []),  # (since 2026-12-02: it grants nothing)
            *(["coupon_used_up"] if used.get(code, 0) >= allowed[code] else []),
        ]
        if not expected and bundle == "minus-20-bundle":  # 20 % off a product this plan does not bring
            expected = ["coupon_grants_nothing"]  # (since 2026-12-02: rejected, the code kept)
        if expected:
            assert outcome["status"] == "rejected" and codes(outcome["reasons"]) == expected, outcome
        else:
            assert outcome["status"] == "redeemed", outcome
            used[code] = used.get(code, 0) + 1
            granted.add(bundle)
    for code, quantity in allowed.items():
        redeemed = sum(c["status"] == "redeemed" for c in purchase["coupons"] if c["code"] == code)
        assert history.get(code, 0) + redeemed <= quantity or redeemed == 0
    for bundle in set(grants.values()) | {"welcome-sports-bundle"}:  # a bundle is granted once
        assert sum(c["status"] == "redeemed" and c["bundle"] == bundle for c in purchase["coupons"]) <= 1


# bad facts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("purchase", "field", "code", "message", "hint"),
    [
        (
            {"plan": "tv-premium-13"},
            "purchase.plan",
            "BR620",
            "unknown plan `tv-premium-13`",
            "did you mean `tv-premium-12`?",
        ),
        (
            {"add_ons": ["sport-bundle"]},
            "purchase.add_ons[0]",
            "BR621",
            "unknown bundle `sport-bundle`",
            "did you mean `sports-bundle`?",
        ),
        (
            {"add_ons": ["sports-bundle"], "products": [{"product": "sport-pack", "bundle": "sports-bundle"}]},
            "purchase.products[0].product",
            "BR623",
            "unknown product `sport-pack`",
            "did you mean `sports-pack`?",
        ),
    ],
)
def test_unknown_names_are_scenario_errors_with_did_you_mean(
    purchase: dict[str, Any], field: str, code: str, message: str, hint: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        decide(purchase)
    assert (caught.value.field, caught.value.code, caught.value.message, caught.value.hint) == (
        field,
        code,
        message,
        hint,
    )


@pytest.mark.parametrize(
    ("method", "did_you_mean"), [("cash", None), ("direct-debit", "direct_debit"), ("crad", "card"), ("card", None)]
)
def test_a_method_the_plan_does_not_list_is_refused_whatever_other_plans_list(
    method: str, did_you_mean: str | None
) -> None:
    """A plan that lists its payment methods refuses any other, one that no plan of the rules
    names too (until 2026-12-02 `cash` was BR622, "unknown payment method", and no decision)."""
    decided = decide({"plan": "triple-play-24", "payment_method": method})  # [direct_debit]
    assert decided["allowed"] is False
    (reason,) = [r for r in decided["reasons"] if r["code"] == "payment_method_not_supported"]
    assert reason["facts"]["method"] == method and reason["facts"].get("did_you_mean") == did_you_mean
    assert reason["text"].startswith(f"plan `triple-play-24` does not accept payment by `{method}`")
    assert ("did you mean" in reason["text"]) is (did_you_mean is not None)


def test_with_no_plan_in_effect_a_method_no_plan_names_is_br622() -> None:
    with pytest.raises(ScenarioError) as caught:
        decide({"add_ons": ["sports-bundle"], "payment_method": "direct-debit"}, subscription=False)
    assert (caught.value.field, caught.value.code, caught.value.message, caught.value.hint) == (
        "purchase.payment_method",
        "BR622",
        "unknown payment method `direct-debit`",
        "did you mean `direct_debit`?",
    )


def test_add_ons_without_any_plan_are_bought_on_their_own() -> None:
    # seed 003's example buys an add-on with a coupon and names no plan (BR620 until 2026-12-02)
    decided = decide({"add_ons": ["sports-bundle"]}, subscription=False)
    assert decided["allowed"] is True and decided["plan"] is None
    assert [line["product"] for line in decided["lines"]] == ["sports-pack"]
    coupon_only = decide({"add_ons": ["minus-20-bundle"]}, subscription=False)  # a coupon's: sold by no plan here
    assert [r["code"] for r in coupon_only["reasons"]] == ["add_on_coupon_only"]


def test_chosen_products_alone_without_any_plan_are_refused_not_an_error() -> None:
    # they buy nothing, with or without a subscription (without one it was BR620, "add-ons are
    # bought for a plan", although none was named: an audit of 2026-12-01, eighth session)
    chosen = {"products": [{"product": "sports-pack", "bundle": "sports-bundle"}], "payment_method": "card"}
    for subscription in (False, True):
        decided = decide(dict(chosen), subscription=subscription)
        assert decided["allowed"] is False
        assert [(r["code"], r["facts"]) for r in decided["reasons"]] == [
            ("nothing_bought", {}),
            ("bundle_not_bought", {"product": "sports-pack", "bundle": "sports-bundle"}),
        ]


def test_every_bad_fact_is_reported_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "id: bad\n"
        "as_of: 2015-07-10T14:30:00+02:00\n"
        "purchase:\n"
        "  plan: tv-premium-13\n"
        "  add_ons: [sports-bundle, sport-bundle]\n"
        "  payment_method: cash\n",
        encoding="utf-8",
    )
    code, out, err = run_cli(["decide", "--rules", RULES, str(path)])
    assert code == 1 and "purchase" not in out
    err = err.replace(str(tmp_path) + "/", "")
    assert "bad.yaml:4:9: error[BR620] unknown plan `tv-premium-13`" in err
    assert "hint: did you mean `tv-premium-12`?" in err
    assert "bad.yaml:5:28: error[BR621] unknown bundle `sport-bundle`" in err
    # (its plan is unknown: whether it takes cash is not asked; a known plan refuses it, below)
    assert "BR622" not in err
    assert "Traceback" not in err


def test_a_known_method_the_plan_does_not_take_is_a_reason_not_an_error() -> None:
    purchase = decide({"plan": "tv-premium-12", "payment_method": "paypal"}, subscription=False)
    assert codes(purchase["reasons"]) == ["payment_method_not_supported"]


# output ----------------------------------------------------------------------------------------


def test_decide_prints_the_purchase() -> None:
    code, out, err = run_cli(["decide", "--rules", RULES, str(REPO / "samples/purchase/coupon_minus_20.yaml")])
    assert (code, err) == (0, "")
    tail = out[out.index("\npurchase") :]
    assert tail.splitlines() == [
        "",
        "purchase (under plan tv-essentials-24): allowed",
        "coupons:",
        "  coupon_87 (minus-20): redeemed",
        "    redeemed (use 1 of 1): grants bundle `minus-20-bundle`",
        "lines:",
        "  additional-service in additional-service-bundle",
        f"    {'gross':<34}{'10.00 USD':>16}",
        f"    {'coupon-minus-20':<34}{'-2.00 USD':>16}",
        f"    {'net':<34}{'8.00 USD':>16}",
        "price USD: gross 10.00 USD, discount 2.00 USD, net 8.00 USD",
    ]


def test_purchase_samples_all_carry_and_meet_expectations() -> None:
    samples = sorted((REPO / "samples/purchase").glob("*.yaml"))
    assert all("\nexpect:\n" in p.read_text(encoding="utf-8") for p in samples)
    code, out, _ = run_cli(["test", "--rules", RULES, str(REPO / "samples/purchase")])
    assert (code, out) == (0, f"{len(samples)} passed, 0 failed\n")


LATE = """\
kind: bundle
code: late-bundle
name: On sale from June to August
validity: {from: 2015-06-01, to: 2015-08-31}
products:
  - product: tv-essentials
---
kind: plan
code: late-plan
name: A plan of that bundle only
bundles: [late-bundle]
validity: {from: 2015-01-01}
payment_methods: [card]
"""


@pytest.mark.parametrize(
    ("day", "reasons"),
    [("2015-03-01", ["bundle_not_yet_available"]), ("2015-07-01", []), ("2015-09-01", ["bundle_withdrawn"])],
)
def test_buying_a_plan_buys_its_bundles_each_on_sale_that_day(tmp_path: Path, day: str, reasons: list[str]) -> None:
    # seed 003: a bundle's validity is "wann das Bundle zum Kauf verfügbar sein wird"; the plan's own
    # validity (from 2015-01-01) does not make its bundles available
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    (tmp_path / "rules" / "catalog" / "late.yaml").write_text(LATE, encoding="utf-8")
    rules = load_rules(tmp_path / "rules")
    scenario = {"id": "late", "as_of": f"{day}T12:00:00Z", "purchase": {"plan": "late-plan", "payment_method": "card"}}
    purchase = rules.decide(scenario)["purchase"]
    assert (purchase["allowed"], codes(purchase["reasons"])) == (not reasons, reasons)


def test_the_text_output_says_why_a_bundles_discount_did_not_apply() -> None:
    # the JSON listed pick-kids-half not eligible with its reasons; the words left it out
    code, out, _ = run_cli(
        ["decide", "--rules", RULES, str(REPO / "samples" / "purchase" / "product_not_in_bundle.yaml")]
    )
    assert code == 0, out
    tail = out.split("discounts of the bundles not applied:\n", 1)[1]
    assert tail.startswith("  pick-kids-half: not_eligible\n")
    assert "    products: no line of `kids-pack` in bundle `entertainment-pick`" in tail

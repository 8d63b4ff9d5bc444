"""A purchase's price is what it was before `purchases.price` was made faster.

`purchases.price` builds its synthetic scenario by the models' slots (not `model_copy` and the
validating constructors), keeps the discounts per bundles, decides definitions that read no
criterion without the criteria's outcomes, and keeps the price of lines no discount is granted
for. `_reference_price` below is the function as it was at 80e373c (frozen): both must give the
same data — and the same JSON text, in both of `discounts_json`'s modes — on generated purchases,
a second time too (a kept price is handed out as a fresh copy a caller may change).
"""

from __future__ import annotations

import copy
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine import load_rules
from engine.decide import decision, purchases
from engine.decide.decision import to_json
from engine.decide.scenarios import ScenarioError, read_scenarios, validate_scenario
from engine.models.scenario import ProductLine, Subscription
from engine.ruleset import RuleSet

REPO = Path(__file__).resolve().parent.parent


@cache
def _rules(brief: bool) -> RuleSet:
    rules = load_rules(REPO / "rules")
    return rules.brief() if brief else rules


def _reference_synthetic(scenario: Any, plan: str | None, granted: list[str], priced: list[Any]) -> Any:
    """The synthetic scenario as `purchases.price` built it at 80e373c (and, since 2026-12-02,
    without the subscription's billing frequency: a purchase shows catalog prices; and its add-ons
    dated on the purchase's day: a discount they grant counts its run from it)."""
    lines = [ProductLine(product=i.product, bundle=i.bundle) for i in priced]
    add_ons = list(dict.fromkeys([*scenario.purchase.add_ons, *granted]))
    existing = scenario.subscription
    if existing is not None:
        subscription = existing.model_copy(
            update={
                "plan": plan,
                "add_ons": add_ons,
                "add_on_starts": {**existing.add_on_starts, **dict.fromkeys(add_ons, scenario.as_of.date())},
                "products": lines,
                "billing_period": None,
                "billing_frequency": None,
            }
        )
    else:
        subscription = Subscription(
            code="purchase", plan=plan, add_ons=add_ons, start=scenario.as_of.date(), products=lines
        )
    return scenario.model_copy(update={"subscription": subscription, "job": None, "purchase": None})


def _reference_price(
    rules: Any, scenario: Any, plan: str | None, granted: list[str], bundles: list[str], priced: list[Any], shared: bool
) -> dict[str, Any]:
    """`purchases.price` at 80e373c."""
    synthetic = _reference_synthetic(scenario, plan, granted, priced)
    only = {d for b in bundles for d in rules.get("bundle", b).discounts}
    try:
        outcomes = decision.criteria_outcomes(rules, synthetic) if only else {}
        decided = decision._evaluator(rules).decide(synthetic, outcomes, only, why=rules.reasons != "brief")
    except ScenarioError as exc:
        raise ScenarioError("purchase", exc.message, exc.hint, exc.code) from None
    return decision.discounts_json(decided, shared)


def _inputs(rules: Any, data: Any) -> tuple[Any, str | None, list[str], list[str], list[Any]] | None:
    """`price`'s arguments as `purchases.evaluate` works them out (`data`: a scenario, or its
    JSON-ready facts), or None for a purchase refused before it is priced (bad facts)."""
    scenario = validate_scenario(data, None).scenario if isinstance(data, dict) else data
    if scenario is None:
        return None
    try:
        plan = purchases.check(rules, scenario)
    except ScenarioError:
        return None
    coupons = purchases.redeem(rules, scenario)
    granted = list(dict.fromkeys(c.bundle for c in coupons if c.status == "redeemed" and c.bundle))
    bundles = purchases._bundles(scenario.purchase, rules.get("plan", plan) if plan else None, granted)
    priced = [i for i in purchases.items(rules, scenario.purchase, bundles) if i.why is None]
    return scenario, plan, granted, bundles, priced


def _outcome(function: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", function(*args)
    except ScenarioError as exc:
        return "error", (exc.field, exc.message, exc.hint, exc.code)


def _same_price(rules: Any, found: tuple[Any, str | None, list[str], list[str], list[Any]]) -> None:
    scenario, plan, granted, bundles, priced = found
    for shared in (False, True):
        expected = _outcome(_reference_price, rules, scenario, plan, granted, bundles, priced, shared)
        for _ in range(2):  # the second time from what was kept
            got = _outcome(purchases.price, rules, scenario, plan, granted, bundles, priced, shared)
            assert got[0] == expected[0]
            if got[0] == "error":
                assert got == expected
                continue
            assert orjson.dumps(got[1]) == orjson.dumps(expected[1])
            if not shared:
                assert got[1] == expected[1]
                _mangle(got[1])  # a caller changes what it got: the next price is unchanged


def _mangle(value: Any) -> None:
    if isinstance(value, dict):
        for k in list(value):
            _mangle(value[k])
            value[k] = "mangled" if isinstance(value[k], str) else value[k]
        value["mangled"] = True
    elif isinstance(value, list):
        for v in value:
            _mangle(v)
        value.append("mangled")


PLANS = ["tv-essentials-24", "tv-premium-12", "tv-annual", "triple-play-24", "tv-flex", "tv-classic-2014"]
BUNDLES = [
    "tv-essentials-bundle",
    "on-demand-bundle",
    "sports-bundle",
    "movies-bundle",
    "family-bundle",
    "entertainment-pick",
    "multiroom-bundle",
    "additional-service-bundle",
    "minus-20-bundle",
    "welcome-sports-bundle",
]
PRODUCTS = ["movies-pack", "kids-pack", "docs-pack", "hd-option", "sports-pack", "multiroom", "set-top-box"]
CODES = ["coupon_87", "coupon_88", "coupon_91", "coupon_92", "ACME-A000", "ACME-A001", "acme-a002", "nope"]
DAYS = ["2014-06-01", "2015-02-20", "2015-07-10", "2015-08-03", "2016-01-15"]


@st.composite
def purchase_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    day = draw(st.sampled_from(DAYS))
    purchase: dict[str, Any] = {}
    if draw(st.booleans()):
        purchase["plan"] = draw(st.sampled_from(PLANS))
    purchase["add_ons"] = draw(st.lists(st.sampled_from(BUNDLES), max_size=3, unique=True))
    purchase["coupons"] = draw(st.lists(st.sampled_from(CODES), max_size=3))
    if draw(st.booleans()):
        purchase["coupon_redemptions"] = {draw(st.sampled_from(CODES)): draw(st.integers(0, 2))}
    if draw(st.booleans()):
        pairs = st.tuples(st.sampled_from(PRODUCTS), st.sampled_from(BUNDLES))
        chosen = draw(st.lists(pairs, max_size=4, unique=True))
        purchase["products"] = [{"product": p, "bundle": b} for p, b in chosen]
    purchase["payment_method"] = draw(st.sampled_from(["card", "direct_debit"]))
    data: dict[str, Any] = {"id": "p", "as_of": f"{day}T10:00:00+02:00", "purchase": purchase}
    if draw(st.booleans()):
        subscription: dict[str, Any] = {
            "code": "SUB-1",
            "plan": draw(st.sampled_from(PLANS)),
            "billing_frequency": draw(st.sampled_from(["monthly", "yearly"])),
            "start": "2015-02-01",
            "add_ons": draw(st.lists(st.sampled_from(BUNDLES), max_size=2, unique=True)),
            "status_history": [{"status": "active", "from": "2015-02-01"}],
            "products": [{"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True}],
        }
        if draw(st.booleans()):
            subscription["billing_period"] = {"from": "2015-07-01", "to": "2015-07-31"}
        data["subscription"] = subscription
    if draw(st.booleans()):
        data["account"] = {"code": "ACC-1", "classification": draw(st.sampled_from(["Residential", "Business"]))}
    if draw(st.booleans()):
        discount = draw(st.sampled_from(["coupon-minus-20", "pick-kids-half", "welcome-sports-half"]))
        data["discount_history"] = [{"discount": discount, "on": draw(st.sampled_from(DAYS))}]
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(purchase_scenarios(), st.booleans())
def test_the_price_is_the_reference_price(data: dict[str, Any], brief: bool) -> None:
    found = _inputs(_rules(brief), copy.deepcopy(data))
    assume(found is not None)
    assert found is not None
    _same_price(_rules(brief), found)


def _samples() -> list[Any]:
    """The purchase samples' scenarios (read as `billrules test` reads them)."""
    return [
        found.scenario
        for path in sorted((REPO / "samples" / "purchase").glob("*.yaml"))
        for found in read_scenarios(path)
        if found.scenario is not None
    ]


@pytest.mark.parametrize("brief", [False, True])
def test_every_purchase_sample_is_priced_as_before(brief: bool) -> None:
    samples = _samples()
    assert len(samples) >= 10
    priced = 0
    for data in samples:
        found = _inputs(_rules(brief), data)
        if found is not None:
            _same_price(_rules(brief), found)
            priced += 1
    assert priced >= 10


def _state(model: Any) -> Any:
    """A model's fields (nested models too), fields set, extra and private values."""
    if isinstance(model, list):
        return [_state(m) for m in model]
    if not hasattr(model, "__pydantic_fields_set__"):
        return model
    fields = {k: _state(v) for k, v in model.__dict__.items()}
    return type(model), fields, model.model_fields_set, model.__pydantic_extra__, model.__pydantic_private__


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(purchase_scenarios())
def test_the_synthetic_scenario_is_the_models_own(data: dict[str, Any]) -> None:
    """`_synthetic` makes what `model_copy(update=...)` and the validating constructors made: the
    same field values (of the same types), fields set, extra and private values."""
    rules = _rules(True)
    found = _inputs(rules, data)
    assume(found is not None)
    assert found is not None
    scenario, plan, granted, _, priced = found
    made = purchases._synthetic(rules, scenario, plan, granted, priced)
    expected = _reference_synthetic(scenario, plan, granted, priced)
    assert _state(made) == _state(expected)
    assert made == expected
    assert list(made.__dict__) == list(expected.__dict__)  # the fields' order
    assert list(made.subscription.__dict__) == list(expected.subscription.__dict__)


def test_a_new_subscription_has_fresh_mutable_defaults() -> None:
    one = purchases._new_subscription("tv-flex", [], date(2015, 7, 10), [])
    two = purchases._new_subscription("tv-flex", [], date(2015, 7, 10), [])
    assert one.status_history is not two.status_history
    assert one.add_on_starts is not two.add_on_starts
    assert one == Subscription(code="purchase", plan="tv-flex", add_ons=[], start=date(2015, 7, 10), products=[])


def test_a_kept_price_is_per_product_and_bundle() -> None:
    """The same product bought in another bundle, neither granting a discount: its own price
    (the line names its bundle), not the one kept for the first."""
    rules = load_rules(REPO / "rules")  # nothing kept yet
    lines = []
    for plan in ("tv-flex", "tv-premium-12"):
        bundle = rules.get("plan", plan).bundles[0]
        purchase = {"plan": plan, "products": [{"product": "set-top-box", "bundle": bundle}]}
        data = {"id": "p", "as_of": "2015-07-10T10:00:00+02:00", "purchase": purchase}
        found = _inputs(rules, data)
        assert found is not None
        _same_price(rules, found)
        lines.append([(line["product"], line["bundle"]) for line in rules.decide(data)["purchase"]["lines"]])
    assert lines[0][0] == ("set-top-box", "tv-essentials-bundle")
    assert lines[1][0] == ("set-top-box", "tv-premium-bundle")


def test_the_frozen_reference_evaluator_prices_as_before() -> None:
    """A rule set deciding discounts with the frozen reference evaluator (`benchmarks/decide.py`'s
    reference mode) prices purchases as before too: nothing here reads the evaluator's own tables."""
    from engine.decide.discounts_reference import ReferenceEvaluator

    rules = load_rules(REPO / "rules")
    clone = copy.copy(rules)
    clone.__dict__["_evaluators"] = {"discounts": ReferenceEvaluator(rules)}
    for scenario in _samples():
        found = _inputs(clone, scenario)
        if found is not None:
            _same_price(clone, found)


@settings(max_examples=200, deadline=None)
@given(purchase_scenarios(), st.booleans())
def test_kept_reasons_are_written_alike_and_never_changed(data: dict[str, Any], brief: bool) -> None:
    """Reasons kept and shared by decisions (`purchases._reason`) are written as their records by
    the text API and as fresh data by the dict API, the same text; a caller changing the data it
    got changes no later decision."""
    rules = _rules(brief)
    try:
        text = rules.decide_json(copy.deepcopy(data))
    except ScenarioError:  # bad purchase facts: refused, nothing written
        return
    assert to_json(rules.decide(copy.deepcopy(data))) == text
    _mangle(rules.decide(copy.deepcopy(data)))
    assert rules.decide_json(copy.deepcopy(data)) == text
    assert to_json(rules.decide(copy.deepcopy(data))) == text

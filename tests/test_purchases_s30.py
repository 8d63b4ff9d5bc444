"""The purchase question's shortcuts of the thirtieth session give what the longer ways gave.

- `_held_now`: what `redeem` and `refusals` both read (the plan in effect, the bundles held, the
  subscription's products) is worked out once per decision by `_priced` and handed to both; each
  worked it out for itself before, and still does when not given it.
- `_synthetic(typed=True)`: the lines made typed (`_typed_line`, kept per product and bundle), so
  that `decision.typed_lines` copies none of them but to mark a main service or write a charge.
- `_unchanging_codes` reads the nets of a price decided with `shared=True` (no copies made).
- The reasons of codes and add-ons (`coupon_unknown`, `coupon_kept`, `coupon_used_up`,
  `coupon_bundle_held`, `coupon_products_had`, `coupon_outside_purchase`, `add_on_already_held`,
  `add_on_products_had`) are made by `_reason`, kept and shared, worded once: a decision written
  at once (`decide_json`, the shared records) says what the fresh data (`decide`) says.

Each is checked against the longer way on the purchase samples and on generated purchases.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine import load_rules
from engine.decide import decision, purchases
from engine.decide.decision import to_json
from engine.decide.reasons import Reason
from engine.decide.scenarios import ScenarioError, read_scenarios, validate_scenario
from engine.ruleset import RuleSet
from tests.test_purchase_speed_price import BUNDLES, PLANS, PRODUCTS

REPO = Path(__file__).resolve().parent.parent

CODES = ["coupon_87", "coupon_88", "coupon_91", "ACME-A000", "ACME-A001", "acme-a002", "nope"]
DAYS = ["2014-06-01", "2015-02-20", "2015-07-10", "2015-08-03", "2016-01-15"]


@cache
def _rules(brief: bool) -> RuleSet:
    rules = load_rules(REPO / "rules")
    return rules.brief() if brief else rules


@st.composite
def purchase_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    day = draw(st.sampled_from(DAYS))
    purchase: dict[str, Any] = {}
    if draw(st.booleans()):
        purchase["plan"] = draw(st.sampled_from(PLANS))
    purchase["add_ons"] = draw(st.lists(st.sampled_from(BUNDLES), max_size=3, unique=True))
    purchase["coupons"] = draw(st.lists(st.sampled_from(CODES), max_size=3))
    if draw(st.booleans()):
        purchase["coupon_redemptions"] = {draw(st.sampled_from(CODES[:-1])): draw(st.integers(0, 2))}
    if draw(st.booleans()):
        pairs = st.tuples(st.sampled_from(PRODUCTS), st.sampled_from(BUNDLES))
        chosen = draw(st.lists(pairs, max_size=4, unique=True))
        purchase["products"] = [{"product": p, "bundle": b} for p, b in chosen]
    purchase["payment_method"] = draw(st.sampled_from(["card", "direct_debit"]))
    data: dict[str, Any] = {"id": "p", "as_of": f"{day}T10:00:00+02:00", "purchase": purchase}
    if draw(st.booleans()):
        data["subscription"] = {
            "code": "SUB-1",
            "plan": draw(st.sampled_from([*PLANS, None])),
            "billing_frequency": "monthly",
            "start": "2015-02-01",
            "add_ons": draw(st.lists(st.sampled_from(BUNDLES), max_size=2, unique=True)),
            "status_history": [{"status": draw(st.sampled_from(["active", "deactivated"])), "from": "2015-02-01"}],
            "products": draw(
                st.sampled_from(
                    [
                        [{"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True}],
                        [{"product": "sports-pack", "bundle": "sports-bundle"}],
                        [],
                    ]
                )
            ),
        }
    if draw(st.booleans()):
        data["account"] = {"code": "ACC-1", "classification": draw(st.sampled_from(["Residential", "Business"]))}
    return data


def _scenario(rules: Any, data: Any) -> Any:
    """The scenario (`data`: one, or its JSON-ready facts) when its purchase facts are good, else None."""
    scenario = validate_scenario(data, None).scenario if isinstance(data, dict) else data
    if scenario is None:
        return None
    try:
        purchases.check(rules, scenario)
    except ScenarioError:
        return None
    return scenario


def _samples() -> list[Any]:
    return [
        found.scenario
        for path in sorted((REPO / "samples" / "purchase").glob("*.yaml"))
        for found in read_scenarios(path)
        if found.scenario is not None
    ]


def _outcomes(coupons: list[purchases.CouponOutcome]) -> list[dict[str, Any]]:
    return [c.to_json() for c in coupons]


def _said(reasons: list[Any]) -> list[Any]:
    return [(r.code, r.facts, r.source) for r in reasons]


def _same_held(rules: Any, scenario: Any) -> None:
    """`redeem` and `refusals` give the same with `_held_now` handed in as without it."""
    plan = purchases.check(rules, scenario)
    model = rules.get("plan", plan) if plan is not None else None
    on_day, not_in_effect = purchases._on_purchase_day(rules, scenario)
    held_now = purchases._held_now(rules, on_day)
    for own in (True, False):
        alone = purchases.redeem(rules, on_day, count_own_entries=own)
        handed = purchases.redeem(rules, on_day, count_own_entries=own, held_now=held_now)
        assert _outcomes(handed) == _outcomes(alone)
    coupons = purchases.redeem(rules, on_day)
    granted = list(dict.fromkeys(c.bundle for c in coupons if c.status == "redeemed" and c.bundle))
    bundles = purchases._bundles(scenario.purchase, model, granted)
    args = (rules, on_day, model, bundles, frozenset(), (), not_in_effect, frozenset(granted))
    assert _said(list(purchases.refusals(*args, held_now))) == _said(list(purchases.refusals(*args)))
    # `held_now` is read, never changed: worked out again, it is the same
    again = purchases._held_now(rules, on_day)
    assert (again.model, again.held, again.had) == (held_now.model, held_now.held, held_now.had)


def _state(model: Any) -> Any:
    """A model's fields (nested models too), fields set, extra and private values."""
    if isinstance(model, list):
        return [_state(m) for m in model]
    if not hasattr(model, "__pydantic_fields_set__"):
        return model
    fields = {k: _state(v) for k, v in model.__dict__.items()}
    return (
        type(model),
        list(fields.items()),
        model.model_fields_set,
        model.__pydantic_extra__,
        model.__pydantic_private__,
    )


def _same_synthetic_and_nets(rules: Any, scenario: Any) -> None:
    """The typed synthetic scenario is the one `typed_lines` made of the untyped one; a price read
    shared has the totals of a fresh one."""
    plan = purchases.check(rules, scenario)
    model = rules.get("plan", plan) if plan is not None else None
    coupons = purchases.redeem(rules, scenario)
    granted = list(dict.fromkeys(c.bundle for c in coupons if c.status == "redeemed" and c.bundle))
    bundles = purchases._bundles(scenario.purchase, model, granted)
    kept = [i for i in purchases.items(rules, scenario.purchase, bundles) if i.why is None]
    typed = decision.typed_lines(rules, purchases._synthetic(rules, scenario, plan, granted, kept, typed=True))
    plain = decision.typed_lines(rules, purchases._synthetic(rules, scenario, plan, granted, kept))
    assert _state(typed) == _state(plain)
    for line in typed.subscription.products:
        assert "type" not in line.model_fields_set
    try:
        fresh = purchases.price(rules, scenario, plan, granted, bundles, kept)
    except ScenarioError:
        return
    for _ in range(2):  # (the second time from what `price` kept)
        assert purchases.price(rules, scenario, plan, granted, bundles, kept, shared=True)["totals"] == fresh["totals"]


@pytest.mark.parametrize("brief", [False, True])
def test_the_purchase_samples(brief: bool) -> None:
    rules = _rules(brief)
    checked = 0
    for data in _samples():
        scenario = _scenario(rules, data)
        if scenario is not None:
            _same_held(rules, scenario)
            _same_synthetic_and_nets(rules, scenario)
            checked += 1
    assert checked >= 12


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(purchase_scenarios(), st.booleans())
def test_generated_purchases(data: dict[str, Any], brief: bool) -> None:
    rules = _rules(brief)
    scenario = _scenario(rules, data)
    assume(scenario is not None)
    _same_held(rules, scenario)
    _same_synthetic_and_nets(rules, scenario)


def test_a_typed_line_is_kept_and_typed() -> None:
    rules = _rules(True)
    line = purchases._typed_line(rules, "kids-pack", "entertainment-pick")
    assert line is purchases._typed_line(rules, "kids-pack", "entertainment-pick")
    assert line.type is not None and line.type == rules.get("product", "kids-pack").type
    assert purchases._line(rules, "kids-pack", "entertainment-pick").type is None  # (the untyped one unchanged)


def _same_text(rules: Any, data: dict[str, Any]) -> None:
    """The decision written at once (shared records) is the fresh data's, twice (the second time
    from the reasons kept), and a caller changing its fresh data changes neither."""
    try:
        fresh = to_json(rules.decide(data))
    except ScenarioError:
        return
    for _ in range(2):
        assert rules.decide_json(data) == fresh
        changed = rules.decide(data)
        for part in changed.get("purchase", {}).get("coupons", []):
            for reason in part["reasons"]:
                reason["facts"]["mangled"] = True
                reason["text"] = "mangled"
        assert to_json(rules.decide(data)) == fresh


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(purchase_scenarios(), st.booleans())
def test_decisions_written_at_once_are_the_fresh_ones(data: dict[str, Any], brief: bool) -> None:
    _same_text(_rules(brief), data)


@pytest.mark.parametrize(
    ("make", "args", "code", "facts"),
    [
        (purchases._kept_words, ("minus-20-bundle",), "coupon_kept", {"bundle": "minus-20-bundle"}),
        (purchases._unknown_code, ("x", None), "coupon_unknown", {"code": "x"}),
        (purchases._unknown_code, ("x", "y"), "coupon_unknown", {"code": "x", "nearest": "y"}),
        (purchases._outside_purchase, ("c",), "coupon_outside_purchase", {"code": "c"}),
        (
            purchases._bundle_held,
            ("b", "plan", "p"),
            "coupon_bundle_held",
            {"bundle": "b", "by": "plan", "holder": "p"},
        ),
        (
            purchases._already_held,
            ("b", "subscription", "s"),
            "add_on_already_held",
            {"bundle": "b", "by": "subscription", "holder": "s"},
        ),
        (
            purchases._had,
            ("add_on_products_had", "b", ("p", "q"), "purchase"),
            "add_on_products_had",
            {"bundle": "b", "products": ["p", "q"], "where": "purchase"},
        ),
    ],
)
def test_a_kept_reason_is_the_one_made_afresh(make: Any, args: tuple[Any, ...], code: str, facts: Any) -> None:
    rules = _rules(True)
    kept = purchases._reason(rules, make, *args)
    assert kept is purchases._reason(rules, make, *args)  # (kept: worded once)
    assert kept.record() == Reason(code, facts).once()
    assert list(kept.record()["facts"]) == list(facts)  # (the facts in their order)


def test_a_used_up_code_names_its_coupons_quantity() -> None:
    rules = _rules(True)
    coupon = next(iter(decision.lookup(rules, "coupon").values()))
    kept = purchases._reason(rules, purchases._used_up, "CODE", 2, coupon.code, coupon.redemption_quantity)
    where = purchases._source(rules, "coupon", coupon.code, "redemption_quantity")
    fresh = Reason("coupon_used_up", {"code": "CODE", "used": 2, "allowed": coupon.redemption_quantity}, where)
    assert kept.record() == fresh.once()
    assert where is not None

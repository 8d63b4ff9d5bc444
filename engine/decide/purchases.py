"""Purchases and coupons (SPEC 3.1, 3.5, seed 003): may this be bought, which coupons redeem, what it costs.

A purchase buys a plan (its bundles) and/or add-on bundles — without a plan, the add-ons are
bought for the subscription's plan — and may redeem coupon codes, each granting its coupon's
bundle. The decision lists every reason the purchase is refused (not just the first), each
coupon code's outcome, the lines bought and their price.

The price comes from the discount engine itself (`DiscountEvaluator`), not a second copy of its
arithmetic: the purchase's lines are put on a synthetic subscription (plan, add-ons = bought
add-ons + coupon bundles, start = the subscription's start or the purchase day) and decided with
only the discounts that the purchase's own bundles grant; the customer's other bill discounts
belong to the `discounts` part of the decision.

A purchase of another plan than the subscription's ends the current contract on its day: it is
refused where a cancellation on that day would be (`plan_change_not_allowed`), and says what it
costs where that cancellation charges a penalty (`plan_change_penalty`, which refuses nothing);
`_plan_change` asks the cancellation's own evaluator (not for a subscription no longer in effect on
the day; on subscription data that evaluator refuses, it says so, `plan_change_not_judged`, and
refuses nothing); a scenario's `cancellation` dated after it is then of the new contract, and not
judged (`plan_changed_on`, `terms.after_plan_change`). Add-ons bought without a plan are bought
for the subscription as it holds on the purchase day (`_on_purchase_day`): refused on one no
longer in effect (`subscription_not_in_effect`), and one its own cancellation ended is not held.

A coupon code is rejected — with every reason that applies — when no coupon generates it, when
the purchase buys nothing (a coupon is redeemed during a purchase only), outside the coupon's
validity, when the coupon's bundle is outside its own validity, when it is used up (earlier
redemptions plus the redemptions earlier in this purchase reach its redemption quantity), or
when it grants nothing (`_idle_codes`, `_unchanging_codes`: nothing in the price changes with it). A
rejected coupon does not refuse the purchase: the customer pays the full price. Vouchers
(redeemable at any time) are not modelled.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar, cast

from pydantic import BaseModel

from engine.coupons import index_of
from engine.criteria.environment import status_in_force
from engine.decide import decision  # the module (it imports this one): its functions read when called
from engine.decide.discounts import target_reaches
from engine.decide.reasons import Reason, Source, listed, register, rule_source
from engine.decide.scenarios import ScenarioError
from engine.models.catalog import ProductType
from engine.models.scenario import Cancellation, ProductLine, Subscription

register(
    {
        "nothing_bought": "the purchase buys nothing: no plan and no add-on",
        "plan_not_yet_available": "plan `{plan}` is sold from {from}; the purchase is on {date}",
        "plan_withdrawn": "plan `{plan}` was sold until {to}; the purchase is on {date}",
        "bundle_not_yet_available": "bundle `{bundle}` is available from {from}; the purchase is on {date}",
        "bundle_withdrawn": "bundle `{bundle}` was available until {to}; the purchase is on {date}",
        "add_on_not_compatible": "plan `{plan}` allows only its compatible bundles as add-ons; `{bundle}` is not one",
        "add_on_already_held": "bundle `{bundle}` is already held: part of {by} `{holder}`",
        "add_on_products_had": lambda facts: (
            f"bundle `{facts['bundle']}` brings "
            + ", ".join(f"`{p}`" for p in facts["products"])
            + (" the subscription has already" if facts["where"] == "subscription" else " this purchase buys already")
            + ": it would be charged twice"
        ),
        "add_on_coupon_only": lambda facts: (
            f"bundle `{facts['bundle']}` is granted only by a code of "
            + ", ".join(f"`{c}`" for c in facts["coupons"])
            + (
                f", and plan `{facts['plan']}` neither includes it nor lists it as compatible"
                if facts["plan"] is not None
                else ", and no plan is in effect to sell it"
            )
            + ": enter the code instead"
        ),
        "no_component_chosen": lambda facts: (
            f"add-on `{facts['bundle']}` has only optional products and none is chosen: choose at least one of "
            + ", ".join(f"`{p}`" for p in facts["products"])
        ),
        "payment_method_not_supported": lambda facts: (
            f"plan `{facts['plan']}` does not accept payment by `{facts['method']}`"
            + (f" (did you mean `{facts['did_you_mean']}`?)" if "did_you_mean" in facts else "")
        ),
        "required_product_missing": "`{product}` is required in bundle `{bundle}` but not chosen",
        "product_not_in_bundle": "bundle `{bundle}` has no product `{product}`",
        "bundle_not_bought": "`{product}` is chosen in bundle `{bundle}`, which this purchase does not buy",
        "coupon_redeemed": "redeemed (use {use} of {allowed}): grants bundle `{bundle}`",
        "coupon_kept": "not redeemed: the purchase is refused, so the code stays usable "
        "(the price shows what its bundle `{bundle}` would give)",
        "coupon_unknown": lambda facts: (
            f"no coupon generates the code `{facts['code']}`"
            + (f"; did you mean `{facts['nearest']}`?" if "nearest" in facts else "")
        ),
        "coupon_name_not_code": "`{code}` names coupon `{coupon}`, not one of its codes; a customer enters one of "
        "its generated codes ({codes})",
        "coupon_outside_purchase": "a coupon is redeemed during a purchase only, and this purchase buys nothing",
        "coupon_not_yet_valid": "coupon `{coupon}` may be redeemed from {from}; the purchase is on {date}",
        "coupon_expired": "coupon `{coupon}` could be redeemed until {to}; the purchase is on {date}",
        # ("1 time", "2 times": until 2026-12-04 "1 time(s)")
        "coupon_used_up": lambda f: (
            f"used up: redeemed {f['used']} time{'' if f['used'] == 1 else 's'}, {f['allowed']} allowed"
        ),
        "coupon_products_had": lambda facts: (
            f"grants bundle `{facts['bundle']}`, whose "
            + ", ".join(f"`{p}`" for p in facts["products"])
            + {
                "purchase": " this purchase buys already",
                "coupon": " a code of this purchase grants already",
                "subscription": " the subscription has already",
            }[facts["where"]]
            + ": it would be charged twice"
        ),
        "coupon_bundle_held": lambda facts: (
            f"grants bundle `{facts['bundle']}`, which this purchase buys as an add-on"
            if facts["by"] == "add_on"
            else f"grants bundle `{facts['bundle']}`, which code `{facts['holder']}` of this purchase grants already"
            if facts["by"] == "coupon"
            else f"grants bundle `{facts['bundle']}`, which is already held: part of {facts['by']} `{facts['holder']}`"
        ),
        "coupon_grants_nothing": lambda facts: (
            f"grants bundle `{facts['bundle']}`, which adds no product to this purchase; "
            + (
                # priced: none of its discounts applies (criteria, a run already spent, a limit)
                "none of its discounts takes anything from it ("
                + ", ".join(f"`{d}`: {_STATUS_WORDS.get(s, s.replace('_', ' '))}" for d, s in facts["statuses"].items())
                + "): the code is kept"
                if "statuses" in facts
                # priced with and without it: the same net (another discount took the lines already)
                else "it changes nothing in the price: "
                + ", ".join(facts["net"].values())
                + " with or without it"
                + (f" (beside code {listed(facts['beside'])})" if facts["beside"] else "")
                + ": the code is kept"
                if "net" in facts
                else f"its discounts ({', '.join(f'`{d}`' for d in facts['discounts']) or 'none'}) reduce "
                "none of its products on the purchase's date: the code is kept"
            )
        ),
        "plan_change_not_allowed": lambda facts: (
            _changing(facts)
            + " ends its contract early: "
            + _term_named(facts)
            + f" does not allow cancelling before its commitment ends on {facts['commitment_end']}; "
            + _possible_from(facts["earliest"])
        ),
        "plan_change_penalty": lambda facts: (
            _changing(facts)
            + " ends its contract early: "
            + _term_named(facts)
            + f" charges a penalty for cancelling before {_before(facts['commitment_end'])}: "
            + _penalty_words(facts)
            + f", due {facts['due']}"
        ),
        "plan_change_not_judged": lambda facts: (
            _changing(facts) + " ends its contract, but its terms could not be "
            f"judged: `{facts['field']}`: {facts['message']}, which a cancellation refuses ({facts['error']}); "
            "the purchase is decided without them"
        ),
        "subscription_not_in_effect": lambda facts: (
            f"subscription `{facts['subscription']}` is not in effect on {facts['date']} ("
            + (
                f"deactivated since {facts['since']}"
                if facts["status"] == "deactivated"
                else f"this scenario's cancellation ends it on {facts['since']}"
            )
            + "): add-ons are bought for a subscription in effect"
        ),
        "rated_per_use": "rated per use: billed with the usage, not at purchase",
        "no_catalog_price": "product `{product}` has no catalog price",
    }
)


def _changing(facts: Mapping[str, Any]) -> str:
    """ "changing from plan `a` to `b`", or, for a subscription of add-ons alone (no `plan`),
    "buying plan `b` for a subscription of add-ons alone" (until 2026-12-03 no word: its add-ons'
    terms ended with no penalty)."""
    if facts["plan"] is None:
        return f"buying plan `{facts['to']}` for a subscription of add-ons alone"
    return f"changing from plan `{facts['plan']}` to `{facts['to']}`"


def _before(end: str | None) -> str:
    """A commitment's end after "cancelling before": "its end, after 9999-12-31" where the end lies
    past the calendar (until 2026-12-03 "before after 9999-12-31")."""
    return f"its end, {end}" if end is None or end.startswith("after") else end


def _term_named(facts: Mapping[str, Any]) -> str:
    """A plan change's term in words: "`commit-24m`", "`t-6` of bundle `tv-box`" (exception N of it)."""
    named = f"`{facts['term']}`" if facts["for"] == "plan" else f"`{facts['term']}` of bundle `{facts['for']}`"
    return f"exception {facts['exception']} of {named}" if "exception" in facts else named


def _penalty_words(facts: Mapping[str, Any]) -> str:
    """A plan change's penalty as the cancellation decision says it: its total and fee, or, with a
    tax left to the tax provider (`tax_code`), the fee and the tax to be added: that total is the
    fee alone (until 2026-12-03 "33.86 EUR (fee 33.86 EUR)", as though the tax were in it)."""
    if "tax_code" in facts:
        provider = facts.get("tax_provider") or "the tax provider"
        return f"{facts['fee']} (tax {facts['tax_code']} to be added by {provider})"
    return f"{facts['total']} (fee {facts['fee']})"


def _possible_from(earliest: str | None) -> str:
    """When a refused plan change becomes possible, as the cancellation decision names it."""
    if earliest is None:
        return "no day was found on which it is possible"
    return f"possible {earliest}" if earliest.startswith("after") else f"possible from {earliest}"


@dataclass
class CouponOutcome:
    """One code of `purchase.coupons`: its coupon (when known), status, reasons, the bundle granted."""

    code: str
    coupon: str | None
    status: str = "redeemed"
    reasons: list[Reason] = field(default_factory=list)
    bundle: str | None = None

    def to_json(self, shared: bool = False) -> dict[str, Any]:
        """As data; `shared`: see `evaluate`."""
        data: dict[str, Any] = {"code": self.code}
        if self.coupon is not None:
            data["coupon"] = self.coupon
        data["status"] = self.status
        if self.bundle is not None and self.status != "rejected":
            data["bundle"] = self.bundle
        data["reasons"] = _written(self.reasons, shared)
        return data


def _written(reasons: list[Reason], shared: bool) -> list[dict[str, Any]]:
    """Reasons as data: fresh (`Reason.once`; without keeping a record on a reason made for one
    decision), or for a writer that serialises at once (`shared`, see `evaluate`) the records
    kept on them, worded once for the reasons decisions share (`_reason`)."""
    if shared:
        return [r.record() for r in reasons]
    return [r.once() for r in reasons]


@dataclass(frozen=True)
class Item:
    """A product the purchase brings, in a bundle; `why` says why it has no price (usage, none)."""

    product: str
    bundle: str
    why: Reason | None = None


def _source(rules: Any, kind: str, code: str, *path: str | int) -> Source | None:
    """Where a rule is written (`reasons.rule_source`)."""
    return rule_source(rules, kind, code, *path)


@dataclass
class _Kept:
    """What purchases read from a rule set, worked out once per rule set and kept beside it."""

    methods: set[str] | None = None  # every plan's payment methods
    coupon_only: dict[str, list[str]] | None = None  # bundle → the coupons granting it (`_coupon_bundles`)
    lookups: tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None = None  # plans, bundles, products
    bundles: dict[str, _Bundle] = field(default_factory=dict)  # bundle code → `_Bundle`
    nearest: dict[str, str | None] = field(default_factory=dict)  # unknown coupon code → the nearest known one
    granting: dict[tuple[str, ...], tuple[frozenset[str], bool]] = field(default_factory=dict)  # see `_granting`
    lines: dict[tuple[str, str], Any] = field(default_factory=dict)  # (product, bundle) → ProductLine
    typed: dict[tuple[str, str], Any] = field(default_factory=dict)  # the same, typed (`_typed_line`)
    items: dict[tuple[Any, ...], tuple[Item, ...]] = field(default_factory=dict)  # see `items`
    coupons: dict[str, tuple[Any, Any] | None] = field(default_factory=dict)  # see `_coupon`
    reasons: dict[tuple[Any, ...], Reason] = field(default_factory=dict)  # see `_reason`
    undiscounted: dict[tuple[tuple[str, str], ...], dict[str, Any]] = field(default_factory=dict)  # see `price`
    marks_main: dict[frozenset[str], bool] = field(default_factory=dict)  # see `_decided`
    bundles_hold: dict[tuple[Any, ...], frozenset[str]] = field(default_factory=dict)  # see `_bundles_hold`
    reaching: dict[tuple[Any, ...], bool] = field(default_factory=dict)  # see `_grants_nothing`


#: at most this many entries in each of `_Kept`'s memos (`_remember`)
_MEMO = 1024
_V = TypeVar("_V")


def _remember(memo: dict[Any, _V], key: Any, value: _V) -> _V:
    """`value`, kept under `key`; a memo at its bound starts over first (what a run meets again
    is kept again at once)."""
    if len(memo) >= _MEMO:
        memo.clear()
    memo[key] = value
    return value


def _reason(rules: Any, make: Callable[..., Reason], *args: Any) -> Reason:
    """`make(rules, *args)`, kept per `make` and `args` (everything the reason is made from) and
    shared by the decisions that give it: a writer that serialises at once writes its record,
    worded once (`Reason.record`), instead of wording it per decision."""
    memo = _kept(rules).reasons
    key = (make, *args)
    found = memo.get(key)
    if found is None:
        found = _remember(memo, key, make(rules, *args))
    return found


def _kept(rules: Any) -> _Kept:
    try:  # read several times per decision: the common case first, no dictionary made for nothing
        found: _Kept = rules.__dict__["_evaluators"]["purchases"]
    except KeyError:
        cache = rules.__dict__.setdefault("_evaluators", {})  # frozen dataclass: cache beside the fields
        found = cache.setdefault("purchases", _Kept())  # threads making one at once keep the first
    return found


@dataclass(frozen=True)
class _Bundle:
    """What purchases read of one bundle's products, worked out once per rule set (`_bundle`)."""

    members: frozenset[str]  # its products
    required: list[str]  # its required products, in order (read only)
    termed: frozenset[str]  # its products billed per period (`ProductType.TERMED`)
    required_set: frozenset[str]
    required_termed: frozenset[str]


def _bundle(rules: Any, code: str) -> _Bundle:
    """`_Bundle` of a bundle the rule set defines (kept per bundle: a rule set has few)."""
    bundles = _kept(rules).bundles
    found = bundles.get(code)
    if found is None:
        products = rules.get("bundle", code).products
        members = frozenset(p.product for p in products)
        required = [p.product for p in products if p.required]
        termed = frozenset(
            p for p in members if (m := rules.get("product", p)) is not None and m.type is ProductType.TERMED
        )
        found = bundles[code] = _Bundle(members, required, termed, frozenset(required), termed.intersection(required))
    return found


def _members(rules: Any, code: str) -> tuple[frozenset[str], list[str]]:
    """A bundle's products, and its required ones in order."""
    found = _bundle(rules, code)
    return found.members, found.required


#: a memo's "no entry" (None is an entry: a code no coupon generates)
_UNSEEN: Any = object()


def _coupon(rules: Any, text: str) -> tuple[Any, Any] | None:
    """The coupon that generates the code `text` and the bundle it grants (None when the rule set
    has no such bundle), or None for a code no coupon generates; kept for the codes seen last."""
    memo = _kept(rules).coupons
    kept = memo.get(text, _UNSEEN)  # one read: another thread may clear the memo between two
    if kept is not _UNSEEN:
        return cast(tuple[Any, Any] | None, kept)
    found = index_of(rules).decode(text)
    if found is None:
        return _remember(memo, text, None)
    coupon = rules.get("coupon", found[0].coupon)
    return _remember(memo, text, (coupon, rules.get("bundle", coupon.bundle)))


def _named_coupon(rules: Any, text: str) -> Reason | None:
    """`coupon_name_not_code` when `text` is a coupon's name or code (letters and digits alike,
    case and separators aside: `MINUS 20` for coupon `minus-20` named "MINUS 20"), not one of the
    codes it generates: seed 003 writes that a customer "uses the coupon code MINUS 20"."""
    names: dict[str, str] | None = rules.__dict__.get("_coupon_names")
    if names is None:  # folded name or code → coupon code, once per rule set (the first coupon wins)
        names = {}
        for code, coupon in decision.lookup(rules, "coupon").items():
            names.setdefault(_folded(code), code)
            names.setdefault(_folded(coupon.name), code)
        rules.__dict__["_coupon_names"] = names
    named = names.get(_folded(text))
    if named is None:
        return None
    space = index_of(rules).spaces.get(named)
    codes = "" if space is None else _first_last(space)
    return Reason("coupon_name_not_code", {"code": text, "coupon": named, "codes": codes})


def _folded(text: str) -> str:
    return "".join(filter(str.isalnum, text.casefold()))


def _first_last(space: Any) -> str:
    first = space.code(0)
    return first if space.quantity == 1 else f"{first} … {space.code(space.quantity - 1)}"


def _nearest(rules: Any, text: str) -> str | None:
    """The code nearest an unknown coupon code (`CouponIndex.nearest`: a search over every coupon's
    codes, about 50 µs), kept for the codes seen last: a run meets the same mistyped codes again."""
    memo = _kept(rules).nearest
    kept = memo.get(text, _UNSEEN)  # (one read, the value kept in hand: threads share the memo)
    if kept is _UNSEEN:
        if len(memo) >= 1024:
            memo.clear()
        kept = memo[text] = index_of(rules).nearest(text)
    return cast(str | None, kept)


#: `_validity`'s reason codes per prefix: (before the validity, after it)
_VALIDITY_CODES = {
    "plan": ("plan_not_yet_available", "plan_withdrawn"),
    "bundle": ("bundle_not_yet_available", "bundle_withdrawn"),
    "coupon": ("coupon_not_yet_valid", "coupon_expired"),
}


def _validity(rules: Any, kind: str, code: str, validity: Any, day: date, prefix: str) -> Reason | None:
    """`{prefix}_not_yet_available` / `{prefix}_withdrawn` (coupons: `_not_yet_valid` / `_expired`)."""
    if day < validity.from_:
        return _reason(rules, _too_early, prefix, kind, code, validity.from_, day)
    if validity.to is not None and day > validity.to:
        return _reason(rules, _too_late, prefix, kind, code, validity.to, day)
    return None


def _too_early(rules: Any, prefix: str, kind: str, code: str, first: date, day: date) -> Reason:
    return Reason(
        _VALIDITY_CODES[prefix][0],
        {kind: code, "from": str(first), "date": str(day)},
        _source(rules, kind, code, "validity", "from"),
    )


def _too_late(rules: Any, prefix: str, kind: str, code: str, last: date, day: date) -> Reason:
    return Reason(
        _VALIDITY_CODES[prefix][1],
        {kind: code, "to": str(last), "date": str(day)},
        _source(rules, kind, code, "validity", "to"),
    )


def _unknown(where: str, what: str, name: str, known: Any, code: str) -> ScenarioError:
    from engine.diagnostics import did_you_mean

    names = sorted(known)
    listed = f"one of: {', '.join(names)}" if len(names) <= 8 else f"a {what} of the rule set"
    hint = did_you_mean(name, names) or f"use {listed}"
    return ScenarioError(where, f"unknown {what} `{name}`", hint, code=code)


def _lookups(rules: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The rule set's plans, bundles and products (code → model; read only), kept beside it: a
    dictionary read, where `rules.get` looks up the kind first."""
    kept = _kept(rules)
    if kept.lookups is None:
        kept.lookups = (
            decision.lookup(rules, "plan"),
            decision.lookup(rules, "bundle"),
            decision.lookup(rules, "product"),
        )
    return kept.lookups


def check(rules: Any, scenario: Any) -> str | None:
    """The plan in effect; raises ScenarioError (BR620-BR623) with every bad fact of the purchase."""
    purchase = scenario.purchase
    kept = _kept(rules)
    plans, bundles, products = _lookups(rules)
    problems: list[ScenarioError] = []
    plan: str | None = purchase.plan
    if plan is not None and plan not in plans:
        problems.append(_unknown("purchase.plan", "plan", plan, plans, "BR620"))
    if plan is None and scenario.subscription is not None and scenario.subscription.plan is not None:
        plan = scenario.subscription.plan
        if plan not in plans:
            problems.append(_unknown("subscription.plan", "plan", plan, plans, "BR620"))
    # add-ons with no plan in effect are bought on their own (seed 003: a bundle "can be purchased
    # separately as an add-on"; its worked example buys one with a coupon and names no plan): no
    # plan's compatibility or payment methods to check (until 2026-12-02 BR620)
    seen: set[str] = set()
    for i, add_on in enumerate(purchase.add_ons):
        if add_on not in bundles:
            problems.append(_unknown(f"purchase.add_ons[{i}]", "bundle", add_on, bundles, "BR621"))
        elif add_on in seen:
            problems.append(
                ScenarioError(
                    f"purchase.add_ons[{i}]", f"add-on `{add_on}` is bought twice", "list it once", code="BR621"
                )
            )
        seen.add(add_on)
    method = purchase.payment_method
    if kept.methods is None:
        kept.methods = {m for p in plans.values() for m in p.payment_methods}
    methods = kept.methods
    # a plan in effect that lists no method accepts any (until 2026-12-02 a method no other plan
    # named was BR622 under it too); one that lists its methods refuses any other, one no plan
    # names too (`payment_method_not_supported`, with "did you mean": until 2026-12-02 BR622 and no
    # decision, for a method as plain as `cash`). With no plan in effect (add-ons bought on their
    # own), a method no plan names is BR622, with "did you mean"
    if plan is None and method is not None and method not in methods and methods:
        problems.append(_unknown("purchase.payment_method", "payment method", method, methods, "BR622"))
    user = purchase.user
    if user is not None and user not in (users := decision.lookup(rules, "user")):
        problems.append(_unknown("purchase.user", "user", user, users, "BR603"))
    if purchase.coupon_redemptions:
        _redemptions_known(rules, purchase, problems)
    chosen: set[tuple[str, str]] = set()
    for i, item in enumerate(purchase.products or ()):
        where = f"purchase.products[{i}]"
        if item.product not in products:
            problems.append(_unknown(f"{where}.product", "product", item.product, products, "BR623"))
        if item.bundle not in bundles:
            problems.append(_unknown(f"{where}.bundle", "bundle", item.bundle, bundles, "BR623"))
        if (item.product, item.bundle) in chosen:
            problems.append(
                ScenarioError(
                    f"{where}.product",
                    f"`{item.product}` is chosen twice in bundle `{item.bundle}`",
                    "list it once",
                    code="BR623",
                )
            )
        chosen.add((item.product, item.bundle))
    if problems:
        raise ScenarioError.of(problems)
    return plan


def _redemptions_known(rules: Any, purchase: Any, problems: list[ScenarioError]) -> None:
    """BR624 for an earlier redemption of a code no coupon generates: codes match as written
    (`ACME-A00F`, not `acme-a00f`), and a mistyped key would leave a used-up code usable again."""
    for text in purchase.coupon_redemptions:
        if _coupon(rules, text) is None:
            named = _named_coupon(rules, text)
            if named is not None:  # `MINUS 20`: the coupon's name, not one of its codes
                hint = f"`{text}` names coupon `{named.facts['coupon']}`; list its codes ({named.facts['codes']})"
            else:
                nearest = _nearest(rules, text.strip()) if text.strip() else None
                hint = f"did you mean `{nearest}`?" if nearest else "list the codes as the coupons generate them"
            problems.append(
                ScenarioError(
                    f"purchase.coupon_redemptions.{text}",
                    f"no coupon generates the code `{text}`, so it was never redeemed",
                    hint,
                    code="BR624",
                    path=("purchase", "coupon_redemptions", text),
                    key=True,
                )
            )


def redeem(
    rules: Any,
    scenario: Any,
    count_own_entries: bool = True,
    idle: Mapping[str, Reason] | None = None,
    held_now: _HeldNow | None = None,
) -> list[CouponOutcome]:
    """Each code of the purchase, in order: redeemed, or rejected with every reason that applies.
    Without `count_own_entries`, a code's earlier entries in this purchase are not counted as
    redeemed (for a refused purchase, which redeems nothing). `idle`: codes the pricing found to
    grant nothing (`_idle_codes`), rejected with that reason, every entry of them, and neither
    counted nor holding their bundle for the codes after them. `held_now`: `_held_now` of `scenario`
    (worked out here when not given)."""
    purchase = scenario.purchase
    day = scenario.as_of.date()
    buys = purchase.plan is not None or bool(purchase.add_ons)
    redeemed: dict[str, int] = {}  # code -> redemptions earlier in this purchase
    held: dict[str, tuple[str, str]] | None = None  # bundles already held (`_held_for_coupons`), when first asked
    sold: frozenset[str] = frozenset()  # the add-ons only a code sells (`_sold_by_code`), asked with `held`
    had: dict[str, set[str]] | None = None  # products bought or held already (`_products_had`), when first asked
    bought: list[Item] | None = None  # what the plan and add-ons bring (`_grants_nothing`), when first asked
    outcomes = []
    for text in purchase.coupons:
        found = _coupon(rules, text)
        if found is None and (named := _named_coupon(rules, text)) is not None:  # "Gutschein-Code MINUS 20"
            outcomes.append(CouponOutcome(text, None, "rejected", [named]))
            continue
        if found is None:
            nearest = _nearest(rules, text) if text.strip() else None  # (an empty entry is near nothing)
            outcomes.append(CouponOutcome(text, None, "rejected", [_reason(rules, _unknown_code, text, nearest)]))
            continue
        coupon, bundle = found
        if idle is not None and text in idle:
            outcomes.append(CouponOutcome(text, coupon.code, "rejected", [idle[text]], coupon.bundle))
            continue
        outcome = CouponOutcome(text, coupon.code, bundle=coupon.bundle)
        reasons = outcome.reasons
        if not buys:
            reasons.append(_reason(rules, _outside_purchase, text))
        reason = _validity(rules, "coupon", coupon.code, coupon.validity, day, "coupon")
        if reason is not None:
            reasons.append(reason)
        if bundle is not None:
            reason = _validity(rules, "bundle", bundle.code, bundle.validity, day, "bundle")
            if reason is not None:
                reasons.append(reason)
            if held is None:
                held, sold = _held_for_coupons(rules, scenario, held_now)
            holding = held.get(bundle.code)
            if holding is not None and not count_own_entries and holding == ("coupon", text):
                pass  # a refused purchase's code entered again: neither entry uses it (both `coupon_kept`)
            elif holding is not None:  # its products would be charged twice, its discounts apply already
                by, holder = holding
                reasons.append(_reason(rules, _bundle_held, bundle.code, by, holder))
            else:  # a product of its bundle bought or held already, in another bundle: charged twice too
                if had is None:
                    had = _products_had(rules, scenario, held_now=held_now)
                judged = had
                if bundle.code in sold:  # the add-on its code sells is this code's own products, not a second charge
                    judged = {**had, "purchase": _products_had(rules, scenario, bundle.code, held_now)["purchase"]}
                brings = _brought(rules, purchase, bundle.code, termed_only=True)
                for where, products in judged.items():
                    twice = sorted(brings & products)
                    if twice:  # (until 2026-12-02 sold again, the coupon's discount on both lines)
                        reasons.append(_reason(rules, _had, "coupon_products_had", bundle.code, tuple(twice), where))
                        break
        used = purchase.coupon_redemptions.get(text, 0) + redeemed.get(text, 0)
        if used >= coupon.redemption_quantity:
            reasons.append(_reason(rules, _used_up, text, used, coupon.code, coupon.redemption_quantity))
        if not reasons and bundle is not None and buys:
            if bought is None:  # the plan's, the add-ons' and every coupon's bundles (another code's
                # bundle may bring what this one's discount reduces)
                model = rules.get("plan", purchase.plan) if purchase.plan is not None else None
                granting = [  # (not a code used up or out of its validity: it grants nothing)
                    b
                    for t in purchase.coupons
                    if (idle is None or t not in idle)
                    and (c := _coupon(rules, t)) is not None
                    and (b := c[0].bundle)
                    and purchase.coupon_redemptions.get(t, 0) < c[0].redemption_quantity
                    and _validity(rules, "coupon", c[0].code, c[0].validity, day, "coupon") is None
                ]
                bought = items(rules, purchase, _bundles(purchase, model, granting))
            if _grants_nothing(rules, purchase, bundle.code, bought, day):
                nothing: dict[str, Any] = {"bundle": bundle.code, "discounts": list(bundle.discounts)}
                statuses = _not_in_effect(rules, bundle.discounts, day)
                if statuses is not None:  # (until 2026-12-03 no word of it: as if sold with the wrong product)
                    nothing["statuses"] = statuses
                reasons.append(Reason("coupon_grants_nothing", nothing))
        if reasons:
            outcome.status = "rejected"
        else:
            if count_own_entries:
                redeemed[text] = redeemed.get(text, 0) + 1
            # a later code granting its bundle grants nothing, nor one whose bundle brings its products:
            # in a refused purchase too, which redeems neither, each code judged as the allowed one
            # would judge it (until 2026-12-03 a second code of the coupon was "kept" there, as if
            # its bundle gave something again)
            if bundle is not None and held is not None:
                held.setdefault(bundle.code, ("coupon", text))
            if bundle is not None and had is not None:
                had["coupon"] |= _brought(rules, purchase, bundle.code, termed_only=True)
            reasons.append(_reason(rules, _redeemed, used + 1, coupon.redemption_quantity, coupon.bundle))
        outcomes.append(outcome)
    return outcomes


def _brought(rules: Any, purchase: Any, bundle: str, termed_only: bool = False) -> AbstractSet[str]:
    """The products a bundle of the purchase brings: those chosen in it, else its required ones;
    `termed_only`: those billed per period (a second box, a usage product, are not a second charge
    of one service). Read only (the bundle's own sets when nothing is chosen in it)."""
    facts = _bundle(rules, bundle)
    if purchase.products:
        # (a product chosen that the bundle does not hold is refused as `product_not_in_bundle`: it
        # brings nothing; until 2026-12-02 it was counted, and a coupon was rejected as bringing it twice)
        members = facts.members
        chosen = {i.product for i in purchase.products if i.bundle == bundle and i.product in members}
        if chosen:
            return chosen & facts.termed if termed_only else chosen
    return facts.required_termed if termed_only else facts.required_set


def _products_had(
    rules: Any, scenario: Any, without: str | None = None, held_now: _HeldNow | None = None
) -> dict[str, set[str]]:
    """The products a coupon's bundle must not bring again, by where they are: those the purchase
    buys (its plan's bundles, its add-ons but `without`: the add-on a code sells, `_sold_by_code`,
    is that code's own bundle), and, for a purchase without a plan, the subscription's lines."""
    purchase = scenario.purchase
    plans, bundles, _ = _lookups(rules)
    model = plans.get(purchase.plan) if purchase.plan is not None else None
    bought: set[str] = set()
    for code in (*(model.bundles if model is not None else ()), *purchase.add_ons):
        if code != without and code in bundles:
            bought |= _brought(rules, purchase, code, termed_only=True)
    had = held_now.had if held_now is not None else _had_by_subscription(rules, scenario, model)
    return {"purchase": bought, "coupon": set(), "subscription": set(had)}


def _had_by_subscription(rules: Any, scenario: Any, model: Any) -> AbstractSet[str]:
    """`_products_had`'s products of the subscription (read only; `model`: the purchase's plan):
    for a purchase without a plan, its lines' products and the termed ones its bundles hold."""
    subscription = scenario.subscription
    if subscription is None or model is not None:
        return frozenset()
    has = {line.product for line in subscription.products}
    # and what its bundles hold though no line is written for them: its add-ons' and its plan's
    # required services (until 2026-12-02 an add-on in `add_ons` only was sold again)
    lined = tuple(dict.fromkeys(line.bundle for line in subscription.products if line.bundle is not None))
    return has | _bundles_hold(rules, subscription.plan, (*subscription.add_ons, *lined))


def _bundles_hold(rules: Any, plan_code: str | None, add_ons: tuple[str, ...]) -> frozenset[str]:
    """The termed products a subscription's plan bundles and add-ons hold as required, kept per
    plan and add-ons (a billing run meets the same few again and again)."""
    kept = _kept(rules).bundles_hold
    key = (plan_code, add_ons)
    found = kept.get(key)
    if found is None:
        plan = rules.get("plan", plan_code) if plan_code is not None else None
        products: set[str] = set()
        for code in (*(plan.bundles if plan is not None else ()), *add_ons):
            if rules.get("bundle", code) is not None:
                products |= _bundle(rules, code).required_termed
        found = _remember(kept, key, frozenset(products))
    return found


def _held_for_coupons(
    rules: Any, scenario: Any, held_now: _HeldNow | None = None
) -> tuple[dict[str, tuple[str, str]], frozenset[str]]:
    """The bundles a coupon would grant again: those of the plan in effect (the one bought, else the
    subscription's), the subscription's own (`_held`, for a purchase without a plan), and the
    add-ons bought, but those only a code sells (`_sold_by_code`): a code of their coupon is what
    sells them; codes redeemed earlier in the purchase add theirs (`redeem`). With those add-ons."""
    purchase = scenario.purchase
    if held_now is None:
        held_now = _held_now(rules, scenario)
    model = held_now.model
    held = dict(held_now.held)  # (a copy: `redeem` adds the codes' bundles)
    sold = _sold_by_code(rules, scenario, model)
    for add_on in purchase.add_ons:
        if add_on not in sold:
            held.setdefault(add_on, ("add_on", add_on))
    return held, sold


@dataclass(slots=True)
class _HeldNow:
    """What `redeem` and `refusals` both read of one purchase's scenario (`_held_now`), worked out
    once per decision by `_priced` (each worked it out for itself, twice a decision and more)."""

    model: Any  # the plan in effect (`_plan_in_effect`)
    held: dict[str, tuple[str, str]]  # the bundles held (`_held`; read only)
    had: AbstractSet[str]  # the subscription's products (`_had_by_subscription`; read only)


def _held_now(rules: Any, scenario: Any) -> _HeldNow:
    """`_HeldNow` of `scenario` (its subscription as held on the purchase day, `_on_purchase_day`)."""
    purchase = scenario.purchase
    model = _plan_in_effect(rules, scenario)
    bought = _lookups(rules)[0].get(purchase.plan) if purchase.plan is not None else None
    return _HeldNow(model, _held(scenario, model), _had_by_subscription(rules, scenario, bought))


def _plan_in_effect(rules: Any, scenario: Any) -> Any:
    """The plan in effect for the purchase (the one bought, else the subscription's), or None."""
    purchase = scenario.purchase
    subscription = scenario.subscription
    plan = purchase.plan if purchase.plan is not None else (subscription.plan if subscription is not None else None)
    return _lookups(rules)[0].get(plan) if plan is not None else None


def _coupon_only(rules: Any, add_on: str, model: Any) -> list[str] | None:
    """The coupons granting `add_on` when the plan in effect (`model`) neither includes it nor lists
    it as compatible: then it is not sold as a plain add-on (`add_on_coupon_only`); else None."""
    coupons = _coupon_bundles(rules).get(add_on)
    if coupons and (model is None or (add_on not in model.bundles and add_on not in model.compatible_bundles)):
        return coupons
    return None


def _sold_by_code(rules: Any, scenario: Any, model: Any) -> frozenset[str]:
    """The purchase's add-ons only a coupon's code sells (`_coupon_only`; `model`: the plan in
    effect, `_plan_in_effect`). A valid code of such a coupon entered with one is
    redeemed and grants it: the add-on entry names the same bundle, bought once (until 2026-12-03
    the code was rejected, `coupon_bundle_held`, "bought as an add-on", and the purchase refused,
    `add_on_coupon_only`: "enter the code instead")."""
    if not scenario.purchase.add_ons:
        return frozenset()
    return frozenset(a for a in scenario.purchase.add_ons if _coupon_only(rules, a, model) is not None)


def _grants_nothing(rules: Any, purchase: Any, bundle: str, brought: list[Item], day: date) -> bool:
    """Whether a coupon's bundle grants nothing to the purchase: it adds no product, and none of
    its discounts in effect on `day` (state `effective`, within its validity) names a product the
    purchase brings (`brought`: the plan's, the add-ons' and the coupons' items; by product,
    product type and bundle). Such a code is rejected and kept (`coupon_grants_nothing`): until
    2026-12-02 a single-use code entered with a purchase it could not reduce, or after its
    discount had expired, was spent."""
    if _brought(rules, purchase, bundle):
        return False
    effective: list[str] = []  # its discounts in effect on `day`
    for code in rules.get("bundle", bundle).discounts:
        definition = rules.get("discount", code)
        if definition is None:
            return False  # (checked when loaded; never taken as nothing)
        if _in_effect(definition, day):
            effective.append(code)
    if not effective:
        return True
    # whether they reach an item follows from their codes and the items' products and bundles
    # alone: kept per those (a run meets the same few purchases again)
    memo = _kept(rules).reaching
    key = (tuple(effective), tuple((i.product, i.bundle) for i in brought))
    found = memo.get(key)
    if found is None:
        found = _remember(memo, key, not _reach_any(rules, effective, brought))
    return found


def _reach_any(rules: Any, discounts: list[str], brought: list[Item]) -> bool:
    """Whether a discount of `discounts` (defined ones) names an item of `brought` (`_grants_nothing`)."""
    main_at = _main_item(rules, brought)  # (the same for every discount of the bundle)
    for code in discounts:
        definition = rules.get("discount", code)
        for i, item in enumerate(brought):
            product = rules.get("product", item.product)
            kind = product.type.value if product is not None else None
            # (main: the line the purchase is priced with as the customer's main service, one at
            # most, as a bill's; until 2026-12-02 every line counted, and a main-service coupon
            # entered with an add-on alone was spent for nothing)
            main = i == main_at
            if any(target_reaches(t, item.product, kind, item.bundle, main) for t in definition.discounted_products):
                return True
    return False


def _in_effect(definition: Any, day: date) -> bool:
    """Whether a discount is in effect on `day`: state `effective`, within its validity."""
    validity = definition.validity
    if definition.state.value != "effective" or day < validity.effective:
        return False
    return validity.expiration is None or day <= validity.expiration


def _not_in_effect(rules: Any, discounts: Any, day: date) -> dict[str, str] | None:
    """For a coupon's bundle that grants nothing (`_grants_nothing`) when a discount of it is not in
    effect on `day` (a draft, expired, not yet effective): each discount's status as the discount
    engine would say it, `not_effective` for those, `not_eligible` for those in effect (they reach
    no product the purchase brings), for `coupon_grants_nothing`'s `statuses`; else None (every
    discount is in effect: none reaches a product, the reason says so)."""
    found: dict[str, str] = {}
    for code in discounts:
        definition = rules.get("discount", code)
        found[code] = "not_effective" if definition is not None and not _in_effect(definition, day) else "not_eligible"
    return found if "not_effective" in found.values() else None


def _main_item(rules: Any, brought: list[Item]) -> int | None:
    """Which of the purchase's items is priced as the customer's main service (`typed_lines`: of
    the catalog's main services, the one `_main_line` chooses), or None."""
    from types import SimpleNamespace

    mains = decision._main_services(rules)
    if not mains or not any(item.product in mains for item in brought):
        return None
    lines = [SimpleNamespace(product=i.product, bundle=i.bundle, price=None, quantity=1, main=False) for i in brought]
    chosen = decision._main_line(rules, None, lines, mains)  # (the synthetic subscription bills no period)
    return chosen if chosen >= 0 else None


def _kept_coupon(rules: Any, outcome: CouponOutcome) -> CouponOutcome:
    """A code that a refused purchase would have redeemed: `not_redeemed`, still usable."""
    kept = _reason(rules, _kept_words, outcome.bundle)
    return CouponOutcome(outcome.code, outcome.coupon, "not_redeemed", [kept], outcome.bundle)


# the reasons of codes and add-ons, made by `_reason` (each from everything it is made of, so kept
# and shared by the decisions that give it, worded once)


def _kept_words(rules: Any, bundle: str | None) -> Reason:
    return Reason("coupon_kept", {"bundle": bundle})


def _unknown_code(rules: Any, code: str, nearest: str | None) -> Reason:
    return Reason("coupon_unknown", {"code": code, **({"nearest": nearest} if nearest is not None else {})})


def _outside_purchase(rules: Any, code: str) -> Reason:
    return Reason("coupon_outside_purchase", {"code": code})


def _bundle_held(rules: Any, bundle: str, by: str, holder: str) -> Reason:
    return Reason("coupon_bundle_held", {"bundle": bundle, "by": by, "holder": holder})


def _already_held(rules: Any, bundle: str, by: str, holder: str) -> Reason:
    return Reason("add_on_already_held", {"bundle": bundle, "by": by, "holder": holder})


def _had(rules: Any, code: str, bundle: str, products: tuple[str, ...], where: str) -> Reason:
    """`coupon_products_had` / `add_on_products_had`: `products` (sorted) bought or held already."""
    return Reason(code, {"bundle": bundle, "products": list(products), "where": where})


def _used_up(rules: Any, code: str, used: int, coupon: str, allowed: int) -> Reason:
    where = _source(rules, "coupon", coupon, "redemption_quantity")
    return Reason("coupon_used_up", {"code": code, "used": used, "allowed": allowed}, where)


#: the one `nothing_bought` reason (no facts): shared by every decision that gives it
_NOTHING_BOUGHT = Reason("nothing_bought", {})


def _redeemed(rules: Any, use: int, allowed: int, bundle: str) -> Reason:
    return Reason("coupon_redeemed", {"use": use, "allowed": allowed, "bundle": bundle})


def refusals(
    rules: Any,
    scenario: Any,
    model: Any,
    bundles: list[str],
    rejected: frozenset[str] = frozenset(),
    plan_change: tuple[Reason, ...] = (),
    not_in_effect: Reason | None = None,
    coded: frozenset[str] = frozenset(),
    held_now: _HeldNow | None = None,
) -> Iterator[Reason]:
    """Every reason the purchase may not be made, in the order of the purchase's fields (`model`:
    the plan in effect, `bundles`: the purchase's, `_bundles`; `rejected`: the bundles of coupons
    entered but rejected, whose chosen components are not bought, and refuse nothing;
    `plan_change`: what changing the subscription's plan says, `_plan_change`, after the plan's
    own reasons: a penalty among them refuses nothing, `refusing`; `not_in_effect`: add-ons bought
    for a subscription no longer in effect on the purchase day, `_on_purchase_day`). `scenario`'s
    subscription is as it holds on the purchase day (`_on_purchase_day`); `coded`: the bundles the
    purchase's codes grant (redeemed, in a purchase not refused otherwise), which sell an add-on
    only a code sells (`_sold_by_code`); `held_now`: `_held_now` of `scenario`, its `held` and `had`
    read for the add-ons (worked out here when not given)."""
    purchase = scenario.purchase
    day = scenario.as_of.date()
    if purchase.plan is None and not purchase.add_ons:
        yield _NOTHING_BOUGHT
    if purchase.plan is not None and model is not None:
        reason = _validity(rules, "plan", purchase.plan, model.validity, day, "plan")
        if reason is not None:
            yield reason
        defined = _lookups(rules)[1]
        for code in model.bundles:  # bought with the plan: each must be on sale that day too
            bundle = defined.get(code)
            reason = _validity(rules, "bundle", code, bundle.validity, day, "bundle") if bundle is not None else None
            if reason is not None:
                yield reason
    yield from plan_change
    if not_in_effect is not None:  # (until 2026-12-03 sold, a coupon entered with it spent)
        yield not_in_effect
    if purchase.add_ons:
        yield from _add_on_refusals(rules, scenario, model, coded, day, held_now)
    method = purchase.payment_method
    if model is not None and method is not None and model.payment_methods and method not in model.payment_methods:
        yield _reason(rules, _method_not_supported, model.code, method)
    yield from _selection(rules, purchase, bundles, rejected)


def _add_on_refusals(
    rules: Any, scenario: Any, model: Any, coded: frozenset[str], day: date, held_now: _HeldNow | None = None
) -> Iterator[Reason]:
    """`refusals`' reasons for the purchase's add-ons (it has some), in their order."""
    purchase = scenario.purchase
    plans, bundles, _ = _lookups(rules)
    if held_now is not None and held_now.model is model:
        held, had = held_now.held, held_now.had
    else:
        held = _held(scenario, model)
        # the subscription's products (for a purchase without a plan: `_products_had`)
        had = _had_by_subscription(rules, scenario, plans.get(purchase.plan) if purchase.plan is not None else None)
    bought: set[str] = set()  # what the plan and the earlier add-ons of this purchase bring
    if model is not None and purchase.plan is not None:
        for code in model.bundles:
            if code in bundles:
                bought |= _brought(rules, purchase, code, termed_only=True)
    for add_on in purchase.add_ons:
        reason = _validity(rules, "bundle", add_on, bundles[add_on].validity, day, "bundle")
        if reason is not None:
            yield reason
        if add_on in held:
            by, holder = held[add_on]
            yield _reason(rules, _already_held, add_on, by, holder)
        else:  # a product of it bought or held already in another bundle: charged twice (as for a
            # coupon's bundle, `coupon_products_had`; until 2026-12-02 sold again)
            brings = _brought(rules, purchase, add_on, termed_only=True)  # (of the bundle's own products)
            for where, products in (("purchase", bought), ("subscription", had)):
                twice = sorted(brings & products)
                if twice:
                    yield _reason(rules, _had, "add_on_products_had", add_on, tuple(twice), where)
                    break
            bought |= brings
        coupons = _coupon_only(rules, add_on, model)
        by_code = coupons is not None and add_on in coded
        if coupons is not None and not by_code:
            # a coupon's bundle is sold by the plans that include or list it (until 2026-12-02 any plan
            # without `compatible_bundles_only` sold it: the coupon's discount without a code), else
            # by a code of its coupon entered with it (`coded`; until 2026-12-03 refused then too)
            yield _reason(rules, _only_by_coupon, add_on, tuple(coupons), model.code if model is not None else None)
        # (one a code sells is granted by the code, which `compatible_bundles_only` does not limit)
        if (
            model is not None
            and model.compatible_bundles_only
            and add_on not in model.compatible_bundles
            and not by_code
        ):
            yield _reason(rules, _not_compatible, model.code, add_on)
    for code in purchase.add_ons:  # an add-on of optional products alone (a plan buys its other bundles)
        if code not in bundles:
            continue
        facts = _bundle(rules, code)
        if facts.members and not facts.required:
            chosen = any(i.bundle == code for i in purchase.products or ())
            if not chosen and not _reaches_beyond(rules, code, facts.members):
                yield _reason(rules, _nothing_chosen, code)  # (until 2026-12-02 allowed, buying nothing)


#: the purchase's reasons that say something without refusing it
_NOT_REFUSING = frozenset({"plan_change_penalty", "plan_change_not_judged"})


def refusing(reasons: list[Reason]) -> bool:
    """Whether `reasons` (`refusals`) refuse the purchase: any but a plan change's penalty."""
    return any(r.code not in _NOT_REFUSING for r in reasons)


#: a term's reasons (in the cancellation decision) that refuse cancelling on the day
_TERM_REFUSALS = ("early_cancellation_not_allowed", "not_allowed_until", "not_allowed_any_date")


def _plan_change(rules: Any, scenario: Any) -> tuple[Reason, ...]:
    """What a purchase of another plan than the subscription's says of the contract it ends.

    Buying a plan is a new contract (README): bought on a subscription of another plan, it ends
    that plan's contract on the purchase day, which is the early cancellation SPEC 3.4 and seed
    003 rule on ("Nicht erlaubt … jede Form der vorzeitigen Kündigung"). So it is decided as the
    `cancellation` question decides a cancellation of the whole subscription on the date of
    `as_of` (the same `TermEvaluator`, on the scenario with that cancellation; the subscription's
    add-ons end with it, as they are not carried into the new contract; one bought after that
    day is not held yet): refused (`not_allowed`, an exception's too), a reason that refuses the
    purchase, `plan_change_not_allowed` per refusing term (facts: the plans, `for`, `term`,
    `commitment_end`, `earliest`: the first day every term allows it; `exception` when one
    decided); allowed with a penalty, a reason that refuses nothing, `plan_change_penalty` per
    term charging one (`fee`, `total`, `due` as the cancellation names them; `tax_code` and
    `tax_provider` for a tax the provider adds, which the total leaves out). Allowed without a
    penalty (no term, out of its commitment, `allowed`): nothing. The same plan bought again, or
    a purchase before the subscription starts, is no change of it: nothing; nor is a purchase on
    a subscription no longer in effect that day (deactivated, `_deactivated_on`, or cancelled by
    the scenario's own allowed `cancellation` on or before it, not renewed (`_renewed`), which says what that costs,
    `_after_cancellation`): no contract runs to be ended. Subscription data the cancellation refuses (BR616: an add-on listed twice, a
    bundle of the plan listed as an add-on, `add_on_starts` of an add-on not held or before the
    start, cycles without a billing frequency) are what every other purchase accepts: the
    purchase is decided as before, with a reason that refuses nothing, `plan_change_not_judged`
    (the cancellation's error: `error`, `field`, `message`), not made an error."""
    purchase = scenario.purchase
    subscription = scenario.subscription
    if not ends_contract(scenario):
        return ()
    day = scenario.as_of.date()
    terms = decision._cached(rules, "terms")
    try:
        if scenario.cancellation is not None and scenario.cancellation.date <= day:
            subscription = _after_cancellation(rules, terms, scenario, subscription)
            if subscription is None:
                return ()
        starts = subscription.add_on_starts
        if any(starts.get(code, subscription.start) > day for code in subscription.add_ons):
            held = [code for code in subscription.add_ons if starts.get(code, subscription.start) <= day]
            update = {"add_ons": held, "add_on_starts": {c: d for c, d in starts.items() if c in held}}
            subscription = _copied(subscription, update)
        asked = _copied(scenario, {"subscription": subscription, "cancellation": Cancellation(date=day)})
        decided = terms.decide(asked, decision.criteria_outcomes(rules, asked)).to_json()
    except ScenarioError as error:  # (until 2026-12-03 the purchase became this error, BR616)
        facts = {"plan": subscription.plan, "to": purchase.plan, "error": error.code, "field": error.field}
        facts["message"] = error.message
        return (Reason("plan_change_not_judged", facts),)
    found: list[Reason] = []
    for term in decided["terms"]:
        said = {"plan": subscription.plan, "to": purchase.plan, "for": term["for"], "term": term["term"]}
        said["commitment_end"] = term.get("commitment_end")
        if not decided["allowed"]:
            if term["allowed"]:
                continue
            record = next((r for r in term["reasons"] if r["code"] in _TERM_REFUSALS), None)
            facts = {**said, "earliest": decided.get("earliest")}
            code = "plan_change_not_allowed"
        elif term["outcome"] == "penalty":
            penalty = term["penalty"]
            record = next((r for r in term["reasons"] if r["code"] == "early_cancellation_penalty"), None)
            facts = {**said, "fee": penalty["fee"], "total": penalty["total"], "due": penalty["due"]}
            if penalty.get("tax") is None and penalty.get("tax_code") is not None:  # not in the total
                facts["tax_code"] = penalty["tax_code"]
                facts["tax_provider"] = penalty.get("tax_provider")
            code = "plan_change_penalty"
        else:
            continue
        if record is not None and "exception" in record["facts"]:
            facts["exception"] = record["facts"]["exception"]
        where = record.get("source") if record is not None else None
        found.append(Reason(code, facts, Source(**where) if where is not None else None))
    return tuple(found)


def _changes_plan(scenario: Any) -> bool:
    """Whether the purchase buys another plan than the subscription's, which holds something (a
    plan, or add-ons): the subscription goes on under the new plan from the purchase day."""
    purchase = scenario.purchase
    subscription = scenario.subscription
    if purchase.plan is None or subscription is None or subscription.plan == purchase.plan:
        return False
    return subscription.plan is not None or bool(subscription.add_ons)  # (nothing held: nothing changes)


def ends_contract(scenario: Any) -> bool:
    """Whether the purchase changes the plan (`_changes_plan`) of a subscription in effect on the
    purchase day as written (started, not deactivated, `_deactivated_on`): it ends the running
    contract that day (`_plan_change`)."""
    if not _changes_plan(scenario):
        return False
    subscription = scenario.subscription
    day = scenario.as_of.date()
    return not (day < subscription.start or (subscription.status_history and _deactivated_on(subscription, day)))


def plan_changed_on(scenario: Any, allowed: bool) -> date | None:
    """The purchase day, when the purchase (`allowed`: not refused) changes the plan (`_changes_plan`):
    a scenario's `cancellation` dated after it is of the new plan's contract, which the scenario
    does not describe (a contract running that day was judged as a cancellation on the purchase
    day, `_plan_change`; one not in effect then, deactivated or not started, ended nothing to
    charge — until 2026-12-03 a cancellation after such a change was judged on the old contract,
    its penalty charged). None for a refused purchase (the plan did not change) or no change of plan."""
    if not allowed or scenario.purchase is None or not _changes_plan(scenario):
        return None
    return cast(date, scenario.as_of.date())


def _on_purchase_day(rules: Any, scenario: Any) -> tuple[Any, Reason | None]:
    """For a purchase of add-ons without `plan` (bought for the subscription's plan): the scenario
    with its subscription as it holds on the purchase day, and the refusal when it is no longer in
    effect then (`subscription_not_in_effect`, as `_plan_change` reads it: its status in force
    that day is `deactivated`, `_deactivated_since`, or the scenario's own `cancellation` of the
    whole subscription, dated on or before that day, allowed and not renewed (`_renewed`), ends it; facts `subscription`,
    `date`, `status` (`deactivated` / `cancelled`), `since`). That cancellation of some `add_ons`
    ends those (and the lines in their bundles): they are no longer held, and may be bought again
    (until 2026-12-03 `add_on_already_held`); a refused one ends nothing. Otherwise the scenario as
    it is."""
    purchase = scenario.purchase
    subscription = scenario.subscription
    if purchase.plan is not None or not purchase.add_ons or subscription is None:
        return scenario, None
    day = scenario.as_of.date()
    if day < subscription.start:
        return scenario, None
    since = _deactivated_since(subscription, day) if subscription.status_history else None
    facts: dict[str, Any]  # (made only for a refusal)
    if since is not None:
        facts = {"subscription": subscription.code, "date": day.isoformat(), "status": "deactivated", "since": since}
        return scenario, Reason("subscription_not_in_effect", facts)
    cancellation = scenario.cancellation
    if cancellation is None or cancellation.date > day:
        return scenario, None
    facts = {"subscription": subscription.code, "date": day.isoformat()}
    try:
        kept = _after_cancellation(rules, decision._cached(rules, "terms"), scenario, subscription)
    except ScenarioError:  # (the cancellation question says so, as an error)
        return scenario, None
    if kept is None:
        facts.update(status="cancelled", since=cancellation.date.isoformat())
        return scenario, Reason("subscription_not_in_effect", facts)
    if kept is subscription:  # refused: the contract runs, its add-ons held
        return scenario, None
    ended = set(subscription.add_ons) - set(kept.add_ons)
    lines = [line for line in subscription.products if line.bundle not in ended]
    return _copied(scenario, {"subscription": _copied(kept, {"products": lines})}), None


def _deactivated_on(subscription: Any, day: date) -> bool:
    """Whether the subscription's status on `day` is `deactivated` (`_deactivated_since`)."""
    return _deactivated_since(subscription, day) is not None


def _deactivated_since(subscription: Any, day: date) -> str | None:
    """The day the subscription's deactivation in force on `day` began, when its status then is
    `deactivated`: the status period in force then says so, read by the one function the
    interruptions read it with (`environment.status_in_force`: the latest begun by `day` that has
    not ended, its `to`, else the day before a later period starts; of those begun the same day
    the one listed last). None for a subscription deactivated and active again, or rested (in
    effect), or without a period on `day`. A period without `to` that a period listed after it
    starts the same day supersedes lasts no day (`superseded`, as `uninterrupted` reads it: until
    2026-12-04 `deactivated from 02-01`, then `active from 02-01 to 02-10`, was deactivated again
    from 02-11)."""
    history = subscription.status_history
    for period in history:  # (the usual history has no deactivation: nothing to work out)
        if period.status == "deactivated":
            break
    else:
        return None
    current = status_in_force(history, day)
    return current.from_.isoformat() if current is not None and current.status == "deactivated" else None


def _after_cancellation(rules: Any, terms: Any, scenario: Any, subscription: Any) -> Any:
    """The subscription as the scenario's own `cancellation`, dated on or before the purchase day,
    leaves it: None when it cancels the whole subscription and is allowed (ended: that decision
    names its penalty, once), without the add-ons it cancels (allowed, `add_ons`), or as it is
    (refused: the contract runs; or renewed, `_renewed`). Raises its ScenarioError, as the
    cancellation question does."""
    cancellation = scenario.cancellation
    decided = terms.decide(scenario, decision.criteria_outcomes(rules, scenario))
    if not decided.allowed or _renewed(scenario, decided):
        return subscription
    if cancellation.add_ons is None:
        return None
    held = [code for code in subscription.add_ons if code not in cancellation.add_ons]
    starts = {c: d for c, d in subscription.add_on_starts.items() if c in held}
    return _copied(subscription, {"add_ons": held, "add_on_starts": starts})


def _renewed(scenario: Any, decided: Any) -> bool:
    """Whether the customer renewed what the scenario's (allowed) `cancellation` ends, so that it
    ends nothing on the purchase day: `renewed_on` falls on or after the cancellation date and on
    or before the purchase day, and a term's penalty is waived by it and none charged (a renewal
    within the grace period, SPEC 3.4: the contract runs on; a charged penalty — a renewal after
    the grace period — or a cancellation no penalty was due for leaves it ended). Until
    2026-12-03 a renewed cancellation ended the subscription for the purchase all the same."""
    cancellation = scenario.cancellation
    renewed = cancellation.renewed_on
    if renewed is None or not cancellation.date <= renewed <= scenario.as_of.date():
        return False
    # renewed within a grace period: a term's penalty waived by it, and none charged (the review of
    # 2026-12-03: a cancellation free of any penalty, renewed months later, counted as renewed)
    outcomes = [t.data.get("outcome") for t in decided.terms]
    return "waived" in outcomes and "penalty" not in outcomes


def _coupon_bundles(rules: Any) -> dict[str, list[str]]:
    """The bundles coupons grant, with the coupons: bought as a plain add-on only under a plan that
    includes or lists them (SPEC 3.5: a code's redemptions are counted; a bundle any plan sold would
    make them moot)."""
    kept = _kept(rules)
    if kept.coupon_only is None:
        found: dict[str, list[str]] = {}
        for code, coupon in sorted(rules.models("coupon").items()):
            found.setdefault(coupon.bundle, []).append(code)
        kept.coupon_only = found
    return kept.coupon_only


def _only_by_coupon(rules: Any, add_on: str, coupons: tuple[str, ...], plan: str | None) -> Reason:
    return Reason("add_on_coupon_only", {"bundle": add_on, "coupons": list(coupons), "plan": plan})


def _not_compatible(rules: Any, plan: str, add_on: str) -> Reason:
    model = rules.get("plan", plan)
    return Reason(
        "add_on_not_compatible",
        {"plan": plan, "bundle": add_on, "compatible": list(model.compatible_bundles)},
        _source(rules, "plan", plan, "compatible_bundles_only"),
    )


def _method_not_supported(rules: Any, plan: str, method: str) -> Reason:
    """The plan does not take `method`; `did_you_mean` names the method of the rules' plans it is
    most likely a misspelling of (`crad`: `card`), when no plan names `method` and one is close."""
    from engine.diagnostics import did_you_mean

    model = rules.get("plan", plan)
    facts: dict[str, Any] = {"plan": plan, "method": method, "supported": list(model.payment_methods)}
    known = {m for p in decision.lookup(rules, "plan").values() for m in p.payment_methods}
    if method not in known and (hint := did_you_mean(method, known)):
        facts["did_you_mean"] = hint.split("`")[1]
    return Reason("payment_method_not_supported", facts, _source(rules, "plan", plan, "payment_methods"))


def _held(scenario: Any, model: Any) -> dict[str, tuple[str, str]]:
    """Bundles the customer already holds (or buys with the plan): bundle -> (by, holder)."""
    held: dict[str, tuple[str, str]] = dict.fromkeys(model.bundles, ("plan", model.code)) if model is not None else {}
    subscription = scenario.subscription
    if subscription is not None and scenario.purchase.plan is None:
        by = ("subscription", subscription.code)
        held.update(dict.fromkeys(subscription.add_ons, by))
        # a bundle the bill's lines are in is held too, as the discounts see it (`_held_bundles`)
        held.update(dict.fromkeys([line.bundle for line in subscription.products if line.bundle], by))
    return held


def _bundles(purchase: Any, model: Any, granted: list[str]) -> list[str]:
    """The purchase's bundles in order: the bought plan's, the add-ons, the coupon bundles."""
    bought = [*(model.bundles if purchase.plan is not None and model is not None else []), *purchase.add_ons]
    return list(dict.fromkeys([*bought, *granted]))


def _selection(
    rules: Any, purchase: Any, bundles: list[str], rejected: frozenset[str] = frozenset()
) -> Iterator[Reason]:
    """The chosen products against their bundles: bought, in the bundle, required ones present.
    A component chosen in the bundle of a coupon that was rejected is not bought, and refuses
    nothing: "a rejected coupon does not refuse the purchase"."""
    if purchase.products is None:
        return
    chosen: dict[str, set[str]] = {}
    for item in purchase.products:
        if item.bundle not in bundles:
            if item.bundle not in rejected:
                yield _reason(rules, _not_bought, item.product, item.bundle)
        elif item.product not in _bundle(rules, item.bundle).members:
            yield _reason(rules, _not_in_bundle, item.product, item.bundle)
        chosen.setdefault(item.bundle, set()).add(item.product)
    for code in bundles:
        if code not in chosen:
            continue  # a bundle the selection does not mention comes with its required products
        for product in _bundle(rules, code).required:
            if product not in chosen[code]:
                yield _reason(rules, _required_missing, product, code)


def _reaches_beyond(rules: Any, bundle: str, members: frozenset[str]) -> bool:
    """Does a discount the bundle grants reduce lines other than the bundle's own products (a
    product type, the main service, another product)? Then the bundle is bought for it, even with
    no component chosen."""
    for code in rules.get("bundle", bundle).discounts:
        discount = rules.get("discount", code)
        targets = discount.discounted_products if discount is not None else ()
        if any(t.product is None or t.product not in members for t in targets):
            return True
    return False


def _nothing_chosen(rules: Any, bundle: str) -> Reason:
    return Reason(
        "no_component_chosen", {"bundle": bundle, "products": [p.product for p in rules.get("bundle", bundle).products]}
    )


def _not_bought(rules: Any, product: str, bundle: str) -> Reason:
    return Reason("bundle_not_bought", {"product": product, "bundle": bundle})


def _not_in_bundle(rules: Any, product: str, bundle: str) -> Reason:
    return Reason(
        "product_not_in_bundle", {"product": product, "bundle": bundle}, _source(rules, "bundle", bundle, "products")
    )


def _required_missing(rules: Any, product: str, bundle: str) -> Reason:
    """At the bundle's entry of the required product (not at its list's first entry)."""
    members = [p.product for p in rules.get("bundle", bundle).products]
    place = members.index(product) if product in members else None
    where = _source(rules, "bundle", bundle, "products", *([] if place is None else [place]))
    return Reason("required_product_missing", {"product": product, "bundle": bundle}, where)


def items(rules: Any, purchase: Any, bundles: list[str]) -> list[Item]:
    """The products the purchase brings, bundle by bundle (chosen ones, else the required ones).

    They follow from the bundles and the chosen products alone: kept per those (the items are
    frozen, their reasons never changed: shared), a fresh list handed out."""
    chosen = tuple((i.product, i.bundle) for i in purchase.products) if purchase.products else ()
    key = (tuple(bundles), chosen)
    memo = _kept(rules).items
    found = memo.get(key)
    if found is None:
        found = _remember(memo, key, tuple(_items(rules, chosen, bundles)))
    return list(found)


def _items(rules: Any, chosen_pairs: tuple[tuple[str, str], ...], bundles: list[str]) -> Iterator[Item]:
    """`items`, worked out."""
    chosen: dict[str, list[str]] = {}
    for product, bundle in chosen_pairs:
        chosen.setdefault(bundle, []).append(product)
    for code in bundles:
        members, required = _members(rules, code)
        picked = [p for p in chosen[code] if p in members] if code in chosen else required
        for product_code in picked:
            entry = rules.get("product", product_code)
            why = None
            if entry.type is ProductType.USAGE:
                why = Reason("rated_per_use", {"product": product_code})
            elif entry.price is None:
                why = Reason("no_catalog_price", {"product": product_code})
            yield Item(product_code, code, why)


def _priced(
    rules: Any, scenario: Any, shared: bool, billed: Any = None
) -> tuple[str | None, list[CouponOutcome], list[Reason], list[Item], list[Item], list[str], dict[str, Any]]:
    """The purchase checked and priced: its plan, codes, refusals, the items it brings (and those
    priced), the bundles its codes grant, and the price (`price`). Priced again without a code
    whose bundle the pricing found to grant nothing (`_idle_codes`), until none is: each round
    rejects one code at least, and a round is rare. `billed`: the scenario with the discounts its
    bill applies as history (`decision.with_bill_applied`), read by the pricing only; the terms a
    change of plan or the scenario's cancellation judge read the scenario as written, as the
    cancellation question does (the review of 2026-12-03: an exception reading the history judged
    the change of plan on the bill's applications, the cancellation without them)."""
    purchase = scenario.purchase
    for_price = scenario if billed is None else billed
    plan = check(rules, scenario)
    model = rules.get("plan", plan) if plan is not None else None
    plan_change = _plan_change(rules, scenario)
    # the subscription as held on the purchase day (add-ons its own cancellation ended are not),
    # read for what is held and had; the scenario itself for the price
    on_day, not_in_effect = _on_purchase_day(rules, scenario)
    # (read by `redeem` and `refusals` alike: worked out once, when either reads it)
    held_now = _held_now(rules, on_day) if purchase.coupons or purchase.add_ons else None
    coupons = redeem(rules, on_day, held_now=held_now)
    idle: dict[str, Reason] = {}
    while True:
        granted = list(dict.fromkeys(c.bundle for c in coupons if c.status == "redeemed" and c.bundle))
        bundles = _bundles(purchase, model, granted)
        rejected = frozenset(
            c.bundle for c in coupons if c.status == "rejected" and c.bundle and c.bundle not in bundles
        )
        coded = frozenset(granted)
        reasons = list(refusals(rules, on_day, model, bundles, rejected, plan_change, not_in_effect, coded, held_now))
        if coupons and refusing(reasons):  # a refused purchase redeems nothing (SPEC 3.5); its price shows the coupons'
            coupons = [
                _kept_coupon(rules, c) if c.status == "redeemed" else c
                for c in redeem(rules, on_day, count_own_entries=False, idle=idle, held_now=held_now)
            ]
        brought = items(rules, purchase, bundles)
        kept = [i for i in brought if i.why is None]
        statuses: dict[str, str] = {}
        priced = price(rules, for_price, plan, granted, bundles, kept, shared, statuses)
        found = _idle_codes(rules, purchase, coupons, statuses)
        if not found:
            found = _unchanging_codes(rules, for_price, plan, model, coupons, statuses, (granted, priced))
        if not found:
            return plan, coupons, reasons, brought, kept, granted, priced
        idle.update(found)
        # (afresh: what the idle codes held or counted is not)
        coupons = redeem(rules, on_day, idle=idle, held_now=held_now)


def priced_scenario(rules: Any, scenario: Any) -> Any:
    """The scenario a purchase's price is decided on (`_synthetic`, its lines typed), for what
    reads the criteria as the pricing did (`billrules test --coverage`)."""
    plan, _, _, _, kept, granted, _ = _priced(rules, scenario, False)
    return decision.typed_lines(rules, _synthetic(rules, scenario, plan, granted, kept))


def evaluate(rules: Any, scenario: Any, shared: bool = False, billed: Any = None) -> dict[str, Any]:
    """The decision's `purchase` part (JSON-ready); raises ScenarioError for bad purchase facts.
    `shared`: for a writer that serialises it at once (`decision.decide`'s `shared`): the
    discounts' shared results are put in as the JSON written once, the reasons as the records
    kept on them, not copied. `billed`: see `_priced`."""
    purchase = scenario.purchase
    plan, coupons, reasons, brought, kept, _, priced = _priced(rules, scenario, shared, billed)
    lines = iter(priced["lines"])
    out_lines = []
    for item in brought:
        if item.why is None:
            line = next(lines)
            line.pop("line")  # the synthetic subscription's field: not a place in the scenario
            out_lines.append(line)
        else:
            out_lines.append(
                {
                    "product": item.product,
                    "bundle": item.bundle,
                    "priced": False,
                    "reasons": _written([item.why], shared),
                }
            )
    decided: dict[str, Any] = {"allowed": not refusing(reasons), "plan": plan}
    if purchase.user is not None:  # SPEC 3.6: assigned to the credit owner, billed to the user
        from engine.decide.credits import owner_of

        decided["user"] = purchase.user
        decided["assigned_to"] = owner_of(decision.lookup(rules, "user"), purchase.user)
        decided["billed_to"] = purchase.user
    decided["reasons"] = _written(reasons, shared)
    decided["coupons"] = [c.to_json(shared) for c in coupons]
    decided["lines"] = out_lines
    decided["price"] = priced["totals"]
    definitions = priced["definitions"]
    if any(_names_lines(d) for d in definitions):
        names = {f"subscription.products[{k}]": f"`{item.product}`" for k, item in enumerate(kept)}
        definitions = [_lines_named(d, names) for d in definitions]
    decided["discounts"] = list(definitions)  # (a list of its own: a kept price's is shared)
    return decided


def _idle_codes(
    rules: Any, purchase: Any, coupons: list[CouponOutcome], statuses: Mapping[str, str]
) -> dict[str, Reason]:
    """The redeemed codes whose bundle adds no product and whose every discount the pricing
    settled as taking nothing (`statuses`: each granted discount's status), each with its reason
    `coupon_grants_nothing`: for `redeem` to reject and keep them. `_grants_nothing` tells the
    discounts that reduce no product the purchase brings before pricing; this tells the ones whose
    criteria do not hold, whose run a history spent, whose limit is reached, or that took 0.00
    (until 2026-12-02 such a single-use code was redeemed, and spent, for a discount of 0.00). A
    discount still open — offered, pending approval — keeps its code redeemed (`_STILL_OPEN`)."""
    found: dict[str, Reason] = {}
    for c in coupons:
        # (a refused purchase's codes are `not_redeemed`: one granting nothing is rejected there
        # too, as when the purchase is allowed; until 2026-12-03 it was "kept", its bundle priced)
        if c.status in ("redeemed", "not_redeemed") and c.bundle is not None and c.code not in found:
            if _brought(rules, purchase, c.bundle):
                continue
            discounts = rules.get("bundle", c.bundle).discounts
            settled = {d: statuses.get(d, "not_decided") for d in discounts}
            if not any(status in _STILL_OPEN for status in settled.values()):
                facts = {"bundle": c.bundle, "discounts": list(discounts), "statuses": settled}
                found[c.code] = Reason("coupon_grants_nothing", facts)
    return found


def _unchanging_codes(
    rules: Any,
    scenario: Any,
    plan: str | None,
    model: Any,
    coupons: list[CouponOutcome],
    statuses: Mapping[str, str],
    priced: tuple[list[str], dict[str, Any]],
) -> dict[str, Reason]:
    """The first code (in entry order) that `redeem` would redeem and whose bundle changes nothing
    in the purchase's price, with its reason `coupon_grants_nothing` (facts `net`: the price's net
    per currency, `beside`: the other codes whose bundles it was judged with), for `redeem` to
    reject and keep.

    Each such code, in order, is judged on what it changes: the price with every redeemed code's
    bundle against the price with all of them but its own. The same net in every currency: it
    grants nothing (until 2026-12-03 a code was redeemed, its use spent, when one of its discounts
    took a share of a line another discount would have taken whole, the price unchanged). Judged
    beside the codes after it too, not only those before: a later code's bundle may bring the
    product an earlier code's discount reduces (a first version judged only the earlier ones, and
    such a code was kept and the product sold at full price). Two codes that each take a line whole
    keep the first and redeem the second, whichever is entered first; the caller decides again
    without the kept one (`_priced`) and asks again, so the second is then judged alone. Not
    judged, and always granted: a code whose bundle adds a product (it sells something), and one
    whose discount is still open (offered, pending approval). `priced`: the bundles the codes
    granted to the purchase's price, and that price."""
    purchase = scenario.purchase
    judged: list[tuple[CouponOutcome, bool]] = []  # each bundle's first code, and whether it is judged
    seen: set[str] = set()
    for c in coupons:
        if c.status in ("redeemed", "not_redeemed") and c.bundle is not None and c.bundle not in seen:
            seen.add(c.bundle)
            open_ = any(statuses.get(d) in _STILL_OPEN_ONLY for d in rules.get("bundle", c.bundle).discounts)
            judged.append((c, not open_ and not _brought(rules, purchase, c.bundle)))
    if not any(judge for _, judge in judged):
        return {}

    def nets(granted: list[str]) -> dict[str, str]:
        if granted == priced[0]:  # (the purchase as priced: no pricing again)
            return {currency: total["net"] for currency, total in priced[1]["totals"].items()}
        bundles = _bundles(purchase, model, granted)
        kept = [i for i in items(rules, purchase, bundles) if i.why is None]
        found = price(rules, scenario, plan, granted, bundles, kept, shared=True)  # (read only: no copies)
        return {currency: total["net"] for currency, total in found["totals"].items()}

    every = [c.bundle for c, _ in judged if c.bundle is not None]
    full: dict[str, str] | None = None  # the nets with every code's bundle (worked out when first needed)
    for i, (c, judge) in enumerate(judged):
        assert c.bundle is not None  # (`judged` holds codes with a bundle)
        if not judge:
            continue
        if full is None:
            full = nets(every)
        if nets(every[:i] + every[i + 1 :]) == full:
            discounts = list(rules.get("bundle", c.bundle).discounts)
            beside = [other.code for j, (other, _) in enumerate(judged) if j != i]
            facts = {"bundle": c.bundle, "discounts": discounts, "net": full, "beside": beside}
            return {c.code: Reason("coupon_grants_nothing", facts)}
    return {}


#: a discount's statuses, of those `_STILL_OPEN` names, that take nothing yet but may later
_STILL_OPEN_ONLY = frozenset({"offered", "pending_approval"})


#: a priced discount's status in a coupon's `coupon_grants_nothing` reason, where not the status's own words
_STATUS_WORDS: dict[str, str] = {"applied_for_nothing": "applied, taking nothing"}

#: the statuses of a discount a coupon grants that may still take something from the purchase
#: (an agent's offer not yet requested, a request waiting for its approver): its code is redeemed
_STILL_OPEN = frozenset({"applied", "offered", "pending_approval"})


def _names_lines(definition: Any) -> bool:
    """Whether a priced definition has a reason naming the lines it was priced on (`_lines_named`)."""
    return isinstance(definition, dict) and any(
        isinstance(r, dict) and "lines" in r.get("facts", ()) for r in definition.get("reasons", ())
    )


def _lines_named(definition: Any, names: Mapping[str, str]) -> Any:
    """A priced definition whose reasons name the purchase's products, not the lines of the
    subscription it was priced on (`line_floor`, `other_currency_lines`: "takes less than 10.00
    EUR from `sports-pack`"; until 2026-12-02 "from subscription.products[1]", a place the scenario
    does not have). A copy where one is renamed; the definition as it is otherwise (kept records
    and text written once are never changed)."""
    if not _names_lines(definition):
        return definition
    reasons = []
    for r in definition["reasons"]:
        if isinstance(r, dict) and "lines" in r.get("facts", ()):
            facts = {**r["facts"], "lines": [names.get(line, line) for line in r["facts"]["lines"]]}
            r = {**r, "facts": facts, "text": Reason(r["code"], facts).words()}
        reasons.append(r)
    return {**definition, "reasons": reasons}


def price(
    rules: Any,
    scenario: Any,
    plan: str | None,
    granted: list[str],
    bundles: list[str],
    priced: list[Item],
    shared: bool = False,
    statuses: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The discount engine's decision on a synthetic subscription holding the purchase's lines,
    limited to the discounts the purchase's bundles grant (`discounts_json` shape); `statuses`, if
    given, gets each of those discounts' status.

    Bundles that grant no discount leave the engine nothing to decide but the lines' catalog
    prices: that decision depends on the lines' products and bundles alone, so it is kept per
    those (`_undiscounted`) and handed out as a fresh copy."""
    only, reads_criteria = _granting(rules, bundles)
    if not only:
        key = tuple((i.product, i.bundle) for i in priced)
        kept = _kept(rules).undiscounted
        found = kept.get(key)
        if found is None:
            found = _decided(rules, scenario, plan, granted, priced, only, False, shared)
            _remember(kept, key, _fresh_price(found, False))
            return found
        return _fresh_price(found, shared)
    return _decided(rules, scenario, plan, granted, priced, only, reads_criteria, shared, statuses)


def _decided(
    rules: Any,
    scenario: Any,
    plan: str | None,
    granted: list[str],
    priced: list[Item],
    only: frozenset[str],
    reads_criteria: bool,
    shared: bool,
    statuses: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`price` by the discount engine. Definitions that read no criterion are decided without
    the criteria's outcomes (`{}`: the engine then reads an owner's sections, and they have none),
    so the criteria function is not called for them."""
    # its lines typed and the catalog's main service marked, as a bill's are: a coupon's discount
    # for `main_service: true` reduces the main service the purchase brings (until 2026-12-02 it
    # found no line, and the code was spent for nothing)
    if reads_criteria or _targets_main(rules, only):  # (only then: a copy of the lines costs a purchase ~6 %)
        # (the lines made typed, kept per product and bundle: `typed_lines` copies them only to mark
        # the main service or write a charge, and otherwise hands the scenario back as it is)
        synthetic = decision.typed_lines(rules, _synthetic(rules, scenario, plan, granted, priced, typed=True))
    else:
        synthetic = _synthetic(rules, scenario, plan, granted, priced)
    try:
        outcomes = decision.criteria_outcomes(rules, synthetic) if reads_criteria else {}
        decided = decision._evaluator(rules).decide(synthetic, outcomes, only, why=rules.reasons != "brief")
    except ScenarioError as exc:  # e.g. a line in another currency than a discount's amount
        raise ScenarioError("purchase", exc.message, exc.hint, exc.code) from None
    if statuses is not None:
        for r in decided.definitions:
            if r.code in only:
                nothing = r.status == "applied" and not any(r.amounts.values())
                statuses[r.code] = "applied_for_nothing" if nothing else r.status
    return decision.discounts_json(decided, shared)


def _targets_main(rules: Any, only: frozenset[str]) -> bool:
    """Whether a discount of `only` reduces the customer's main service (`main_service: true`), so
    the purchase's lines need the catalog's main service marked; kept per set of discounts."""
    kept = _kept(rules).marks_main
    found = kept.get(only)
    if found is None:
        found = _remember(
            kept,
            only,
            any(
                target.main_service
                for code in only
                if (definition := rules.get("discount", code)) is not None
                for target in definition.discounted_products
            ),
        )
    return found


def _fresh_price(found: dict[str, Any], shared: bool) -> dict[str, Any]:
    """A copy of a kept `price` (lines, definitions, totals) that a caller may change: the lines'
    and totals' values are text, the discounts taken and definitions dictionaries of text.
    `shared` (see `evaluate`): only what `evaluate` changes is copied, the lines (it drops their
    `line`); the rest is serialised at once, never changed."""
    if shared:
        return {
            "lines": [dict(line) for line in found["lines"]],
            "definitions": found["definitions"],
            "totals": found["totals"],
        }
    return {
        "lines": [{**line, "discounts": [dict(d) for d in line["discounts"]]} for line in found["lines"]],
        "definitions": [dict(d) for d in found["definitions"]],
        "totals": {currency: dict(total) for currency, total in found["totals"].items()},
    }


def _granting(rules: Any, bundles: list[str]) -> tuple[frozenset[str], bool]:
    """The discounts `bundles` grant, and whether any of them reads a criterion; kept per bundles."""
    memo = _kept(rules).granting
    key = tuple(bundles)
    found = memo.get(key)
    if found is None:
        only = frozenset(d for b in bundles for d in rules.get("bundle", b).discounts)
        owners = rules.criteria.by_owner  # a discount's criteria are owned by `discount:CODE`
        reads = any(owners.get(f"discount:{code}") for code in only)
        found = _remember(memo, key, (only, reads))
    return found


def _synthetic(
    rules: Any, scenario: Any, plan: str | None, granted: list[str], priced: list[Item], typed: bool = False
) -> Any:
    """The scenario the purchase is priced on: its subscription (or a new one from the purchase
    day) with the plan, the add-ons (bought and granted) and the priced lines; no job, no purchase.

    Built as `model_copy(update=...)` and the models' constructors build it, without their
    generic steps: the values are the scenario's own (validated) or the rule set's codes. `typed`:
    the lines typed as `decision.typed_lines` types them (`_typed_line`)."""
    make = _typed_line if typed else _line
    lines = [make(rules, i.product, i.bundle) for i in priced]
    add_ons = list(dict.fromkeys([*scenario.purchase.add_ons, *granted]))
    existing = scenario.subscription
    if existing is not None:
        # (no billing frequency: a purchase shows each product's catalog price, not a bill of the
        # subscription's period, which would charge a monthly product 12 times on a yearly one)
        # what the purchase buys (and its coupons grant) starts on its day: a discount they grant
        # counts its run from it, not from the subscription's start (`_granted_on`)
        day = scenario.as_of.date()
        update = {
            "plan": plan,
            "add_ons": add_ons,
            "add_on_starts": {**existing.add_on_starts, **dict.fromkeys(add_ons, day)},
            "products": lines,
            "billing_period": None,
            "billing_frequency": None,
        }
        subscription = _copied(existing, update)
    else:
        subscription = _new_subscription(plan, add_ons, scenario.as_of.date(), lines)
    return _copied(scenario, {"subscription": subscription, "job": None, "purchase": None})


def _line(rules: Any, product: str, bundle: str) -> Any:
    """`ProductLine(product=product, bundle=bundle)`, made once per pair and shared (frozen)."""
    memo = _kept(rules).lines
    found = memo.get((product, bundle))
    if found is None:
        found = _remember(memo, (product, bundle), ProductLine(product=product, bundle=bundle))
    return found


def _typed_line(rules: Any, product: str, bundle: str) -> Any:
    """`_line` with its catalog product's type, the copy `decision.typed_lines` makes of it (the
    same fields set: `type` is not among them), made once per pair and shared (frozen)."""
    memo = _kept(rules).typed
    found = memo.get((product, bundle))
    if found is None:
        found = line = _line(rules, product, bundle)
        kind = decision._product_types(rules).get(product) if line.type is None else None
        if kind is not None:
            found = decision._copied(line, type=kind)
        _remember(memo, (product, bundle), found)
    return found


#: `object.__setattr__(instance, name, value)` for a model's slots (what pydantic does past a frozen
#: model's `__setattr__`), as the slots' own descriptors, which are quicker to call
_SET_DICT, _SET_FIELDS, _SET_EXTRA, _SET_PRIVATE = (
    vars(BaseModel)[name].__set__
    for name in ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")
)


def _instance(cls: type[BaseModel], values: dict[str, Any], fields_set: set[str], like: Any) -> Any:
    """A `cls` instance with these field values and fields set, the extra and private values of
    `like` (copied, as pydantic's `__copy__` does): no validation, no field defaults looked up."""
    made = cls.__new__(cls)
    _SET_DICT(made, values)
    _SET_FIELDS(made, fields_set)
    extra = like.__pydantic_extra__
    _SET_EXTRA(made, None if extra is None else dict(extra))
    private = like.__pydantic_private__
    _SET_PRIVATE(made, None if private is None else dict(private))
    return made


def _copied(model: Any, update: dict[str, Any]) -> Any:
    """`model.model_copy(update=update)` (which does not validate either): a shallow copy of its
    fields with `update`'s values, `update`'s keys added to the fields set."""
    return _instance(type(model), {**model.__dict__, **update}, model.__pydantic_fields_set__ | update.keys(), model)


def _new_subscription(plan: str | None, add_ons: list[str], start: date, lines: list[Any]) -> Any:
    """`Subscription(code="purchase", plan=plan, add_ons=add_ons, start=start, products=lines)`:
    the fields' defaults of a blank subscription (fresh copies of the mutable ones), then these."""
    blank = _blank_subscription()
    values = {k: v.copy() if type(v) in (list, dict) else v for k, v in blank.__dict__.items()}
    values.update(code="purchase", plan=plan, add_ons=add_ons, start=start, products=lines)
    return _instance(Subscription, values, {"code", "plan", "add_ons", "start", "products"}, blank)


@functools.cache
def _blank_subscription() -> Any:
    """A subscription with every field at its default (but the required ones): built validated once."""
    return Subscription(code="purchase", start=date.min)

"""Decide a scenario and render the decision as deterministic JSON-ready data.

Decision shape (documented in README):

    {"scenario": id, "rules_version": hash,
     "discounts": {"lines": [...], "definitions": [...], "totals": {currency: {...}}},
     "balance": {"policy", "opening", "closing", "totals", "ledger", "refused", "alerts"},
     "cancellation": {"date", "allowed", "earliest"?, "terms": [...], "total": {currency: amount}},
     "purchase": {"allowed", "reasons", "coupons", "lines", "price", "discounts"},
     "trace": {...}}   # only with explain=True

Everything is plain data with money as text (`"20.00 EUR"`), lists in a stable order, so the
same rules and scenario give byte-identical JSON.

Fields read as a mapping: where a function reads several fields of one scenario model on every
decision, it reads them from the model's `__dict__` (`fields["subscription"]`: pydantic keeps
every field there, the same values). Pydantic's `BaseModel` defines `__getattr__`, so each
attribute read of a model passes through a hook: some 400-430 instructions, against some 100-190
for a key (about 45 reads a decision here until 2026-12-04: 2-3 % of a decision on the shipped
rules). Reading `__dict__` is itself such a read, so a function that reads one field of a model
reads it as an attribute. The other evaluators (`discounts`, `credits`, `balances`) and the
criteria's generated code (`engine.criteria.compile`) follow this note.
"""

from __future__ import annotations

import decimal
import functools
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import orjson
from mypy_extensions import mypyc_attr
from pydantic import BaseModel

from engine.criteria.environment import LINE_CHARGE, reads_line_charge
from engine.decide import balances, credits, purchases, terms
from engine.decide.discounts import (
    Block,
    CriteriaOutcomes,
    DefinitionResult,
    DiscountDecision,
    DiscountEvaluator,
    LineResult,
    SettledResult,
    line_charge,
)
from engine.decide.reasons import Reason
from engine.decide.scenarios import ScenarioError
from engine.diagnostics import did_you_mean
from engine.models.catalog import DISCOUNTABLE
from engine.models.scenario import AppliedDiscount
from engine.values import engine_context, money_text, plain


def check_references(rules: Any, scenario: Any) -> None:
    """Codes a scenario names must exist in the rules (a typo must not silently drop a request)."""
    if not scenario.requested_discounts and not scenario.approvals:
        return
    discounts = _ad_hoc(rules)
    requested: dict[str, int] = {}
    for i, request in enumerate(scenario.requested_discounts):
        first = requested.setdefault(request.discount, i)
        if first != i:  # two values or starts for one discount: neither may be dropped in silence
            raise ScenarioError(
                f"requested_discounts[{i}].discount",
                f"`{request.discount}` is requested twice (also at requested_discounts[{first}])",
                "request each discount once, with the value and dates the agent chose",
            )
        ad_hoc = discounts.get(request.discount)
        if ad_hoc is None:
            hint = did_you_mean(request.discount, discounts) or "request one of the rule set's ad hoc discounts"
            raise ScenarioError(f"requested_discounts[{i}].discount", f"unknown discount `{request.discount}`", hint)
        if not ad_hoc:
            raise ScenarioError(
                f"requested_discounts[{i}].discount",
                f"`{request.discount}` is applied automatically; only ad hoc discounts can be requested",
                "remove the request",
            )
    for i, approval in enumerate(scenario.approvals):
        if approval.discount not in discounts:
            hint = did_you_mean(approval.discount, discounts) or "approve a discount of the rule set"
            raise ScenarioError(f"approvals[{i}].discount", f"unknown discount `{approval.discount}`", hint)


_T = TypeVar("_T")


def _kept_beside(rules: Any, name: str, build: Callable[[], _T]) -> _T:
    """What `build` makes of the rule set, made once and kept beside it (a frozen dataclass: the
    cache is beside its fields; threads that build one at once all keep the first stored)."""
    cache = rules.__dict__.setdefault("_evaluators", {})
    found: _T | None = cache.get(name)
    if found is None:
        found = cache.setdefault(name, build())
    return found


def _ad_hoc(rules: Any) -> dict[str, bool]:
    """Discount code → ad hoc or not (in code order), made once per rule set and kept beside it."""
    return _kept_beside(
        rules, "ad_hoc", lambda: {code: d.type.value == "ad_hoc" for code, d in lookup(rules, "discount").items()}
    )


#: Every question a scenario can ask: (the scenario field that asks it, whether it is asked,
#: whether this engine answers it yet). A question asked but not answered is reported (BR604),
#: never dropped silently; so is a scenario that asks nothing.
QUESTIONS: tuple[tuple[str, Callable[[Any], bool], bool], ...] = (
    ("subscription", lambda s: s.subscription is not None, True),  # discounts on a subscription bill
    ("job", lambda s: s.job is not None, True),  # discounts on a job
    ("consumptions", lambda s: bool(s.consumptions), True),  # credit precedence (SPEC 3.6)
    ("balance", lambda s: s.balance is not None, True),  # credit balance (SPEC 3.7)
    ("cancellation", lambda s: s.cancellation is not None, True),  # terms and penalties (SPEC 3.4)
    ("purchase", lambda s: s.purchase is not None, True),  # purchases and coupons (SPEC 3.1, 3.5)
    ("credit_purchases", lambda s: bool(s.credit_purchases), True),  # credits bought, assigned to owners (3.6)
)


@dataclass(frozen=True)
class Unanswered:
    """A question the scenario asks that no decision answers: the field that asks it, and why."""

    field: str
    message: str
    hint: str


#: a scenario's discounts bill one subject (SPEC 4: "subscription or job")
_BOTH_SUBJECTS = Unanswered(
    "job",
    "a scenario bills a subscription or a job, not both; the job's discounts are not decided",
    "decide the job in a scenario of its own",
)


def unanswered(scenario: Any) -> list[Unanswered]:
    """The scenario's questions this engine does not answer; a scenario asking nothing is one too,
    and so is a job beside a subscription, and a part no decision of the scenario reads (`unread`:
    those it can tell without the rules; `decide` tells the rest, beside a purchase)."""
    if scenario.job is not None and scenario.subscription is not None:
        return [_BOTH_SUBJECTS]
    parts = unread(None, scenario)
    if parts:  # (a scenario whose only part is one of them: what it lacks, not "asks no question")
        return parts
    asked = [(name, answered) for name, is_asked, answered in QUESTIONS if is_asked(scenario)]
    if not asked:
        return [
            Unanswered(
                "",
                "the scenario asks no question",
                f"add one of: {', '.join(name for name, _, _ in QUESTIONS)}",
            )
        ]
    return [
        Unanswered(
            name,
            f"`{name}`: this engine does not decide {_WHAT[name]} yet; the part is not answered",
            "remove the part, or decide it with a billrules version that answers it",
        )
        for name, answered in asked
        if not answered
    ]


#: a part of a bill's discounts (SPEC 3.2) in a scenario with no `subscription` or `job` (nor a
#: `purchase` whose discounts read it): (message, hint), at the part's field
_UNREAD = {
    "agent": (
        "an agent asks which ad hoc discounts to offer on a bill: it needs the `subscription` or `job` "
        "billed, and no decision this scenario asks reads it",
        "add the `subscription` or `job` the agent serves, or remove `agent`",
    ),
    "requested_discounts": (
        "a discount request needs the `subscription` or `job` it is for; no decision this scenario asks reads it",
        "add the `subscription` or `job` the discount is requested for, or remove `requested_discounts`",
    ),
    "approvals": (
        "an approval needs the `subscription` or `job` whose discount it approves; no decision this "
        "scenario asks reads it",
        "add the `subscription` or `job` the approved discount is for, or remove `approvals`",
    ),
    "discount_history": (
        "a discount history needs the `subscription`, `job` or `purchase` whose discounts it limits; no "
        "decision this scenario asks reads it",
        "add the `subscription` or `job` billed, or remove `discount_history`",
    ),
    "usage": (
        "usage records need the `subscription` or `job` billed: a bill's discounts read them, and no "
        "decision this scenario asks does",
        "add the `subscription` or `job` the usage is billed on, or remove `usage`",
    ),
}

#: scenario credits with nothing for them to pay (no `consumptions`, no `credit_purchases`)
_UNREAD_CREDITS = Unanswered(
    "credits",
    "scenario credits are read to pay `consumptions` or `credit_purchases`, and the scenario has "
    "neither; no decision this scenario asks reads them",
    "add the `consumptions` the credits pay for, or remove `credits`",
)


def unread(rules: Any, scenario: Any) -> list[Unanswered]:
    """The parts of a scenario that no decision it asks reads (BR604 each, at its field: SPEC 4,
    the decision answers exactly the questions asked, and a part none answers is reported, never
    dropped in silence). With no `subscription` and no `job`: an agent, discount requests,
    approvals, usage records and a discount history, which a bill's discounts read; beside a
    purchase, those the discounts the purchase's bundles may grant cannot read (`_purchase_reads`).
    Scenario credits with no `consumptions` or `credit_purchases` to pay, unless criteria read
    them. What only the rules tell (beside a purchase, or a bill's credits) is told with `rules`,
    by `decide`. Until 2026-12-03 they were dropped in silence beside another question."""
    fields = scenario.__dict__  # (read as a mapping: the module's docstring)
    if fields["subscription"] is not None or fields["job"] is not None:
        beside = _unread_beside_questions(rules, scenario) if rules is not None else []
        if rules is not None and fields["credits"] and _credits_unread(rules, scenario):
            return [*beside, _UNREAD_CREDITS]
        return beside
    if not (
        fields["credits"]
        or fields["usage"]
        or fields["agent"] is not None
        or fields["requested_discounts"]
        or fields["approvals"]
        or fields["discount_history"]
    ):
        return []  # (the usual balance or credits scenario: no list made)
    found: list[Unanswered] = []
    purchase = fields["purchase"] is not None
    if not purchase:
        for name, (message, hint) in _UNREAD.items():
            if fields[name]:
                found.append(Unanswered(name, message, hint))
    elif rules is not None:
        found += _unread_by_purchase(rules, scenario)
    nothing_to_pay = fields["credits"] and not fields["consumptions"] and not fields["credit_purchases"]
    if nothing_to_pay and (not purchase or (rules is not None and "credits" not in _purchase_reads(rules).roots)):
        found.append(_UNREAD_CREDITS)
    return found


def _unread_beside_questions(rules: Any, scenario: Any) -> list[Unanswered]:
    """A subscription or job with no line, beside a cancellation or a purchase (no discount
    question, `asks_discounts`): its `usage` and `discount_history` are read only by the terms'
    exceptions and by the discounts a purchase's bundles may grant; BR604 for one neither reads (an
    audit of 2026-12-03: they were dropped in silence)."""
    if not (scenario.usage or scenario.discount_history) or asks_discounts(scenario):
        return []
    from engine.criteria import ast

    reads: frozenset[str] = _kept_beside(
        rules,
        "criteria_read_by_terms",
        lambda: frozenset(
            node.id
            for entry in rules.criteria.entries
            if entry.owner.startswith("term:")
            for node in ast.walk(entry.tree)
            if isinstance(node, ast.Name)
        ),
    )
    granted = False
    if scenario.purchase is not None:
        purchase_reads = _purchase_reads(rules)
        reads = reads | purchase_reads.roots
        granted = bool(purchase_reads.granted)  # (a granted discount's limit and run read the history)
    found: list[Unanswered] = []
    what = "`subscription`" if scenario.subscription is not None else "`job`"
    if scenario.usage and "usage" not in reads:
        found.append(
            Unanswered(
                "usage",
                f"usage records are read by a bill's discounts, and this {what} has no line to bill (no "
                "`products`); no term's exception or discount a purchase may grant reads usage",
                f"give the {what}'s `products` to ask for its bill's discounts, or remove `usage`",
            )
        )
    if scenario.discount_history and "discount_history" not in reads and not granted:
        # (without a purchase no bundle's discount is granted: until 2026-12-04 the words were "no
        # bundle grants a discount", false of rule sets whose bundles grant some)
        granting = (
            "no bundle grants a discount"
            if scenario.purchase is not None
            else "no purchase is asked whose bundles' discounts it could limit"
        )
        found.append(
            Unanswered(
                "discount_history",
                f"a discount history limits a bill's discounts, and this {what} has no line to bill (no "
                f"`products`); no term's exception reads it and {granting}",
                f"give the {what}'s `products` to ask for its bill's discounts, or remove `discount_history`",
            )
        )
    return found


def _credits_unread(rules: Any, scenario: Any) -> bool:
    """Whether a bill's scenario credits are read by nothing: no `consumptions` or
    `credit_purchases` for them to pay, and no criterion of a discount or a term names `credits`
    (worked out once per rule set, kept beside it)."""
    if scenario.consumptions or scenario.credit_purchases:
        return False
    from engine.criteria import ast

    read = _kept_beside(
        rules,
        "criteria_read_credits",
        lambda: any(
            isinstance(node, ast.Name) and node.id == "credits"
            for entry in rules.criteria.entries
            if entry.owner.startswith(("discount:", "term:"))
            for node in ast.walk(entry.tree)
        ),
    )
    return not read


@dataclass(frozen=True)
class _PurchaseReads:
    """What a purchase's pricing may read of a scenario with no subscription or job: it decides
    the discounts the purchase's bundles grant (`purchases.price`), of all the rule set's bundles
    at most, on a copy of the scenario."""

    granted: frozenset[str]  # the discounts some bundle grants
    ad_hoc: bool  # some of them is ad hoc (offered to the agent, requested, approved)
    roots: frozenset[str]  # the names their criteria read (`usage`, `agent`, ...; bound names too)


def _purchase_reads(rules: Any) -> _PurchaseReads:
    """`_PurchaseReads` of the rule set, made once and kept beside it."""
    return _kept_beside(rules, "purchase_reads", lambda: _purchase_reads_of(rules))


def _purchase_reads_of(rules: Any) -> _PurchaseReads:
    from engine.criteria import ast

    granted = frozenset(code for bundle in lookup(rules, "bundle").values() for code in bundle.discounts)
    ad_hoc = _ad_hoc(rules)
    entries, owners = rules.criteria.entries, rules.criteria.by_owner
    roots = frozenset(
        node.id
        for code in granted
        for i in owners.get(f"discount:{code}", ())
        for node in ast.walk(entries[i].tree)
        if isinstance(node, ast.Name)
    )
    return _PurchaseReads(granted, any(ad_hoc.get(code, False) for code in granted), roots)


def _unread_by_purchase(rules: Any, scenario: Any) -> list[Unanswered]:
    """`unread` beside a purchase (no subscription, no job): a request or an approval of a
    discount no bundle grants, an agent where no bundle grants an ad hoc discount, usage no
    granted discount's criteria read, a history where no bundle grants a discount."""
    reads = _purchase_reads(rules)
    found: list[Unanswered] = []
    if scenario.agent is not None and not reads.ad_hoc and "agent" not in reads.roots:
        message, hint = _UNREAD["agent"]
        found.append(
            Unanswered("agent", f"{message} (no bundle grants an ad hoc discount for a purchase to offer)", hint)
        )
    for name, kind in (("requested_discounts", "request"), ("approvals", "approval")):
        if name in reads.roots:
            continue
        for i, part in enumerate(getattr(scenario, name)):
            if part.discount not in reads.granted:
                message = (
                    f"a discount {kind} needs the `subscription` or `job` it is for: a purchase reads "
                    f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} "
                    f"only of a discount its bundles grant, and no bundle grants `{part.discount}`"
                )
                hint = f"add the `subscription` or `job` the discount is for, or remove the {kind}"
                found.append(Unanswered(f"{name}[{i}].discount", message, hint))
    if scenario.discount_history and not reads.granted and "discount_history" not in reads.roots:
        message, hint = _UNREAD["discount_history"]
        found.append(Unanswered("discount_history", f"{message} (no bundle grants a discount)", hint))
    if scenario.usage and "usage" not in reads.roots:
        message, hint = _UNREAD["usage"]
        found.append(Unanswered("usage", f"{message} (no discount a purchase may grant reads usage)", hint))
    return found


def _check_read(rules: Any, scenario: Any) -> None:
    """ScenarioError (BR604) naming every part of the scenario no decision reads (`unread`)."""
    parts = unread(rules, scenario)
    if parts:
        raise ScenarioError.of(
            [ScenarioError(p.field, p.message, p.hint, "BR604", key="[" not in p.field) for p in parts]
        )


_WHAT = {
    "consumptions": "credit precedence",
    "balance": "credit balances",
    "cancellation": "cancellations",
    "purchase": "purchases",
}


def decide(
    rules: Any,
    scenario: Any,
    *,
    explain: bool = False,
    shared: bool = False,
    owned: bool = False,
    text: bool = False,
) -> dict[str, Any]:
    """Answer the scenario's questions; raises ScenarioError for a scenario that cannot be decided.

    `shared`: for a writer that serialises the decision at once (`decide_text`): records the rule
    set keeps (reasons, results every scenario shares) are put in as they are kept, not copied,
    and shared results as JSON written once (`orjson.Fragment`). Without it, every part is fresh
    data the caller may change. `owned`: the scenario was validated for this decision alone (from
    a mapping or a line), so its lines take their catalog types in place, with no copy. `text`
    (with `shared`, for `decide_text` alone): the definitions of discounts decided by blocks
    come as `DefinitionsText`, JSON text that `decide_text` puts in (the decision is not
    JSON-ready data before), and the discount part of a kept bill none of whose results the
    scenario asks for comes as `PartText` (`_discounts_written`). Runs in the engine's decimal
    context (`engine.values.ARITHMETIC`), the caller's set back after it."""
    caller = decimal.getcontext()
    ours = engine_context()
    if caller is ours:  # a run's chunk, the command line
        return _checked_and_decided(rules, scenario, explain, shared, owned, text)
    decimal.setcontext(ours)
    try:
        return _checked_and_decided(rules, scenario, explain, shared, owned, text)
    finally:
        decimal.setcontext(caller)


def _checked_and_decided(
    rules: Any, scenario: Any, explain: bool, shared: bool, owned: bool, text: bool = False
) -> dict[str, Any]:
    fields = scenario.__dict__  # (read as a mapping: the module's docstring)
    if (
        (fields["subscription"] is None and fields["job"] is None)
        or fields["credits"]
        or ((fields["usage"] or fields["discount_history"]) and (fields["cancellation"] or fields["purchase"]))
    ):  # (a bill reads the rest)
        _check_read(rules, scenario)
    if fields["requested_discounts"] or fields["approvals"]:
        check_references(rules, scenario)
    known = _known_codes(rules)
    if not _all_known(fields, known):  # the common case at set speed (2.1 → 0.6 µs a decision)
        check_codes(scenario, known)  # (raises, naming every unknown code)
    decided = _typed_lines(rules, *_scheme_facts(rules, scenario, fields, owned), owned)
    return _decide(rules, decided, explain, shared, text)


def as_decided(rules: Any, scenario: Any, owned: bool = False) -> Any:
    """The scenario as the rule set's decisions and criteria read it: its subscription's billing
    term scheme's facts filled in (`scheme_facts`), its lines typed, marked and charged from the
    catalog (`typed_lines`). A copy where anything is filled in, unless `owned`."""
    return typed_lines(rules, scheme_facts(rules, scenario, owned), owned)


def scheme_facts(rules: Any, scenario: Any, owned: bool = False) -> Any:
    """The scenario with a subscription written without `billing_frequency` or `binding_period`
    given its billing term scheme's: criteria (`billing_frequencies`, `binding_periods`), durations
    and cancellations read the same subscription (a cancellation already took the scheme's
    frequency). A copy unless `owned`, as `typed_lines` makes one."""
    return _scheme_facts(rules, scenario, scenario.__dict__, owned)[0]


def _scheme_facts(rules: Any, scenario: Any, fields: dict[str, Any], owned: bool) -> tuple[Any, dict[str, Any]]:
    """`scheme_facts`, and the fields of the scenario it gives (`fields`: the scenario's, read as a mapping)."""
    subscription = fields["subscription"]
    if subscription is None:
        return scenario, fields
    held = subscription.__dict__
    code = held["billing_term_scheme"]
    if code is None or (held["billing_frequency"] is not None and held["binding_period"] is not None):
        return scenario, fields
    scheme = rules.get("billing_term_scheme", code)
    if scheme is None:
        return scenario, fields
    changes = {}
    if held["billing_frequency"] is None:
        changes["billing_frequency"] = scheme.billing_frequency
    if held["binding_period"] is None and scheme.binding_period is not None:
        changes["binding_period"] = scheme.binding_period
    if not changes:
        return scenario, fields
    if owned:
        held.update(changes)  # (a frozen model: past its `__setattr__`)
        return scenario, fields
    copy = _copied(scenario, subscription=_copied(subscription, **changes))
    return copy, copy.__dict__


#: `decide(text=True)` gives the definitions as text (`DefinitionsText`) from this many discount
#: definitions on: joining the text in saves orjson writing and decoding a long list again (400
#: definitions: 3 % of a decision), but for a short one costs more than it saves (the shipped
#: rules' 20: 2 % more)
TEXT_FROM = 100


def _decide(rules: Any, scenario: Any, explain: bool, shared: bool, text: bool = False) -> dict[str, Any]:
    fields = scenario.__dict__  # (read as a mapping: the module's docstring)
    subscription, job = fields["subscription"], fields["job"]
    if job is not None and subscription is not None:
        raise ScenarioError(_BOTH_SUBJECTS.field, _BOTH_SUBJECTS.message, _BOTH_SUBJECTS.hint, "BR604")
    outcomes = CriteriaOutcomes(rules.criteria, scenario)  # (`criteria_outcomes`)
    decision: dict[str, Any] = {"scenario": fields["id"], "rules_version": rules.rules_version}
    billed = _asks_discounts(fields)
    bought = scenario  # what the purchase reads: with this bill's applications as history
    purchase, cancellation = fields["purchase"], fields["cancellation"]
    if billed:
        evaluator = _evaluator(rules)
        decided = evaluator.decide(scenario, outcomes, why=rules.reasons != "brief")
        as_text = shared and text and len(evaluator.by_code) >= TEXT_FROM
        applied_only = rules.listed == "applied"
        if shared and text:  # (`decide_text`: the part of a kept bill as text, `_discounts_written`)
            decision["discounts"] = _discounts_written(decided, applied_only, as_text)
        else:
            decision["discounts"] = discounts_json(decided, shared, applied_only, lines_written=shared)
        if purchase is not None:
            bought = with_bill_applied(scenario, decided)
    if fields["balance"] is not None:
        decision["balance"] = balances.balance_json(balances.evaluate(rules, scenario))
    if fields["consumptions"] or fields["credit_purchases"]:
        decision["credits"] = credits.credits_json(credits.evaluate(rules, scenario, explain), explain)
    if cancellation is not None:
        decision["cancellation"] = _cached(rules, "terms").decide(scenario, outcomes).to_json(explain)
    if purchase is not None:
        decision["purchase"] = purchases.evaluate(rules, scenario, shared, billed=bought)
        changed = purchases.plan_changed_on(scenario, decision["purchase"]["allowed"]) if cancellation else None
        if changed is not None and cancellation.date > changed:  # of the new plan's contract: not judged
            # (until 2026-12-03 the old contract's terms were judged again, their penalties charged twice)
            running = purchases.ends_contract(scenario)  # (else the purchase charged nothing: say so)
            decision["cancellation"] = terms.after_plan_change(
                cancellation.date, changed, subscription.plan, purchase.plan, running
            )
    if explain and (subscription is not None or job is not None):
        # the discounts' criteria (when asked), and the exceptions of the terms this cancellation
        # decided (not those of every term of the rule set)
        decided_terms = {f"term:{t['term']}" for t in decision.get("cancellation", {}).get("terms", ())}
        owners = {o for o in rules.criteria.by_owner if (billed and o.startswith("discount:")) or o in decided_terms}
        decision["trace"] = trace(rules, scenario, owners)
    if len(decision) == 2:  # nothing asked: an error (BR604), as on the command line, not an empty answer
        nothing = unanswered(scenario)[0]
        raise ScenarioError("scenario", nothing.message, nothing.hint, "BR604")
    return decision


def with_bill_applied(scenario: Any, decided: DiscountDecision) -> Any:
    """The scenario as its purchase reads it beside its bill: each discount the bill applies
    (status `applied`) written as a `discount_history` entry on the bill's day (`as_of`), after
    the history given, so that the purchase's price reads that application as it reads the
    history (a limit reached, a run spent: README "Purchases and coupons"). The scenario itself
    when the bill applies nothing. Until 2026-12-03 the purchase read the history alone, and one
    application was made again on the purchase's price."""
    applied = decided.applied()
    if not applied:
        return scenario
    fields = scenario.__dict__
    day = fields["as_of"].date()
    # (not validated again: a rule set's discount code, a date)
    entries = [_model(AppliedDiscount, {"discount": r.code, "on": day}, {"discount", "on"}) for r in applied]
    return _copied(scenario, discount_history=[*fields["discount_history"], *entries])


def asks_discounts(scenario: Any) -> bool:
    """Whether the scenario asks the discount question: it bills a subscription or a job, unless
    that holds no line and only stands beside another question (a cancellation, a purchase: the
    subscription it cancels or buys for), with no agent, request or approval. SPEC 4: the decision
    answers exactly the questions asked; until 2026-12-02 a cancellation written with a bare
    subscription got every discount definition back, not eligible for want of a line."""
    return _asks_discounts(scenario.__dict__)


def _asks_discounts(fields: dict[str, Any]) -> bool:
    """`asks_discounts` of the scenario of these fields (read as a mapping)."""
    subject = fields["subscription"]
    if subject is None:
        subject = fields["job"]
        if subject is None:
            return False
    if subject.products or fields["agent"] is not None or fields["requested_discounts"] or fields["approvals"]:
        return True
    return fields["cancellation"] is None and fields["purchase"] is None


def check_codes(scenario: Any, known: dict[str, frozenset[str]]) -> None:
    """BR603 for a plan, billing term scheme, bundle, segment or discount (in the history) the rule
    set does not define: criteria compare them with the rules' codes, so a typo would change the
    bill in silence (`triple-play-42` lost its multi-service discount; `complaint-discont` in the
    history let a fourth complaint discount through). SPEC 6: a bad scenario is reported, never a
    partial silent result. Every such code is reported, with "did you mean" (`validate --scenarios`
    checks the same, and users and units too: those a scenario may name for a CRM's own staff).
    Called when `_all_known` finds a code the rules lack (`known`: `_known_codes`)."""
    found: list[tuple[str, str, str]] = []  # (field, kind, code)
    subscription = scenario.subscription
    if subscription is not None:
        if scenario.cancellation is None and subscription.plan is not None and subscription.plan not in known["plan"]:
            found.append(("subscription.plan", "plan", subscription.plan))  # (a cancellation's own check: BR616)
        scheme = subscription.billing_term_scheme
        if scheme is not None and scheme not in known["billing_term_scheme"]:
            found.append(("subscription.billing_term_scheme", "billing term scheme", scheme))
        if scenario.cancellation is None:
            found += _unknown_in("subscription.add_ons", "bundle", subscription.add_ons, known)
    if scenario.account is not None:
        found += _unknown_in("account.segments", "segment", scenario.account.segments, known)
    subject, where = (subscription, "subscription") if subscription is not None else (scenario.job, "job")
    if subject is not None:
        bundles = [line.bundle for line in subject.products]
        found += [(f"{where}.products[{i}].bundle", kind, code) for i, kind, code in _unknown(bundles, "bundle", known)]
    if scenario.job is not None:
        found += _unknown_in("job.segments", "segment", scenario.job.segments, known)
    history = [h.discount for h in scenario.discount_history]
    found += [(f"discount_history[{i}].discount", kind, code) for i, kind, code in _unknown(history, "discount", known)]
    for field in ("termed_service", "product"):  # what usage sections compare with the catalog's products
        named = [getattr(u, field) for u in scenario.usage]
        found += [(f"usage[{i}].{field}", kind, code) for i, kind, code in _unknown(named, "product", known)]
    if found:
        problems = [
            ScenarioError(
                field,
                f"unknown {kind} `{code}`",
                did_you_mean(code, known[kind.replace(" ", "_")]) or f"use a {kind} code from the rule set",
            )
            for field, kind, code in found
        ]
        raise ScenarioError.of(problems)


def _all_known(fields: dict[str, Any], known: dict[str, frozenset[str]]) -> bool:
    """Does the rule set define every code `check_codes` checks? (Set tests only, no lists made.)
    `fields`: the scenario's (read as a mapping)."""
    subscription = fields["subscription"]
    bundles = known["bundle"]
    if subscription is not None:
        held = subscription.__dict__
        scheme = held["billing_term_scheme"]
        if scheme is not None and scheme not in known["billing_term_scheme"]:
            return False
        if fields["cancellation"] is None and (
            ((plan := held["plan"]) is not None and plan not in known["plan"])
            or not bundles.issuperset(held["add_ons"])
        ):
            return False
        products = held["products"]
    else:
        job = fields["job"]
        if job is None:
            products = ()
        else:
            held = job.__dict__
            if not known["segment"].issuperset(held["segments"]):
                return False
            products = held["products"]
    for line in products:
        bundle = line.__dict__["bundle"]
        if bundle is not None and bundle not in bundles:
            return False
    account = fields["account"]
    if account is not None and (segments := account.__dict__["segments"]) and not known["segment"].issuperset(segments):
        return False
    history = fields["discount_history"]
    if history and not all(h.__dict__["discount"] in known["discount"] for h in history):
        return False
    usage = fields["usage"]
    if not usage:
        return True
    codes = known["product"]
    for u in usage:
        held = u.__dict__
        service, product = held["termed_service"], held["product"]
        if (service is not None and service not in codes) or (product is not None and product not in codes):
            return False
    return True


def _unknown(codes: Sequence[str | None], kind: str, known: dict[str, frozenset[str]]) -> list[tuple[int, str, str]]:
    """(index, kind as worded, code) of each code given that the rule set does not define."""
    return [(i, kind, code) for i, code in enumerate(codes) if code is not None and code not in known[kind]]


def _unknown_in(
    field: str, kind: str, codes: Sequence[str], known: dict[str, frozenset[str]]
) -> list[tuple[str, str, str]]:
    """`_unknown` of a list field, each at its place (`account.segments[1]`)."""
    return [(f"{field}[{i}]", worded, code) for i, worded, code in _unknown(codes, kind, known)]


@mypyc_attr(native_class=False)  # (compiled: a builtin type's subclass stays a Python class)
class _Any(frozenset[str]):
    """Every code: a kind the rule set declares none of (`OPEN_KINDS`)."""

    def __contains__(self, code: object) -> bool:
        return True

    def issuperset(self, codes: Any) -> bool:
        return True


_ANY = _Any()


def _known_codes(rules: Any) -> dict[str, frozenset[str]]:
    """Kind → the rule set's codes, for `check_codes`: made once per rule set, kept beside its
    fields (a frozen dataclass; read on every decision, so one look-up, not two)."""
    found: dict[str, frozenset[str]] | None = rules.__dict__.get("_known_codes")
    if found is None:
        from engine.references import OPEN_KINDS

        kinds = ("plan", "billing_term_scheme", "bundle", "segment", "discount", "product")
        found = {kind: frozenset(rules.catalog.get(kind, {})) for kind in kinds}
        for kind in OPEN_KINDS:  # none declared: any code is taken
            if kind in found and not found[kind]:
                found[kind] = _ANY
        rules.__dict__["_known_codes"] = found
    return found


def typed_lines(rules: Any, scenario: Any, owned: bool = False) -> Any:
    """The scenario with each line written without `type` given its catalog product's ("taken
    from the catalog when omitted"), so that `p.type == "termed"` and a `products` section's
    `product_type` see what the discount's own `discounted_products` see; and, on a bill that
    marks no line `main`, the line of a catalog main service (`main_service: true`; of several,
    `_main_line`) marked `main`, so that `p.main` and a `main_service` target agree. A copy, made only when some line
    needs it: the caller's scenario is never changed (`diff` decides one under two rule sets, and
    threads may share one); copies are shallow, lines and their parents only. A scenario `owned`
    by this decision is changed in place (a billing run's lines, `RuleSet.decide` of a mapping)."""
    return _typed_lines(rules, scenario, scenario.__dict__, owned)


def _typed_lines(rules: Any, scenario: Any, fields: dict[str, Any], owned: bool) -> Any:
    """`typed_lines` (`fields`: the scenario's, read as a mapping; each line's read so too)."""
    subscription = fields["subscription"]
    subject = subscription if subscription is not None else fields["job"]
    if subject is None:
        return scenario
    products = subject.__dict__["products"]
    types = _product_types(rules)
    mains = _main_services(rules)
    chosen: int | None = None  # the line to mark, on a bill that marks none (worked out when it matters)
    lines: list[Any] | None = None
    catalog = lookup(rules, "product") if _reads_charge(rules) else None
    billed = (
        subscription.__dict__["billing_frequency"]
        if subscription is not None and (catalog is not None or mains)
        else None
    )
    for i, line in enumerate(products):
        held = line.__dict__
        kind = held["type"]
        main = False
        if mains and not held["main"] and held["product"] in mains:
            if chosen is None:
                marked = any(other.main for other in products)
                chosen = -1 if marked else _main_line(rules, billed, products, mains)
            main = i == chosen
        if not main and catalog is None:  # the usual line: no main service to mark, no charge
            if kind is None and owned:  # typed in place (a frozen model: past its `__setattr__`)
                found = types.get(held["product"])
                if found is not None:
                    held["type"] = found
                continue
            if kind is not None:
                continue  # typed, nothing to change
        changes: dict[str, Any] = {"main": True} if main else {}
        if catalog is not None:  # `p.charge`: this rule set's catalog price, on this bill
            changes[LINE_CHARGE] = line_charge(line, catalog.get(held["product"]), billed)
        if kind is None:
            found = types.get(held["product"])
            if found is not None:
                changes["type"] = found
        if changes:
            if owned:
                held.update(changes)  # (a frozen model: past its `__setattr__`)
                continue
            if lines is None:
                lines = list(products)
            lines[i] = _copied(line, **changes)
    if lines is None:
        return scenario
    field = "subscription" if subscription is not None else "job"
    return _copied(scenario, **{field: _copied(subject, products=lines)})


def _reads_charge(rules: Any) -> bool:
    """Whether some criterion of the rule set reads a line's `charge` (`p.charge`,
    `sum(subscription.products.charge)`), worked out once and kept beside the rule set: only
    then does `typed_lines` work out each line's charge (and copy the lines to hold it)."""
    found: bool | None = rules.__dict__.get("_reads_charge")
    if found is None:
        found = rules.__dict__["_reads_charge"] = any(reads_line_charge(entry.tree) for entry in rules.criteria.entries)
    return found


def _main_line(rules: Any, billed: Any, products: Sequence[Any], mains: frozenset[str]) -> int:
    """The customer's main service on a bill that marks none: of the lines of the catalog's main
    services, the one that charges most on this bill (its `charge`: a monthly product on a yearly
    bill charges 12 months; until 2026-12-02 its monthly price was compared), then the lower
    product code, then the first, whatever the lines' order; "the customer's main service" is one
    (seed 002). `billed`: the subscription's billing frequency (None: each product's own period)."""
    catalog = lookup(rules, "product")

    def charge(line: Any) -> Decimal:  # what the line charges on this bill (`p.charge`; none: 0)
        found = line_charge(line, catalog.get(line.product), billed)
        return Decimal(found.amount) if found is not None else Decimal(0)

    candidates = [  # of a product a discount may reduce (SPEC 3.2)
        (i, line)
        for i, line in enumerate(products)
        if line.product in mains and catalog[line.product].type in DISCOUNTABLE
    ]
    if not candidates:
        return -1
    best = min(candidates, key=lambda pair: (-charge(pair[1]), pair[1].product, pair[0]))
    return best[0]


def _copied(model: Any, **changes: Any) -> Any:
    """`model.model_copy(update=changes)` for a frozen model, the fields set kept: the instance's
    `__dict__` with the changes, made past the model's `__init__` as pydantic copies do (a copy
    per decision that needs one: about 0.3 µs against 3 for `model_copy`)."""
    return _model(type(model), {**model.__dict__, **changes}, model.__pydantic_fields_set__, model)


def _model(cls: type[BaseModel], values: dict[str, Any], fields_set: set[str], like: Any = None) -> Any:
    """A `cls` instance of these values (its `__dict__` itself) and fields set, not validated; its
    extra and private values None, or `like`'s (as pydantic's copies share them). Made in one
    pydantic-core call (`_scenario_direct._instance`) for a model whose extra and private values
    are always None (extra forbidden or ignored, no private attributes: the scenario's models),
    else set one by one past the frozen model's `__setattr__`."""
    make = _maker(cls)
    if make is not None:
        return make((values, None, fields_set))
    made = cls.__new__(cls)
    _SET_DICT(made, values)
    _SET_FIELDS(made, fields_set)
    _SET_EXTRA(made, None if like is None else like.__pydantic_extra__)
    _SET_PRIVATE(made, None if like is None else like.__pydantic_private__)
    return made


@functools.cache
def _maker(cls: type[BaseModel]) -> Callable[[Any], Any] | None:
    """`_instance(cls)` for a model whose extra and private values are always None, else None."""
    if cls.model_config.get("extra") == "allow" or cls.__private_attributes__:
        return None
    # (imported here, once per class: the builder's module costs some 4 ms to import, which a
    # command that decides nothing, `validate` in a pre-commit hook, should not pay)
    from engine.models._scenario_direct import _instance

    return _instance(cls)


#: `object.__setattr__(instance, name, value)` for a model's slots (what pydantic does past a frozen
#: model's `__setattr__`), as the slots' own descriptors, which are quicker to call
_SET_DICT, _SET_FIELDS, _SET_EXTRA, _SET_PRIVATE = (
    vars(BaseModel)[name].__set__
    for name in ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")
)


def _main_services(rules: Any) -> frozenset[str]:
    """The codes of the catalog's main services, made once per rule set and kept beside it."""
    found: frozenset[str] | None = rules.__dict__.get("_main_services")
    if found is None:
        products = lookup(rules, "product").items()
        found = rules.__dict__["_main_services"] = frozenset(code for code, p in products if p.main_service)
    return found


def _product_types(rules: Any) -> dict[str, Any]:
    """Product code → its type, made once per rule set and kept beside it."""
    found: dict[str, Any] | None = rules.__dict__.get("_product_types")
    if found is None:
        found = rules.__dict__["_product_types"] = {code: p.type for code, p in lookup(rules, "product").items()}
    return found


def criteria_outcomes(rules: Any, scenario: Any) -> CriteriaOutcomes:
    """Every criterion's outcome for `scenario` (one call of the generated function, made when
    first asked for), by owner on demand."""
    return CriteriaOutcomes(rules.criteria, scenario)


def lookup(rules: Any, kind: str) -> dict[str, Any]:
    """`rules.models(kind)` (code → model, in code order) built once per rule set and kept beside
    it: for the decision path, which must not rebuild and sort it per decision. Read only."""
    cache = rules.__dict__.setdefault("_evaluators", {})  # frozen dataclass: cache beside the fields
    key = f"models:{kind}"
    if key not in cache:
        cache[key] = rules.models(kind)
    found: dict[str, Any] = cache[key]
    return found


def _cached(rules: Any, name: str) -> Any:
    """An evaluator built once per rule set (lookups and rounding prepared), kept beside it."""
    try:  # (kept: read at once, no function made to build it)
        return rules.__dict__["_evaluators"][name]
    except KeyError:
        return _kept_beside(rules, name, lambda: {"terms": terms.TermEvaluator}[name](rules))


def _evaluator(rules: Any) -> Any:
    """The rule set's `DiscountEvaluator`, made once. (Typed `Any`: the benchmarks and tests put the
    frozen reference, `discounts_reference.ReferenceEvaluator`, in its place, and compiled code
    checks a declared type.)"""
    try:  # (kept: read at once, no dictionary made for `setdefault`)
        return rules.__dict__["_evaluators"]["discounts"]
    except KeyError:
        pass
    cache = rules.__dict__.setdefault("_evaluators", {})  # frozen dataclass: cache beside the fields
    # (threads that build one at once all keep the first stored)
    return cache.setdefault("discounts", DiscountEvaluator(rules))


#: the statuses `RuleSet.applied_only` counts rather than lists: nothing to bill, nothing to do
OMITTED = ("not_effective", "not_eligible")


def discounts_json(
    d: DiscountDecision,
    shared: bool = False,
    applied_only: bool = False,
    lines_written: bool = False,
    text: bool = False,
) -> dict[str, Any]:
    """The discount part of a decision (`shared`: see `decide`; `applied_only`: see
    `RuleSet.applied_only`; `lines_written`: with `shared`, a line the evaluator kept is put in
    as JSON text, for a caller that reads no line back). A bill the evaluator kept (`d.written`)
    is written once (`_bill_written`): its decisions differ only in the results the scenario
    asks for, written afresh; `text` (with `shared`): its definitions as `DefinitionsText`."""
    written = d.written
    if written is not None and shared:
        return _bill_json(d, written, applied_only, lines_written, text)
    omitted = dict.fromkeys(OMITTED, 0) if applied_only else None
    lines, totals = _lines_json(d, shared, lines_written)
    definitions: Any
    if shared and d.blocks is not None:
        definitions = _blocks_json(d.blocks, omitted, text)
    else:
        definitions = []
        reasons = _records if shared else _reasons
        for r in d.definitions:
            if omitted is not None and r.status in omitted:
                omitted[r.status] += 1
                continue
            if type(r) is SettledResult:  # shared by decisions: written once, or as fresh copies
                if shared:
                    definitions.append(orjson.Fragment(r.written or _settled_text(r)))
                else:
                    definitions.append(_settled_item(r, _reasons))
                continue
            definitions.append(_item(r, reasons))
    return _part(lines, definitions, omitted, totals)


def _discounts_written(d: DiscountDecision, applied_only: bool, text: bool) -> Any:
    """`discounts_json(d, shared=True, lines_written=True)`, for `decide_text`; but of a bill the
    evaluator kept none of whose results the scenario asks for (`Block.asked`), the whole part as
    text, written once and kept in the bill's `written` (`_whole_part`): every decision of that
    bill and key would write the same part afresh (47 of the 89 samples on the shipped rules)."""
    written = d.written
    if written is None or d.blocks is None or d.blocks[0][0].asked:
        return discounts_json(d, True, applied_only, True, text)
    key = (applied_only, text, "part")
    found = written.get(key)
    if found is None:
        found = written[key] = _whole_part(discounts_json(d, True, applied_only, True, text))
    return found


def _whole_part(part: dict[str, Any]) -> Any:
    """A decision's discount part as JSON text (`PartText`), which `written_text` joins into the
    decision's text: as an `orjson.Fragment`, orjson would copy it and the decision's text be
    decoded with it again (some 5 KB a decision on the shipped rules, 160 KB at 400 definitions).
    Definitions as text (`DefinitionsText`) are joined in first. TypeError for what orjson refuses
    (nothing is kept then: `decide_text` writes the plain decision)."""
    definitions = part["definitions"]
    if type(definitions) is not DefinitionsText:
        return PartText(orjson.dumps(part).decode())
    part["definitions"] = _SPOT  # (the part's own dictionary: `_part` makes one each time)
    return PartText(definitions.put_in(orjson.dumps(part).decode()))


def _part(lines: list[Any], definitions: Any, omitted: dict[str, int] | None, totals: Any) -> dict[str, Any]:
    part: dict[str, Any] = {"lines": lines, "definitions": definitions}
    if omitted is not None:
        part["omitted"] = omitted
    part["totals"] = totals
    return part


def _lines_json(d: DiscountDecision, shared: bool, lines_written: bool) -> tuple[list[Any], dict[str, Any]]:
    """The lines' items and the totals by currency (`discounts_json`)."""
    lines: list[Any] = []
    #: currency → its one line so far (a LineResult: its totals are its own texts), or the sums
    totals: dict[str, Any] = {}
    for result in d.lines:
        line = result.line
        written = result.written
        texts = (written.get("texts") or _line_texts(result, written)) if written is not None else None
        if written is not None and lines_written and shared:
            # a line kept by the evaluator: what follows its field is written once
            tail = written.get("item")
            if tail is None:
                tail = written["item"] = orjson.dumps(_line_item(result, texts))[1:]
            head = _LINE_HEADS.get(line.field) or _line_head(line.field)
            lines.append(orjson.Fragment(head + tail))
        elif written is not None and shared:  # its item's data made once, shared by the writers
            data = written.get("data")
            if data is None:
                data = written["data"] = _line_item(result, texts)
            lines.append({"line": line.field, **data})
        else:
            lines.append({"line": line.field, **_line_item(result, texts)})
        currency = line.gross.currency
        total = totals.get(currency)
        if total is None:
            totals[currency] = result
            continue
        if type(total) is LineResult:  # a second line of the currency: sums from here on
            total = totals[currency] = _sums(total)
        total["gross"] += _gross_shown(result)
        total["discount"] += result.discount
        total["net"] += result.net.amount
    texts = {c: _totals_texts(t, c) for c, t in (sorted(totals.items()) if len(totals) > 1 else totals.items())}
    return lines, texts


def _bill_json(
    d: DiscountDecision, written: dict[Any, Any], applied_only: bool, lines_written: bool, text: bool
) -> dict[str, Any]:
    """`discounts_json` (shared) of a bill the evaluator kept: its lines, totals and the pieces
    of its definitions written once (`_bill_written`), the results the scenario asks for
    (`Block.asked`: the pieces' numbers) written afresh in their places; `text`: the pieces as
    text, with the commas between them (`DefinitionsText`)."""
    key = (applied_only, lines_written, text)
    kept = written.get(key)
    if kept is None:
        kept = written[key] = _bill_written(d, applied_only, lines_written, text)
    lines, totals, pieces, counts = kept
    omitted = dict(counts) if applied_only else None
    assert d.blocks is not None
    sheet, fresh = d.blocks[0]
    if not sheet.asked:  # (shared: only read)
        return _part(lines, DefinitionsText(pieces) if text else pieces, omitted, totals)
    definitions: list[Any] = []
    add = definitions.append
    for piece in pieces:
        if type(piece) is not int:
            add(piece)
            continue
        r = fresh[piece]
        if omitted is not None and r.status in omitted:
            omitted[r.status] += 1
        else:
            add(_result_text(r) if text else _result_json(r))
    if text:  # (the commas: a result left out, its comma too)
        return _part(lines, DefinitionsText(_commas(definitions)), omitted, totals)
    return _part(lines, definitions, omitted, totals)


def _bill_written(d: DiscountDecision, applied_only: bool, lines_written: bool, text: bool) -> tuple[Any, ...]:
    """What `_bill_json` writes once per bill: the lines and totals, the pieces of the
    definitions (the sheet's runs of shared results, `_block_json`, and its results applied
    with the bill, each written; for a result the scenario asks for, its number in the sheet's
    results decided afresh), and how many of each status the pieces leave out (applied only).
    `text`: the pieces as text (`_block_text`), with the commas between them when none is asked
    for (`DefinitionsText`)."""
    lines, totals = _lines_json(d, True, lines_written)
    assert d.blocks is not None and len(d.blocks) == 1
    sheet, fresh = d.blocks[0]
    runs, counts = _block_text(sheet, applied_only) if text else _block_json(sheet, applied_only)
    omitted = dict.fromkeys(OMITTED, 0) if applied_only else None
    asked = set(sheet.asked)
    pieces: list[Any] = []
    for i, (run, r) in enumerate(zip(runs, fresh, strict=False)):
        if run is not None:
            pieces.append(run)
        if i in asked:
            pieces.append(i)
        elif omitted is not None and r.status in omitted:
            omitted[r.status] += 1
        else:
            pieces.append(_result_text(r) if text else _result_json(r))
    if runs[-1] is not None:
        pieces.append(runs[-1])
    if omitted is not None:
        for status, count in counts:
            omitted[status] += count
    if text and not asked:
        pieces = _commas(pieces)
    return lines, totals, pieces, tuple((omitted or {}).items())


def _commas(pieces: list[str]) -> list[str]:
    """`pieces` with a comma between each two (joined, the items of a JSON list)."""
    found = [","] * (2 * len(pieces) - 1) if pieces else []
    found[::2] = pieces
    return found


class DefinitionsText:
    """A decision's definitions as JSON text (`decide(text=True)`): the pieces of the list's
    items, the commas between them included, joined into the decision's text by `decide_text`
    (`put_in`) without being written again by orjson or decoded: at 400 definitions the list is
    some 160 KB, and writing and decoding it cost some 9 µs a decision, joining it 3."""

    __slots__ = ("pieces",)

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces

    def put_in(self, written: str) -> str:
        """`written` (a decision's text, `_SPOT` in place of the definitions) with them in it."""
        at = written.index(_SPOT_TEXT)  # (the first: orjson escapes a NUL in a text, no other is raw)
        return "".join([written[:at], "[", *self.pieces, "]", written[at + 1 :]])


class PartText:
    """A decision's whole discount part as JSON text (`_whole_part`), joined into the decision's
    text by `written_text` (`put_in`), as `DefinitionsText` is."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def put_in(self, written: str) -> str:
        """`written` (a decision's text, `_SPOT` in place of the discount part) with it in it."""
        at = written.index(_SPOT_TEXT)
        return "".join((written[:at], self.text, written[at + 1 :]))


#: where `decide_text` puts the definitions' text: a NUL, which orjson writes only from a
#: fragment (in a text it is escaped), so the first in a decision's JSON is this one
_SPOT = orjson.Fragment(b"\x00")
_SPOT_TEXT = "\x00"


def _result_text(r: DefinitionResult) -> str:
    """`_result_json` as text."""
    return orjson.dumps(_result_json(r)).decode()


def _result_json(r: DefinitionResult) -> Any:
    """A result decided for a decision, as `_blocks_json` puts it in: JSON text or data."""
    if type(r) is SettledResult:
        return orjson.Fragment(r.written or _settled_text(r))
    if r.status == "applied" and r.type == "auto_apply" and not r.reasons and not r.approvers:
        return orjson.Fragment(_auto_applied_text(r))
    return _item(r, _records)


def _sums(result: LineResult) -> dict[str, Decimal]:
    """A currency's totals, from its first line: the sums start from zero (their exponents: at most 0)."""
    zero = Decimal(0)
    return {"gross": zero + _gross_shown(result), "discount": zero + result.discount, "net": zero + result.net.amount}


def _totals_texts(total: Any, currency: str) -> dict[str, str]:
    """A currency's totals as text: of its one line (kept with the line's texts when it is a kept
    one: `_line_texts`), or of the sums of its lines."""
    if type(total) is LineResult:
        written = total.written
        if written is not None:
            found: dict[str, str] = (written.get("texts") or _line_texts(total, written))[3]
            return dict(found)
        total = _sums(total)
    return {
        "gross": money_text(total["gross"], currency),
        "discount": money_text(total["discount"], currency),
        "net": money_text(total["net"], currency),
    }


def _line_texts(result: LineResult, written: dict[str, Any]) -> tuple[Any, ...]:
    """A kept line's money as text, worked out once and kept in its `written` (the lines kept
    under one key are alike: `DiscountEvaluator._amounts_kept`): its gross shown, each take's
    amount (negative), its net, and the totals of a bill of this line alone."""
    currency = result.line.gross.currency
    sums = _sums(result)
    found = written["texts"] = (
        money_text(_gross_shown(result), currency),
        tuple((code, money_text(-amount, currency)) for code, amount in result.takes),
        money_text(result.net.amount, currency),
        {key: money_text(amount, currency) for key, amount in sums.items()},
    )
    return found


def _gross_shown(result: LineResult) -> Decimal:
    """A line's gross with at least its net's digits (`80 EUR` written: `80.00 EUR`), its value unchanged."""
    return result.line.gross.amount + result.net.amount * 0


def _line_item(result: LineResult, texts: tuple[Any, ...] | None = None) -> dict[str, Any]:
    """A line's item as data, without its field (`line`). Its gross is shown with at least the
    net's digits (the currency's minor unit: a price written `80 EUR` is `80.00 EUR`, as its net
    is; until 2026-12-02 the gross read `80 EUR` beside a net of `80.00 EUR`), its value unchanged.
    `texts`: its money as text, kept (`_line_texts`)."""
    line = result.line
    item: dict[str, Any] = {"product": line.product}
    if line.bundle:
        item["bundle"] = line.bundle
    if texts is not None:
        item["gross"] = texts[0]
        item["discounts"] = [{"code": code, "amount": amount} for code, amount in texts[1]]
        item["net"] = texts[2]
        return item
    currency = line.gross.currency
    item["gross"] = money_text(_gross_shown(result), currency)
    item["discounts"] = [{"code": code, "amount": money_text(-amount, currency)} for code, amount in result.takes]
    item["net"] = money_text(result.net.amount, currency)
    return item


def _line_head(field: str) -> bytes:
    """`{"line":FIELD,` as JSON, kept per field (`discounts_json`: a kept line's item)."""
    if len(_LINE_HEADS) >= _LINE_HEADS_KEPT:
        _LINE_HEADS.clear()
    found = _LINE_HEADS[field] = orjson.dumps({"line": field})[:-1] + b","
    return found


#: a line's field → `{"line":FIELD,` (`_line_head`)
_LINE_HEADS: dict[str, bytes] = {}
_LINE_HEADS_KEPT = 4096


def _item(r: DefinitionResult, reasons: Callable[[list[Reason | str]], list[Any]]) -> dict[str, Any]:
    """A definition's result as data (one decided for this scenario)."""
    item: dict[str, Any] = {"code": r.code, "type": r.type, "status": r.status}
    if r.amounts:
        item["amount"] = " + ".join(money_text(amount, currency) for currency, amount in sorted(r.amounts.items()))
    if r.value is not None and r.type == "ad_hoc":
        item["requested"] = plain(r.value) if isinstance(r.value, Decimal) else str(r.value)
    if r.approvers:
        item["approvers"] = r.approvers
    item["reasons"] = reasons(r.reasons)
    return item


def _blocks_json(
    blocks: list[tuple[Block, Sequence[DefinitionResult]]], omitted: dict[str, int] | None, text: bool = False
) -> Any:
    """The definitions of a decision made by blocks, as a list for orjson to write: each block's
    shared results as the text written once for it (`_block_json`, one `orjson.Fragment` per run
    of them: orjson puts the commas between the list's members), its eligible ones as data;
    `omitted` (applied only) counts what is not listed. No text is joined here: orjson writes
    the pieces once, into the decision's text. `text`: the pieces as text, with the commas
    between them (`DefinitionsText`)."""
    items: list[Any] = []
    add = items.append
    applied_only = omitted is not None
    for block, eligible in blocks:
        runs, counts = _block_text(block, applied_only) if text else _block_json(block, applied_only)
        for run, r in zip(runs, eligible, strict=False):  # a run of shared results before each eligible one
            if run is not None:
                add(run)
            if omitted is not None and r.status in omitted:
                omitted[r.status] += 1
                continue
            add(_result_text(r) if text else _result_json(r))
        if runs[-1] is not None:
            add(runs[-1])
        if omitted is not None:
            for status, count in counts:
                omitted[status] += count
    return DefinitionsText(_commas(items)) if text else items


def _auto_applied_text(r: DefinitionResult) -> bytes:
    """`orjson.dumps(_item(r, _records))` for an auto-apply definition applied with no reasons:
    the code, type and status written once per code (`_APPLIED_HEADS`), then the amounts, whose
    text (digits, point, sign, spaces, `+` and currency codes) JSON writes as it is."""
    head = _APPLIED_HEADS.get(r.code)
    if head is None:
        head = orjson.dumps({"code": r.code, "type": r.type, "status": r.status})[:-1]
        if len(_APPLIED_HEADS) >= _APPLIED_HEADS_KEPT:
            _APPLIED_HEADS.clear()
        _APPLIED_HEADS[r.code] = head
    amounts = r.amounts
    if not amounts:
        return head + b',"reasons":[]}'
    if len(amounts) == 1:  # one currency, as nearly always
        for currency, total in amounts.items():
            text = money_text(total, currency)
    else:
        text = " + ".join(money_text(total, currency) for currency, total in sorted(amounts.items()))
    return b"".join((head, b',"amount":"', text.encode(), b'","reasons":[]}'))


#: an auto-apply definition's code → its applied item's first keys as JSON (`_auto_applied_text`)
_APPLIED_HEADS: dict[str, bytes] = {}
_APPLIED_HEADS_KEPT = 65536


def _block_json(block: Block, applied_only: bool) -> tuple[list[Any], tuple[tuple[str, int], ...]]:
    """A block's shared results written once and kept on it: the JSON of each run of them between
    its eligible slots (an `orjson.Fragment` of items without their brackets, None for none), and
    (applied only) how many of each status it leaves out."""
    found = block.written.get(applied_only)
    if found is None:
        runs, counts = _block_runs(block, applied_only)
        found = block.written[applied_only] = [orjson.Fragment(run) if run else None for run in runs], counts
    return found


def _block_text(block: Block, applied_only: bool) -> tuple[list[Any], tuple[tuple[str, int], ...]]:
    """`_block_json`, its runs as text (`DefinitionsText`), kept on the block."""
    key = ("text", applied_only)
    found = block.written.get(key)
    if found is None:
        runs, counts = _block_runs(block, applied_only)
        found = block.written[key] = [run.decode() if run else None for run in runs], counts
    return found


def _block_runs(block: Block, applied_only: bool) -> tuple[list[bytes], tuple[tuple[str, int], ...]]:
    """The JSON of each run of a block's shared results between its eligible slots (items
    without their brackets, empty for none), and (applied only) how many of each status it
    leaves out."""
    runs: list[bytes] = []
    run: list[bytes] = []
    counts: dict[str, int] = {}
    for r in block.results:
        if r is None:  # an eligible slot: decided per scenario
            runs.append(b",".join(run))
            run = []
        elif applied_only and r.status in OMITTED:
            counts[r.status] = counts.get(r.status, 0) + 1
        else:
            assert type(r) is SettledResult
            run.append(r.written or _settled_text(r))
    runs.append(b",".join(run))
    return runs, tuple(counts.items())


def _reasons(reasons: list[Reason | str]) -> list[Any]:
    """Reason records as data (words only from the frozen reference evaluator, as they are)."""
    return [r.to_json() if type(r) is Reason else r for r in reasons]


def _records(reasons: list[Reason | str]) -> list[Any]:
    """`_reasons` without copies: the records each reason keeps, for a writer that only reads them."""
    return [r.record() if type(r) is Reason else r for r in reasons]


def _settled_item(r: DefinitionResult, reasons: Callable[[list[Reason | str]], list[Any]]) -> dict[str, Any]:
    return {"code": r.code, "type": r.type, "status": r.status, "reasons": reasons(r.reasons)}


def _settled_text(r: SettledResult) -> bytes:
    """A shared result's item as JSON text, written once and kept on it (TypeError for what orjson
    refuses: `decide_text` then writes the plain decision)."""
    found = r.written = orjson.dumps(_settled_item(r, _records))
    return found


def decide_text(rules: Any, scenario: Any, *, explain: bool = False, owned: bool = False) -> str:
    """`to_json(decide(rules, scenario))`, the same text, made faster: nothing the rule set keeps
    is copied, the results scenarios share are written once (`decide(shared=True)`), and the
    definitions decided by blocks, kept as text, are joined into the decision's text
    (`DefinitionsText.put_in`)."""
    try:
        return written_text(decide(rules, scenario, explain=explain, shared=True, owned=owned, text=True))
    except TypeError:  # what orjson refuses (see `to_json`): the plain decision, written by `json`
        return to_json(decide(rules, scenario, explain=explain, owned=owned))


def written_text(decision: dict[str, Any]) -> str:
    """The JSON text of a decision of `decide(shared=True, text=True)`: written by orjson, the
    definitions given as text (`DefinitionsText`) joined in, not written again. Raises TypeError
    for what orjson refuses (`decide_text` then writes the plain decision)."""
    discounts = decision.get("discounts")
    if type(discounts) is dict:
        definitions = discounts.get("definitions")
        if type(definitions) is DefinitionsText:  # as text: put in, not written again
            discounts["definitions"] = _SPOT
            return definitions.put_in(orjson.dumps(decision).decode())
    elif type(discounts) is PartText:  # the whole part kept as text (`_whole_part`)
        decision["discounts"] = _SPOT
        return discounts.put_in(orjson.dumps(decision).decode())
    return orjson.dumps(decision).decode()


def trace(rules: Any, scenario: Any, owners: Collection[str] | None = None) -> dict[str, Any]:
    """Criterion-level explanation, as data, for every definition that has criteria (or `owners`):
    per section its outcome and steps (`Step.to_json`: condition, verdict, facts, source)."""
    out: dict[str, Any] = {}
    for owner in sorted(rules.criteria.by_owner):
        if owners is not None and owner not in owners:
            continue
        sections = []
        for section, outcome, steps in rules.criteria.explain(scenario, owner):
            sections.append({"section": section, "holds": outcome is True, "steps": [s.to_json() for s in steps]})
        out[owner] = sections
    return out


def to_json(decision: dict[str, Any]) -> str:
    """Canonical JSON: sorted keys would reorder the readable shape, so key order is fixed by
    construction and only separators/escaping are normalised.

    orjson writes the same bytes as `json.dumps(decision, ensure_ascii=False, separators=(",", ":"))`
    for what a decision holds (str, int, bool, None, lists and dicts with text keys; no floats),
    about 10x faster (tests/test_decide_differential.py checks every sample and generated ones).
    What orjson refuses (a lone surrogate from a JSON `\\udxxx` escape, an integer past 64 bits,
    a non-text key) is written by `json` as before."""
    try:
        return orjson.dumps(decision).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(decision, ensure_ascii=False, separators=(",", ":"))

"""Cancellations decided by the faster `TermEvaluator` are those of its frozen predecessor.

`engine/decide/terms.py` was rewritten for speed (a term's part written as JSON once, per-term
set-up and fees per share kept, explanation steps kept as data, a commitment's billing cycles
counted without walking them for a term of months). Below is a frozen copy of the evaluator as it
was before (`FrozenTermEvaluator`, commit 80e373c), and the tests decide generated cancellations
(the samples' with their dates, add-ons, reasons, renewals and billing frequencies moved) with
both, on one evaluator kept across examples (what it keeps must not go stale) and compare the
JSON they write, with and without `explain`, and the errors they raise.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine.decide.terms as fast
from engine import load_rules
from engine.decide.decision import criteria_outcomes
from engine.decide.money import Rounder
from engine.decide.reasons import Reason, Source
from engine.decide.scenarios import ScenarioError, ScenarioInvalid
from engine.load import load_file
from engine.models.catalog import CYCLE_MONTHS, BillingFrequency, CommitmentBasis, EarlyCancellation, Term
from engine.ruleset import _checked
from engine.values import (
    Duration,
    Money,
    OutOfCalendar,
    TimeUnit,
    add_months_keeping_month_end,
    add_units,
    money_text,
    plain,
)

REPO = Path(__file__).resolve().parent.parent
RULES = load_rules(REPO / "rules")


# --- the frozen copy of the evaluator (commit 80e373c), renamed `FrozenTermEvaluator` ------------------


_BEYOND = date.max  # stands for "after 9999-12-31" (a commitment that never ends in the calendar)


@dataclass(frozen=True)
class Stretch:
    """One term of a renewal chain: its commitment from `start` to `end` (the first free day)."""

    term: str
    start: date
    end: date  # _BEYOND when the commitment ends after 9999-12-31


@dataclass
class TermDecision:
    """The decision for one term of the subscription."""

    of: str  # "plan" or the bundle's code
    term: str | None
    allowed: bool
    outcome: str  # no_term, commitment_over, allowed, not_allowed, penalty, waived
    chain: list[Stretch] = field(default_factory=list)  # the first and last few terms crossed
    renewals: int = 0
    earliest: date | None = None
    remaining: dict[str, Any] | None = None
    penalty: dict[str, Any] | None = None
    charge: Money | None = None  # what is due (zero when waived; None without penalty)
    reasons: list[Reason] = field(default_factory=list)
    #: the explanation, step by step, as functions that word each step: most decisions are made
    #: without `explain`, so a step's facts (dates and money as text) are worked out only if asked for
    explained: list[Callable[[], list[Reason]]] = field(default_factory=list)

    @property
    def steps(self) -> list[Reason]:
        """The explanation, step by step."""
        return [step for steps in self.explained for step in steps()]

    def step(self, code: str, facts: Callable[[], dict[str, Any]]) -> None:
        """Add a step to the explanation: its code, and a function of nothing giving its facts."""
        self.explained.append(lambda: [Reason(code, facts())])

    def to_json(self, explain: bool) -> dict[str, Any]:
        data: dict[str, Any] = {"for": self.of, "term": self.term, "allowed": self.allowed, "outcome": self.outcome}
        if self.chain:
            current = self.chain[-1]
            data["start"] = current.start.isoformat()
            data["commitment_end"] = _show_date(current.end)
            data["renewals"] = self.renewals
        if self.earliest is not None:
            data["earliest"] = _show_date(self.earliest)
        if self.remaining is not None:
            data["remaining"] = self.remaining
        if self.penalty is not None:
            data["penalty"] = self.penalty
        data["reasons"] = [r.once() for r in self.reasons]  # made for this decision: written once
        if explain:
            data["chain"] = [
                {"term": s.term, "start": s.start.isoformat(), "end": _show_date(s.end)} for s in self.chain
            ]
            data["steps"] = [s.once() for s in self.steps]
        return data


@dataclass
class CancellationDecision:
    date: date
    terms: list[TermDecision]

    @property
    def allowed(self) -> bool:
        return all(t.allowed for t in self.terms)

    def to_json(self, explain: bool = False) -> dict[str, Any]:
        refused = [t.earliest for t in self.terms if not t.allowed]
        totals: dict[str, Decimal] = {}
        for t in self.terms if self.allowed else ():  # a refused cancellation charges nothing
            if t.charge is not None:
                totals[t.charge.currency] = totals.get(t.charge.currency, Decimal(0)) + t.charge.amount
        data: dict[str, Any] = {"date": self.date.isoformat(), "allowed": self.allowed}
        if refused:
            data["earliest"] = None if any(e is None for e in refused) else _show_date(max(e for e in refused if e))
        data["terms"] = [t.to_json(explain) for t in self.terms]
        if refused:  # (2026-12-02) a penalty a term would charge says it is not charged
            by = {t.of: t.term for t in self.terms if not t.allowed}
            for written, t in zip(data["terms"], self.terms, strict=True):
                if t.allowed and t.outcome == "penalty":
                    record = Reason("not_charged", {"term": t.term, "refused_by": by}).once()
                    written["reasons"] = [*written["reasons"], record]
        data["total"] = {currency: money_text(amount, currency) for currency, amount in sorted(totals.items())}
        return data


def _exact(value: Decimal, currency: str) -> str:
    """An unrounded amount for the explanation: exact up to 6 decimals, else cut with `…`."""
    cut = value.quantize(Decimal("0.000001"))
    text = plain(cut.normalize()) if cut == value else plain(cut) + "…"
    return f"{text} {currency}"


def _show_date(day: date) -> str:
    return "after 9999-12-31" if day == _BEYOND else day.isoformat()


# --- renewal chains --------------------------------------------------------------------------------


def commitment_end(term: Term, start: date) -> date:
    """The first day free of the commitment (`_BEYOND` when that is after 9999-12-31). (Month-end
    starts keep to month ends since the frozen copy was made: a change of rule, made here too.)"""
    try:
        if term.unit in (TimeUnit.MONTHS, TimeUnit.YEARS):
            return add_months_keeping_month_end(start, term.period * (1 if term.unit is TimeUnit.MONTHS else 12))
        return add_units(start, term.period, term.unit)
    except OutOfCalendar:
        return _BEYOND


def current_term(terms: dict[str, Term], first: str, start: date, on: date) -> tuple[list[Stretch], int]:
    """The renewal chain from `first` starting on `start`, up to the term in force on `on`.

    Returns the stretches worth showing (the first `_SHOWN` and the last `_SHOWN`; the last one
    holds `on`, or ended on or before it when the chain stops without renewal) and the number of
    renewals crossed in all. Chains may loop (every commitment is longer than zero, a validation
    rule); a loop measured in days or weeks is crossed lap by lap in one step, so a 1-day term
    renewing into itself for centuries costs no more than one lap.
    """
    head: list[Stretch] = []
    tail: list[Stretch] = []
    renewals = -1
    code: str | None = first
    seen: dict[str, tuple[date, int]] = {}  # term → (its last start, renewals before it)
    while code is not None:
        term = terms[code]
        if code in seen:
            lap_start, lap_renewals = seen[code]
            start, laps = _skip_laps(terms, code, lap_start, start, on)
            renewals += laps * (renewals + 1 - lap_renewals)
        seen[code] = (start, renewals + 1)
        end = commitment_end(term, start)
        renewals += 1
        stretch = Stretch(code, start, end)
        if len(head) < _SHOWN:
            head.append(stretch)
        else:
            tail = [*tail[-(_SHOWN - 1) :], stretch]
        if on <= end or end == _BEYOND:  # cancelling on the end date is free: the renewal never starts
            break
        code, start = term.renewal_term, end
    return head + tail, renewals


_SHOWN = 3


def _skip_laps(terms: dict[str, Term], code: str, lap_start: date, start: date, on: date) -> tuple[date, int]:
    """Jump over whole laps of a renewal loop (from `lap_start` back to `start`, the same term)
    that end before `on`; returns the new start and the laps skipped.

    Changed since the copy was made, as the evaluator was: the copy walks every lap, so the chain
    it shows is the one the evaluator must show (it skipped laps of days before the first
    stretches shown, and numbered the 12th stretch the 2nd)."""
    return start, 0


# --- billing cycles ---------------------------------------------------------------------------------


def cycle_start(start: date, frequency: BillingFrequency, k: int) -> date:
    """The first day of cycle k (k = 0 is the one starting on `start`); computed from `start` each
    time, so a cycle started on the 31st keeps to month ends."""
    if frequency is BillingFrequency.WEEKLY:
        return date.fromordinal(start.toordinal() + 7 * k)
    return add_months_keeping_month_end(start, CYCLE_MONTHS[frequency] * k)  # a rule change, as above


def cycles_before(start: date, frequency: BillingFrequency, limit: date, inclusive: bool) -> int:
    """How many cycles from `start` begin before `limit` (or on it, when `inclusive`)."""
    # every cycle before k begins before `limit`: in days, or (months) in an earlier month than it;
    # so the walk below checks one or two cycles
    if frequency is BillingFrequency.WEEKLY:
        k = max(((limit - start).days - 1) // 7 + 1, 0)
    else:
        months = (limit.year - start.year) * 12 + limit.month - start.month
        k = max((months - 1) // CYCLE_MONTHS[frequency] + 1, 0)
    while True:
        try:
            begins = cycle_start(start, frequency, k)
        except OutOfCalendar:
            return k
        if begins > limit or (begins == limit and not inclusive):
            return k
        k += 1


# --- the evaluator -----------------------------------------------------------------------------------


def _did_you_mean(name: str, known: Any) -> str:
    """`engine.diagnostics.did_you_mean`, imported only for a scenario in error (not per decision)."""
    from engine.diagnostics import did_you_mean as nearest

    return nearest(name, known)


class FrozenTermEvaluator:
    """The evaluator before it was made faster, as it was (the differential tests' reference)."""

    def __init__(self, rules: Any) -> None:
        self.rules = rules
        self.terms: dict[str, Term] = rules.models("term")
        self.plans, self.bundles = rules.models("plan"), rules.models("bundle")  # once, not per decision
        self.rounder = Rounder(rules.settings.rounding.value, rules.settings.minor_units)
        self._settings: dict[str, _PenaltySettings] = {}  # per term code (`_penalty_settings`)
        self._sources: dict[tuple[Any, ...], Source | None] = {}  # (term code, *path) → where it is written

    def decide(self, scenario: Any, outcomes: Mapping[str, Sequence[tuple[str, bool]]]) -> CancellationDecision:
        request = scenario.cancellation
        subscription = scenario.subscription
        if subscription is None:
            raise ScenarioError(
                "cancellation", "a cancellation needs the `subscription` it cancels", "add the subscription", "BR615"
            )
        if request.date < subscription.start:
            raise ScenarioError(
                "cancellation.date",
                f"the cancellation date {request.date} is before the subscription starts ({subscription.start})",
                "cancel on or after the subscription's start",
                "BR615",
            )
        if request.renewed_on is not None and request.renewed_on < subscription.start:  # (2026-12-03)
            raise ScenarioError(
                "cancellation.renewed_on",
                f"the renewal date {request.renewed_on} is before the subscription starts ({subscription.start})",
                "a renewal is on or after the subscription's start: check the date, or leave `renewed_on` out",
                "BR615",
            )
        decisions = [
            self._decide_term(of, term, start, scenario, outcomes)
            for of, term, start in self._parts(scenario, request, subscription)
        ]
        return CancellationDecision(request.date, decisions)

    def _parts(self, scenario: Any, request: Any, subscription: Any) -> list[tuple[str, str | None, date]]:
        """What is cancelled: (`plan` or bundle code, its term, the date its term counts from)."""
        plans, bundles = self.plans, self.bundles
        if subscription.plan is None:
            raise ScenarioError(
                "subscription.plan", "a cancellation needs the subscription's `plan`", "add `plan:`", "BR616"
            )
        plan = plans.get(subscription.plan)
        if plan is None:
            hint = _did_you_mean(subscription.plan, plans) or "use a plan code from the rule set"
            raise ScenarioError("subscription.plan", f"unknown plan `{subscription.plan}`", hint, "BR616")
        for i, code in enumerate(subscription.add_ons):
            if code not in bundles:
                hint = _did_you_mean(code, bundles) or "use a bundle code from the rule set"
                raise ScenarioError(f"subscription.add_ons[{i}]", f"unknown bundle `{code}`", hint, "BR616")
        for code in subscription.add_on_starts:
            if code not in subscription.add_ons:
                raise ScenarioError(
                    f"subscription.add_on_starts.{code}",
                    f"`{code}` is not one of the subscription's add-ons",
                    _did_you_mean(code, subscription.add_ons) or "list it in `add_ons`",
                    "BR616",
                )
        for code, day in subscription.add_on_starts.items():
            if day < subscription.start:
                raise ScenarioError(
                    f"subscription.add_on_starts.{code}",
                    f"add-on `{code}` starts on {day}, before the subscription ({subscription.start})",
                    "an add-on is bought on or after the subscription's start",
                    "BR616",
                )
        chosen = request.add_ons
        for i, code in enumerate(chosen or []):
            if code not in subscription.add_ons:
                hint = _did_you_mean(code, subscription.add_ons) or (
                    f"the subscription's add-ons are {', '.join(subscription.add_ons) or 'none'}"
                )
                raise ScenarioError(
                    f"cancellation.add_ons[{i}]", f"`{code}` is not an add-on of the subscription", hint, "BR616"
                )
        parts: list[tuple[str, str | None, date]] = []
        if chosen is None:  # the whole subscription: the plan, its bundles, every add-on
            parts.append(("plan", plan.term, subscription.start))
            parts += [(code, bundles[code].term, subscription.start) for code in plan.bundles if bundles[code].term]
        for code in chosen if chosen is not None else subscription.add_ons:
            if request.date < (start := subscription.add_on_starts.get(code, subscription.start)):
                raise ScenarioError(
                    "cancellation.date",
                    f"the cancellation date {request.date} is before add-on `{code}` starts ({start})",
                    "cancel on or after the add-on's start",
                    "BR615",
                )
            parts.append((code, bundles[code].term, start))
        return parts

    def _decide_term(
        self, of: str, code: str | None, start: date, scenario: Any, outcomes: Mapping[str, Sequence[tuple[str, bool]]]
    ) -> TermDecision:
        on = scenario.cancellation.date
        if code is None:
            what = f"plan `{scenario.subscription.plan}`" if of == "plan" else f"bundle `{of}`"
            return TermDecision(of, None, True, "no_term", reasons=[Reason("no_term", {"of": what})])
        chain, renewals = current_term(self.terms, code, start, on)
        decision = TermDecision(of, chain[-1].term, True, "allowed", chain=chain, renewals=renewals)
        decision.explained.append(lambda: _chain_steps(chain, renewals))
        current = chain[-1]
        term = self.terms[current.term]
        end_facts = {"term": current.term, "end": _show_date(current.end)}
        if on >= current.end and current.end != _BEYOND:  # (_BEYOND is 9999-12-31, a possible date)
            decision.outcome = "commitment_over"
            decision.reasons.append(Reason("commitment_over", end_facts, self._source(current.term, "period")))
            return decision
        decision.step("step_current", lambda: {"date": on.isoformat(), **end_facts})
        if current.end == _BEYOND:
            decision.reasons.append(Reason("beyond_calendar", {"term": current.term}, self._source(current.term)))
        rule, fee, pro_rata, where = self._rule(term, scenario, outcomes, decision)
        said = {**end_facts, "exception": where[1] + 1} if where[0] == "exceptions" else end_facts  # (2026-12-02)
        if rule is EarlyCancellation.ALLOWED:
            decision.reasons.append(Reason("early_cancellation_allowed", said, self._source(current.term, *where)))
            if self._measurable(term, current, scenario):  # (since 2026-12-02: what remains is named)
                self._remaining(decision, term, current, scenario)
            return decision
        if rule is EarlyCancellation.NOT_ALLOWED:
            decision.allowed, decision.outcome, decision.earliest = False, "not_allowed", current.end
            facts = {
                **end_facts,
                "earliest": _show_date(current.end),
                **{k: v for k, v in said.items() if k == "exception"},
            }
            decision.reasons.append(Reason("early_cancellation_not_allowed", facts, self._source(current.term, *where)))
            if self._measurable(term, current, scenario):
                self._remaining(decision, term, current, scenario)
            return decision
        decision.outcome = "penalty"
        decision.reasons.append(Reason("early_cancellation_penalty", said, self._source(current.term, *where)))
        assert fee is not None  # a penalty without a fee is a validation error (BR411)
        self._penalty(decision, term, current, fee, pro_rata, scenario)
        return decision

    def _rule(
        self, term: Term, scenario: Any, outcomes: Mapping[str, Sequence[tuple[str, bool]]], decision: TermDecision
    ) -> tuple[EarlyCancellation, Money | None, bool, tuple[Any, ...]]:
        """The early-cancellation rule in force: the first exception that holds, else the term's,
        and where its outcome is written (since 2026-12-01 an exception's `outcome`)."""
        penalty = term.penalty
        fee = penalty.fee if penalty is not None else None
        pro_rata = penalty.pro_rata if penalty is not None else False
        for section, holds in outcomes.get(f"term:{term.code}", ()):
            if not holds:
                continue
            index = int(section[len("exceptions[") : -1])
            exception = term.exceptions[index]
            outcome = EarlyCancellation(exception.outcome.value)
            facts = {"index": index + 1, "term": term.code, "when": exception.when, "outcome": outcome.value}
            decision.reasons.append(
                Reason("exception_holds", facts, self._source(term.code, "exceptions", index, "when"))
            )
            if outcome is EarlyCancellation.PENALTY:
                fee = exception.fee or fee
                pro_rata = exception.pro_rata if exception.pro_rata is not None else pro_rata
            return outcome, fee, pro_rata, ("exceptions", index, "outcome")
        return term.early_cancellation, fee, pro_rata, ("early_cancellation",)

    def _penalty(
        self, decision: TermDecision, term: Term, current: Stretch, maximum: Money, pro_rata: bool, scenario: Any
    ) -> None:
        on = scenario.cancellation.date
        currency = maximum.currency
        known = self._penalty_settings(term)
        settings = term.penalty
        round_ = self.rounder.round
        remaining, total = self._remaining(decision, term, current, scenario)
        maximum_text = str(maximum)
        share = f"{remaining}/{total}"
        if pro_rata and total:
            exact = maximum.amount * remaining / total
            fee = round_(exact, currency)
            fee_text = money_text(fee, currency)
            decision.step(
                "step_fee",
                lambda: {"maximum": maximum_text, "share": share, "exact": _exact(exact, currency), "fee": fee_text},
            )
        else:
            fee = round_(maximum.amount, currency)
            fee_text = money_text(fee, currency)
            decision.step("step_fee_flat", lambda: {"fee": fee_text})
        tax_rate, tax_code = known.tax_rate, known.tax_code
        zero = round_(Decimal(0), currency)
        tax = zero
        if tax_rate is not None:
            exact_tax = fee * tax_rate / 100
            tax = round_(exact_tax, currency)
        tax_text = money_text(tax, currency)
        total_due = fee + tax
        total_text = money_text(total_due, currency)
        if tax_rate is not None:
            rate_text = known.rate_text
            decision.step(
                "step_tax",
                lambda: {"fee": fee_text, "rate": rate_text, "exact": _exact(exact_tax, currency), "tax": tax_text},
            )
            decision.step("step_total", lambda: {"fee": fee_text, "tax": tax_text, "total": total_text})
        try:
            grace = known.grace
            if grace is not None and grace.unit in (TimeUnit.MONTHS, TimeUnit.YEARS):  # a rule change (month ends)
                due = add_months_keeping_month_end(on, grace.count * (1 if grace.unit is TimeUnit.MONTHS else 12))
            else:
                due = grace.add_to(on) if grace is not None else on
        except OutOfCalendar:
            due = _BEYOND
        due_text = _show_date(due)
        grace_text = known.grace_text
        decision.step("step_due", lambda: {"due": due_text, "date": on.isoformat(), "grace": grace_text})
        penalty: dict[str, Any] = {
            "maximum": maximum_text,
            "pro_rata": pro_rata,
            "share": share if pro_rata else "1/1",
            "fee": fee_text,
        }
        if tax_rate is not None:
            penalty["tax_rate"] = known.rate_text
        penalty["tax"] = tax_text if tax_rate is not None else None
        if tax_code is not None:
            penalty["tax_code"] = tax_code
        if settings is not None and settings.tax_provider is not None:
            penalty["tax_provider"] = settings.tax_provider
        penalty["total"] = total_text
        penalty["due"] = due_text
        penalty["grace_period"] = grace_text
        penalty.update(known.booking)
        if settings is not None and settings.ledger_account and settings.invoice_line_type:
            booking = {"invoice_line_type": settings.invoice_line_type, "ledger_account": settings.ledger_account}
            decision.step("step_booking", lambda: booking)
        if tax_rate is None and tax_code is not None:
            decision.reasons.append(
                Reason(
                    "tax_by_provider",
                    {
                        "tax_code": tax_code,
                        "tax_provider": (settings.tax_provider if settings else None) or "the tax provider",
                    },
                    self._source(term.code, "penalty", "tax"),
                )
            )
        renewed = scenario.cancellation.renewed_on
        waived = renewed is not None and on <= renewed <= due
        penalty["waived"] = waived
        if renewed is not None:
            if renewed >= on:
                code = "renewed_within_grace" if waived else "renewed_after_grace"
                facts = {"renewed_on": renewed.isoformat(), "due": due_text}
            else:  # (2026-12-02)
                code = "renewed_before_cancellation"
                facts = {"renewed_on": renewed.isoformat(), "date": on.isoformat(), "due": due_text}
            decision.reasons.append(Reason(code, facts))
            decision.step(code, lambda: facts)
        decision.penalty = penalty
        decision.outcome = "waived" if waived else "penalty"
        decision.charge = Money(zero if waived else total_due, currency)

    def _penalty_settings(self, term: Term) -> _PenaltySettings:
        """What a term's penalty settings give every decision alike, worked out once per term."""
        found = self._settings.get(term.code)
        if found is None:
            settings = term.penalty
            tax = settings.tax if settings is not None else None
            rate = tax.rate if tax is not None else None
            grace = Duration(settings.grace_period, settings.grace_period_unit) if settings is not None else None
            found = self._settings[term.code] = _PenaltySettings(
                rate,
                tax.code if tax is not None else None,
                plain(rate) if rate is not None else "",
                grace,
                str(grace) if grace is not None and grace.count else "0 days",
                tuple(
                    (name, value)
                    for name in ("ledger_account", "invoice_line_type")
                    if (value := getattr(settings, name) if settings is not None else None) is not None
                ),
            )
        return found

    def _remaining(self, decision: TermDecision, term: Term, current: Stretch, scenario: Any) -> tuple[int, int]:
        """(remaining, total) days or billing cycles of the current commitment."""
        on = scenario.cancellation.date
        if current.end == _BEYOND:  # no share of an endless commitment: the maximum fee applies
            decision.remaining = None
            return 1, 1
        if term.basis is CommitmentBasis.CALENDAR:
            remaining, total = (current.end - on).days, (current.end - current.start).days
            decision.remaining = {"days": remaining, "of": total}
            decision.step(
                "step_remaining_days",
                lambda: {
                    "remaining": remaining,
                    "total": total,
                    "end": current.end.isoformat(),
                    "date": on.isoformat(),
                    "start": current.start.isoformat(),
                },
            )
            return remaining, total
        frequency = self._frequency(scenario)
        cycles = cycles_before(current.start, frequency, current.end, inclusive=False)
        started = min(cycles_before(current.start, frequency, on, inclusive=True), cycles)
        decision.remaining = {"cycles": cycles - started, "of": cycles, "frequency": frequency.value}
        decision.step(
            "step_remaining_cycles",
            lambda: {
                "remaining": cycles - started,
                "total": cycles,
                "frequency": frequency.value,
                "started": started,
                "date": on.isoformat(),
            },
        )
        return cycles - started, cycles

    def _measurable(self, term: Term, current: Stretch, scenario: Any) -> bool:
        """(2026-12-02) What remains is named on an outcome without a penalty when it can be
        measured: a commitment that ends in the calendar, in days or of a known billing frequency."""
        if current.end == _BEYOND:
            return False
        return term.basis is CommitmentBasis.CALENDAR or self._known_frequency(scenario) is not None

    def _known_frequency(self, scenario: Any) -> BillingFrequency | None:
        """(2026-12-02) As written, else the scheme's, else the one the termed products share."""
        subscription = scenario.subscription
        if subscription.billing_frequency is not None:
            return subscription.billing_frequency  # type: ignore[no-any-return]
        scheme = self.rules.get("billing_term_scheme", subscription.billing_term_scheme or "")
        if scheme is not None:
            return scheme.billing_frequency  # type: ignore[no-any-return]

        def termed(codes: list[str]) -> set[BillingFrequency]:
            products = [self.rules.get("product", code) for code in codes]
            return {
                p.billing_frequency
                for p in products
                if p is not None and p.type.value == "termed" and p.billing_frequency
            }

        shared = termed([line.product for line in subscription.products])
        if not shared:
            plan = self.rules.get("plan", subscription.plan) if subscription.plan is not None else None
            codes: list[str] = []
            for code in (*(plan.bundles if plan is not None else ()), *subscription.add_ons):
                bundle = self.rules.get("bundle", code)
                codes += [p.product for p in bundle.products if p.required] if bundle is not None else []
            shared = termed(codes)
        return shared.pop() if len(shared) == 1 else None

    def _frequency(self, scenario: Any) -> BillingFrequency:
        """The subscription's billing frequency (`_known_frequency`), or BR616."""
        found = self._known_frequency(scenario)
        if found is not None:
            return found
        raise ScenarioError(
            "subscription.billing_frequency",
            "a term counted in billing cycles needs the subscription's billing frequency",
            "add `billing_frequency: monthly` (or the subscription's `billing_term_scheme`: its services "
            "do not say one frequency)",
            "BR616",
        )

    def _source(self, code: str, *path: Any) -> Source | None:
        key = (code, *path)
        if key not in self._sources:  # the places of the rule set's terms: found once each
            entry = self.rules.catalog.get("term", {}).get(code)
            if entry is None:
                self._sources[key] = None
            else:
                doc = entry.document
                span = doc.locate(path) if path else doc.locate(())
                self._sources[key] = Source(doc.file, span.line, span.column)
        return self._sources[key]


@dataclass(frozen=True)
class _PenaltySettings:
    """A term's penalty settings as every decision writes them (`TermEvaluator._penalty_settings`)."""

    tax_rate: Decimal | None
    tax_code: str | None
    rate_text: str  # the rate written out ("" without one)
    grace: Duration | None
    grace_text: str
    booking: tuple[tuple[str, str], ...]  # ledger account and invoice line type, those given


def _chain_steps(chain: list[Stretch], renewals: int) -> list[Reason]:
    """The explanation's renewal chain: the stretches shown, and how many are left out between."""
    steps = []
    for i, s in enumerate(chain):
        index = i + 1 if i < _SHOWN else renewals + 1 - (len(chain) - 1 - i)
        if i == _SHOWN and index > _SHOWN + 1:
            steps.append(Reason("step_chain_elided", {"count": index - _SHOWN - 1}))
        renewal = " (then renewed automatically, no penalty)" if i < len(chain) - 1 else ""
        facts = {"index": index, "term": s.term, "start": s.start.isoformat(), "end": _show_date(s.end)}
        steps.append(Reason("step_chain", {**facts, "renewal": renewal}))
    return steps


# --- the tests ---------------------------------------------------------------------------------------


def _samples() -> list[dict[str, Any]]:
    found = []
    for path in sorted((REPO / "samples" / "cancellation").glob("*.yaml")):
        for document in load_file(path).documents:
            data = json.loads(json.dumps(dict(document.data), default=str))
            data.pop("expect", None)
            found.append(data)
    return found


SAMPLES = _samples()
NEW = fast.TermEvaluator(RULES)
OLD = FrozenTermEvaluator(RULES)
BUNDLES = sorted(RULES.models("bundle"))
PLANS = sorted(RULES.models("plan"))


def _decided(evaluator: Any, scenario: Any, explain: bool) -> str:
    try:
        decided = evaluator.decide(scenario, criteria_outcomes(RULES, scenario)).to_json(explain)
    except ScenarioError as exc:
        return f"error: {exc.code} {exc.field}: {exc.message} ({exc.hint})"
    return orjson.dumps(decided).decode()


def _compare(data: dict[str, Any]) -> None:
    try:
        scenario = _checked(data)[0]
    except (ScenarioInvalid, ScenarioError):
        return
    if scenario.cancellation is None:
        return
    for explain in (False, True, False):  # again without: nothing kept goes stale
        assert _decided(NEW, scenario, explain) == _decided(OLD, scenario, explain), (data, explain)


def test_every_cancellation_sample_is_decided_as_before() -> None:
    assert len(SAMPLES) >= 10
    for data in SAMPLES:
        _compare(data)


def _day(text: str, days: int) -> str:
    return (date.fromisoformat(text[:10]) + timedelta(days=days)).isoformat()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(0, 10_000),
    start=st.integers(-400, 400),
    on=st.integers(-10, 3_000),
    renewed=st.none() | st.integers(-5, 60),
    plan=st.none() | st.sampled_from(PLANS),
    add_ons=st.none() | st.lists(st.sampled_from(BUNDLES), max_size=3, unique=True),
    chosen=st.none() | st.integers(0, 3),
    frequency=st.none() | st.sampled_from(["weekly", "monthly", "quarterly", "yearly", "drop"]),
    reason=st.none() | st.sampled_from(["moved_abroad", "deceased", "other", "drop"]),
    military=st.booleans(),
)
def test_generated_cancellations_are_decided_as_before(
    index: int,
    start: int,
    on: int,
    renewed: int | None,
    plan: str | None,
    add_ons: list[str] | None,
    chosen: int | None,
    frequency: str | None,
    reason: str | None,
    military: bool,
) -> None:
    data = copy.deepcopy(SAMPLES[index % len(SAMPLES)])
    subscription, cancellation = data["subscription"], data["cancellation"]
    subscription["start"] = _day(subscription["start"], start)
    cancellation["date"] = _day(subscription["start"], on)
    if renewed is not None:
        cancellation["renewed_on"] = _day(cancellation["date"], renewed)
    if plan is not None:
        subscription["plan"] = plan
    if add_ons is not None:
        held = RULES.models("plan").get(subscription.get("plan"))
        add_ons = [
            code for code in add_ons if held is None or code not in held.bundles
        ]  # (a bundle of the plan as an add-on: BR616)
        subscription["add_ons"] = add_ons
        subscription["add_on_starts"] = {code: _day(subscription["start"], 31 * i) for i, code in enumerate(add_ons)}
        if chosen is not None and add_ons[:chosen]:  # (an empty selection cancels nothing: BR616 since 2026-12-01)
            cancellation["add_ons"] = add_ons[:chosen]
    if frequency == "drop":
        subscription.pop("billing_frequency", None)
        subscription.pop("billing_term_scheme", None)
    elif frequency is not None:
        subscription["billing_frequency"] = frequency
    if reason == "drop":
        cancellation.pop("reason", None)
    elif reason is not None:
        cancellation["reason"] = reason
    if military:
        data["account"]["segments"] = ["military"]
    _compare(data)


@settings(max_examples=300, deadline=None)
@given(
    start=st.dates(date(1990, 1, 1), date(2100, 12, 31)),
    period=st.integers(1, 60),
    unit=st.sampled_from(["months", "years"]),
    frequency=st.sampled_from(["monthly", "quarterly", "yearly"]),
)
def test_a_commitment_of_months_has_its_billing_cycles_counted_without_walking_them(
    start: date, period: int, unit: str, frequency: str
) -> None:
    kind = fast.BillingFrequency(frequency)
    months = period * (12 if unit == "years" else 1)
    end = fast.commitment_end(Term.model_construct(period=period, unit=TimeUnit(unit)), start)
    walked = fast.cycles_before(start, kind, end, inclusive=False)
    assert -(-months // CYCLE_MONTHS[kind]) == walked


def test_a_penalty_shares_fee_is_the_same_worked_out_or_kept() -> None:
    variant = NEW._prepare("rolling-12m").variant
    assert variant is not None
    first = [variant.fee(remaining, 365) for remaining in range(366)]
    again = [variant.fee(remaining, 365) for remaining in range(366)]
    fresh = [variant._worked_out(remaining, 365) for remaining in range(366)]
    assert first == again == fresh
    assert [f.fee_text for f in fresh[:3]] == ["0.00 EUR", "0.16 EUR", "0.33 EUR"]


@pytest.mark.parametrize("code", sorted(RULES.models("term")))
def test_every_terms_dated_reasons_are_worded_as_their_template_words_them(code: str) -> None:
    prepared = NEW._prepare(code)
    for dated in (prepared.over, prepared.allowed, prepared.not_allowed, prepared.penalty):
        assert dated.around is not None
        for day in ("2015-01-31", "after 9999-12-31"):
            record = dated.record(day)
            assert record["text"] == fast.Reason(dated.code, record["facts"]).words()

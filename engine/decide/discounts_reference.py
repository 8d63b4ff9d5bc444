"""The discount evaluator as it stood before issue 11 (a frozen copy: do not optimise it).

`engine.decide.discounts.DiscountEvaluator` precomputes per rule set what this one works out per
scenario (line matchers, lookups, the definitions' state and messages); the differential test
(`tests/test_decide_differential.py`) compares the two decisions over generated scenarios. What
did not change in issue 11 is shared and imported from `discounts`: the per-definition rules once
a definition is eligible (`DefinitionRules`: durations, ad hoc requests, approvals, free periods),
the line arithmetic (`_Caps`, `_LineBook`) and the small helpers.

Since issue 13 the engine's reasons are records; this evaluator still writes words for what it
decides itself. `in_old_words` turns a decision's discount reasons into those words (a record's
words are the same, except that a failing criteria section is now one record per failing
condition, which goes back to the section's one line), so the two decisions compare exactly.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from decimal import Decimal
from typing import Any

from engine.decide.discounts import (
    DefinitionResult,
    DefinitionRules,
    DiscountDecision,
    Line,
    LineResult,
    _cap_order,
    _Caps,
    _describe_targets,
    _held_bundles,
    _LineBook,
    _lines,
    _matches,
    _take_money,
    _validity_date,
    _window_start,
    _within_caps,
    discount_source,
    note_other_currencies,
    share_of,
)
from engine.decide.money import Rounder
from engine.decide.reasons import Reason
from engine.decide.why import CONDITION_CODES
from engine.models.discounts import AmountType, Discount, DiscountType, LimitWindow
from engine.values import Money


class ReferenceEvaluator(DefinitionRules):
    """The discount evaluator as it was before issue 11, frozen: every definition examined per scenario."""

    def __init__(self, rules: Any) -> None:
        self.rules = rules
        self.rounder = Rounder(rules.settings.rounding.value, rules.settings.minor_units)
        self.granted_by: dict[str, list[str]] = {}
        for code, bundle in rules.models("bundle").items():
            for discount in bundle.discounts:
                self.granted_by.setdefault(discount, []).append(code)
        plans = rules.models("plan")
        self.plan_bundles = {code: set(plan.bundles) for code, plan in plans.items()}

    def decide(
        self,
        scenario: Any,
        outcomes: dict[str, list[tuple[str, bool]]],
        only: Collection[str] | None = None,
        why: bool = True,
    ) -> DiscountDecision:
        """Every definition's status and the lines' amounts; `only`: decide just these definitions
        (a purchase prices its lines with the discounts its own bundles grant). `why` is accepted
        for the evaluator's interface and ignored: the reference words a failing section as it
        always did."""
        subject, lines = _lines(self.rules.models("product"), scenario)
        today = scenario.as_of.date()
        results = []
        held = _held_bundles(scenario, subject, lines) if subject else set()
        if subject == "subscription" and scenario.subscription.plan in self.plan_bundles:
            held |= self.plan_bundles[scenario.subscription.plan]
        for code, definition in self.rules.models("discount").items():
            if only is not None and code not in only:
                continue
            result = DefinitionResult(code, definition.type.value, "applied")
            self._status(
                definition, result, scenario, subject, lines, today, held, outcomes.get(f"discount:{code}", [])
            )
            results.append(result)
        applied = [r for r in results if r.status == "applied"]
        return DiscountDecision(self._amounts(applied, lines, scenario), results)

    # eligibility ---------------------------------------------------------------------------------

    def _status(
        self,
        d: Discount,
        r: DefinitionResult,
        scenario: Any,
        subject: str | None,
        lines: list[Line],
        today: date,
        held: set[str],
        sections: list[tuple[str, bool]],
    ) -> None:
        def settle(status: str, *reasons: str) -> None:
            r.status = status
            r.reasons.extend(reasons)

        request = next((q for q in scenario.requested_discounts if q.discount == d.code), None)
        if d.state.value != "effective":
            return settle("not_effective", f"life-cycle state is {d.state.value}")
        valid_on = _validity_date(d, request, scenario, today)
        history = [h for h in scenario.discount_history if h.discount == d.code]
        added = self._added_while_valid(d, scenario, history, valid_on, today) if request is None else None
        valid_on = added if added is not None else valid_on
        if valid_on < d.validity.effective:
            return settle("not_effective", f"effective from {d.validity.effective}")
        if d.validity.expiration is not None and valid_on > d.validity.expiration:
            return settle("not_effective", f"expired on {d.validity.expiration}")
        if subject != d.classification.value:
            billed = f"this scenario bills a {subject}" if subject else "this scenario bills nothing"
            return settle("not_eligible", f"applies to {d.classification.value}s; {billed}")
        failing: list[Any] = []  # every failing condition is reported, not just the first (SPEC 3.2)
        granting = self.granted_by.get(d.code, [])
        if granting and not held & set(granting):
            failing.append(
                f"granted by bundle {', '.join(f'`{b}`' for b in sorted(granting))}, which the {subject} does not hold"
            )
        if not any(_matches(d, line) for line in lines):
            failing.append(f"no line of {_describe_targets(d)}")
        agent = self._agent_refused(d, scenario)
        criteria = [
            f"criteria section `{s}` does not hold" if s != "when" else "criteria `when` does not hold"
            for s, holds in sections
            if not holds
        ]
        if agent is not None and (failing or criteria or request is None):  # (a request: when it fails anyway)
            failing.append(self._agent_reason(agent, d))
        failing += criteria
        if failing:
            return settle("not_eligible", *failing)
        history = [h for h in scenario.discount_history if h.discount == d.code]
        if (
            request is not None and d.type is DiscountType.AD_HOC
        ):  # rejected whatever its duration or limit (2026-12-01)
            value, problems = self._request_problems(d, request, today, scenario)  # (its approval: after them)
            if problems:
                # (a value that did not read as written: mirrors `discounts._as_requested`, 2026-12-02)
                r.status, r.reasons, r.value = "rejected", problems, value if value is not None else request.value
                return None
        if self._duration_over(d, r, history, request, today, scenario):
            return
        if d.limit is not None:
            start = _window_start(d.limit, today)
            used = sum(1 for h in history if start <= h.on <= today)
            if used >= d.limit.times:
                kind = "calendar" if d.limit.window is LimitWindow.CALENDAR else "rolling"
                if request is not None and d.type is DiscountType.AD_HOC:  # (mirrors the engine, 2026-12-04)
                    r.value = value
                return settle(
                    "limit_reached",
                    f"applied {used} time{'' if used == 1 else 's'} since {start} ({kind} {d.limit.per}); the limit is {d.limit.times}",
                )
        if d.type is DiscountType.AUTO_APPLY:
            r.value = d.amount.value
            return None
        self._ad_hoc(d, r, scenario, request, today)
        return None

    # amounts ---------------------------------------------------------------------------------------

    def _amounts(self, applied: list[DefinitionResult], lines: list[Line], scenario: Any) -> list[LineResult]:
        definitions = {r.code: self.rules.get("discount", r.code) for r in applied}
        amounts = [r for r in applied if definitions[r.code].amount.type is AmountType.AMOUNT]
        if amounts:
            note_other_currencies(amounts, lines, lambda line, code: _matches(definitions[code], line))
        # (since 2026-12-02, as the engine: a capped discount names the lines of another currency
        # than its cap, which it takes nothing from; the differential test met a USD line marked main)
        capped = {
            r.code: cap
            for r in applied
            if (cap := definitions[r.code].cap) is not None and definitions[r.code].amount.type is not AmountType.AMOUNT
        }
        if capped:
            note_other_currencies(
                [r for r in applied if r.code in capped],
                lines,
                lambda line, code: _matches(definitions[code], line),
                capped,
            )
        caps = _Caps({code: d.cap for code, d in definitions.items() if d.cap is not None})
        by_code = {r.code: r for r in applied}
        results = self._lines(applied, definitions, caps, lines, scenario)
        for result in results:
            for code, amount in result.takes:
                totals = by_code[code].amounts
                currency = result.line.gross.currency
                totals[currency] = totals.get(currency, Decimal(0)) + amount
        for r in applied:  # (2026-12-02) what a cap or the zero floor cut, said
            d = definitions[r.code]
            taken = r.amounts.get(d.cap.currency) if d.cap is not None else None
            quantum = self.rounder.quantum(d.cap.currency) if d.cap is not None else Decimal(0)
            # its whole cap, which each line's rounding may show under it (2026-12-02, as the engine)
            if d.cap is not None and taken is not None and d.cap.amount - len(lines) * quantum <= taken <= d.cap.amount:
                others = _Caps({c: x.cap for c, x in definitions.items() if x.cap is not None and c != r.code})
                free = self._lines(applied, definitions, others, lines, scenario)
                would = sum(
                    (a for x in free if x.line.gross.currency == d.cap.currency for c, a in x.takes if c == r.code),
                    Decimal(0),
                )
                if would > d.cap.amount:
                    facts = {
                        "cap": self._money_shown(d.cap),
                        "uncapped": self._money_shown(Money(would, d.cap.currency)),
                    }
                    r.reasons.append(Reason("capped", facts, discount_source(self.rules, r.code, "cap")))
            if d.amount.type is AmountType.AMOUNT:
                value = Money.parse(str(r.value))
                short = [
                    x.line.field
                    for x in results
                    if x.line.gross.currency == value.currency
                    and not x.net.amount
                    and _matches(d, x.line)
                    and sum((a for c, a in x.takes if c == r.code), Decimal(0)) < value.amount
                ]
                if short:
                    floored: dict[str, Any] = {"value": self._money_shown(r.value), "lines": short}
                    r.reasons.append(Reason("line_floor", floored, discount_source(self.rules, r.code, "amount")))
        return results

    def _lines(
        self,
        applied: list[DefinitionResult],
        definitions: dict[str, Any],
        caps: _Caps,
        lines: list[Line],
        scenario: Any,
    ) -> list[LineResult]:
        results = []
        exact: list[dict[str, Decimal]] = []  # each line's takes before rounding
        shared = caps.caps and len(lines) > 1
        for line in sorted(lines, key=_cap_order) if shared else lines:  # (the semantics of 2026-12-01)
            book = _LineBook(line, caps)
            mine = [r for r in applied if _matches(definitions[r.code], line)]
            kinds = {r.code: definitions[r.code].amount.type for r in mine}
            for r in (r for r in mine if kinds[r.code] is AmountType.FREE_PERIOD):
                book.take(
                    r.code,
                    share_of(
                        line.gross.amount, self._free_share(definitions[r.code], r.value, line, scenario, r.free_spent)
                    ),
                )
            percentages = [r for r in mine if kinds[r.code] is AmountType.PERCENTAGE]
            for level in sorted({definitions[r.code].amount.level or 1 for r in percentages}):
                base = book.remaining  # one level: every percentage on the same base
                for r in (r for r in percentages if (definitions[r.code].amount.level or 1) == level):
                    book.take(r.code, base * Decimal(str(r.value)) / 100)
            for r in (r for r in mine if kinds[r.code] is AmountType.AMOUNT):
                _take_money(book, r.code, r.value)
            results.append(book.close(self.rounder))
            exact.append(dict(book.takes))
        if shared:
            _within_caps(results, caps, exact, self.rounder)
            results.sort(key=lambda result: result.line.index)
        return results


def old_words(reasons: list[Any]) -> list[Any]:
    """A definition's reasons as the reference words them: a record by its words, and the failing
    conditions of one criteria section (records with `facts.section`) as that section's one line."""
    words: list[Any] = []
    for reason in reasons:
        if isinstance(reason, dict) and reason["code"] in CONDITION_CODES:
            section = reason["facts"]["section"]
            text = (
                "criteria `when` does not hold" if section == "when" else f"criteria section `{section}` does not hold"
            )
            if text not in words:
                words.append(text)
        else:
            words.append(reason["text"] if isinstance(reason, dict) else reason)
    return words


def in_old_words(decision: dict[str, Any]) -> dict[str, Any]:
    """The decision with every discount definition's reasons in the reference's words (the
    reference evaluator writes words; the engine writes records whose words are the same except for
    a criteria section, which now names its failing conditions)."""
    parts = [decision.get("discounts", {}).get("definitions", []), decision.get("purchase", {}).get("discounts", [])]
    for definitions in parts:
        for definition in definitions:
            definition["reasons"] = old_words(definition["reasons"])
    return decision

"""Discount eligibility and amounts (SPEC 3.2, seed 002).

Every definition gets a status with its reasons:

- `not_effective`: life-cycle state is not `effective`, the billing date is outside the
  definition's validity, or its duration has run out (or not yet started);
- `not_eligible`: wrong subject (subscription vs job), the bill has no line it reduces, a bundle
  that grants it is not held, a criteria section does not hold, or the agent is not in an allowed
  unit;
- `limit_reached`: applied `times` times already in the window;
- auto apply: `applied`;
- ad hoc: `offered` (agent present and allowed, nothing requested), `not_requested` (no agent
  and no request: nobody to offer it to), or for a request `applied`, `pending_approval` (names
  the approvers) or `rejected` (value outside the range, dates not allowed, approver not
  authorised, agent not allowed).

Amounts, per line and billing period: free periods first, then percentages by level ascending
(one level sums its percentages on one base; the next level works on what is left), then money
amounts; each discount's take is capped by its `cap` (per billing period, across lines) and no
line goes below zero. A line is rounded once: its total discount is rounded to the currency's
minor unit and net = gross - that; per-discount amounts are split so that they add up exactly. (A gross finer than the minor
unit, e.g. a rated usage charge of 29.965 EUR, has its net rounded instead.)
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from engine.decide.money import Rounder
from engine.decide.scenarios import ScenarioError
from engine.models.catalog import CYCLE_MONTHS, BillingFrequency
from engine.models.discounts import AmountType, Discount, DiscountType, LimitWindow
from engine.values import (
    MAX_INTEGER_DIGITS,
    Duration,
    Money,
    OutOfCalendar,
    TimeUnit,
    number_problem,
    parse_number,
    plain,
)


@dataclass
class Line:
    index: int
    field: str  # e.g. "subscription.products[0]"
    product: str
    type: str
    bundle: str | None
    gross: Money
    frequency: BillingFrequency | None


@dataclass
class DefinitionResult:
    code: str
    type: str
    status: str
    reasons: list[str] = field(default_factory=list)
    approvers: list[str] = field(default_factory=list)
    value: Any = None  # the value in force (the agent's for ad hoc requests)
    amounts: dict[str, Decimal] = field(default_factory=dict)  # currency → total taken


@dataclass
class LineResult:
    line: Line
    takes: list[tuple[str, Decimal]]  # (definition code, rounded amount), in application order
    net: Money


@dataclass
class DiscountDecision:
    lines: list[LineResult]
    definitions: list[DefinitionResult]


def _lines(rules: Any, scenario: Any) -> tuple[str | None, list[Line]]:
    subject = "subscription" if scenario.subscription is not None else "job" if scenario.job is not None else None
    if subject is None:
        return None, []
    holder = getattr(scenario, subject)
    products = rules.models("product")
    lines = []
    for i, item in enumerate(holder.products):
        where = f"{subject}.products[{i}]"
        product = products.get(item.product)
        if product is None:
            from engine.diagnostics import did_you_mean

            raise ScenarioError(
                f"{where}.product",
                f"unknown product `{item.product}`",
                did_you_mean(item.product, products) or "use a product code from the rule set",
            )
        gross = item.price
        if gross is None:
            if product.price is None:
                raise ScenarioError(
                    f"{where}.price",
                    f"product `{item.product}` has no catalog price; give the line's price",
                    "add `price: 20.00 EUR`",
                )
            gross = Money(product.price.amount * item.quantity, product.price.currency)
            if number_problem(gross.amount) is not None:
                raise ScenarioError(
                    f"{where}.quantity",
                    f"{item.quantity} × the catalog price {product.price} is larger than billrules handles "
                    f"({MAX_INTEGER_DIGITS} digits before the decimal point)",
                    "check the quantity, or give the line's `price`",
                )
        frequency = product.billing_frequency or (
            scenario.subscription.billing_frequency if subject == "subscription" else None
        )
        lines.append(Line(i, where, item.product, (item.type or product.type).value, item.bundle, gross, frequency))
    return subject, lines


def _matches(definition: Discount, line: Line) -> bool:
    for target in definition.discounted_products:
        if target.product is not None and target.product != line.product:
            continue
        if target.product_type is not None and target.product_type.value != line.type:
            continue
        if target.bundle is not None and target.bundle != line.bundle:
            continue
        return True
    return False


def _describe_targets(definition: Discount) -> str:
    parts = []
    for t in definition.discounted_products:
        what = f"product `{t.product}`" if t.product else f"a {t.product_type.value if t.product_type else ''} product"
        parts.append(what + (f" in bundle `{t.bundle}`" if t.bundle else ""))
    return " or ".join(parts)


def _window_start(limit: Any, today: date) -> date:
    """First day of the limit's window; a window reaching back past 0001-01-01 starts on that day."""
    if limit.window is LimitWindow.CALENDAR and limit.per.unit in (TimeUnit.YEARS, TimeUnit.MONTHS):
        if limit.per.unit is TimeUnit.YEARS:
            return date(max(today.year - limit.per.count + 1, 1), 1, 1)
        first = date(today.year, today.month, 1)
        return Duration(limit.per.count - 1, TimeUnit.MONTHS).add_clamped(first, -1)
    try:
        return date.fromordinal(limit.per.add_to(today, -1).toordinal() + 1)  # rolling: (today - per, today]
    except OutOfCalendar:
        return date.min


def _held_bundles(scenario: Any, subject: str, lines: list[Line]) -> set[str]:
    held = {line.bundle for line in lines if line.bundle}
    if subject == "subscription":
        held.update(scenario.subscription.add_ons)
    return held


class DiscountEvaluator:
    """Decides every discount definition of a rule set for one scenario."""

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
        self, scenario: Any, outcomes: dict[str, list[tuple[str, bool]]], only: Collection[str] | None = None
    ) -> DiscountDecision:
        """Every definition's status and the lines' amounts; `only`: decide just these definitions
        (a purchase prices its lines with the discounts its own bundles grant)."""
        subject, lines = _lines(self.rules, scenario)
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
        if valid_on < d.validity.effective:
            return settle("not_effective", f"effective from {d.validity.effective}")
        if d.validity.expiration is not None and valid_on > d.validity.expiration:
            return settle("not_effective", f"expired on {d.validity.expiration}")
        if subject != d.classification.value:
            billed = f"this scenario bills a {subject}" if subject else "this scenario bills nothing"
            return settle("not_eligible", f"applies to {d.classification.value}s; {billed}")
        failing = []  # every failing condition is reported, not just the first (SPEC 3.2)
        granting = self.granted_by.get(d.code, [])
        if granting and not held & set(granting):
            failing.append(
                f"granted by bundle {', '.join(f'`{b}`' for b in sorted(granting))}, which the {subject} does not hold"
            )
        if not any(_matches(d, line) for line in lines):
            failing.append(f"no line of {_describe_targets(d)}")
        failing += [
            f"criteria section `{s}` does not hold" if s != "when" else "criteria `when` does not hold"
            for s, holds in sections
            if not holds
        ]
        if failing:
            return settle("not_eligible", *failing)
        history = [h for h in scenario.discount_history if h.discount == d.code]
        if self._duration_over(d, r, history, request, today, scenario):
            return
        if d.limit is not None:
            start = _window_start(d.limit, today)
            used = sum(1 for h in history if start <= h.on <= today)
            if used >= d.limit.times:
                kind = "calendar" if d.limit.window is LimitWindow.CALENDAR else "rolling"
                return settle(
                    "limit_reached",
                    f"applied {used} time(s) since {start} ({kind} {d.limit.per}); the limit is {d.limit.times}",
                )
        if d.type is DiscountType.AUTO_APPLY:
            r.value = d.amount.value
            return None
        self._ad_hoc(d, r, scenario, request, today)
        return None

    def _duration_over(
        self, d: Discount, r: DefinitionResult, history: list[Any], request: Any, today: date, scenario: Any
    ) -> bool:
        """Has the discount not started yet, or run out, for the period being billed?

        A duration counts from when the discount was added: an ad hoc request's (flexible)
        start or its `added_on` date; for auto apply, its first application in the history. N
        billing periods end N billing cycles (of the subscription's frequency) after that.
        """
        duration = d.duration
        if duration is None:
            return False
        billed, billed_to = _billed_period(scenario, today)
        start = (
            (request.start or request.added_on) if request is not None else min((h.on for h in history), default=None)
        )
        start = start or billed
        if request is not None and request.start is not None and billed_to < request.start:
            r.status, r.reasons = "not_effective", [f"starts on {request.start}"]
            return True
        end = request.end if request is not None and request.end is not None else duration.until
        if end is not None and billed > end:
            r.status, r.reasons = "not_effective", [f"its duration ended on {end}"]
            return True
        if duration.billing_periods is not None:
            frequency = scenario.subscription.billing_frequency if scenario.subscription is not None else None
            months = CYCLE_MONTHS.get(frequency, 1) if frequency else 1
            try:
                over = Duration(months * duration.billing_periods, TimeUnit.MONTHS).add_to(start)
            except OutOfCalendar:
                return False  # it runs past 9999-12-31: not over on any date
            if billed >= over:
                r.status, r.reasons = (
                    "not_effective",
                    [f"ran for its {duration.billing_periods} billing period(s) from {start} (until {over})"],
                )
                return True
        return False

    def _ad_hoc(self, d: Discount, r: DefinitionResult, scenario: Any, request: Any, today: date) -> None:
        agent = scenario.agent
        allowed = not d.allowed_units or (agent is not None and bool(set(agent.units) & set(d.allowed_units)))
        low, high = _range(d)
        if request is None:
            if agent is None:
                r.status, r.reasons = "not_requested", ["ad hoc: no agent to offer it to and no request"]
            elif not allowed:
                r.status, r.reasons = (
                    "not_eligible",
                    [f"agent `{agent.user}` is not in an allowed unit ({', '.join(d.allowed_units)})"],
                )
            else:
                r.status, r.reasons = "offered", [f"may be requested between {_show(low, d)} and {_show(high, d)}"]
            return
        problems = []
        if agent is not None and not allowed:
            problems.append(f"agent `{agent.user}` is not in an allowed unit ({', '.join(d.allowed_units)})")
        value = self._requested_value(d, request, problems)
        problems += self._date_problems(d, request, today)
        r.value = value
        if problems:
            r.status, r.reasons = "rejected", problems
            return
        approval = d.approval
        if approval is None or not approval.required:
            r.reasons.append("requested; no approval needed")
            return
        approvers = [*(f"user `{u}`" for u in approval.users), *(f"unit `{u}`" for u in approval.units)]
        given = [a for a in scenario.approvals if a.discount == d.code]
        authorised = [a for a in given if self._authorised(a, approval)]
        if authorised:
            r.reasons.append(f"approved by `{authorised[0].by}`")
        elif given:
            r.status = "rejected"
            r.reasons.append(f"approved by `{given[0].by}`, who is not an authorised approver ({', '.join(approvers)})")
        else:
            r.status = "pending_approval"
            r.approvers = approvers
            r.reasons.append(f"waiting for approval by {' or '.join(approvers)}")

    def _authorised(self, record: Any, approval: Any) -> bool:
        if record.by in approval.users:
            return True
        user = self.rules.get("user", record.by)
        units = set(record.units) | (set(user.units) if user is not None else set())
        return bool(units & set(approval.units))

    def _requested_value(self, d: Discount, request: Any, problems: list[str]) -> Any:
        low, high = _range(d)
        if request.value is None:
            problems.append(f"no value requested; choose one between {_show(low, d)} and {_show(high, d)}")
            return None
        try:
            value, lo, hi = (_amount_value(d, v) for v in (request.value, low, high))
        except ValueError as exc:
            problems.append(f"requested value {exc}")
            return None
        if isinstance(value, Money) and isinstance(lo, Money) and value.currency != lo.currency:
            problems.append(f"requested {value} is in another currency than the range ({lo.currency})")
        elif not (_key(lo) <= _key(value) <= _key(hi)):
            problems.append(f"requested {_show(value, d)} is outside the range {_show(low, d)} to {_show(high, d)}")
        return value

    def _date_problems(self, d: Discount, request: Any, today: date) -> list[str]:
        duration = d.duration
        problems = []
        added = request.added_on or today
        if request.start is not None:
            if duration is None or not duration.flexible_start:
                problems.append("the start date is not flexible for this discount")
            elif duration.latest_start is not None and request.start > duration.latest_start.add_clamped(added):
                problems.append(f"starts {request.start}, later than {duration.latest_start} after {added}")
        if request.end is not None:
            if duration is None or not duration.flexible_end:
                problems.append("the end date is not flexible for this discount")
            elif duration.max_length is not None and request.end > duration.max_length.add_clamped(
                request.start or added
            ):
                problems.append(f"runs until {request.end}, longer than {duration.max_length}")
        return problems

    # amounts ---------------------------------------------------------------------------------------

    def _amounts(self, applied: list[DefinitionResult], lines: list[Line], scenario: Any) -> list[LineResult]:
        definitions = {r.code: self.rules.get("discount", r.code) for r in applied}
        caps = _Caps({code: d.cap for code, d in definitions.items() if d.cap is not None})
        by_code = {r.code: r for r in applied}
        results = []
        for line in lines:
            book = _LineBook(line, caps)
            mine = [r for r in applied if _matches(definitions[r.code], line)]
            kinds = {r.code: definitions[r.code].amount.type for r in mine}
            for r in (r for r in mine if kinds[r.code] is AmountType.FREE_PERIOD):
                book.take(r.code, line.gross.amount * self._free_share(definitions[r.code], r.value, line, scenario))
            percentages = [r for r in mine if kinds[r.code] is AmountType.PERCENTAGE]
            for level in sorted({definitions[r.code].amount.level or 1 for r in percentages}):
                base = book.remaining  # one level: every percentage on the same base
                for r in (r for r in percentages if (definitions[r.code].amount.level or 1) == level):
                    book.take(r.code, base * Decimal(str(r.value)) / 100)
            for r in (r for r in mine if kinds[r.code] is AmountType.AMOUNT):
                money = Money.parse(str(r.value))
                if money.currency != line.gross.currency:
                    raise ScenarioError(
                        f"{line.field}.price",
                        f"line is in {line.gross.currency} but discount `{r.code}` takes {money}",
                        "bill the line in the discount's currency",
                    )
                book.take(r.code, money.amount)
            result = book.close(self.rounder)
            for code, amount in result.takes:
                totals = by_code[code].amounts
                totals[line.gross.currency] = totals.get(line.gross.currency, Decimal(0)) + amount
            results.append(result)
        return results

    def _free_share(self, d: Discount, value: Any, line: Line, scenario: Any) -> Decimal:
        """The share of the period's charge that a free period removes (2 months of 12 → 2/12)."""
        free = Decimal(str(value))
        unit = d.amount.unit or TimeUnit.MONTHS
        months = CYCLE_MONTHS.get(line.frequency) if line.frequency else None
        if unit in (TimeUnit.MONTHS, TimeUnit.YEARS) and months:
            free_months = free * (12 if unit is TimeUnit.YEARS else 1)
            return min(free_months / months, Decimal(1))
        period = scenario.subscription.billing_period if scenario.subscription is not None else None
        if period is not None:
            days = Decimal((period.to - period.from_).days + 1)
        elif months:
            days = Decimal(months * 365) / 12
        else:
            days = Decimal(7)
        free_days = free * (7 if unit is TimeUnit.WEEKS else 1)
        if unit in (TimeUnit.MONTHS, TimeUnit.YEARS):
            return Decimal(1)
        return min(free_days / days, Decimal(1))


class _Caps:
    """What each capped discount may still take in this billing period (across lines)."""

    def __init__(self, caps: dict[str, Money]) -> None:
        self.caps = caps
        self.left = {code: cap.amount for code, cap in caps.items()}

    def limit(self, code: str, amount: Decimal, line: Line) -> Decimal:
        cap = self.caps.get(code)
        if cap is None:
            return amount
        if cap.currency != line.gross.currency:
            raise ScenarioError(
                f"{line.field}.price",
                f"line is in {line.gross.currency} but the cap of discount `{code}` is in {cap.currency}",
                "bill the line in the discount's currency",
            )
        amount = min(amount, self.left[code])
        self.left[code] -= amount
        return amount


class _LineBook:
    """The running remainder of one line: takes are capped, and never drive the line below zero."""

    def __init__(self, line: Line, caps: _Caps) -> None:
        self.line = line
        self.caps = caps
        self.remaining = line.gross.amount
        self.takes: list[tuple[str, Decimal]] = []

    def take(self, code: str, amount: Decimal) -> None:
        amount = self.caps.limit(code, max(min(amount, self.remaining), Decimal(0)), self.line)
        self.remaining -= amount
        self.takes.append((code, amount))

    def close(self, rounder: Rounder) -> LineResult:
        """Round once: the line's total discount; per-discount amounts split to add up to it."""
        currency, gross = self.line.gross.currency, self.line.gross.amount
        exact = [amount for _, amount in self.takes]
        quantum = rounder.quantum(currency)
        if gross == gross.quantize(quantum):
            discount = rounder.round(sum(exact, Decimal(0)), currency)
            net = gross - discount
        else:  # a gross finer than the currency's minor unit: the net is what gets rounded
            net = rounder.round(gross - sum(exact, Decimal(0)), currency)
            discount = gross - net
            quantum = min(quantum, Decimal(1).scaleb(gross.as_tuple().exponent))  # type: ignore[arg-type]
        rounded = rounder.split(discount, exact, quantum)
        takes = [(code, amount) for (code, _), amount in zip(self.takes, rounded, strict=True)]
        return LineResult(self.line, takes, Money(net, currency))


def _billed_period(scenario: Any, today: date) -> tuple[date, date]:
    """The period being billed: the subscription's billing period, else the billing date alone."""
    if scenario.subscription is not None and scenario.subscription.billing_period is not None:
        period = scenario.subscription.billing_period
        return period.from_, period.to
    return today, today


def _validity_date(d: Discount, request: Any, scenario: Any, today: date) -> date:
    """The date a definition's validity is judged on (seed 002: the dates during which it "can be
    offered"): an ad hoc request's `added_on`, the billing date for an offer made now, and for
    auto apply the start of the period billed — a December bill run in January still gets a
    discount that expired on 31 December."""
    if d.type is DiscountType.AD_HOC:
        return request.added_on if request is not None and request.added_on is not None else today
    return _billed_period(scenario, today)[0]


def _range(d: Discount) -> tuple[Any, Any]:
    bounds = d.amount.range or []
    return (bounds[0], bounds[1]) if len(bounds) == 2 else (None, None)


def _amount_value(d: Discount, value: Any) -> Any:
    """Money or a number, within the limits of engine.values; ValueError otherwise."""
    if d.amount.type is AmountType.AMOUNT:
        return Money.parse(str(value))
    return parse_number(plain(value) if isinstance(value, Decimal) else str(value))


def _key(value: Any) -> Decimal:
    return value.amount if isinstance(value, Money) else Decimal(value)


def _show(value: Any, d: Discount) -> str:
    if value is None:
        return "?"
    if isinstance(value, Decimal):
        value = plain(value)
    if d.amount.type is AmountType.PERCENTAGE:
        return f"{value} %"
    if d.amount.type is AmountType.FREE_PERIOD:
        unit = d.amount.unit.value if d.amount.unit else "months"
        return f"{value} {unit}"
    return str(value)

"""Discount eligibility and amounts (SPEC 3.2, seed 002).

Every definition gets a status with its reasons:

- `not_effective`: life-cycle state is not `effective`, the billing date is outside the
  definition's validity, or its duration has run out (or not yet started);
- `not_eligible`: wrong subject (subscription vs job), the bill has no line it reduces, a bundle
  that grants it is not held, a criteria section does not hold, the agent is not in an allowed
  unit, or (ad hoc, nothing requested) the scenario has no agent to offer it to (reason
  `not_requested`);
- `limit_reached`: applied `times` times already in the window;
- auto apply: `applied`;
- ad hoc: `offered` (agent present and allowed, nothing requested), or for a request `applied`, `pending_approval` (names
  the approvers) or `rejected` (value outside the range, dates not allowed, approver not
  authorised, agent not allowed).

Amounts, per line and billing period: free periods first, then percentages by level ascending
(one level sums its percentages on one base; the next level works on what is left), then money
amounts; each discount's take is capped by its `cap` (per billing period, across lines) and no
line goes below zero. A line is rounded once: its total discount is rounded to the currency's
minor unit and net = gross - that; per-discount amounts are split so that they add up exactly. (A gross finer than the minor
unit, e.g. a rated usage charge of 29.965 EUR, keeps its precision in the net: only the discount is rounded.)

Models read as mappings: where a function reads several fields of one model on every decision
(`_lines`, `DiscountEvaluator.decide`, `_unasked_contexts`, ...), it reads them from the model's
`__dict__` (`fields["subscription"]`), as `decision.py` does and for the reason its module
docstring gives (pydantic's hook on every attribute read; about 40 reads a brief decision here
until 2026-12-04). One field is read as an attribute: reading `__dict__` passes the hook too.
"""

from __future__ import annotations

import dataclasses
import decimal
import itertools
import math
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from operator import itemgetter
from typing import Any, TypeVar

from mypy_extensions import mypyc_attr

from engine.decide.money import Rounder
from engine.decide.reasons import Reason, Source, listed, register, rule_source
from engine.decide.scenarios import ScenarioError
from engine.decide.terms import cycle_start, cycles_before
from engine.decide.why import Reading, WhyNot
from engine.models.catalog import CYCLE_MONTHS, DISCOUNTABLE, BillingFrequency, ProductType
from engine.models.discounts import AmountType, Discount, DiscountType, LimitWindow
from engine.values import (
    MAX_INTEGER_DIGITS,
    Duration,
    Money,
    OutOfCalendar,
    TimeUnit,
    add_months_keeping_month_end,
    money_text,
    number_problem,
    parse_number,
    parse_number_text,
    plain,
)


def _one(shown: Any) -> str:
    """A free period `_show` wrote (its facts' text), in words: `1 months` is 1 month (until
    2026-12-03 the words read "requested 1 months")."""
    text = str(shown)
    return text[:-1] if re.fullmatch(r"1 (?:day|week|month|year)s", text) else text


def _counted(count: Any, noun: str) -> str:
    """`1 time`, `3 times` (until 2026-12-03 "3 time(s)")."""
    return f"{count} {noun}" if str(count) == "1" else f"{count} {noun}s"


def _targets(targets: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for t in targets:
        if "product" in t or "product_type" in t:
            what = f"product `{t['product']}`" if "product" in t else f"a {t['product_type']} product"
            what += " as the customer's main service" if "main_service" in t else ""
        else:
            what = "the customer's main service"
        parts.append(what + (f" in bundle `{t['bundle']}`" if "bundle" in t else ""))
    return " or ".join(parts)


register(
    {
        "state_not_effective": "life-cycle state is {state}",
        "not_yet_effective": "effective from {from}",
        "expired": "expired on {to}",
        "wrong_subject": lambda f: (
            f"applies to {f['applies_to']}s; "
            + (f"this scenario bills a {f['billed']}" if f["billed"] else "this scenario bills nothing")
        ),
        "bundle_not_held": lambda f: f"granted by bundle {listed(f['bundles'])}, which the {f['holder']} does not hold",
        "no_line": lambda f: f"no line of {_targets(f['targets'])}",
        "other_currency_lines": lambda f: (
            f"takes nothing from {', '.join(f['lines'])}: billed in another currency than its "
            f"{f['currency']} {f.get('of', 'amount')}"
        ),
        "capped": "capped at {cap} a billing period: it would take {uncapped}",
        "line_floor": lambda f: f"takes less than {f['value']} from {', '.join(f['lines'])}: no line goes below zero",
        "not_requested": "ad hoc: no agent to offer it to and no request",
        "agent_not_allowed": lambda f: f"agent `{f['agent']}` is not in an allowed unit ({', '.join(f['units'])})",
        "offered": lambda f: f"may be requested between {_one(f['low'])} and {_one(f['high'])}",
        "no_approval_needed": "requested; no approval needed",
        "approved": "approved by `{by}`",
        "approver_not_authorised": lambda f: (
            f"approved by `{f['by']}`, who is not an authorised approver ({', '.join(f['approvers'])})"
        ),
        "waiting_for_approval": lambda f: f"waiting for approval by {' or '.join(f['approvers'])}",
        "no_value_requested": lambda f: (
            f"no value requested; choose one between {_one(f['low'])} and {_one(f['high'])}"
        ),
        "requested_value_invalid": "requested value {problem}",
        "requested_other_currency": "requested {requested} is in another currency than the range ({currency})",
        "requested_outside_range": lambda f: (
            f"requested {_one(f['requested'])} is outside the range {_one(f['low'])} to {_one(f['high'])}"
        ),
        "start_not_flexible": "the start date is not flexible for this discount",
        "start_too_late": lambda f: (
            f"starts {f['start']}, later than {f['latest']} after {f['added']}"
            + (f" (on {f['latest_day']} at the latest)" if "latest_day" in f else "")
        ),
        "end_not_flexible": "the end date is not flexible for this discount",
        "end_too_late": lambda f: (
            f"runs until {f['end']}, longer than {f['max_length']}"
            + (f" (until {f['latest_end']} at the latest)" if "latest_end" in f else "")
        ),
        "end_before_start": "ends on {end}, before it starts on {start}: it would cover no day",
        "starts_later": "starts on {start}",
        "duration_ended": "its duration ended on {end}",
        "periods_used": lambda f: (
            f"ran for its {_counted(f['periods'], 'billing period')} from {f['from']} (until {f['until']})"
        ),
        "free_period_used": lambda f: f"its {_one(f['free'])} free ran from {f['from']} to {f['until']}",
        "limit_reached": lambda f: (
            f"applied {_counted(f['used'], 'time')} since {f['since']} ({f['window']} {f['per']}); "
            f"the limit is {f['limit']}"
        ),
    }
)


@dataclass(slots=True)
class Line:
    """A line of the bill as the discounts see it. Never changed once made: its keys (`reach`,
    `bill_key`) are worked out with it, and kept lines are shared by decisions (`_lines`' `made`)."""

    index: int
    field: str  # e.g. "subscription.products[0]"
    product: str
    type: str
    bundle: str | None
    gross: Money
    frequency: BillingFrequency | None
    main: bool = False  # the customer's main service (`typed_lines` fills it from the catalog)
    # (`dataclasses.field`: `field` here is the line's own)
    #: what the definitions that reduce it follow from (`DiscountEvaluator.matching`, `_context`)
    reach: tuple[str, str, str | None, bool] = dataclasses.field(init=False, compare=False, repr=False)
    #: all a bill reads of it (`DiscountEvaluator._billed`'s key; its gross as written, as text):
    #: made with the line, which the decisions of a billing run share (`_lines`' `made`)
    bill_key: tuple[Any, ...] = dataclasses.field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.reach = reach = (self.product, self.type, self.bundle, self.main)
        gross = self.gross
        self.bill_key = (self.field, *reach, gross.currency, str(gross.amount), self.frequency)


@dataclass(slots=True)
class DefinitionResult:
    code: str
    type: str
    status: str
    reasons: list[Reason | str] = field(default_factory=list)  # words (str) only from the frozen reference
    approvers: list[str] = field(default_factory=list)
    value: Any = None  # the value in force (the agent's for ad hoc requests)
    amounts: dict[str, Decimal] = field(default_factory=dict)  # currency → total taken
    #: a free period without a duration: the share of it already given (by the bills before this
    #: one), so the bill being decided gets what is left of it (`DefinitionRules._free_share`)
    free_spent: Fraction = Fraction(0)


@dataclass(slots=True)
class SettledResult(DefinitionResult):
    """A result that the scenario's facts beyond its dates, subject, lines, bundles and criteria
    cannot change (not effective on the date, wrong subject, not eligible for a fixed set of
    reasons): made once per rule set and shared by every decision that reaches it, so it is never
    mutated (`decision.discounts_json` copies it, or writes it once: `written`)."""

    #: its item's JSON text written once (`decision._settled_text`), kept for the next decision
    written: bytes | None = field(default=None, compare=False, repr=False)


@dataclass(slots=True)
class LineResult:
    line: Line
    takes: list[tuple[str, Decimal]]  # (definition code, rounded amount), in application order
    net: Money
    #: the line's discount, gross - net: rounded to the minor unit (`0.00 EUR` when none), or
    #: the gross itself when rounding would take more (`_LineBook.close`)
    discount: Decimal
    #: shared by the lines kept under one key (`DiscountEvaluator._amounts_kept`): the writer's
    #: text of what follows the line's field and its money as text, written once
    #: (`decision.discounts_json`, `decision._line_texts`)
    written: dict[str, Any] | None = None


class DiscountDecision:
    """The lines' amounts and every definition's result, in code order.

    `blocks`: decided by blocks (`DiscountEvaluator._by_blocks`), each block with its results
    decided afresh, for a writer that writes the rest of a block once (`decision.discounts_json`);
    `definitions` is then spread out of them when first read (a billing run's writer never reads
    it, and at 400 definitions filling the list cost more than writing the blocks).

    `written`: a bill kept by the evaluator (`DiscountEvaluator._billed`): its lines and results
    are shared with the decisions of the same bill, never changed, and the writer keeps here what
    it writes of them (`decision.discounts_json`), for the next such decision; None otherwise."""

    __slots__ = ("_definitions", "blocks", "lines", "written")

    def __init__(
        self,
        lines: list[LineResult],
        definitions: list[DefinitionResult] | None,
        blocks: list[tuple[Block, Sequence[DefinitionResult]]] | None = None,
        written: dict[Any, Any] | None = None,
    ) -> None:
        assert definitions is not None or blocks is not None
        self.lines = lines
        self._definitions = definitions
        self.blocks = blocks
        self.written = written

    @property
    def definitions(self) -> list[DefinitionResult]:
        found = self._definitions
        if found is None:
            assert self.blocks is not None
            found = self._definitions = _spread(self.blocks)
        return found

    def applied(self) -> list[DefinitionResult]:
        """The results applied, in code order. By blocks, without spreading every result: only
        those decided afresh can be applied (a block's shared results are settled, not eligible
        or otherwise not applied: `_block`, `_resolved`)."""
        if self._definitions is None and self.blocks is not None:
            return [r for _, fresh in self.blocks for r in fresh if r.status == "applied"]
        return [r for r in self.definitions if r.status == "applied"]

    def __repr__(self) -> str:
        return f"DiscountDecision(lines={self.lines!r}, definitions={self.definitions!r})"


def _spread(blocks: list[tuple[Block, Sequence[DefinitionResult]]]) -> list[DefinitionResult]:
    """Every result of a decision made by blocks, in code order: each block's shared results,
    with its results decided afresh in its open slots, in order."""
    every: list[DefinitionResult] = []
    for block, fresh in blocks:
        decided = iter(fresh)
        every += [r if r is not None else next(decided) for r in block.results]
    return every


class Block:
    """The results of consecutive definitions (`_BLOCK` of them) that the dates, the subject, the
    criteria outcomes they read, the bundles held and the lines' products decide: shared results
    (`SettledResult`) and None in the slots of the `eligible` ones, which the scenario's
    durations, limits and requests decide. Shared by decisions, never changed; its JSON is
    written once (`decision._block_json`) and kept in `written`. A block resolved for a context
    (`DiscountEvaluator._resolved`) has its eligible results in place but the applied ones, and a
    sheet (`DiscountEvaluator._sheet`) is every block of a decision resolved, as one."""

    __slots__ = ("asked", "codes", "eligible", "frees", "made", "needs", "results", "written")

    def __init__(
        self,
        results: tuple[DefinitionResult | None, ...],
        eligible: tuple[tuple[int, _Definition], ...],
        made: tuple[tuple[str, str, Any, Fraction], ...] = (),
        asked: tuple[int, ...] = (),
    ) -> None:
        self.results = results
        self.eligible = eligible
        #: applied only? → the JSON of its shared results (`decision._block_json`), and as text
        self.written: dict[Any, Any] = {}
        #: the codes of its eligible definitions, and what their results depend on when nothing asks
        #: for them (`_Definition.unasked`, the bits of all of them): `_by_blocks` resolves it by that
        self.codes = frozenset(d.code for _, d in eligible)
        self.needs = 0
        for _, d in eligible:
            self.needs |= d.unasked
        #: a block resolved for a context (`DiscountEvaluator._resolved`): its eligible slots are
        #: the auto-apply definitions applied, each made afresh from (code, type, value, free_spent),
        #: and (`asked`: their numbers among them) those the scenario asks for, decided afresh
        #: (`DiscountEvaluator._sheet`)
        self.made = made
        self.asked = asked
        #: whether one of its eligible definitions is a free period (`DiscountEvaluator._billed`)
        self.frees = any(d.kind is AmountType.FREE_PERIOD for _, d in eligible)


def _lines(
    products: dict[str, Any],
    scenario: Any,
    kept: dict[tuple[Any, ...], tuple[Money, Any, str]] | None = None,
    made: dict[tuple[Any, ...], Line] | None = None,
) -> tuple[str | None, list[Line]]:
    """The billed subject and its lines (`products`: the rule set's, by code). `kept`: a line at
    the catalog price, its gross, period and type text per (product, quantity, billing frequency,
    type written), beside the rule set (`DiscountEvaluator`): the catalog decides them. `made`:
    such a line itself, per those, its place, bundle and main service (a line is never changed:
    decisions share it, as the bills kept hold it)."""
    holder = scenario.subscription
    subject = "subscription"
    billed = None
    if holder is not None:
        held = holder.__dict__  # (models read as mappings: the module's docstring)
        billed = held["billing_frequency"]
    else:
        holder = scenario.job
        if holder is None:
            return None, []
        held = holder.__dict__
        subject = "job"
    lines = []
    fields = _WHERE[subject]
    for i, item in enumerate(held["products"]):
        where = fields[i] if i < _WHERE_KEPT else f"{subject}.products[{i}]"
        its = item.__dict__
        code = its["product"]
        if kept is not None and its["price"] is None:
            key = (code, its["quantity"], billed, its["type"])
            if made is not None and i < _WHERE_KEPT:
                line = made.get(whole := (*key, subject, i, its["bundle"], its["main"]))
                if line is not None:
                    lines.append(line)
                    continue
            found = kept.get(key)
            if found is not None:
                gross, frequency, shown = found
                line = Line(i, where, code, shown, its["bundle"], gross, frequency, its["main"])
                if made is not None and i < _WHERE_KEPT:
                    _kept(made, _MATCH_MEMO, whole, line)
                lines.append(line)
                continue
        product = products.get(code)
        if product is None:
            from engine.diagnostics import did_you_mean

            raise ScenarioError(
                f"{where}.product",
                f"unknown product `{code}`",
                did_you_mean(code, products) or "use a product code from the rule set",
            )
        gross, frequency = _gross(item, product, billed, where)
        kind = its["type"] or product.type
        shown = _VALUES.get(kind) or kind.value
        if kept is not None and its["price"] is None:  # (a line refused raised above: never kept)
            _kept(kept, _MATCH_MEMO, key, (gross, frequency, shown))
        lines.append(Line(i, where, code, shown, its["bundle"], gross, frequency, its["main"]))
    return subject, lines


def _gross(item: Any, product: Any, billed: BillingFrequency | None, where: str) -> tuple[Money, Any]:
    """A line's charge before discounts (its `gross`) and the billing frequency it covers:
    the price written on it, else the catalog price times the quantity (times the product's periods in a
    longer bill); a ScenarioError (at `where`) when it has none or it is out of bounds. `billed`
    is the subscription's billing frequency (None for a job)."""
    gross = item.price
    if gross is not None and gross.amount < 0:
        raise ScenarioError(
            f"{where}.price",
            f"a line's price is what it charges, not below zero ({gross})",
            "a refund or a credit note is not a line to discount: leave it out",
        )
    if gross is None:
        if product.price is None:
            raise ScenarioError(
                f"{where}.price",
                f"product `{item.product}` has no catalog price; give the line's price",
                "add `price: 20.00 EUR`",
            )
        gross = Money(product.price.amount * item.quantity, product.price.currency)
        # the catalog price itself (quantity 1) is within the limits: checked when loaded
        if item.quantity != 1 and number_problem(gross.amount) is not None:
            raise ScenarioError(
                f"{where}.quantity",
                f"{item.quantity} × the catalog price {product.price} is larger than billrules handles "
                f"({MAX_INTEGER_DIGITS} digits before the decimal point)",
                "check the quantity, or give the line's `price`",
            )
    # what the line's charge covers: a price given (`price`), the period billed, the bill's
    # when that is longer; a catalog price, the product's own period, times the periods of it
    # a longer bill holds (a monthly product on a yearly bill is charged for 12 months: SPEC 3.2)
    frequency = product.billing_frequency
    if (
        item.price is None
        and billed is not None
        and frequency is not None
        and product.type is ProductType.TERMED  # (a box, a usage rate: not charged per period)
        and (times := _periods_in(billed, frequency)) is not None
    ):
        # a catalog price for a shorter period than the bill's, charged for each of its periods:
        # a monthly product on a yearly bill is 12 months (seed 002: "billed for 1 year ... 10
        # months" with 2 free; until 2026-12-02 one month was charged, and 2 free months took it whole)
        gross = Money(gross.amount * times, gross.currency)
        frequency = billed
        if number_problem(gross.amount) is not None:
            raise ScenarioError(
                f"{where}.quantity",
                f"{item.quantity} × the catalog price {product.price} × {times} periods of the bill is larger "
                f"than billrules handles ({MAX_INTEGER_DIGITS} digits before the decimal point)",
                "check the quantity, or give the line's `price`",
            )
    if billed is not None and (
        frequency is None or (item.price is not None and _PERIOD_ORDER[billed] > _PERIOD_ORDER[frequency])
    ):
        frequency = billed
    return gross, frequency


def line_charge(item: Any, product: Any, billed: BillingFrequency | None) -> Money | None:
    """The charge of a product line (`p.charge` in the criteria): what the discount evaluator
    takes as its gross, or None (missing) where it refuses the line (no price, out of bounds) or
    its product is not in the catalog (`product` None)."""
    if product is None:
        return None
    try:
        return _gross(item, product, billed, "")[0]
    except ScenarioError:
        return None


#: billing frequencies by the length of their period (weekly shortest)
_PERIOD_ORDER = {BillingFrequency.WEEKLY: 0, **CYCLE_MONTHS}


def _periods_in(billed: BillingFrequency, product: BillingFrequency) -> int | None:
    """How many of a product's periods a longer bill holds (monthly in yearly: 12), or None when
    the bill is not longer or the count is not whole (weeks in a month)."""
    bill_months, product_months = CYCLE_MONTHS.get(billed), CYCLE_MONTHS.get(product)
    if bill_months is None or product_months is None or bill_months <= product_months:
        return None
    times, left = divmod(bill_months, product_months)
    return times if left == 0 else None


#: a line's field, e.g. "subscription.products[0]", written once for the first lines of a bill
_WHERE_KEPT = 64
_WHERE = {subject: [f"{subject}.products[{i}]" for i in range(_WHERE_KEPT)] for subject in ("subscription", "job")}
#: a product type's text (`ProductType.value` is a descriptor call; a dictionary is cheaper)
_VALUES: dict[Any, str] = {member: member.value for member in ProductType}


#: what a discount may reduce (SPEC 3.2: only termed, usage and expense products), by the line's type
_DISCOUNTABLE_TYPES = frozenset(t.value for t in DISCOUNTABLE)


def _matches(definition: Discount, line: Line) -> bool:
    if line.type not in _DISCOUNTABLE_TYPES:  # a line the scenario types `one_time` (SPEC 3.2), whatever names it
        return False
    if not definition.applied_service_type.serves(line.type):  # a usage line for a usage discount, ...
        return False
    return any(
        target_reaches(t, line.product, line.type, line.bundle, line.main) for t in definition.discounted_products
    )


def target_reaches(target: Any, product: str, product_type: str | None, bundle: str | None, main: bool) -> bool:
    """Whether one `discounted_products` target names a line of `product` (of `product_type`, in
    `bundle`, the main service or not): its product or product type, its bundle when it names one,
    the main service when it asks for it."""
    if target.product is not None and target.product != product:
        return False
    if target.product_type is not None and target.product_type.value != product_type:
        return False
    if target.bundle is not None and target.bundle != bundle:
        return False
    return main or not target.main_service


def _describe_targets(definition: Discount) -> str:
    return _targets(_target_facts(definition))


def _target_facts(definition: Discount) -> list[dict[str, Any]]:
    """What a definition reduces, as data: per target its `product` or `product_type`, `bundle` and
    `main_service` (true), as given."""
    found = []
    for t in definition.discounted_products:
        target: dict[str, Any] = (
            {"product": t.product} if t.product else {"product_type": t.product_type.value} if t.product_type else {}
        )
        if t.bundle:
            target["bundle"] = t.bundle
        if t.main_service:
            target["main_service"] = True
        found.append(target)
    return found


def _window_start(limit: Any, today: date) -> date:
    """First day of the limit's window; a window reaching back past 0001-01-01 starts on that day."""
    if limit.window is LimitWindow.CALENDAR and limit.per.unit in (TimeUnit.YEARS, TimeUnit.MONTHS):
        if limit.per.unit is TimeUnit.YEARS:
            return date(max(today.year - limit.per.count + 1, 1), 1, 1)
        first = date(today.year, today.month, 1)
        return Duration(limit.per.count - 1, TimeUnit.MONTHS).add_clamped(first, -1)
    if limit.window is LimitWindow.CALENDAR and limit.per.unit is TimeUnit.WEEKS:  # weeks from Monday (ISO)
        monday = today.toordinal() - today.weekday()
        return date.fromordinal(max(monday - 7 * (limit.per.count - 1), 1))
    try:
        return date.fromordinal(limit.per.add_to(today, -1).toordinal() + 1)  # rolling: (today - per, today]
    except OutOfCalendar:
        return date.min


def _held_bundles(scenario: Any, subject: str, lines: list[Line]) -> set[str]:
    held = {line.bundle for line in lines if line.bundle}
    if subject == "subscription":
        held.update(scenario.subscription.add_ons)
    return held


def _without_currency(requested: Any, low: Any, quantum: Callable[[str], Decimal]) -> str | None:
    """What a bare number requested of a range of money lacks, in the range's currency (`500` of
    a JPY range: "write it with the range's currency, `500 JPY`"; the example was `20.00 EUR`,
    whatever the range's currency), or None for any other problem: the money suggested is money a
    request may give (ASCII digits within the limits, none finer than the minor unit: `quantum`)."""
    text = str(requested).strip()
    if isinstance(requested, bool) or not re.fullmatch(r"[0-9]{1,40}(?:\.[0-9]{1,40})?", text):
        return None
    try:
        currency = Money.parse(str(low)).currency
        suggested = Money.parse(f"{text} {currency}")  # (its limits: 15 digits, 9 decimals)
    except (ValueError, ArithmeticError):
        return None
    if suggested.amount != suggested.amount.quantize(quantum(currency)):  # (within the limits: exact)
        return None  # (`10.555` would be refused again as finer than the cent; `10.000` is 10.00)
    return f"`{text}` is not money: write it with the range's currency, `{text} {currency}`"


@mypyc_attr(allow_interpreted_subclasses=True)  # (compiled: the frozen reference, interpreted, subclasses it)
class DefinitionRules:
    """What an eligible definition meets next (durations, limits' windows, ad hoc requests and
    approvals) and the share a free period removes: the same for the evaluator and its frozen
    reference (`discounts_reference.py`). Needs `self.rules` and `self.rounder`."""

    rules: Any
    rounder: Rounder
    #: tables by definition code (`_by_code`), made on first use
    _tables: dict[str, dict[Any, Any]]

    def _money_shown(self, value: Any) -> str:
        """Money in a reason's words and facts (a cap, an amount's value, an ad hoc range's bounds)
        with at least its currency's digits, as a line's gross is: `20 EUR` written is `20.00 EUR`,
        its value unchanged (until 2026-12-04 it was echoed as written, so the same money written
        two ways gave two decisions). Text that is not money is shown as it is."""
        if isinstance(value, Money):
            money = value
        else:
            try:
                money = _money(value)
            except (ValueError, ArithmeticError):
                return str(value)
        return money_text(money.amount + self.rounder.round(Decimal(0), money.currency), money.currency)

    def _shown(self, value: Any, d: Discount) -> str:
        """`_show`, with a money amount's digits as `_money_shown` gives them."""
        if d.amount.type is AmountType.AMOUNT and value is not None:
            return self._money_shown(value)
        return _show(value, d)

    def _duration_over(
        self, d: Discount, r: DefinitionResult, history: list[Any], request: Any, today: date, scenario: Any
    ) -> bool:
        """Has the discount not started yet, or run out, for the period being billed?

        A duration counts from when the discount was added: an ad hoc request's (flexible)
        start or its `added_on` date; for auto apply, its first application in the history (free
        days: the first bill the history shows, `_first_bill_start`). N billing periods are N
        bills, the first billing the period that holds the start. A free period also runs out at
        its own length, whatever its duration.
        """
        duration = d.duration
        # a free period runs out when its own length is given, whatever its `duration` says: that
        # only bounds it further (until 2026-12-02, "2 months free" for 3 billing periods freed 3)
        free_days, per_bill = self._own_duration(d, request, scenario)
        free_bills = max(1, math.ceil(per_bill)) if per_bill is not None else None
        billed, billed_to = _billed_period(scenario, today)
        if request is None and d.type is DiscountType.AD_HOC:
            # an ad hoc discount offered now would start a duration of its own, but not run past a
            # fixed end date: one over before the period billed is offered no more (until
            # 2026-12-02 it was, and a request for it was then `duration_ended`)
            if duration is not None and duration.until is not None and billed > duration.until:
                r.status, r.reasons = "not_effective", [Reason("duration_ended", {"end": str(duration.until)})]
                return True
            return False
        asked = request.__dict__ if request is not None else None
        added_on, asked_end = (asked["added_on"], asked["end"]) if asked is not None else (None, None)
        if added_on is not None and added_on > today:
            # added after `as_of`: no such request existed when the bill was made, whatever its start
            # (until 2026-12-03 a subscription's reduced the bill; a job's was already `starts_later`)
            r.status, r.reasons = "not_effective", [Reason("starts_later", {"start": str(added_on)})]
            return True
        # auto apply: its first application (or when an add-on granting it was added, below)
        start = (asked["start"] or added_on) if asked is not None else min((h.on for h in history), default=None)
        if request is not None and start is not None and billed_to < start:
            # started (or added) after the period billed: it reduces no earlier bill, whatever its duration
            r.status, r.reasons = "not_effective", [Reason("starts_later", {"start": str(start)})]
            return True
        if request is None and (granted := self._granted_on(d, scenario)) is not None:
            if start is None and billed_to < granted:  # the add-on came after the period billed
                # with or without a duration: the subscription did not hold the bundle then (until
                # 2026-12-04 one without a `duration` reduced that bill, one `indefinite` did not)
                r.status, r.reasons = "not_effective", [Reason("starts_later", {"start": str(granted)})]
                return True
            start = granted if start is None else min(start, granted)
        if duration is None and free_bills is None and free_days is None:
            return False
        start = start or billed
        # an add-on (or a history) from before the discount took effect: added on the first bill
        # it could reduce, the first whose period starts on its effective day or after (validity is
        # judged on a bill's first day); until 2026-12-02 its run counted from the add-on's start
        # and lost those bills
        effective = d.validity.effective
        if request is None and start < effective:
            start = _first_bill_from(effective, billed, scenario)
        if free_days is not None:  # days from the start, whatever the bills' lengths (31 days: 28 + 3)
            if request is None and history:
                start = min(start, _first_bill_start(history, billed, today, scenario))
                if start < effective:
                    start = _first_bill_from(effective, billed, scenario)
            elapsed = (billed - start).days
            if elapsed >= free_days:
                last_day = date.fromordinal(min(start.toordinal() + int(free_days) - 1, date.max.toordinal()))
                facts: dict[str, Any] = {"free": f"{plain(free_days)} days", "from": str(start), "until": str(last_day)}
                r.status, r.reasons = "not_effective", [Reason("free_period_used", facts)]
                return True
            if elapsed > 0:
                r.free_spent = Fraction(elapsed) / Fraction(free_days)  # in shares of the free period
            elif elapsed < 0 and (left := (billed_to - start).days + 1) < free_days:
                # it starts within the period billed: only its days from the start are this bill's
                # (10 days from 25 June: 6 of June's; July's bill then has the other 4)
                r.free_spent = 1 - Fraction(left) / Fraction(free_days)
            if duration is None:
                return False
        end = asked_end if asked_end is not None else (duration.until if duration is not None else None)
        if end is not None and billed > end:
            r.status, r.reasons = "not_effective", [Reason("duration_ended", {"end": str(end)})]
            return True
        counted = duration.billing_periods if duration is not None else None
        if asked_end is not None:
            counted = None  # an agent's end replaces the count
        limits = sorted({p for p in (counted, free_bills) if p is not None})  # the first to run out decides
        if limits:
            # N bills: the one billing the period that holds the start is the first. Over when the
            # history already shows N applications since the start, or the period billed is the
            # N+1th or later (the history may be partial; a period is of the subscription's frequency)
            used = sorted(h.on for h in history if start <= h.on <= today)
            months = _period_months(scenario)
            subscription = scenario.subscription
            aligned = subscription is not None and subscription.billing_period is not None
            # periods run back from the one billed; with no period billed, only a day, on from the start;
            # a job has one bill, its first (no periods of its own: only the history counts its bills)
            if subscription is None:
                before = 0
            else:
                before = _periods_before(billed, start, months) if aligned else _periods_since(start, billed, months)
            periods = next((p for p in limits if len(used) >= p or before >= p), None)
            if periods is not None:
                try:  # until: the first day its periods do not cover, or the day of its last application
                    if before < periods:
                        until = used[periods - 1]
                    elif aligned:
                        until = _periods_moved(billed, periods - before, months)
                    else:
                        until = _periods_moved(start, periods, months)
                except OutOfCalendar:
                    until = date.min
                shown = start
                if request is None and history and aligned:
                    # an auto-applied one: from its first bill's first day (it said the first
                    # application's date, "from 2015-06-25 (until 2015-06-25)" for a discount
                    # applied to May's bill, "from 2015-03-31" for one of the first quarter, until
                    # 2026-12-02)
                    try:
                        if before < periods:  # counted by the history's applications
                            shown = min(start, _first_bill_start(history, billed, today, scenario))
                            until = _periods_moved(shown, periods, months)
                        else:  # counted by the bills since the one holding its first application
                            shown = _periods_moved(billed, -before, months)
                        if subscription is not None:  # (never before the subscription began)
                            shown = max(shown, subscription.start)
                    except OutOfCalendar:
                        until = date.min
                facts = {"periods": periods, "from": str(shown), "until": str(until)}
                r.status, r.reasons = "not_effective", [Reason("periods_used", facts)]
                return True
            if per_bill is not None and (given := max(len(used), before)):
                r.free_spent = min(Fraction(given) / per_bill, Fraction(1))  # in shares of the free period, not bills
        return False

    def _added_while_valid(
        self, d: Discount, scenario: Any, history: Sequence[Any], billed: date, today: date
    ) -> date | None:
        """The day an auto-apply discount with a run of its own (`runs_on`) was added to the
        subscription, when that day is within its validity and the period billed starts after
        its expiration; else None. Added: its first bill by the history (the first application's
        date, or the period that bill covered: `_first_bill_start`), or the start of the add-on
        granting it. Seed 002: validity are the dates during which a discount "can be offered",
        its duration "how long [it] should be applied, once it is added": a 3-month welcome
        discount added in December, expiring on 31 December, halves January and February too,
        as an ad hoc discount requested in December does (until 2026-12-02 an auto-apply one
        stopped at its expiration, whatever its duration)."""
        expiration = d.validity.expiration
        if expiration is None or billed <= expiration or scenario.subscription is None or not runs_on(d):
            return None  # (a job is one bill: an earlier job's history is no run of this one)
        added: date | None = None
        if history:
            # the first application's bill, by its period: the one holding its date (an
            # application dated 29 February is February's bill, whose period began on the 1st:
            # until 2026-12-03 its date was taken, and a partial history judged a discount added
            # while valid "expired"), or the bills the history shows counted back
            first = _period_holding(min(h.on for h in history), billed, scenario)
            added = min(first, _first_bill_start(list(history), billed, today, scenario))
        granted = self._granted_on(d, scenario)
        if granted is not None:
            added = granted if added is None else min(added, granted)
        if added is None:
            return None
        if added < d.validity.effective:  # held before it took effect: added on the first bill it
            # could reduce (as `_duration_over` counts its run), which may start after its expiration
            added = _first_bill_from(d.validity.effective, billed, scenario)
        return added if added <= expiration else None

    def _granted_on(self, d: Discount, scenario: Any) -> date | None:
        """When the subscription was given an auto-apply discount that add-on bundles grant: the
        earliest `add_on_starts` date of a granting add-on it holds, or None (not granted by an
        add-on, or no date written). A "first month" welcome discount of a bundle added in January
        is over by June's bill, with no history (until 2026-12-02 every bill without one was its
        first). A plan's own bundles are not dated here: a plan bought on a running subscription
        (a purchase's price) starts its bundles on the purchase day, not the subscription's."""
        subscription = scenario.subscription
        if subscription is None or not subscription.add_ons:
            return None
        granting = self._granting_bundles().get(d.code)
        if not granting:
            return None
        held = [b for b in granting if b in subscription.add_ons]
        if not held:
            return None
        plan = self.rules.get("plan", subscription.plan) if subscription.plan is not None else None
        if plan is not None and any(b in plan.bundles for b in granting):
            return None  # a plan's own bundle: the history decides (a plan bought later starts then)
        # an add-on without a date of its own came with the subscription (`add_on_starts` holds
        # those bought later): it started with it (until 2026-12-02 the history alone counted, and
        # with none every bill was its first: a 3-month welcome discount never ended, or ended
        # at once at its expiration). A purchase dates what it buys on its day (`_synthetic`).
        starts = subscription.add_on_starts
        first: date = min(starts.get(b, subscription.start) for b in held)
        return first

    def _granting_bundles(self) -> dict[str, tuple[str, ...]]:
        """Discount code → the bundles that grant it (their `discounts`), kept beside the rule set."""
        kept: dict[str, tuple[str, ...]] | None = self.rules.__dict__.get("_granting_bundles")
        if kept is None:
            found: dict[str, list[str]] = {}
            for code, bundle in sorted(self.rules.models("bundle").items()):
                for granted in bundle.discounts:
                    found.setdefault(granted, []).append(code)
            kept = self.rules.__dict__["_granting_bundles"] = {k: tuple(v) for k, v in found.items()}
        return kept

    def _own_duration(self, d: Discount, request: Any, scenario: Any) -> tuple[Decimal | None, Fraction | None]:
        """A free period without a duration is its own (seed 002: "2 months free ... billed for 10
        months"): (its days, for days and weeks), or (None, the bills it covers, for months and
        years); (None, None) for anything else, a job, or a value the request is refused for."""
        if d.amount.type is not AmountType.FREE_PERIOD or scenario.subscription is None:
            return None, None
        value = request.value if request is not None and request.value is not None else _only_value(d)
        try:
            free = parse_number(str(value))
            if d.amount.unit in (TimeUnit.DAYS, TimeUnit.WEEKS):
                return free * (7 if d.amount.unit is TimeUnit.WEEKS else 1), None
            return None, self._free_ratio(d, free, None, scenario)
        except (ValueError, ArithmeticError):  # a range, or a value the request gets refused for
            return None, None

    def _agent_refused(self, d: Discount, scenario: Any) -> Any:
        """The scenario's agent, when an ad hoc discount may not be offered by them (in none of its
        `allowed_units`): a failing reason listed with the others (`agent_not_allowed`; SPEC 3.2,
        `not_eligible` "with every failing criterion"), else None. A request by such an agent
        that fails nothing else is rejected instead (`_ad_hoc`): the caller decides (until
        2026-12-02 such a request's `not_eligible` left it out)."""
        agent = scenario.agent
        if agent is None:
            return None
        fields = d.__dict__  # (models read as mappings: the module's docstring)
        allowed = fields["allowed_units"]
        if not allowed or fields["type"] is DiscountType.AUTO_APPLY:
            return None
        its = agent.__dict__
        if not self._units(its["user"], its["units"]).isdisjoint(allowed):
            return None
        return agent

    def _agent_reason(self, agent: Any, d: Discount) -> Reason:
        """`agent_not_allowed`, at the definition's `allowed_units`."""
        # the agent's own units (those the decision went by, `_units`), as a fact: the words stay
        # as expectations written in words know them
        known = self.rules.get("user", agent.user)
        own = list(known.units if known is not None else agent.units)
        reason = _agent_not_allowed(agent, d, discount_source(self.rules, d.code, "allowed_units"))
        return Reason(reason.code, {**reason.facts, "agent_units": own}, reason.source)

    def _request_problems(
        self, d: Discount, request: Any, today: date, scenario: Any
    ) -> tuple[Any, list[Reason | str]]:
        """The value an ad hoc request asks for, and why the agent may not make it (the agent
        outside `allowed_units`, the value, the dates): a request with problems is `rejected`,
        whatever its duration or limit."""
        agent = scenario.agent
        problems: list[Reason | str] = []
        if agent is not None:
            allowed, its = d.allowed_units, agent.__dict__  # (models read as mappings: the module's docstring)
            if allowed and self._units(its["user"], its["units"]).isdisjoint(allowed):
                problems.append(self._agent_reason(agent, d))
        value = self._requested_value(d, request, problems)
        problems += self._date_problems(d, request, today)
        return value, problems

    def _ad_hoc(self, d: Discount, r: DefinitionResult, scenario: Any, request: Any, today: date) -> None:
        """An ad hoc definition's fate: offered (or not) when nothing requests it; a request
        `rejected` for its problems, else as its approval says."""
        if request is None:
            agent = scenario.agent
            if agent is None:
                # SPEC 3.2's statuses: nobody to offer it to is not eligible, as an agent outside
                # `allowed_units` is (until 2026-12-03 a status of its own, `not_requested`)
                r.status, r.reasons = "not_eligible", [_NOT_REQUESTED]
            elif d.allowed_units and self._units(agent.user, agent.units).isdisjoint(d.allowed_units):
                r.status, r.reasons = "not_eligible", [self._agent_reason(agent, d)]
            else:
                r.status, r.reasons = "offered", [self._offered(d)]
            return
        r.value, problems = self._request_problems(d, request, today, scenario)
        if problems:
            r.value = _as_requested(r.value, request)
            r.status, r.reasons = "rejected", problems
            return
        self._approval(d, r, scenario)

    def _approval(self, d: Discount, r: DefinitionResult, scenario: Any) -> None:
        """A request the agent may make: applied (no approval needed, or approved), rejected (an
        approver not authorised) or pending approval (naming the approvers)."""
        fields = d.__dict__  # (models read as mappings: the module's docstring)
        approval = fields["approval"]
        if approval is None or not approval.required:
            r.reasons.append(_NO_APPROVAL_NEEDED)
            return
        code = fields["code"]
        given = [a for a in scenario.approvals if a.discount == code]
        authorised = [a for a in given if self._authorised(a, approval)]
        if authorised:
            r.reasons.append(self._approval_reason("approved", d, authorised[0].by))
            return
        if given:
            r.status = "rejected"
            r.reasons.append(self._approval_reason("approver_not_authorised", d, given[0].by))
        else:
            r.status = "pending_approval"
            r.approvers = _approvers(approval)
            r.reasons.append(self._approval_reason("waiting_for_approval", d, None))

    def _approval_reason(self, code: str, d: Discount, by: str | None) -> Reason:
        """`approved` (by `by`), `approver_not_authorised` (`by`, and the definition's approvers) or
        `waiting_for_approval` (its approvers), made once per definition and approver: a reason is
        never changed, so decisions share it and its record is written once (an approver's name
        of more than 100 characters is made afresh, and kept nowhere)."""
        kept: dict[tuple[str, str, str | None], Reason] = self._by_code("_approval_reasons")
        key = (code, d.code, by)
        found = kept.get(key)
        if found is None:
            facts: dict[str, Any] = {}
            if by is not None:
                facts["by"] = by
            if code != "approved":
                assert d.approval is not None
                facts["approvers"] = _approvers(d.approval)
            found = Reason(code, facts)
            if by is None or len(by) <= 100:
                _kept(kept, _MATCH_MEMO, key, found)
        return found

    def _by_code(self, name: str) -> dict[Any, Any]:
        """A table by definition code kept on this evaluator under `name`, made on first use (the
        evaluator and its frozen reference share these helpers; neither's constructor makes it)."""
        try:
            tables = self._tables
        except AttributeError:  # (declared, not made: a compiled evaluator has no `__dict__`)
            tables = self._tables = {}
        found: dict[Any, Any] | None = tables.get(name)
        if found is None:
            found = tables[name] = {}
        return found

    def _offered(self, d: Discount) -> Reason:
        """The `offered` reason of an ad hoc definition (its range), made once per rule set: a
        reason is never changed, so decisions share it and its record is written once."""
        kept: dict[str, Reason] = self._by_code("_offered_reasons")
        found = kept.get(d.code)
        if found is None:
            low, high = _range(d)
            found = kept[d.code] = Reason("offered", {"low": self._shown(low, d), "high": self._shown(high, d)})
        return found

    def _authorised(self, record: Any, approval: Any) -> bool:
        fields, rule = record.__dict__, approval.__dict__  # (models read as mappings: the module's docstring)
        by = fields["by"]
        if by in rule["users"]:
            return True
        return not self._units(by, fields["units"]).isdisjoint(rule["units"])

    def _units(self, user: str, claimed: Sequence[str]) -> frozenset[str]:
        """The units a person belongs to: the rule set's, when it knows the user (an approval
        record or an agent claiming another unit grants no authority: seed 002's "authorised
        personnel"); the scenario's, for a user the rule set does not define (a CRM's own staff).
        A member of a unit is a member of the units above it (`parent`): an agent of Customer
        Care is one of the Contact Centre's."""
        kept: dict[str, frozenset[str]] | None = self.rules.__dict__.get("_user_units")
        if kept is None:
            kept = self.rules.__dict__["_user_units"] = {}
        found = kept.get(user)
        if found is not None:
            return found
        known = self.rules.get("user", user)
        found = frozenset(above for unit in (known.units if known is not None else claimed) for above in self._up(unit))
        if known is not None:  # the rule set's word: the same for every scenario
            kept[user] = found
        return found

    def _up(self, unit: str) -> tuple[str, ...]:
        """The unit and the units above it, nearest first (kept per unit beside the rule set)."""
        kept: dict[str, tuple[str, ...]] = self.rules.__dict__.setdefault("_units_up", {})
        found = kept.get(unit)
        if found is None:
            chain = [unit]
            model = self.rules.get("unit", unit)
            while model is not None and model.parent is not None and model.parent not in chain:  # (no cycle: BR303)
                chain.append(model.parent)
                model = self.rules.get("unit", model.parent)
            if len(kept) >= _MATCH_MEMO:  # units a scenario claims are any text: bounded
                kept.clear()
            found = kept[unit] = tuple(chain)
        return found

    def _requested_value(self, d: Discount, request: Any, problems: list[Reason | str]) -> Any:
        """The value a request asks for (None when it is refused), and why it is refused added to
        `problems`: kept per definition and value as written (its type and text: `5` and `5.0`
        are shown as written), for values of up to 100 characters; the reasons are shared."""
        requested = request.value
        text = str(requested)
        if len(text) > 100:
            return self._requested_value_now(d, request, problems)
        kept: dict[tuple[str, type, str], tuple[Any, tuple[Reason | str, ...]]] = self._by_code("_requested_values")
        key = (d.code, type(requested), text)
        found = kept.get(key)
        if found is None:
            refused: list[Reason | str] = []
            value = self._requested_value_now(d, request, refused)
            found = _kept(kept, _MATCH_MEMO, key, (value, tuple(refused)))
        problems += found[1]
        return found[0]

    def _requested_value_now(self, d: Discount, request: Any, problems: list[Reason | str]) -> Any:
        low, high = _range(d)
        requested = request.value
        if requested is None:
            requested = _only_value(d)  # a range of one value: the request takes it
        if requested is None:
            problems.append(Reason("no_value_requested", {"low": self._shown(low, d), "high": self._shown(high, d)}))
            return None
        bounds = self._bounds(d)
        try:
            value = _amount_value(d, requested)
            lo, hi = bounds if bounds is not None else (_amount_value(d, low), _amount_value(d, high))
        except ValueError as exc:
            problem = _without_currency(requested, low, self.rounder.quantum) or str(exc)
            problems.append(Reason("requested_value_invalid", {"problem": problem}))
            return None
        if d.amount.type is AmountType.FREE_PERIOD and value != value.to_integral_value():
            # as a free period in the rule file (BR405): until 2026-12-03 `2.5` months were freed
            unit = d.amount.unit.value if d.amount.unit else "months"
            problem = f"`{plain(value)}` is not whole: a free period is a whole number of {unit}"
            problems.append(Reason("requested_value_invalid", {"problem": problem}))
            return None
        if isinstance(value, Money) and value.amount != value.amount.quantize(
            q := self.rounder.quantum(value.currency)
        ):
            # an amount no bill can show: rounding would apply another amount than the agent chose
            problem = f"{value} is finer than the minor unit of {value.currency} ({plain(q)})"
            problems.append(Reason("requested_value_invalid", {"problem": problem}))
            return None
        if isinstance(value, Money) and isinstance(lo, Money) and value.currency != lo.currency:
            problems.append(
                Reason("requested_other_currency", {"requested": self._money_shown(value), "currency": lo.currency})
            )
        elif not (_key(lo) <= _key(value) <= _key(hi)):
            problems.append(
                Reason(
                    "requested_outside_range",
                    {"requested": self._shown(value, d), "low": self._shown(low, d), "high": self._shown(high, d)},
                )
            )
        return value

    def _bounds(self, d: Discount) -> tuple[Any, Any] | None:
        """The definition's range as values (`_amount_value`), parsed once per rule set; None for
        a range that does not parse (`_requested_value` then parses it, to say why)."""
        kept: dict[str, tuple[Any, Any] | None] = self._by_code("_parsed_bounds")
        if d.code not in kept:
            low, high = _range(d)
            try:
                kept[d.code] = (_amount_value(d, low), _amount_value(d, high))
            except ValueError:
                kept[d.code] = None
        return kept[d.code]

    def _date_problems(self, d: Discount, request: Any, today: date) -> list[Reason]:
        duration = d.duration
        problems = []
        asked = request.__dict__  # (models read as mappings: the module's docstring)
        start, end = asked["start"], asked["end"]
        added = asked["added_on"] or today
        if start is not None:
            if duration is None or not duration.flexible_start:
                problems.append(Reason("start_not_flexible"))
            elif duration.latest_start is not None and start > (last := duration.latest_start.add_clamped(added)):
                facts = {"start": str(start), "latest": str(duration.latest_start), "added": str(added)}
                problems.append(Reason("start_too_late", {**facts, "latest_day": str(last)}))
        if end is not None:
            if duration is None or not duration.flexible_end:
                problems.append(Reason("end_not_flexible"))
            elif end < (start or added):  # the end is the last day covered: none at all
                problems.append(Reason("end_before_start", {"end": str(end), "start": str(start or added)}))
            elif duration.max_length is not None and end >= (
                beyond := duration.max_length.add_clamped(start or added)
            ):  # the end is the last day covered: 3 months from 1 March end on 31 May at the latest
                facts = {"end": str(end), "max_length": str(duration.max_length)}
                last_day = date.fromordinal(beyond.toordinal() - 1)
                problems.append(Reason("end_too_late", {**facts, "latest_end": str(last_day)}))
        return problems

    def _free_share(
        self, d: Discount, value: Any, line: Line, scenario: Any, spent: Fraction | None = None
    ) -> Fraction:
        """The share of the period's charge that a free period removes (2 months of 12 → 2/12); the
        line's period is the longer of its product's and the bill's (`_lines`). `spent`: the share
        of a free period without a duration that earlier bills gave; this one gets what is left (4
        months free on quarterly bills: the whole first bill, a third of the second). Exact (a
        fraction): 5 days of February's 28 are 5/28, not 0.178571…, whose product with 0.14 EUR
        fell short of 0.025 and rounded down (`share_of`)."""
        ratio = self._free_ratio(d, value, line, scenario)
        if spent:
            ratio *= 1 - spent
        return max(min(ratio, Fraction(1)), Fraction(0))

    def _free_ratio(self, d: Discount, value: Any, line: Line | None, scenario: Any) -> Fraction:
        """The free period over the period a bill charges (2 months on monthly bills: 2), not cut
        at one bill; `line` None: the subscription's own bill."""
        free = Fraction(Decimal(str(value)))
        unit = d.amount.unit or TimeUnit.MONTHS
        subscription = scenario.subscription
        frequency = line.frequency if line is not None else (subscription and subscription.billing_frequency)
        months = CYCLE_MONTHS.get(frequency) if frequency else None
        in_months = unit in (TimeUnit.MONTHS, TimeUnit.YEARS)
        if in_months and months:
            return free * (12 if unit is TimeUnit.YEARS else 1) / months
        period = subscription.billing_period if subscription is not None else None
        days: Fraction
        if period is not None and frequency in (
            None,
            subscription.billing_frequency,
        ):  # the line charges the period billed
            days = Fraction((period.to - period.from_).days + 1)
        elif months:
            days = Fraction(months * 365, 12)
        elif frequency is BillingFrequency.WEEKLY:
            days = Fraction(7)
        else:  # no frequency given: monthly, as durations count it
            days = Fraction(365, 12)
        if in_months:  # months free on a weekly bill (or one of days): in days, a month a twelfth of a year
            return free * (12 if unit is TimeUnit.YEARS else 1) * Fraction(365, 12) / days
        return free * (7 if unit is TimeUnit.WEEKS else 1) / days


@dataclass(frozen=True, slots=True)
class _Definition:
    """One discount definition with everything that does not depend on the scenario worked out
    once per rule set: the reasons that can be stated in advance, the criteria entries it owns,
    its amount's kind and level."""

    index: int  # position in code order: results and line takes keep this order
    code: str
    model: Discount
    type: str
    auto: bool
    #: not effective whatever the scenario (life-cycle state `draft`/`inactive`): its reason
    settled: Reason | None
    effective: date
    expiration: date | None
    effective_reason: Reason
    expired_reason: Reason
    classification: str
    wrong_subject: dict[str | None, Reason]  # the scenario's subject → the reason it is not eligible
    granting: frozenset[str]  # bundles that grant it (empty: no bundle needed)
    granting_reason: Reason
    no_line_reason: Reason
    owner: str  # its criteria owner, e.g. "discount:loyalty-5"
    entries: tuple[tuple[int, str], ...]  # (criteria entry index, section) it owns
    #: the outcomes of its entries out of the masked function's (`CriteriaOutcomes.masked`: the
    #: distinct conditions', each entry's at its position; a tuple, one bool or `()`), and what
    #: they are when every section holds
    picks: Callable[[Sequence[bool]], Any]
    holding: Any
    kind: AmountType
    level: int
    cap: Money | None
    #: what its result depends on when nothing asks for it (`_unasked`): 0 nothing, 1 the dates
    #: (a duration, or bundles granting it), 2 the agent (ad hoc), 3 both
    unasked: int
    #: an ad hoc definition's `allowed_units` (its agent may be refused: `_agent_refused`), else empty
    agent_units: frozenset[str]
    #: auto apply with a run of its own (`runs_on`): added while valid, it outlasts its expiration
    runs_on: bool
    #: a money amount or a cap: what it takes may be cut, and its result says so (`_amounts`)
    noted: bool


@dataclass(frozen=True, slots=True)
class _Span:
    """A block of definitions on one plan: its settled shape's number (`key`), its definitions
    `start:stop`, and what it reads of the criteria's outcomes (the distinct outcomes of its open
    definitions' entries: `_reading`)."""

    key: int
    start: int
    stop: int
    pick: Callable[[Sequence[bool]], Any]
    codes: frozenset[str]
    #: the codes of its open ad hoc definitions with `allowed_units`: its not-eligible results
    #: depend on the agent and on which of them are requested (`_agent_refused`)
    agent_codes: frozenset[str]


@dataclass(slots=True)
class _Scene:
    """What one decision decides its definitions with."""

    scenario: Any
    subject: str | None
    today: date
    billed_from: date
    held: set[str]
    requests: dict[str, Any]
    histories: dict[str, list[Any]]
    dated: set[str]  # the codes of the requests that have an `added_on`
    matched: set[str]  # the codes of the definitions some line matches
    results_of: Sequence[bool] | None  # the criteria's outcomes, when read directly
    outcomes: Mapping[str, Sequence[tuple[str, bool]]]
    why: bool
    explain: Callable[[int, Any], list[Reason]]
    #: what `explain` reads the scenario through: a `Reading` (one per decision) for the why-not
    reading: Any


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a (subject, first day billed, billing date) settles (`DiscountEvaluator._settle`)."""

    settled: tuple[SettledResult | None, ...]
    open: tuple[_Definition, ...]  # the definitions a decision still looks at
    mask: tuple[bool, ...]  # the criteria they own, for the masked function
    spans: tuple[_Span, ...]  # the blocks, in code order
    number: int  # its own, never reused (`DiscountEvaluator._narrowed` keys masks by it)
    #: auto-apply definitions with a run of their own, not effective on the dates: open (a scenario
    #: may show them added while valid: `_dated_codes`), their criteria read only for one that does
    late: frozenset[str] = frozenset()
    #: the outcomes every block reads, from the first to the last (`_window`): with the context,
    #: they decide every block's key (`DiscountEvaluator._indexed_sheet`)
    window: Callable[[Sequence[bool]], Any] | None = None


@dataclass(slots=True)
class _Chosen:
    """The definitions a purchase prices with (`decide(only=...)`), in code order, and the mask of
    their criteria (filled when first read): purchases pass the same codes again and again
    (`DiscountEvaluator._chosen`)."""

    definitions: tuple[_Definition, ...]
    mask: tuple[bool, ...] | None = None


def _picker(indices: list[int]) -> Callable[[Sequence[bool]], Any]:
    """`itemgetter(*indices)`: a tuple for several, the one value for one, `()` for none."""
    return itemgetter(*indices) if indices else _no_entries


def _no_entries(results: Sequence[bool]) -> tuple[()]:
    return ()


def _window(indices: list[int]) -> Callable[[Sequence[bool]], Any]:
    """The outcomes from the first of `indices` to the last, as one slice (the plan's `window`):
    outcomes between them that nothing open reads (a settled definition's) only make the key
    finer: the masked function leaves them False. All of them: the outcomes themselves."""
    return itemgetter(slice(min(indices), max(indices) + 1)) if indices else _no_entries


def _reading(positions: list[int]) -> Callable[[Sequence[bool]], Any]:
    """The distinct outcomes at `positions` (a block's key, `_Span.pick`), a slice per run of
    consecutive ones (a slice is a third of the cost of picking them one by one) and no more: the
    conditions a block shares with others (a section many definitions repeat) sit where their
    first reader's are, and a slice from there would hold other blocks' outcomes in its key."""
    runs: list[Any] = []
    for k in sorted(set(positions)):
        if runs and runs[-1].stop == k:
            runs[-1] = slice(runs[-1].start, k + 1)
        else:
            runs.append(slice(k, k + 1))
    return itemgetter(*[run.start if run.stop - run.start == 1 else run for run in runs]) if runs else _no_entries


def _approvers(approval: Any) -> list[str]:
    """Who may approve a request (`waiting_for_approval`, a result's `approvers`): users, then units."""
    return [*(f"user `{u}`" for u in approval.users), *(f"unit `{u}`" for u in approval.units)]


def _agent_not_allowed(agent: Any, d: Discount, source: Source | None = None) -> Reason:
    return Reason("agent_not_allowed", {"agent": agent.user, "units": list(d.allowed_units)}, source)


def discount_source(rules: Any, code: str, *path: str) -> Source | None:
    """Where a discount definition writes `path` (its `limit`, `allowed_units`, ...): the location
    of the rule a reason names, found once per rule set and kept beside it."""
    return rule_source(rules, "discount", code, *path)


@mypyc_attr(allow_interpreted_subclasses=True)  # (compiled: benchmarks/decide.py times it by a subclass)
class CriteriaOutcomes(Mapping[str, list[tuple[str, bool]]]):
    """`CriteriaProgram.outcomes` without building it, and only what is asked for: every
    condition's outcome from one call of the generated function (`results`, on first use; the
    discount evaluator reads it directly for the entries each definition owns), an owner's
    (section, holds) list made only when asked for. A term's exceptions, asked for before the
    whole program ran (a cancellation without a discount question), come from the terms' own
    function: a rule set of many discounts does not slow its cancellations."""

    def __init__(self, program: Any, scenario: Any) -> None:
        self.program = program
        self.scenario = scenario
        self._results: tuple[bool, ...] | None = None
        self._terms: dict[int, bool] | None = None

    @property
    def results(self) -> tuple[bool, ...]:
        if self._results is None:
            self._results = self.program.evaluate(self.scenario)
        return self._results

    def masked(self, mask: tuple[bool, ...]) -> tuple[bool, ...]:
        """The outcomes of the distinct conditions (`CompiledRules.distinct_function`: a
        condition's at its `positions` entry) that `mask` names (`CompiledRules.mask`), the others
        False: for the discount evaluator only, which reads no other (never kept as `results`)."""
        compiled = self.program.compiled
        masked: tuple[bool, ...]
        if self._results is not None:
            masked = compiled.distinct_of(self._results)
        else:
            masked = compiled.distinct_function(self.scenario, mask)
        return masked

    def __getitem__(self, owner: str) -> list[tuple[str, bool]]:
        program = self.program
        indices, entries = program.by_owner[owner], program.entries
        if self._results is None and owner.startswith(TERM_OWNER):
            if self._terms is None:
                self._terms = program.evaluate_group(TERM_OWNER, self.scenario)
            terms = self._terms
            return [(entries[i].section, terms[i]) for i in indices]
        results = self.results
        return [(entries[i].section, results[i]) for i in indices]

    def __iter__(self) -> Iterator[str]:
        return iter(self.program.by_owner)

    def __len__(self) -> int:
        return len(self.program.by_owner)


#: the owner prefix of a term's exceptions (`term:CODE`)
TERM_OWNER = "term:"


_V = TypeVar("_V")


#: an agent of more units than this, or of more text in its user and units, is in no memo: each
#: entry would hold its units, and the memos are bounded by count (a billing run meeting thousands
#: of agents of 300 units each grew to 2 GiB until 2026-12-04)
_KEPT_AGENT_UNITS = 8
_KEPT_AGENT_TEXT = 400


def _agent_kept(user: str | None, units: Sequence[str]) -> bool:
    """Whether results naming an agent (its `user` and `units`) may be kept in the memos (a usual
    agent: a user, a unit or two)."""
    if len(units) > _KEPT_AGENT_UNITS:
        return False
    return len(user or "") + sum(map(len, units)) <= _KEPT_AGENT_TEXT


def _unkept(number: int | None) -> bool:
    """Whether a context number is one of an agent kept in no memo (`_agent_kept`): those are
    negative, made afresh per decision, and what they key is never stored."""
    return number is not None and number < 0


def _kept(memo: dict[Any, _V], limit: int, key: Any, value: _V) -> _V:
    """`value`, stored under `key` in `memo`; a memo at its `limit` starts over first (a bound,
    not an eviction order: what a billing run meets again is stored again at once)."""
    if len(memo) >= limit:
        memo.clear()
    memo[key] = value
    return value


#: a line's (product, type, bundle) → the definitions that reduce it; at most this many are kept
_MATCH_MEMO = 4096
#: (subject, first day billed, billing date) → the results settled by them; at most this many kept
_DATE_MEMO = 512
#: (definition, failing conditions) → the shared `not_eligible` result; at most this many kept
_FAILING_MEMO = 16384
#: definitions per block of a brief decision (`DiscountEvaluator._by_blocks`)
_BLOCK = 16
#: (block shape, context, criteria outcomes read) → the block's results; at most this many kept
_BLOCK_MEMO = 8192
#: (bundles held, lines' products) → their number and the definitions matched; at most this many kept
_CONTEXT_MEMO = 4096
#: (definition, first day billed, frequency, agent) → its result, asked for by nothing; at most this many kept
_UNASKED_MEMO = 16384
#: (block, context) → the block resolved (`_resolved_for`); at most this many kept
_RESOLVED_MEMO = 4096
#: (context, blocks) → a decision's blocks as one (`_sheet`): at most this many kept (each holds
#: its definitions' JSON once written, some 60 KB at 400 definitions), and this many met once
_SHEETS = 256
_SHEETS_SEEN = 4096
#: (plan, lines, context, codes asked for) → (outcomes read, sheet) candidates (`_indexed_sheet`)
_SHEET_INDEX = 64
_SHEET_CANDIDATES = 4
#: no codes (`_by_blocks`: nothing asked for)
_NO_CODES: frozenset[str] = frozenset()
#: a block's results decided afresh, when it has none
_NONE: tuple[DefinitionResult, ...] = ()
#: `_unasked`'s mark of a definition applied (its result is made afresh)
_APPLIED = SettledResult("", "", "applied")
#: `_by_blocks`' mark of a result not kept yet
_NOT_KNOWN = SettledResult("", "", "")
#: (plan, bundles held and lines' products) → the mask of the definitions they allow; at most this many kept
_NARROWED_MEMO = 1024
#: the definitions a purchase prices with → the mask of their criteria; at most this many kept
_MASK_MEMO = 1024
#: (currency, gross, exact takes) → a line's rounded takes and net (`_closed`); at most this many kept
_CLOSED_MEMO = 8192
#: (sheet, period billed, applied results asked for, lines) → the bill (`DiscountEvaluator._billed`):
#: at most this many kept (each holds its sheet, as `_SHEETS` do)
_BILLS = 256


class DiscountEvaluator(DefinitionRules):
    """Decides every discount definition of a rule set for one scenario.

    Built once per rule set (`decision._evaluator` keeps it beside the rules): lookups, the
    definitions in code order with what can be decided in advance, and an index of the lines
    each definition reduces, so that a scenario's line meets only the definitions that can match
    it and nothing is sorted or looked up by kind per decision.
    """

    def __init__(self, rules: Any) -> None:
        self.rules = rules
        self.rounder = Rounder(rules.settings.rounding.value, rules.settings.minor_units)
        from engine.decide.decision import lookup

        self.products: dict[str, Any] = lookup(rules, "product")
        self.discounts: dict[str, Discount] = lookup(rules, "discount")  # by code, in code order
        granted_by: dict[str, list[str]] = {}
        for code, bundle in lookup(rules, "bundle").items():
            for discount in bundle.discounts:
                granted_by.setdefault(discount, []).append(code)
        self.granted_by = granted_by
        self.plan_bundles = {code: frozenset(plan.bundles) for code, plan in lookup(rules, "plan").items()}
        program = rules.criteria
        self.program = program
        self.definitions: tuple[_Definition, ...] = tuple(
            self._prepare(i, d, granted_by.get(d.code, []), program, rules)
            for i, d in enumerate(self.discounts.values())
        )
        self.by_code = {d.code: d for d in self.definitions}
        #: auto-apply definitions with a run of its own, and the earliest of their expirations
        self.running = tuple(d for d in self.definitions if d.runs_on and d.settled is None)
        self.running_by_code = {d.code: d for d in self.running}
        self.running_after = min((d.expiration for d in self.running if d.expiration is not None), default=date.max)
        # index: a target is filed under its most selective field; a line looks in its product's,
        # bundle's and type's buckets (and the catch-all) and checks the whole target
        self._by_product: dict[str, list[_Definition]] = {}
        self._by_bundle: dict[str, list[_Definition]] = {}
        self._by_type: dict[str, list[_Definition]] = {}
        self._any: list[_Definition] = []
        for d in self.definitions:
            for t in d.model.discounted_products:
                if t.product is not None:
                    self._by_product.setdefault(t.product, []).append(d)
                elif t.bundle is not None:
                    self._by_bundle.setdefault(t.bundle, []).append(d)
                elif t.product_type is not None:
                    self._by_type.setdefault(t.product_type.value, []).append(d)
                else:
                    self._any.append(d)
        self._matching: dict[tuple[str, str, str | None, bool], tuple[_Definition, ...]] = {}
        self._reduces: dict[tuple[str, str, str | None, bool], frozenset[int]] = {}
        self._dated: dict[tuple[str | None, date, date], _Plan] = {}
        self._settled: dict[tuple[int, int], SettledResult] = {}
        self._failing: dict[
            tuple[int, bool, bool, Any, bool, tuple[str, ...] | None], tuple[SettledResult, tuple[int, ...]]
        ] = {}
        #: brief decisions by blocks (`_by_blocks`): bundles that grant a definition; (held bundles,
        #: lines' products) → (number, matched codes); a block's settled shape → number; blocks
        self.granting_bundles = frozenset(b for d in self.definitions for b in d.granting)
        self._contexts: dict[tuple[frozenset[str], frozenset[Any]], tuple[int, set[str]]] = {}
        self._numbers = itertools.count()
        self._shapes: dict[tuple[int, ...], int] = {}
        self._shape_numbers = itertools.count()  # (`len(self._shapes)` gave two threads one number)
        self._blocks: dict[tuple[Any, ...], Block] = {}
        #: (id of a kept block, its eligible definitions' context) → (the block, resolved: `_resolved`)
        self._resolved_blocks: dict[tuple[int, int | None], tuple[Block, Block]] = {}
        #: (context, the blocks of a decision) → them resolved as one (`_sheet`), and those met once
        self._sheets: dict[tuple[Any, ...], Block] = {}
        self._sheet_index: dict[tuple[Any, ...], list[tuple[Any, Block]]] = {}  # `_indexed_sheet`
        self._sheets_seen: set[int] = set()  # (a key's hash: one met once, two alike, is made early)
        self._masks: dict[tuple[int, ...], tuple[bool, ...]] = {}
        self._chosens: dict[frozenset[str], _Chosen] = {}  # `_chosen`
        self._narrowed_masks: dict[tuple[int, int], tuple[bool, ...]] = {}
        self._contexts_unasked: dict[tuple[Any, ...], int] = {}
        self._catalog_lines: dict[tuple[Any, ...], tuple[Money, Any, str]] = {}  # `_lines`
        self._lines_made: dict[tuple[Any, ...], Line] = {}  # `_lines`
        self._contexts_both: dict[tuple[Any, ...], tuple[int | None, ...]] = {}
        self._unasked_memo: dict[tuple[int, int | None], SettledResult] = {}
        self._lines_closed: dict[tuple[Any, ...], tuple[list[Decimal], Money, Decimal]] = {}
        self._lines_kept: dict[tuple[Any, ...], Any] = {}  # `_amounts_kept`
        #: (sheet, period billed, applied results asked for, lines) → the bill (`_billed`): the lines'
        #: results, the sheet's open results, the writer's parts, what `_amounts` gave those asked for
        self._bills: dict[tuple[Any, ...], tuple[list[LineResult], list[Any], dict[Any, Any], tuple[Any, ...]]] = {}
        #: whether brief decisions go by blocks (the differential tests turn it off for the long way)
        self.by_blocks = True
        #: whether lines' amounts are kept (`_amounts_kept`; the tests turn it off for the long way)
        self.keep_lines = True
        self.block = _BLOCK
        self.why = WhyNot(program)
        #: `decide`'s `listed` by default: every definition listed (a frozen rule set's word)
        self.listed = rules.listed != "applied"

    @staticmethod
    def _prepare(index: int, d: Discount, granting: list[str], program: Any, rules: Any) -> _Definition:
        def at(*path: str) -> Source | None:  # (the reasons stated in advance, at the rule that decides)
            return discount_source(rules, d.code, *path)

        classification = d.classification.value
        owner = f"discount:{d.code}"
        subjects: tuple[str | None, ...] = (None, "subscription", "job")
        entries = tuple((i, program.entries[i].section) for i in program.by_owner.get(owner, []))
        positions = program.compiled.positions  # (the masked function gives the distinct conditions' outcomes)
        return _Definition(
            index=index,
            code=d.code,
            model=d,
            type=d.type.value,
            auto=d.type is DiscountType.AUTO_APPLY,
            settled=(
                Reason("state_not_effective", {"state": d.state.value}, at("state"))
                if d.state.value != "effective"
                else None
            ),
            effective=d.validity.effective,
            expiration=d.validity.expiration,
            effective_reason=Reason(
                "not_yet_effective", {"from": str(d.validity.effective)}, at("validity", "effective")
            ),
            expired_reason=Reason("expired", {"to": str(d.validity.expiration)}, at("validity", "expiration")),
            classification=classification,
            wrong_subject={
                subject: Reason(
                    "wrong_subject", {"applies_to": classification, "billed": subject}, at("classification")
                )
                for subject in subjects
            },
            granting=frozenset(granting),
            granting_reason=Reason("bundle_not_held", {"bundles": sorted(granting), "holder": classification}),
            no_line_reason=Reason("no_line", {"targets": _target_facts(d)}, at("discounted_products")),
            owner=owner,
            entries=entries,
            picks=_picker([positions[i] for i, _ in entries]),
            holding=(True,) * len(entries) if len(entries) != 1 else True,
            kind=d.amount.type,
            level=d.amount.level or 1,
            cap=d.cap,
            # (an add-on's grant is dated too, with or without a duration: `_granted_on`, `starts_later`)
            unasked=(d.duration is not None or d.amount.type is AmountType.FREE_PERIOD or bool(granting))
            + 2 * (d.type is not DiscountType.AUTO_APPLY),
            agent_units=frozenset(d.allowed_units) if d.type is not DiscountType.AUTO_APPLY else frozenset(),
            runs_on=runs_on(d),
            noted=d.cap is not None or d.amount.type is AmountType.AMOUNT,
        )

    def matching(self, line: Line) -> tuple[_Definition, ...]:
        """The definitions that reduce `line`, in code order."""
        key = line.reach
        found = self._matching.get(key)
        if found is None:
            candidates = {
                d.index: d
                for bucket in (
                    self._by_product.get(line.product, ()),
                    self._by_bundle.get(line.bundle, ()) if line.bundle else (),
                    self._by_type.get(line.type, ()),
                    self._any,
                )
                for d in bucket
                if _matches(d.model, line)
            }
            found = tuple(candidates[i] for i in sorted(candidates))
            if len(self._matching) < _MATCH_MEMO:
                self._matching[key] = found
        return found

    def _reducing(self, line: Line) -> frozenset[int]:
        """The indices of `matching(line)`: a line meets the few applied definitions, not all that match it."""
        key = line.reach
        found = self._reduces.get(key)
        if found is None:
            found = frozenset(d.index for d in self.matching(line))
            if len(self._reduces) < _MATCH_MEMO:
                self._reduces[key] = found
        return found

    def decide(
        self,
        scenario: Any,
        outcomes: Mapping[str, Sequence[tuple[str, bool]]],
        only: Collection[str] | None = None,
        why: bool = True,
        listed: bool | None = None,
    ) -> DiscountDecision:
        """Every definition's status and the lines' amounts; `only`: decide just these definitions
        (a purchase prices its lines with the discounts its own bundles grant). `outcomes`: the
        criteria's, by owner (`CriteriaOutcomes` of this rule set's program is read directly).
        `why`: name each failing condition with its values (else only the failing section).
        `listed=False` (by default, when the rule set is `RuleSet.applied_only`): the caller reads
        the reasons of no `not_eligible` result, only its status (applied-only decisions count
        them): with brief reasons, the criteria of a definition that no line or held bundle
        allows are then not evaluated (it is not eligible whatever they say), and its reasons may
        name sections that hold."""
        if listed is None:
            listed = self.listed
        subject, lines = _lines(self.products, scenario, self._catalog_lines, self._lines_made)
        fields = scenario.__dict__  # (models read as mappings: the module's docstring)
        today = fields["as_of"].date()
        # (the subscription read once: `_held_bundles` and `_billed_period`, inline)
        subscription = fields["subscription"]
        held: set[str] = set()
        for line in lines:  # (a loop: a comprehension is a call of its own in Python 3.11)
            if line.bundle:
                held.add(line.bundle)
        billed_from = today
        if subscription is not None:  # (the subject billed: "subscription")
            its = subscription.__dict__
            held.update(its["add_ons"])
            plan_bundles = self.plan_bundles.get(its["plan"])
            if plan_bundles is not None:
                held |= plan_bundles
            period = its["billing_period"]
            if period is not None:
                billed_from = period.from_
        requests: dict[str, Any] = {}
        for q in fields["requested_discounts"]:
            requests.setdefault(q.discount, q)
        histories: dict[str, list[Any]] = {}
        for h in fields["discount_history"]:
            histories.setdefault(h.discount, []).append(h)
        plan = self._dated.get((subject, billed_from, today)) or self._settle(subject, billed_from, today)
        definitions: Sequence[_Definition] = plan.open
        chosen: _Chosen | None = None
        context: tuple[int, set[str]] | None = None
        if only is not None:
            chosen = self._chosen(only)
            definitions = chosen.definitions
        else:  # (what the bundles held and the lines' products decide: read once)
            context = self._context(held, lines)
        results_of = None
        by_blocks = only is None and not why and self.by_blocks
        dated = (
            self._dated_codes(scenario, requests, histories, billed_from)
            if requests or billed_from > self.running_after
            else set()
        )
        if isinstance(outcomes, CriteriaOutcomes) and outcomes.program is self.program:
            # only the criteria of the definitions looked at are evaluated
            if chosen is not None:
                mask = chosen.mask or self._chosen_mask(chosen)
            elif by_blocks and not listed:
                assert context is not None
                mask = self._narrowed(plan, held, context)
            else:
                mask = plan.mask
            if plan.late and dated and not plan.late.isdisjoint(dated):  # shown added while valid
                extra = self._mask([self.by_code[c] for c in sorted(plan.late & dated)])
                mask = tuple(a or b for a, b in zip(mask, extra, strict=True))
            results_of = outcomes.masked(mask)
        scene = _Scene(
            scenario,
            subject,
            today,
            billed_from,
            held,
            requests,
            histories,
            dated,
            set(),
            results_of,
            outcomes,
            why,
            self.why.reasons if why else self.why.section_reasons,
            Reading(scenario) if why else scenario,
        )
        if results_of is not None and by_blocks:
            assert context is not None
            return self._by_blocks(plan, scene, lines, context)
        if context is not None:
            scene.matched = context[1]
        else:  # (only the definitions decided are read: those `only` names)
            reducing = [self._reducing(line) for line in lines]
            scene.matched = {d.code for d in definitions if any(d.index in r for r in reducing)}
        settled = plan.settled
        results: list[Any]  # DefinitionResult, once every slot is filled
        if only is None:  # the settled results in place; only the open definitions are looked at
            results, slots = list(settled), [d.index for d in definitions]
        else:
            results, slots = [settled[d.index] for d in definitions], list(range(len(definitions)))
        applied = []
        dated = scene.dated
        for slot, d in zip(slots, definitions, strict=True):
            if settled[d.index] is not None and (
                (d.auto and not d.runs_on) or d.settled is not None or d.code not in dated
            ):
                continue  # decided by the dates and the subject alone: in its slot already
            r = results[slot] = self._decide_open(d, scene)
            if r.status == "applied":
                applied.append(r)
        return DiscountDecision(self._amounts(applied, lines, scenario), results)

    def _dated_codes(
        self, scenario: Any, requests: dict[str, Any], histories: dict[str, list[Any]], billed_from: date
    ) -> set[str]:
        """The codes of the definitions judged on a day of their own, not on the dates billed: an
        ad hoc request's with an `added_on`, and an auto-apply definition with a run of its own
        (`runs_on`) expired before the period billed, that the history or an add-on's start may
        show added while it was valid (`_decide_open` judges it)."""
        dated = {c for c, q in requests.items() if q.added_on is not None} if requests else set()
        if billed_from > self.running_after:
            subscription = scenario.subscription
            running: Sequence[_Definition]
            if subscription is not None and subscription.add_ons:  # (dated or not: `_granted_on`)
                running = self.running
            elif histories:  # only those in the history (of hundreds of definitions, a few)
                running = [d for code in histories if (d := self.running_by_code.get(code)) is not None]
            else:
                return dated
            for d in running:
                if d.expiration is not None and billed_from > d.expiration:
                    dated.add(d.code)
        return dated

    def _decide_open(self, d: _Definition, s: _Scene) -> DefinitionResult:
        """The result of a definition its dates and the subject have not settled (or that a
        request's `added_on` judges on another day)."""
        dated = s.dated
        request = s.requests.get(d.code) if s.requests else None
        if dated and d.code in dated:  # an ad hoc request's `added_on`: its validity is judged on that day
            reason = self._not_effective(d, s.billed_from if d.auto else _added_on(request, s.today))
            if reason is d.expired_reason and d.runs_on:  # added while valid? its run decides (`_duration_over`)
                history = s.histories.get(d.code, [])
                if self._added_while_valid(d.model, s.scenario, history, s.billed_from, s.today) is not None:
                    reason = None
            if reason is not None:
                return DefinitionResult(d.code, d.type, "not_effective", [reason])
            if s.subject != d.classification:
                return DefinitionResult(d.code, d.type, "not_eligible", [d.wrong_subject[s.subject]])
        failing = self._failing_result(d, s)
        if failing is not None:
            return failing
        return self._eligible(d, request, s.histories.get(d.code, []), s.today, s.scenario)

    def _failing_result(self, d: _Definition, s: _Scene) -> DefinitionResult | None:
        """The `not_eligible` result of a definition the dates and the subject allow, or None when
        it is eligible: every failing condition is reported, not just the first (SPEC 3.2)."""
        no_grant = bool(d.granting) and s.held.isdisjoint(d.granting)
        no_line = d.code not in s.matched
        agent = self._agent_refused(d.model, s.scenario) if d.agent_units else None
        requested = agent is not None and d.code in s.requests
        if s.results_of is not None:
            picked = d.picks(s.results_of)
            if requested and not (no_grant or no_line or picked != d.holding):
                return None  # eligible but for its agent: the request is `rejected` (`_eligible`)
            if no_grant or no_line or agent is not None or picked != d.holding:
                # the user and the units: a user the rules do not define is told by the units the
                # scenario gives (`_agent_reason`): until 2026-12-02 the user alone keyed it
                refused = (agent.user, *agent.units) if agent is not None else None
                shared, failing_entries = self._failing.get(
                    (d.index, no_grant, no_line, picked, s.why, refused)
                ) or self._not_eligible(d, no_grant, no_line, picked, s.why, agent)
                if failing_entries:  # why the criteria fail: this scenario's values, found now
                    failed = [r for i in failing_entries for r in s.explain(i, s.reading)]
                    return DefinitionResult(d.code, d.type, "not_eligible", [*shared.reasons, *failed])
                return shared
            return None
        failing: list[Reason | str] = [d.granting_reason] if no_grant else []
        if no_line:
            failing.append(d.no_line_reason)
        sections = s.outcomes.get(d.owner, [])
        criteria = [
            r
            for (i, _), (_, holds) in zip(d.entries, sections, strict=True)
            if not holds
            for r in s.explain(i, s.reading)
        ]
        if agent is not None and (failing or criteria or not requested):
            failing.append(self._agent_reason(agent, d.model))  # (requested: listed when it fails anyway)
        failing += criteria
        return DefinitionResult(d.code, d.type, "not_eligible", failing) if failing else None

    def _eligible(
        self, d: _Definition, request: Any, history: list[Any], today: date, scenario: Any
    ) -> DefinitionResult:
        """The result of a definition whose dates, subject, bundles, lines and criteria all allow it:
        its duration and limit, then its value (auto apply) or the ad hoc request's fate."""
        r = DefinitionResult(d.code, d.type, "applied")
        if request is not None and not d.auto:
            # a request the agent may not make is rejected, whatever its duration or limit: one
            # status for it, whichever faults meet (a bad value at the limit was `limit_reached`)
            value, problems = self._request_problems(d.model, request, today, scenario)
            if problems:  # (a value that did not read is shown as written: `requested`, README)
                r.value, r.status, r.reasons = _as_requested(value, request), "rejected", problems
                return r
            if not self._limited(d.model, r, history, request, today, scenario):
                r.value = value
                self._approval(d.model, r, scenario)
            elif r.status == "limit_reached":  # shown as `requested` there too (until 2026-12-04 not)
                r.value = value
            return r
        if self._limited(d.model, r, history, request, today, scenario):
            return r
        if d.auto:
            r.value = d.model.amount.value
        else:
            self._ad_hoc(d.model, r, scenario, request, today)
        return r

    def _narrowed(self, plan: _Plan, held: set[str], context: tuple[int, set[str]]) -> tuple[bool, ...]:
        """The criteria of the plan's open definitions that some line matches and whose bundles
        are held (`decide(listed=False)`), kept per plan, bundles held and lines' products."""
        number, matched = context  # (`_context`)
        key = (plan.number, number)
        found = self._narrowed_masks.get(key)
        if found is None:
            allowed = (
                d
                for d in plan.open
                if d.code in matched and (not d.granting or not held.isdisjoint(d.granting)) and d.code not in plan.late
            )
            mask = self.program.compiled.mask(i for d in allowed for i, _ in d.entries)
            found = _kept(self._narrowed_masks, _NARROWED_MEMO, key, mask)
        return found

    def _chosen(self, only: Collection[str]) -> _Chosen:
        """`decide(only=...)`'s definitions in code order and their criteria's mask, kept per codes
        (of the rule set's definitions: a purchase's bundles' discounts)."""
        key = only if isinstance(only, frozenset) else frozenset(only)
        found = self._chosens.get(key)
        if found is None:
            definitions = tuple(sorted((self.by_code[c] for c in key if c in self.by_code), key=lambda d: d.index))
            found = _kept(self._chosens, _MASK_MEMO, key, _Chosen(definitions))
        return found

    def _chosen_mask(self, chosen: _Chosen) -> tuple[bool, ...]:
        chosen.mask = found = self._mask(chosen.definitions)
        return found

    def _mask(self, definitions: Sequence[_Definition]) -> tuple[bool, ...]:
        """The criteria `definitions` own, as a mask for the masked function (kept per codes)."""
        key = tuple(d.index for d in definitions)
        found = self._masks.get(key)
        if found is None:
            mask = self.program.compiled.mask(i for d in definitions for i, _ in d.entries)
            found = _kept(self._masks, _MASK_MEMO, key, mask)
        return found

    def _by_blocks(
        self, plan: _Plan, scene: _Scene, lines: list[Line], context: tuple[int, set[str]]
    ) -> DiscountDecision:
        """`decide` with brief reasons and every definition, by blocks of consecutive definitions:
        a block's results (shared, the settled and the not-eligible ones) follow from its
        definitions' settled results, the criteria outcomes it reads, the bundles held and the
        lines' products; kept per those, so that a decision looks up some 25 blocks instead of
        walking 400 definitions. Only the eligible ones (durations, limits, requests: this
        scenario's) are decided afresh, and the ad hoc definitions a request dates (`added_on`),
        whose slots a block keeps open (so a block is kept per which of its definitions are
        dated, too). The decision holds per block its results decided afresh (`DiscountDecision`
        spreads them into every result in code order when asked). A block whose eligible
        definitions nothing asks for is resolved per context (`_resolved`), the blocks of a
        decision that asks for none, all resolved, are one block (`_sheet`), and its amounts on
        lines alike are one bill (`_billed`)."""
        number, scene.matched = context  # (`_context`)
        contexts = self._unasked_contexts(scene)
        results_of, dated, requests, histories = scene.results_of, scene.dated, scene.requests, scene.histories
        assert results_of is not None
        unkept = _unkept(contexts[2])  # an agent kept in no memo: its blocks are made for this decision
        asked = requests.keys() | histories.keys() if requests or histories else _NO_CODES
        special = asked | dated if asked and dated else asked or dated  # the codes decided per scenario
        sheet = None
        if not unkept:
            # (what a block's key and content read: the codes requested, in the history, dated)
            index = (
                plan.number,
                number,
                contexts[3],
                frozenset(requests) if requests else None,
                frozenset(histories) if histories else None,
                frozenset(dated) if dated else None,
            )
            assert plan.window is not None
            window = plan.window(results_of)
            sheet = self._indexed_sheet(index, window)
        if sheet is None:
            picked = self._picked(plan, scene, number, contexts, unkept)
            if not unkept:
                sheet = self._sheet(picked, contexts, scene, special)
                if sheet is not None:
                    self._index_sheet(index, window, sheet)
            if sheet is None:
                blocks, applied = self._each_block(plan, picked, scene, contexts, special, unkept)
                return DiscountDecision(self._amounts(applied, lines, scene.scenario), None, blocks)
        return self._sheet_decided(sheet, scene, special, lines)

    def _picked(
        self, plan: _Plan, scene: _Scene, number: int, contexts: tuple[int | None, ...], unkept: bool
    ) -> list[Block]:
        """Each block of the plan, kept per its key (see `_by_blocks`), or made now."""
        memo, dated, results_of, requests = self._blocks, scene.dated, scene.results_of, scene.requests
        assert results_of is not None
        agent = scene.scenario.agent
        picked: list[Block] = []
        for span in plan.spans:
            key: tuple[Any, ...]
            if dated and not dated.isdisjoint(span.codes):  # and which of its definitions requests date
                key = (span.key, number, span.pick(results_of), frozenset(dated & span.codes))
            else:
                key = (span.key, number, span.pick(results_of))
            if span.agent_codes and agent is not None:  # and the agent, and what it requests
                key = (*key, contexts[2], frozenset(requests.keys() & span.agent_codes) if requests else None)
            block = memo.get(key)
            if block is None:
                if span.agent_codes and unkept:
                    block = self._block(plan, span, scene)
                else:
                    block = _kept(memo, _BLOCK_MEMO, key, self._block(plan, span, scene))
            picked.append(block)
        return picked

    def _indexed_sheet(self, index: tuple[Any, ...], window: Any) -> Block | None:
        """The sheet (`_sheet`) of a decision whose blocks' keys are those of one made before: the
        same plan, bundles and lines (`number`), context, codes asked for and outcomes read
        (`window`, compared, not hashed: a few candidates per index), without looking up its
        blocks one by one; None if there is none."""
        candidates = self._sheet_index.get(index)
        if candidates:
            for seen, sheet in candidates:
                if seen == window:
                    return sheet
        return None

    def _index_sheet(self, index: tuple[Any, ...], window: Any, sheet: Block) -> None:
        """`sheet` found again by `_indexed_sheet` (at most `_SHEET_CANDIDATES` per index, the latest)."""
        candidates = self._sheet_index.get(index)
        if candidates is None:
            _kept(self._sheet_index, _SHEET_INDEX, index, [(window, sheet)])
        elif all(seen != window for seen, _ in candidates):
            candidates.insert(0, (window, sheet))
            del candidates[_SHEET_CANDIDATES:]

    def _sheet_decided(
        self, sheet: Block, scene: _Scene, special: AbstractSet[str], lines: list[Line]
    ) -> DiscountDecision:
        """A sheet's open slots for this decision: the definitions it asks for (`special`) decided
        as `_each_block` decides them, the others applied, from the sheet's bill on these lines
        (`_billed`)."""
        asked = [self._asked(sheet.eligible[i][1], scene) for i in sheet.asked] if sheet.asked else []
        if not self.keep_lines:  # (the tests' long way: every amount worked out)
            made = iter(sheet.made)
            decided = iter(asked)
            fresh: list[DefinitionResult] = []
            for _, d in sheet.eligible:
                if d.code not in special:
                    c, t, v, f = next(made)
                    fresh.append(DefinitionResult(c, t, "applied", value=v, free_spent=f))
                else:
                    fresh.append(next(decided))
            applied = [r for r in fresh if r.status == "applied"]
            return DiscountDecision(self._amounts(applied, lines, scene.scenario), None, [(sheet, fresh)])
        lines_results, template, written = self._billed(sheet, lines, scene.scenario, asked)
        if not asked:
            return DiscountDecision(lines_results, None, [(sheet, template)], written)
        filled = list(template)
        for i, r in zip(sheet.asked, asked, strict=True):
            filled[i] = r
        return DiscountDecision(lines_results, None, [(sheet, filled)], written)

    def _asked(self, d: _Definition, scene: _Scene) -> DefinitionResult:
        """The result of a definition the scenario asks for (requested, in its history, dated)."""
        if scene.dated and d.code in scene.dated:  # judged on the request's `added_on`
            return self._decide_open(d, scene)
        return self._eligible(
            d, scene.requests.get(d.code), scene.histories.get(d.code, []), scene.today, scene.scenario
        )

    def _billed(
        self, sheet: Block, lines: list[Line], scenario: Any, asked: list[DefinitionResult]
    ) -> tuple[list[LineResult], list[Any], dict[Any, Any]]:
        """A sheet's bill on these lines: its applied results (its auto-apply definitions applied,
        `Block.made`, and those it asks for that `asked` applies) and the lines' amounts follow
        from the sheet, each line (its field, product, type, bundle, main service, gross as
        written and period), the value and share spent of each applied result asked for, and,
        with a free period, the period billed (`_amounts` reads no more: as `_applied_key` and
        `_free_share` say), so they are worked out once per those and kept. Returns the lines'
        results, the sheet's open results (None in the slots it asks for) and what the writer
        keeps of them (`DiscountDecision.written`): shared by the decisions of the bill, never
        changed. The results in `asked` that are applied get their amounts and the reasons
        `_amounts` gives (kept with the bill, copied)."""
        parts: list[Any] = [
            sheet,  # (held by the key: its identity is not reused)
            _period_key(scenario) if sheet.frees else None,
            tuple([(r.code, type(r.value), str(r.value), r.free_spent) for r in asked if r.status == "applied"])
            if asked
            else (),
        ]
        for x in lines:  # (a loop: a comprehension is a call of its own in Python 3.11)
            parts.append(x.bill_key)
        key = tuple(parts)
        found = self._bills.get(key)
        if found is None:
            return self._bill(key, sheet, lines, scenario, asked)
        lines_results, template, written, given = found
        if given:
            for r, (amounts, reasons) in zip([r for r in asked if r.status == "applied"], given, strict=True):
                r.amounts.update(amounts)
                r.reasons += reasons
        return lines_results, template, written

    def _bill(
        self, key: tuple[Any, ...], sheet: Block, lines: list[Line], scenario: Any, asked: list[DefinitionResult]
    ) -> tuple[list[LineResult], list[Any], dict[Any, Any]]:
        """`_billed`'s bill, worked out (`_amounts`) and kept under `key`."""
        made = [DefinitionResult(c, t, "applied", value=v, free_spent=f) for c, t, v, f in sheet.made]
        template: list[Any] = list(made)
        for i in sheet.asked:  # (in order: each slot asked for moves the applied ones after it)
            template.insert(i, None)
        every = list(template)
        for i, r in zip(sheet.asked, asked, strict=True):
            every[i] = r
        applied = [r for r in every if r.status == "applied"]  # (in code order)
        mine = [(r, len(r.reasons)) for r in asked if r.status == "applied"]
        lines_results = self._amounts(applied, lines, scenario)
        given = tuple((dict(r.amounts), tuple(r.reasons[before:])) for r, before in mine)
        written: dict[Any, Any] = {}
        _kept(self._bills, _BILLS, key, (lines_results, template, written, given))
        return lines_results, template, written

    def _each_block(
        self,
        plan: _Plan,
        picked: list[Block],
        scene: _Scene,
        contexts: tuple[int | None, ...],
        special: AbstractSet[str],
        unkept: bool,
    ) -> tuple[list[tuple[Block, Sequence[DefinitionResult]]], list[DefinitionResult]]:
        """`_by_blocks`, block by block: each block with its eligible definitions decided for this
        scenario, or resolved for its context when nothing asks for them (`_resolved`)."""
        unasked, dated = self._unasked_memo, scene.dated
        requests, histories, today, scenario = scene.requests, scene.histories, scene.today, scene.scenario
        asked = requests.keys() | histories.keys() if requests or histories else ()
        blocks: list[tuple[Block, Sequence[DefinitionResult]]] = []
        applied: list[DefinitionResult] = []
        for span, block in zip(plan.spans, picked, strict=True):
            if not block.eligible:
                blocks.append((block, _NONE))
                continue
            if (
                not (span.agent_codes and unkept)  # (a block made for this decision: not resolved)
                and (not special or special.isdisjoint(block.codes))
                and not _unkept(ctx := contexts[block.needs])
            ):
                # nothing asks for its eligible definitions: their results follow from the context
                # alone, so the block is resolved once per context (the applied ones made afresh)
                done = self._resolved_for(block, ctx, contexts, scene)
                if done.made:
                    made = [DefinitionResult(c, t, "applied", value=v, free_spent=f) for c, t, v, f in done.made]
                    applied += made
                    blocks.append((done, made))
                else:
                    blocks.append((done, _NONE))
                continue
            fresh = []
            for _, d in block.eligible:
                if dated and d.code in dated:  # judged on the request's `added_on`
                    r = self._decide_open(d, scene)
                elif asked and d.code in asked:
                    r = self._eligible(d, requests.get(d.code), histories.get(d.code, []), today, scenario)
                else:
                    r = unasked.get((d.index, contexts[d.unasked])) or _NOT_KNOWN
                    if r.status == "applied":  # auto apply: made afresh, its amounts are filled in
                        r = DefinitionResult(
                            d.code, d.type, "applied", value=d.model.amount.value, free_spent=r.free_spent
                        )
                    elif r is _NOT_KNOWN:
                        r = self._unasked(d, contexts, scene)
                fresh.append(r)
                if r.status == "applied":
                    applied.append(r)
            blocks.append((block, fresh))
        return blocks, applied

    def _resolved_for(self, block: Block, ctx: int | None, contexts: tuple[int | None, ...], s: _Scene) -> Block:
        """`_resolved`, kept per block and context."""
        resolved = self._resolved_blocks
        pair = resolved.get((id(block), ctx))
        if pair is None or pair[0] is not block:  # (the pair holds its block: its id is not reused)
            pair = _kept(resolved, _RESOLVED_MEMO, (id(block), ctx), (block, self._resolved(block, contexts, s)))
        return pair[1]

    def _sheet(
        self, picked: list[Block], contexts: tuple[int | None, ...], s: _Scene, special: AbstractSet[str]
    ) -> Block | None:
        """The blocks of a decision, each resolved for the context (`_resolved`), as one block,
        kept per the blocks, the context (dates and agent: `contexts[3]`) and the codes the
        scenario asks for (`special`: requested, in its history, dated), whose slots stay open: a
        decision then decides those and makes its applied results, nothing else. Made the second
        time the same blocks, context and codes meet (the first goes block by block), so that
        scenarios that never meet again do not pay for it; None until then."""
        key = (contexts[3], frozenset(special), *picked)  # (blocks hash by identity; the key holds them alive)
        found = self._sheets.get(key)
        if found is not None:
            return found
        seen = hash(key)  # (a number, not the key: what is met once holds no block alive)
        if seen not in self._sheets_seen:
            if len(self._sheets_seen) >= _SHEETS_SEEN:
                self._sheets_seen.clear()
            self._sheets_seen.add(seen)
            return None
        results: list[DefinitionResult | None] = []
        eligible: list[tuple[int, _Definition]] = []
        made: list[tuple[str, str, Any, Fraction]] = []
        for block in picked:
            if block.eligible:
                if special and not special.isdisjoint(block.codes):
                    block = self._resolved(block, contexts, s, special)
                else:
                    block = self._resolved_for(block, contexts[block.needs], contexts, s)
                eligible += [(len(results) + slot, d) for slot, d in block.eligible]
                made += block.made
            results += block.results
        asked = tuple(i for i, (_, d) in enumerate(eligible) if d.code in special) if special else ()
        sheet = Block(tuple(results), tuple(eligible), tuple(made), asked)
        return _kept(self._sheets, _SHEETS, key, sheet)

    def _resolved(
        self, block: Block, contexts: tuple[int | None, ...], s: _Scene, special: AbstractSet[str] = _NO_CODES
    ) -> Block:
        """`block` with the results of its eligible definitions in their slots, for a scenario that
        asks for none of them (`_unasked`: shared results kept per context); the applied ones stay
        open, made afresh per decision from the block's `made`, and those in `special` (which the
        scenario asks for) open, decided afresh (`_sheet_decided`)."""
        results = list(block.results)
        open_ = []
        made = []
        for slot, d in block.eligible:
            if d.code in special:
                open_.append((slot, d))
                continue
            kept = self._unasked_kept(d, contexts, s)
            if kept.status == "applied":
                open_.append((slot, d))
                made.append((d.code, d.type, d.model.amount.value, kept.free_spent))
            else:
                results[slot] = kept
        return Block(tuple(results), tuple(open_), tuple(made))

    def _unasked_kept(self, d: _Definition, contexts: tuple[int | None, ...], s: _Scene) -> SettledResult:
        """`_unasked`'s shared result (`_APPLIED`, or one with the free period's share spent, for
        one applied), from the memo or decided now and kept."""
        key = (d.index, contexts[d.unasked])
        found = self._unasked_memo.get(key)
        if found is None:
            found = self._unasked_fresh(d, key, s)[1]
        return found

    def _unasked_fresh(
        self, d: _Definition, key: tuple[int, int | None], s: _Scene
    ) -> tuple[DefinitionResult, SettledResult]:
        """A definition nothing asks for, decided now: its result and the shared one kept for `key`."""
        r = self._eligible(d, None, [], s.today, s.scenario)
        kept: SettledResult
        if r.status != "applied":
            kept = SettledResult(r.code, r.type, r.status, r.reasons)
        elif r.free_spent:  # what a free period's earlier bills took: this bill gets the rest (until
            # 2026-12-02 the rest was dropped for the next scenario, which got the whole period)
            kept = SettledResult(r.code, r.type, "applied", free_spent=r.free_spent)
        else:
            kept = _APPLIED
        if not _unkept(key[1]):
            _kept(self._unasked_memo, _UNASKED_MEMO, key, kept)
        return r, kept

    def _unasked(self, d: _Definition, contexts: tuple[int | None, ...], s: _Scene) -> DefinitionResult:
        """`_eligible` for a definition nothing asks for (no request, no history): applied (auto
        apply, fresh: its amounts are this decision's), or a result kept and shared, which only
        the first day billed and the billing frequency (a definition with a duration) and the
        agent (ad hoc: not requested, offered, or the agent not allowed) decide."""
        key = (d.index, contexts[d.unasked])
        found = self._unasked_memo.get(key)
        if found is not None and found.status == "applied":  # auto apply: made afresh, amounts filled in
            return DefinitionResult(d.code, d.type, "applied", value=d.model.amount.value, free_spent=found.free_spent)
        if found is not None:
            return found
        return self._unasked_fresh(d, key, s)[0]

    def _unasked_contexts(self, s: _Scene) -> tuple[int | None, ...]:
        """`_unasked`'s keys, by a definition's `unasked`: nothing, the dates (first day billed,
        billing frequency), the agent, or both, each by number."""
        fields = s.scenario.__dict__  # (models read as mappings: the module's docstring)
        agent = fields["agent"]
        subscription = fields["subscription"]
        # the period billed, whole: its end decides a free period's share of it and whether an
        # add-on started within it (until 2026-12-02 only its first day was in the key)
        dates: tuple[Any, ...]
        if subscription is not None:
            its = subscription.__dict__
            period = its["billing_period"]
            dates = (
                "dates",
                s.billed_from,
                period.to if period is not None else None,
                its["billing_frequency"],
            )
            if its["add_ons"]:
                # a definition add-ons grant counts its run from their start (`_granted_on`, which
                # reads the plan, the add-ons held, their starts and, for one without, the
                # subscription's): until 2026-12-02 a result kept for one scenario's add-on start
                # was another's, with brief reasons
                starts = tuple(sorted(its["add_on_starts"].items()))
                dates = (*dates, its["plan"], tuple(its["add_ons"]), starts, its["start"])
        else:
            dates = ("dates", s.billed_from, None, None)
        if agent is None:
            who: tuple[Any, ...] = ("agent", None)
        else:
            fields = agent.__dict__
            if not _agent_kept(fields["user"], fields["units"]):  # numbers of its own, never kept
                return None, self._number(dates), -next(self._numbers), -next(self._numbers)
            who = ("agent", fields["user"], *fields["units"])
        both = (dates, who)
        found = self._contexts_both.get(both)  # (one look-up where three were made)
        if found is None:
            found = (None, self._number(dates), self._number(who), self._number(both))
            _kept(self._contexts_both, _CONTEXT_MEMO, both, found)
        return found

    def _number(self, key: tuple[Any, ...]) -> int:
        found = self._contexts_unasked.get(key)
        if found is None:
            found = _kept(self._contexts_unasked, _CONTEXT_MEMO, key, next(self._numbers))
        return found

    def _context(self, held: set[str], lines: list[Line]) -> tuple[int, set[str]]:
        """What the bundles held and the lines' products decide for every definition, by number
        (for blocks' keys), with the codes of the definitions some line matches."""
        key = (
            frozenset(held & self.granting_bundles),
            frozenset([x.reach for x in lines]),
        )
        found = self._contexts.get(key)
        if found is None:
            matched = {d.code for line in lines for d in self.matching(line)}
            found = _kept(self._contexts, _CONTEXT_MEMO, key, (next(self._numbers), matched))
        return found

    def _block(self, plan: _Plan, span: _Span, scene: _Scene) -> Block:
        """The block's results: each settled one, the not-eligible ones (brief reasons, shared),
        and None in the slot of each one decided afresh: the eligible ones and those a request
        dates (`scene.dated`)."""
        results: list[DefinitionResult | None] = []
        fresh = []
        dated = scene.dated
        for slot, d in enumerate(self.definitions[span.start : span.stop]):
            early = plan.settled[d.index]
            found: DefinitionResult | None
            if dated and d.code in dated and (not d.auto or d.runs_on) and d.settled is None:
                found = None
            elif early is not None:
                found = early
            else:
                found = self._failing_result(d, scene)
            results.append(found)
            if found is None:
                fresh.append((slot, d))
        return Block(tuple(results), tuple(fresh))

    @staticmethod
    def _not_effective(d: _Definition, valid_on: date) -> Reason | None:
        """Why the definition is not effective on `valid_on` (life cycle, validity), or None."""
        if d.settled is not None:
            return d.settled
        if valid_on < d.effective:
            return d.effective_reason
        if d.expiration is not None and valid_on > d.expiration:
            return d.expired_reason
        return None

    def _settle(self, subject: str | None, billed_from: date, today: date) -> _Plan:
        """Per definition, the result its dates and the scenario's subject decide on their own (an
        ad hoc one judged on the billing date, as when no request dates it), else None; and the
        definitions still open: those without one, and the ad hoc ones a request's `added_on` may
        judge on another day; and the mask of the criteria the open ones own (the generated
        function evaluates only those). Kept per (subject, first day billed, billing date)."""
        settled: list[SettledResult | None] = []
        for d in self.definitions:
            reason = self._not_effective(d, billed_from if d.auto else today)
            if reason is not None:
                settled.append(self._shared(d, "not_effective", reason))
            elif subject != d.classification:
                settled.append(self._shared(d, "not_eligible", d.wrong_subject[subject]))
            else:
                settled.append(None)
        open_ = tuple(
            d for d in self.definitions if settled[d.index] is None or ((not d.auto or d.runs_on) and d.settled is None)
        )
        late = frozenset(d.code for d in open_ if d.auto and settled[d.index] is not None)
        mask = self.program.compiled.mask(i for d in open_ if d.code not in late for i, _ in d.entries)
        positions = self.program.compiled.positions  # (of the distinct outcomes the masked function gives)
        spans = []
        for start in range(0, len(self.definitions), self.block):
            members = self.definitions[start : start + self.block]
            # which of its definitions are settled, and how: the same block on another date is the same
            shape = (start, *(id(settled[d.index]) for d in members))
            key = self._shapes.get(shape)
            if key is None:  # a number of its own, drawn atomically: threads share the memo
                key = self._shapes.setdefault(shape, next(self._shape_numbers))
            reads = [positions[i] for d in members if settled[d.index] is None for i, _ in d.entries]
            codes = frozenset(d.code for d in members)
            agent_codes = frozenset(d.code for d in members if d.agent_units and settled[d.index] is None)
            spans.append(_Span(key, start, start + len(members), _reading(reads), codes, agent_codes))
        every = [positions[i] for d in self.definitions if settled[d.index] is None for i, _ in d.entries]
        found = _Plan(tuple(settled), open_, mask, tuple(spans), next(self._numbers), late, _window(every))
        return _kept(self._dated, _DATE_MEMO, (subject, billed_from, today), found)

    def _shared(self, d: _Definition, status: str, reason: Reason) -> SettledResult:
        """The one result for `d` settled with `reason` (one of the reasons `d` keeps), shared by
        every date it is settled on."""
        key = (d.index, id(reason))  # the reason is one of `d`'s own, alive as long as the evaluator
        found = self._settled.get(key)
        if found is None:  # (setdefault: two threads settling it at once keep one, the first)
            found = self._settled.setdefault(key, SettledResult(d.code, d.type, status, [reason]))
        return found

    def _not_eligible(
        self, d: _Definition, no_grant: bool, no_line: bool, picked: Any, why: bool, agent: Any = None
    ) -> tuple[SettledResult, tuple[int, ...]]:
        """The `not_eligible` result for these failing conditions (`picked`: `d.picks` of the
        criteria's results), made once and kept for the next scenario that fails the same way.

        With `why`, the result leaves out the criteria's reasons and comes with the entries that
        fail (their reasons name this scenario's values); brief reasons (a failing section, no
        values) are the same for every scenario, so the result holds them and no entry is left."""
        holds = picked if isinstance(picked, tuple) else (picked,)
        reasons: list[Reason | str] = [d.granting_reason] if no_grant else []
        if no_line:
            reasons.append(d.no_line_reason)
        if agent is not None:  # (kept per agent: the reason names them)
            reasons.append(self._agent_reason(agent, d.model))
        failing = tuple(i for (i, _), held in zip(d.entries, holds, strict=True) if not held)
        if not why:
            reasons += [r for i in failing for r in self.why.section_reasons(i, None)]
            failing = ()
        found = SettledResult(d.code, d.type, "not_eligible", reasons), failing
        if agent is not None and not _agent_kept(agent.user, agent.units):
            return found
        refused = (agent.user, *agent.units) if agent is not None else None
        return _kept(self._failing, _FAILING_MEMO, (d.index, no_grant, no_line, picked, why, refused), found)

    def _limited(
        self, d: Discount, r: DefinitionResult, history: list[Any], request: Any, today: date, scenario: Any
    ) -> bool:
        """Is an eligible definition out of its duration or at its application limit? (`r` says why.)"""
        if self._duration_over(d, r, history, request, today, scenario):
            return True
        limit = d.limit
        if limit is not None and history:  # `times` is at least 1: no history, no limit reached
            start = _window_start(limit, today)
            used = sum(1 for h in history if start <= h.on <= today)
            if used >= limit.times:
                r.status = "limit_reached"
                r.reasons.append(_limit_reason(limit, used, start, discount_source(self.rules, d.code, "limit")))
                return True
        return False

    # amounts ---------------------------------------------------------------------------------------

    def _amounts(self, applied: list[DefinitionResult], lines: list[Line], scenario: Any) -> list[LineResult]:
        if not lines:
            return []
        definitions = self.by_code
        pairs = [(definitions[r.code], r) for r in applied]  # in code order, as `matching` gives them
        noted = [pair for pair in pairs if pair[0].noted]  # a money amount or a cap: said below
        if noted:
            amounts = [r for d, r in noted if d.kind is _AMOUNT]
            if amounts:  # a money amount says which lines of another currency it took nothing from
                note_other_currencies(
                    amounts, lines, lambda line, code: definitions[code].index in self._reducing(line)
                )
            caps = {d.code: d.cap for d, _ in noted if d.cap is not None and d.kind is not _AMOUNT}
            if caps:  # and a capped discount, which lines of another currency than its cap
                capped = [r for r in applied if r.code in caps]
                note_other_currencies(
                    capped, lines, lambda line, code: definitions[code].index in self._reducing(line), caps
                )
        by_code = {r.code: r for r in applied}
        if self.keep_lines:
            results = self._amounts_kept(pairs, by_code, lines, scenario)
        else:
            results = self._amounts_long(pairs, by_code, self._caps(pairs), lines, scenario)
        for d, r in noted:  # what a cap or the zero floor cut, said (SPEC 3.2 step 4)
            if d.cap is not None and self._near_cap(d.cap, r.amounts.get(d.cap.currency), len(lines)):
                self._say_capped(d, r, pairs, lines, scenario)
            if d.kind is _AMOUNT and (short := _floored(d, r, results, self._reducing)):
                facts = {"value": self._money_shown(r.value), "lines": short}
                r.reasons.append(Reason("line_floor", facts, discount_source(self.rules, d.code, "amount")))
        return results

    def _near_cap(self, cap: Money, taken: Decimal | None, lines: int) -> bool:
        """Whether a discount's shown take may be its whole cap: the cap itself, or within a quantum
        a line below it, where each line's take was rounded down (exactly 15.00 taken over four
        lines can show as 4.16 + 0.87 + 6.99 + 2.97 = 14.99: until 2026-12-02 such a take had no
        `capped` reason). `_say_capped` then says it only when the take without the cap is larger."""
        if taken is None:
            return False
        return taken == cap.amount or cap.amount - lines * self.rounder.quantum(cap.currency) <= taken < cap.amount

    def _say_capped(
        self,
        d: _Definition,
        r: DefinitionResult,
        pairs: list[tuple[_Definition, DefinitionResult]],
        lines: list[Line],
        scenario: Any,
    ) -> None:
        """A discount that took its whole cap: what it would take without it (the other caps kept),
        when that is more: a reason `capped`. Worked out only for a cap reached, a rare bill."""
        cap = d.cap
        assert cap is not None
        key = (
            ("uncapped", d.code, *_capped_key(_applied_key(pairs, lines, scenario), lines)) if self.keep_lines else None
        )
        would = self._lines_kept.get(key) if key is not None else None
        if would is None:  # (a billing run meets the same capped bills again: kept as `_amounts_kept` keeps them)
            others = _Caps({o.code: o.cap for o, _ in pairs if o.cap is not None and o.code != d.code})
            free = self._amounts_long(pairs, {}, others, lines, scenario, total=False)
            would = sum(
                (amount for x in free if x.line.gross.currency == cap.currency for c, amount in x.takes if c == d.code),
                _ZERO,
            )
            if key is not None:
                _kept(self._lines_kept, _CLOSED_MEMO, key, would)
        if would > cap.amount:
            facts = {"cap": self._money_shown(cap), "uncapped": self._money_shown(Money(would, cap.currency))}
            r.reasons.append(Reason("capped", facts, discount_source(self.rules, d.code, "cap")))

    @staticmethod
    def _caps(pairs: list[tuple[_Definition, DefinitionResult]]) -> _Caps:
        return _Caps({d.code: d.cap for d, _ in pairs if d.cap is not None})

    def _amounts_kept(
        self,
        pairs: list[tuple[_Definition, DefinitionResult]],
        by_code: dict[str, DefinitionResult],
        lines: list[Line],
        scenario: Any,
    ) -> list[LineResult]:
        """`_amounts`, kept: a line's rounded takes and net follow from its product, type and
        bundle, its gross (as written) and the applied discounts with their values; a free period's
        share also from the line's billing frequency and the length of the period billed; and a
        cap carries what it may still take from line to line, so with a capped discount applied
        the lines are kept together, in order, with their periods (the order a cap is taken in).
        A billing run meets the same lines and discounts again and again."""
        applied = _applied_key(pairs, lines, scenario)
        memo = self._lines_kept
        if pairs and any([d.cap is not None for d, _ in pairs]):
            key = _capped_key(applied, lines)
            every = memo.get(key)
            if every is None:
                every = tuple(
                    (tuple(r.takes), r.net, r.discount, {})
                    for r in self._amounts_long(pairs, by_code, self._caps(pairs), lines, scenario, total=False)
                )
                _kept(memo, _CLOSED_MEMO, key, every)
            return [self._line_kept(line, found, by_code) for line, found in zip(lines, every, strict=True)]
        results = []
        for line in lines:
            gross = line.gross
            key = (line.product, line.type, line.bundle, line.main, gross.currency, str(gross.amount), applied)
            found = memo.get(key)
            if found is None:
                result = self._amounts_long(pairs, by_code, _NO_CAPS, [line], scenario, total=False)[0]
                found = _kept(memo, _CLOSED_MEMO, key, (tuple(result.takes), result.net, result.discount, {}))
            results.append(self._line_kept(line, found, by_code))
        return results

    @staticmethod
    def _line_kept(line: Line, found: Any, by_code: dict[str, DefinitionResult]) -> LineResult:
        """A kept line's result for `line`, its takes added to the applied results' amounts."""
        takes, net, discount, written = found
        if takes:
            currency = line.gross.currency
            for code, amount in takes:
                totals = by_code[code].amounts
                totals[currency] = totals.get(currency, _ZERO) + amount
        return LineResult(line, list(takes), net, discount, written)

    def _amounts_long(
        self,
        pairs: list[tuple[_Definition, DefinitionResult]],
        by_code: dict[str, DefinitionResult],
        caps: _Caps,
        lines: list[Line],
        scenario: Any,
        total: bool = True,
    ) -> list[LineResult]:
        """Each line's takes, kind by kind, capped and rounded; `total`: added to each applied
        result's amounts."""
        results = []
        exact: list[dict[str, Decimal]] = []  # each line's takes before rounding (with caps only)
        rounder = self.rounder
        shared = caps.caps and len(lines) > 1
        if shared:  # a cap shared by lines is taken in an order the bill's own order does not change
            lines = sorted(lines, key=_cap_order)
        for line in lines:
            book = _LineBook(line, caps)
            reduced = self._reducing(line)
            # the discounts that reduce the line, by kind, each in code order
            free: list[tuple[_Definition, DefinitionResult]] = []
            percentages: list[tuple[_Definition, DefinitionResult]] = []
            amounts: list[tuple[_Definition, DefinitionResult]] = []
            for pair in pairs:
                if pair[0].index in reduced:
                    kind = pair[0].kind
                    if kind is _PERCENTAGE:
                        percentages.append(pair)
                    elif kind is _AMOUNT:
                        amounts.append(pair)
                    elif kind is _FREE_PERIOD:
                        free.append(pair)
            for d, r in free:
                book.take(
                    d.code,
                    share_of(line.gross.amount, self._free_share(d.model, r.value, line, scenario, r.free_spent)),
                )
            if percentages:
                levels = {d.level for d, _ in percentages}
                for level in sorted(levels) if len(levels) > 1 else levels:
                    base = book.remaining  # one level: every percentage on the same base
                    for d, r in percentages:
                        if d.level == level:
                            book.take(d.code, base * (v if type(v := r.value) is Decimal else Decimal(str(v))) / 100)
            for d, r in amounts:
                _take_money(book, d.code, r.value)
            results.append(self._closed(book, rounder))
            if caps.caps:
                exact.append(dict(book.takes))
        if shared:
            _within_caps(results, caps, exact, rounder)
            results.sort(key=lambda result: result.line.index)  # the bill's order again
        if total:
            for result in results:
                currency = result.line.gross.currency
                for code, amount in result.takes:
                    totals = by_code[code].amounts
                    totals[currency] = totals.get(currency, _ZERO) + amount
        return results

    def _closed(self, book: _LineBook, rounder: Rounder) -> LineResult:
        """`book.close(rounder)`, kept per currency, gross (as written: its exponent is the net's)
        and the exact takes: a billing run meets the same catalog prices and percentages again and
        again. Amounts by their text: hashing a fractional Decimal costs more than writing it."""
        gross = book.line.gross
        key = (gross.currency, str(gross.amount), *[str(amount) for _, amount in book.takes])
        found = self._lines_closed.get(key)
        if found is None:
            result = book.close(rounder)
            _kept(
                self._lines_closed,
                _CLOSED_MEMO,
                key,
                ([amount for _, amount in result.takes], result.net, result.discount),
            )
            return result
        rounded, net, discount = found
        return LineResult(
            book.line, [(code, amount) for (code, _), amount in zip(book.takes, rounded, strict=True)], net, discount
        )


_PERCENTAGE, _AMOUNT, _FREE_PERIOD = AmountType.PERCENTAGE, AmountType.AMOUNT, AmountType.FREE_PERIOD


def _take_money(book: _LineBook, code: str, value: Any) -> None:
    """A money amount's take from the line; nothing from a line billed in another currency (no
    rate converts it: the definition says so, `note_other_currencies`)."""
    money = _money(value)
    if money.currency == book.line.gross.currency:
        book.take(code, money.amount)


def note_other_currencies(
    applied: Sequence[DefinitionResult],
    lines: Sequence[Line],
    reduces: Callable[[Line, str], bool],
    caps: Mapping[str, Money] | None = None,
) -> None:
    """An applied money amount takes nothing from the lines it reduces that are billed in another
    currency, and a capped discount nothing from a line billed in another currency than its cap
    (`caps`: no rate turns one into the other): its result says which (`other_currency_lines`),
    rather than the bill being refused or the lines passed over in silence. Until 2026-12-02 a
    requested percentage capped in EUR on a USD bill refused the whole scenario (BR603), though
    the same discount was offered."""
    for r in applied:
        currency = _money(r.value).currency if caps is None else caps[r.code].currency
        skipped = [line.field for line in lines if line.gross.currency != currency and reduces(line, r.code)]
        if skipped:
            facts: dict[str, Any] = {"currency": currency, "lines": skipped}
            if caps is not None:
                facts["of"] = "cap"
            r.reasons.append(Reason("other_currency_lines", facts))


def _applied_key(
    pairs: list[tuple[_Definition, DefinitionResult]], lines: list[Line], scenario: Any
) -> tuple[Any, ...]:
    """What the applied discounts bring to a bill's amounts (`_amounts_kept`'s key): each one, with
    its value when an agent chose it and the share of a free period already given; with a free
    period, the length of the period billed and the lines' periods."""
    if not pairs:
        return ()
    applied: tuple[Any, ...] = tuple(
        [
            (d.index if d.auto else (d.index, str(r.value)))
            if not r.free_spent
            else (d.index, str(r.value), r.free_spent)
            for d, r in pairs
        ]
    )
    if any([d.kind is _FREE_PERIOD for d, _ in pairs]):
        period = scenario.subscription.billing_period if scenario.subscription is not None else None
        days = (period.to - period.from_).days if period is not None else None
        billed = scenario.subscription.billing_frequency if scenario.subscription is not None else None
        applied = (*applied, days, billed, *(line.frequency for line in lines))
    return applied


def _period_key(scenario: Any) -> tuple[Any, ...] | None:
    """What a free period's share reads of the period billed (`DefinitionRules._free_ratio`):
    the subscription's billing frequency and the length of its billing period."""
    subscription = scenario.subscription
    if subscription is None:
        return None
    its = subscription.__dict__  # (models read as mappings: the module's docstring)
    period = its["billing_period"]
    return its["billing_frequency"], (period.to - period.from_).days if period is not None else None


def _capped_key(applied: tuple[Any, ...], lines: list[Line]) -> tuple[Any, ...]:
    """A bill's key with a capped discount applied: the lines together, in order, with their
    periods (`_cap_order` reads them: they decide which line takes a cap first)."""
    return (
        applied,
        *((x.product, x.type, x.bundle, x.main, x.gross.currency, str(x.gross.amount), x.frequency) for x in lines),
    )


def _floored(
    d: _Definition, r: DefinitionResult, results: list[LineResult], reducing: Callable[[Line], frozenset[int]]
) -> list[str]:
    """The lines (billed in its currency) a money amount reduces that it took less than itself
    from, since no line goes below zero (SPEC 3.2 step 4): said as a reason `line_floor`."""
    value = _money(r.value)
    return [
        x.line.field
        for x in results
        if x.line.gross.currency == value.currency
        and not x.net.amount  # the line ran out (a take cut by a cap alone leaves some of it)
        and d.index in reducing(x.line)
        and sum((amount for c, amount in x.takes if c == d.code), _ZERO) < value.amount
    ]


class _Caps:
    """What each capped discount may still take in this billing period (across lines)."""

    def __init__(self, caps: dict[str, Money]) -> None:
        self.caps = caps
        self.left = {code: cap.amount for code, cap in caps.items()}

    def limit(self, code: str, amount: Decimal, line: Line) -> Decimal:
        cap = self.caps.get(code)
        if cap is None:
            return amount
        if cap.currency != line.gross.currency:  # (said by `note_other_currencies`)
            return Decimal(0)
        amount = min(amount, self.left[code])
        self.left[code] -= amount
        return amount


def _cap_order(line: Line) -> tuple[Any, ...]:
    """The order in which lines take a cap they share: the largest gross first (then product,
    bundle, type, main, and the line whose charge covers the longer period: a free period takes a
    share of it), so that the lines' order on the bill changes no amount (SPEC 4: the same
    scenario, the same decision). Lines equal in all of these are alike: their order is moot."""
    period = _PERIOD_ORDER[line.frequency] if line.frequency is not None else -1
    return (line.gross.currency, -line.gross.amount, line.product, line.bundle or "", line.type, not line.main, -period)


def _within_caps(results: list[LineResult], caps: _Caps, exact: list[dict[str, Decimal]], rounder: Rounder) -> None:
    """A cap is a maximum of what the bill shows: each line rounds its own takes, so a capped
    discount split over lines (14.995 + 5.005 within a cap of 20.00) could show a quantum more
    than its cap (15.00 + 5.01). The excess is taken back from the discount's last takes, from
    the last line up (whole quanta: a cap is written in the minor unit at most, BR422), and given
    to another take of that line that its rounding cut short (`exact`: the takes before rounding;
    0.005 shown as 0.00) and that has room under its own cap, so the line keeps its discount
    rounded once; never to a take already shown whole (5.00 EUR off stays 5.00). On a line priced
    in the minor unit the cut is whole quanta, so its net stays in the minor unit: an excess finer
    than a quantum (a line priced 14.995 taken whole beside it) is cut as one quantum, the
    discount then a fraction of a cent under its cap (until 2026-12-03 a 10.00 EUR line was left
    at 3.995 EUR)."""
    totals: dict[str, Decimal] = {}
    for r in results:
        for c, amount in r.takes:
            totals[c] = totals.get(c, _ZERO) + amount
    for code, cap in caps.caps.items():
        over = totals.get(code, _ZERO) - cap.amount
        for i in range(len(results) - 1, -1, -1):
            if over <= 0:
                break
            r = results[i]
            for k in range(len(r.takes) - 1, -1, -1):
                c, amount = r.takes[k]
                if c == code and amount > 0:
                    gross = r.line.gross
                    quantum = rounder.quantum(gross.currency)
                    whole = over if gross.amount != gross.amount.quantize(quantum) else _quanta_up(over, quantum)
                    cut = min(amount, whole)
                    takes = list(r.takes)
                    takes[k] = (c, amount - cut)
                    totals[code] -= cut
                    over -= cut
                    # the line's rounded discount stands when another of its takes has room for
                    # the cut (its own cap not reached, or none): the quantum moves, it is not lost
                    other = next(
                        (
                            j
                            for j, (o, shown) in enumerate(takes)
                            if o != code
                            and shown < exact[i].get(o, shown)  # rounded down: the quantum is its own
                            and (o not in caps.caps or totals[o] + cut <= caps.caps[o].amount)
                        ),
                        None,
                    )
                    if other is not None:
                        o, kept = takes[other]
                        takes[other] = (o, kept + cut)
                        totals[o] += cut
                        results[i] = LineResult(r.line, takes, r.net, r.discount)
                    else:
                        results[i] = LineResult(
                            r.line, takes, Money(r.net.amount + cut, r.net.currency), r.discount - cut
                        )
                    break


def _quanta_up(amount: Decimal, quantum: Decimal) -> Decimal:
    """`amount` rounded up to whole quanta."""
    return (amount / quantum).to_integral_value(rounding=decimal.ROUND_CEILING) * quantum


#: no discount capped (`_amounts_kept`: none of the applied ones is)
_NO_CAPS = _Caps({})


class _LineBook:
    """The running remainder of one line: takes are capped, and never drive the line below zero."""

    def __init__(self, line: Line, caps: _Caps) -> None:
        self.line = line
        self.caps = caps
        self.remaining = line.gross.amount
        self.takes: list[tuple[str, Decimal]] = []

    def take(self, code: str, amount: Decimal) -> None:
        amount = max(min(amount, self.remaining), _ZERO)
        if code in self.caps.caps:
            amount = self.caps.limit(code, amount, self.line)
        self.remaining -= amount
        self.takes.append((code, amount))

    def close(self, rounder: Rounder) -> LineResult:
        """Round once: the line's total discount, to the minor unit, and net = gross - that;
        per-discount amounts split to add up to it.

        billrules rounds what it computes, never a charge it is given: a gross finer than the
        minor unit (a rated usage charge of 29.965 EUR) keeps its precision in the net, for the
        invoice to round as it rounds usage. A line taken whole has its gross as discount (net
        zero, whatever the rounding mode); a discount that would round past such a gross is
        rounded down instead.
        """
        currency, gross = self.line.gross.currency, self.line.gross.amount
        if not self.takes:  # nothing taken or split (`- 0.00`: a net written to the minor unit at least)
            zero = rounder.round(_ZERO, currency)
            return LineResult(self.line, [], Money(gross - zero, currency), zero)
        exact = [amount for _, amount in self.takes]
        # a line emptied (a take met what was left: the remainder is exactly zero) is taken whole:
        # its takes add up to its gross but for the last of 60 digits when a share of days is not
        # a finite decimal (10/31), and rounded down that billed 0.01 EUR (until 2026-12-03)
        taken = gross if self.remaining == _ZERO < gross else sum(exact, _ZERO)
        quantum = rounder.quantum(currency)
        if taken == gross and gross > _ZERO and gross != gross.quantize(quantum):  # a finer line, taken whole
            discount, quantum = gross, Decimal(1).scaleb(gross.as_tuple().exponent)  # type: ignore[arg-type]
        else:
            discount = rounder.round(taken, currency)
            if discount > gross > _ZERO:  # only past a finer gross: a discount in the minor unit, at most it
                discount = taken.quantize(quantum, rounding=decimal.ROUND_DOWN)
            if len(exact) == 1 and exact[0] > 0:
                # one take: `split` gives it the line's discount (its floor in the minor unit, or
                # one unit more: the same value, with the same exponent)
                return LineResult(
                    self.line, [(self.takes[0][0], discount)], Money(gross - discount, currency), discount
                )
        rounded = rounder.split(discount, exact, quantum)
        takes = [(code, amount) for (code, _), amount in zip(self.takes, rounded, strict=True)]
        return LineResult(self.line, takes, Money(gross - discount, currency), discount)


_ZERO = Decimal(0)


def _period_months(scenario: Any) -> int | None:
    """The months of the subscription's billing period (weeks: None); monthly when it names none."""
    subscription = scenario.subscription
    frequency = subscription.billing_frequency if subscription is not None else None
    if frequency is BillingFrequency.WEEKLY:
        return None
    return CYCLE_MONTHS.get(frequency, 1) if frequency is not None else 1


def _first_bill_start(history: list[Any], billed: date, today: date, scenario: Any) -> date:
    """Where an auto-applied free period of days began, by the bills the history shows it on: the
    period billed moved back one billing period per earlier application (the history lists earlier
    applications: each one an earlier bill), never before the subscription's start. Its first
    application's date alone may be its bill's date, after the period (a July bill run on 1
    August): the days counted from it were given again on the August bill (until 2026-12-02). The
    caller takes the earlier of this and that date (a history may be partial)."""
    subscription = scenario.subscription
    if subscription is None or subscription.billing_period is None:
        return billed  # (no periods to count back: the first application's date decides)
    given = sum(1 for h in history if h.on <= today)
    first: date = subscription.start
    frequency = subscription.billing_frequency or BillingFrequency.MONTHLY
    try:
        # bills that follow the subscription's own cycles step back along them (a cycle from the
        # 29th runs 28 February - 28 March, then 29 March); others, calendar months, by months
        k = cycles_before(first, frequency, billed, inclusive=True) - 1
        if k >= 0 and cycle_start(first, frequency, k) == billed:
            return cycle_start(first, frequency, max(k - given, 0))
        return max(_periods_moved(billed, -given, _period_months(scenario)), first)
    except OutOfCalendar:
        return first


def _period_holding(day: date, billed: date, scenario: Any) -> date:
    """The first day of the billing period that holds `day`, counted along the periods billed
    (the subscription's own cycles when the period billed is one of them, else periods of its
    frequency back from the period billed); `day` itself when no periods are known, or it is not
    before the period billed."""
    subscription = scenario.subscription
    if subscription is None or subscription.billing_period is None or day >= billed:
        return day
    first = subscription.start
    frequency = subscription.billing_frequency or BillingFrequency.MONTHLY
    try:
        k = cycles_before(first, frequency, billed, inclusive=True) - 1
        if k >= 0 and cycle_start(first, frequency, k) == billed:
            if day < first:
                return day
            return cycle_start(first, frequency, cycles_before(first, frequency, day, inclusive=True) - 1)
        months = _period_months(scenario)
        for back in range(_MAX_PERIODS_BACK):  # each from the period billed, in one move: stepping
            held = _periods_moved(billed, -back, months)  # from month end to month end drifts
            if held <= day:
                return held
    except OutOfCalendar:
        pass
    return day


def _first_bill_from(day: date, billed: date, scenario: Any) -> date:
    """The first day of the first bill whose period starts on `day` or after: the period billed
    (from `billed`) moved back one billing period while the one before still starts on `day` or
    after; `day` itself for a bill with no period (nothing to count back along). Not before
    `billed` when the period billed starts before `day`."""
    subscription = scenario.subscription
    if subscription is None or subscription.billing_period is None or billed < day:
        return day
    months = _period_months(scenario)
    first = billed
    try:
        for _ in range(_MAX_PERIODS_BACK):
            before = _periods_moved(first, -1, months)
            if before < day:
                break
            first = before
    except OutOfCalendar:
        pass
    return first


#: how many periods `_first_bill_from` counts back at most (weekly bills over some 190 years)
_MAX_PERIODS_BACK = 10000


def _periods_moved(day: date, n: int, months: int | None) -> date:
    """`day` moved by n billing periods of `months` months (weeks when None), a month's last day
    keeping to month ends as billing cycles do (`terms.cycle_start`)."""
    if months is None:
        return date.fromordinal(day.toordinal() + 7 * n)
    return add_months_keeping_month_end(day, months * n)


def _periods_before(billed: date, start: date, months: int | None) -> int:
    """How many billing periods (of `months` months, weeks when None) come before the period billed,
    which starts on `billed`, back to the one holding `start` (0: `start` is in the period billed,
    or later). Periods run back from the one billed: the kth before it starts on `billed` moved
    back k periods."""
    if start >= billed:
        return 0
    if months is None:
        return -(-(billed - start).days // 7)
    k = max(((billed.year - start.year) * 12 + billed.month - start.month) // months, 1)
    try:
        while _periods_moved(billed, -k, months) > start:  # the kth period before starts after `start`
            k += 1
        while k > 1 and _periods_moved(billed, 1 - k, months) <= start:  # the one after it holds `start`
            k -= 1
    except OutOfCalendar:  # before year 1: the start is in the earliest period there is
        pass
    return k


def _periods_since(start: date, day: date, months: int | None) -> int:
    """How many whole billing periods (of `months` months, weeks when None) run from `start` to
    `day`: the period holding `day`, counted from `start`, is the one after them."""
    if day <= start:
        return 0
    if months is None:
        return (day - start).days // 7
    k = max(((day.year - start.year) * 12 + day.month - start.month) // months - 1, 0)
    try:
        while _periods_moved(start, k + 1, months) <= day:
            k += 1
    except OutOfCalendar:  # past 9999-12-31: the period holding `day` is the last there is
        pass
    return k


def _as_requested(value: Any, request: Any) -> Any:
    """A rejected request's value: as read, else as the agent wrote it (`5` for a money range is
    no value, and a rejected decision showed no `requested` until 2026-12-02); a text of more than
    100 characters cut in the middle (a 10 MB value was written whole until 2026-12-04)."""
    if value is not None:
        return value
    written = request.value
    return f"{written[:60]}…{written[-30:]}" if isinstance(written, str) and len(written) > 100 else written


def _billed_period(scenario: Any, today: date) -> tuple[date, date]:
    """The period being billed: the subscription's billing period, else the billing date alone."""
    subscription = scenario.subscription  # (each field read once: a model's read costs)
    period = subscription.billing_period if subscription is not None else None
    if period is not None:
        return period.from_, period.to
    return today, today


def runs_on(d: Discount) -> bool:
    """Whether an auto-apply discount has a run of its own that may outlast its validity: an
    expiration, and a duration of N billing periods or up to a date, or a free period (its own
    length); see `DefinitionRules._added_while_valid`. One without (indefinite) is applied while
    its criteria hold and its validity lasts: its expiration ends it."""
    if d.type is not DiscountType.AUTO_APPLY or d.validity.expiration is None:
        return False
    if d.amount.type is AmountType.FREE_PERIOD:
        return True
    duration = d.duration
    return duration is not None and (duration.billing_periods is not None or duration.until is not None)


def _added_on(request: Any, today: date) -> date:
    """The date an ad hoc definition's validity is judged on: the request's `added_on`, else today."""
    added = request.added_on if request is not None else None  # (read once: a model's read costs)
    return added if added is not None else today


def _validity_date(d: Discount, request: Any, scenario: Any, today: date) -> date:
    """The date a definition's validity is judged on (seed 002: the dates during which it "can be
    offered"): an ad hoc request's `added_on`, the billing date for an offer made now, and for
    auto apply the start of the period billed — a December bill run in January still gets a
    discount that expired on 31 December."""
    if d.type is DiscountType.AD_HOC:
        return request.added_on if request is not None and request.added_on is not None else today
    return _billed_period(scenario, today)[0]


#: reasons without facts, the same in every decision (never changed: shared)
_NOT_REQUESTED = Reason("not_requested")
_NO_APPROVAL_NEEDED = Reason("no_approval_needed")


def _limit_reason(limit: Any, used: int, since: date, source: Source | None = None) -> Reason:
    window = "calendar" if limit.window is LimitWindow.CALENDAR else "rolling"
    facts = {"used": used, "since": str(since), "window": window, "per": str(limit.per), "limit": limit.times}
    return Reason("limit_reached", facts, source)


def share_of(amount: Decimal, share: Fraction) -> Decimal:
    """`amount` times `share`, multiplied before it is divided: exact whenever the result has a finite
    decimal form (in the 60-digit context), so a take on a rounding boundary (0.14 * 5/28 = 0.025)
    rounds as it should; otherwise it is 60 digits close, never near a boundary (a result of
    denominator q is at least 1/q from one)."""
    if share.denominator == 1:
        return amount * share.numerator
    return amount * share.numerator / share.denominator


def _range(d: Discount) -> tuple[Any, Any]:
    """A definition's range of values: an ad hoc one's `range`; an auto apply one's `value` is the
    range of that one value (`_only_value` reads it for a free period's own duration)."""
    bounds = d.amount.range or []
    if len(bounds) == 2:
        return bounds[0], bounds[1]
    return (d.amount.value, d.amount.value) if d.amount.value is not None else (None, None)


def _only_value(d: Discount) -> Any:
    """The value of a definition whose range holds one value (`value: 50`, or `range: [50, 50]`):
    a request need not name it. None for a range of several values."""
    low, high = _range(d)
    if low is None or high is None:
        return None
    if str(low) == str(high):
        return low
    try:  # `[20, 20.0]`, `["10.00 EUR", "10.0 EUR"]`: one value, written twice
        lo, hi = _amount_value(d, low), _amount_value(d, high)
    except ValueError:
        return None
    same_currency = not isinstance(lo, Money) or (isinstance(hi, Money) and lo.currency == hi.currency)
    return low if same_currency and _key(lo) == _key(hi) else None


def _amount_value(d: Discount, value: Any) -> Any:
    """Money or a number (a percentage may be written with its `%`), within the limits of
    engine.values; ValueError otherwise. Kept per text
    (both are immutable; a refusal is kept as its message): requests repeat the same values."""
    money = d.amount.type is AmountType.AMOUNT
    text = plain(value) if not money and isinstance(value, Decimal) else str(value)
    if d.amount.type is AmountType.PERCENTAGE and text.endswith("%"):  # `20%`, `20 %`: a percentage as written
        text = text[:-1].rstrip()
    key = (money, text)
    found = _PARSED.get(key)
    if found is None:
        try:
            found = Money.parse(text) if money else parse_number_text(text)
        except ValueError as exc:
            found = str(exc)
        _kept(_PARSED, _PARSED_MEMO, key, found)
    if type(found) is str:
        raise ValueError(found)
    return found


def _money(value: Any) -> Money:
    """`Money.parse(str(value))`, kept per text as `_amount_value` keeps money (an applied amount's
    value, a cap: read again by every decision that applies it; 2 µs a parse)."""
    text = str(value)
    found: Money | str | None = _PARSED.get((True, text))
    if found is None:
        try:
            found = Money.parse(text)
        except ValueError as exc:
            found = str(exc)
        _kept(_PARSED, _PARSED_MEMO, (True, text), found)
    if isinstance(found, str):
        raise ValueError(found)
    return found


#: (money?, a value's text) → the value, or why it is refused (`_amount_value`); at most this many kept
_PARSED: dict[tuple[bool, str], Any] = {}
_PARSED_MEMO = 4096


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

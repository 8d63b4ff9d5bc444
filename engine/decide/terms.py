"""Cancellation decisions (SPEC 3.4, seed 003): may the customer cancel on a date, and what does it cost?

A subscription is cancelled term by term: the plan's term, and the term of every bundle it holds
(the plan's own bundles and each add-on) that has one, each decided on its own. For each:

1. **The current term.** Renewals are followed from the start (the subscription's start, or the
   add-on's purchase date): a commitment of N units starting on S ends on S + N units, the first
   day free of it (a month end keeps to the month's last day: 2015-01-31 + 1 month is
   2015-02-28); when it has a `renewal_term`, that term starts on that day. The term whose
   commitment holds the cancellation date is the current one. A cancellation dated on a
   commitment's end (the first day free of it) is free and the renewal never starts; from the
   day after, the renewed term is in force.
2. **The rule.** On or after the end of the commitment: allowed, no penalty. Before it: the first
   of the term's `exceptions` whose `when` holds decides (allowed, not_allowed, or a penalty with
   its own fee and pro rata); none holding, the term's `early_cancellation`.
3. **The penalty.** The maximum fee, or with `pro_rata` the fee scaled by the share of the
   commitment still remaining: days remaining / days in commitment (`calendar`: end - date over
   end - start), or whole billing cycles not yet started / cycles in commitment
   (`billing_cycles`: cycles run from the term's start at the subscription's billing frequency;
   the cycle holding the cancellation date has started). The fee is rounded once with the rule
   set's mode; the tax (rate) is computed on the rounded fee and rounded once; total = fee + tax,
   so an invoice's lines add up. A tax given only as a code is left to the tax provider (no
   amount). The penalty is due at the end of the grace period after the cancellation date and
   is waived when the customer renewed within it (from the cancellation date to the due date,
   both included).

Everything is returned as data: a term's part of the decision is written as its JSON as it is
decided (reasons as `Reason` records, `Reason.once`); the explanation's steps are `Reason`
records, worded only when `explain` asks for them. What a term gives every decision alike (its
reasons' places and fixed words, its penalty's settings, a fee per share of the commitment) is
worked out once per rule set.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from engine.criteria import ast
from engine.decide.money import Rounder
from engine.decide.reasons import Reason, Source, register
from engine.decide.scenarios import ScenarioError
from engine.models.catalog import CYCLE_MONTHS, BillingFrequency, CommitmentBasis, EarlyCancellation, ProductType, Term
from engine.values import (
    MONTH_DAYS,
    Duration,
    Money,
    OutOfCalendar,
    TimeUnit,
    add_months_keeping_month_end,
    add_units,
    is_month_end,
    money_text,
    month_length,
    plain,
)

#: how a sentence reads a day past the calendar ("after 9999-12-31", a decision's text for it)
_BEYOND_PHRASES = (
    ("before after 9999-12-31", "before its end, after 9999-12-31"),
    ("on after 9999-12-31", "after 9999-12-31"),
    ("from after 9999-12-31", "after 9999-12-31"),
    ("until after 9999-12-31", "until after 9999-12-31"),
)


def _reads_beyond(template: str) -> Callable[[Mapping[str, Any]], str]:
    """`template` filled with the facts, its phrases about a day past the calendar put right
    ("possible from after 9999-12-31" reads "possible after 9999-12-31")."""

    def words(facts: Mapping[str, Any]) -> str:
        text = template.format_map(facts)
        if "exception" in facts:  # (an exception decided: the term's own rule may say otherwise)
            text = text.replace(f"`{facts['term']}`", f"exception {facts['exception']} of `{facts['term']}`", 1)
        if "after 9999-12-31" in text:
            for phrase, better in _BEYOND_PHRASES:
                text = text.replace(phrase, better)
        return text

    return words


register(
    {
        "commitment_over": "the commitment of `{term}` ended on {end}: cancelling is free",
        "no_term": "{of} has no term: it may be cancelled any time",
        "early_cancellation_allowed": _reads_beyond(
            "`{term}` allows cancelling before its commitment ends on {end}, without penalty"
        ),
        "early_cancellation_not_allowed": _reads_beyond(
            "`{term}` does not allow cancelling before its commitment ends; possible from {earliest}"
        ),
        "not_allowed_until": _reads_beyond(
            "`{term}` does not allow cancelling on {date}; possible from {earliest} (commitment ends {end})"
        ),
        "no_common_date": lambda f: (
            f"no day that every term allows was found in {f['tries']} tries (each term's own first day: "
            + ", ".join(f"{of} {day or 'none'}" for of, day in f["terms"].items())
            + ")"
        ),
        "not_allowed_any_date": _reads_beyond(
            "`{term}` does not allow cancelling on {date}, nor on any later date tried"
        ),
        "early_cancellation_penalty": _reads_beyond("`{term}` charges a penalty for cancelling before {end}"),
        "exception_holds": "exception {index} of `{term}` holds (`{when}`): {outcome}",
        "renewed_within_grace": _reads_beyond(
            "renewed on {renewed_on}, within the grace period (until {due}): penalty waived"
        ),
        "renewed_before_cancellation": _reads_beyond(
            "renewed on {renewed_on}, before the cancellation on {date}: the penalty stands (a renewal waives "
            "it only within the grace period after the cancellation, until {due})"
        ),
        "renewed_after_grace": _reads_beyond(
            "renewed on {renewed_on}, after the grace period ended on {due}: the penalty stands"
        ),
        "tax_by_provider": "tax `{tax_code}` is computed by {tax_provider}; not included in the total",
        "not_charged": lambda f: (
            "not charged: the cancellation is refused (by "
            + ", ".join(f"`{term}` for {of}" for of, term in f["refused_by"].items())
            + ")"
        ),
        "beyond_calendar": "the commitment of `{term}` ends after 9999-12-31",
        "after_plan_change": lambda f: (
            f"the purchase of {f['purchase_date']} changes the plan to `{f['to']}`"
            + (", ending this contract then" if f.get("running", True) else "")
            + f": a cancellation on {f['date']} is of the new contract, which this scenario does not describe; "
            "nothing is charged here "
            + (
                "(what ending this contract costs is the purchase's, `plan_change_penalty`)"
                if f.get("running", True)
                else "(the contract it describes was not running on the purchase day: deactivated or not started)"
            )
        ),
        # the explanation, step by step
        "step_chain": _reads_beyond("{index}. `{term}` from {start} to {end}{renewal}"),
        "step_chain_elided": lambda f: f"… {f['count']} more renewal{'' if f['count'] == 1 else 's'} …",
        "step_current": _reads_beyond("the cancellation on {date} falls in `{term}`, whose commitment ends on {end}"),
        "step_remaining_days": "{remaining} of {total} days of the commitment remain ({end} − {date} over {end} − {start})",
        "step_remaining_cycles": (
            "{remaining} of {total} {frequency} billing cycles remain ({started} started by {date}, "
            "the one holding the cancellation date included)"
        ),
        "step_fee": "fee: {maximum} × {share} = {exact}, rounded to {fee}",
        "step_fee_flat": "fee: the maximum fee {fee} (not pro rata)",
        "step_tax": "tax: {fee} × {rate} % = {exact}, rounded to {tax}",
        "step_total": "total: {fee} + {tax} = {total}",
        "step_due": _reads_beyond("due on {due}: the cancellation date {date} + a grace period of {grace}"),
        "step_booking": "charged as `{invoice_line_type}`, booked to ledger account `{ledger_account}`",
    }
)


class _Beyond(date):
    """The type of `_BEYOND`: "after 9999-12-31", a day that orders as 9999-12-31 (the last one
    the calendar has) but is told apart from it by identity (`day is _BEYOND`): a commitment that
    ends on 9999-12-31 ends on a day of the calendar, and its share is measured."""

    __slots__ = ()

    def __reduce__(self) -> Any:
        if self is _BEYOND:
            return "_BEYOND"  # pickled and copied as the one sentinel, so identity holds
        return (date, (self.year, self.month, self.day))  # (a day worked out from it is a plain date)


_BEYOND = _Beyond(9999, 12, 31)  # a commitment (or a due date) that never comes in the calendar
_LAST_ORDINAL = date.max.toordinal()


def _earliest_of(days: Iterable[date]) -> date:
    """The earliest of `days`, a day of the calendar before `_BEYOND` (they order alike)."""
    return min(days, key=lambda day: (day, day is _BEYOND))


def _latest_of(days: Iterable[date]) -> date:
    """The latest of `days`, `_BEYOND` after 9999-12-31 itself (they order alike)."""
    return max(days, key=lambda day: (day, day is _BEYOND))


def _held_once(field: str, codes: Sequence[str], i: int, plan: Any) -> None:
    """BR616 for an add-on listed twice (its term would be decided, and its penalty charged,
    twice) or, on the subscription, one that is a bundle of its plan (decided with the plan)."""
    code = codes[i]
    if code in codes[:i]:
        raise ScenarioError(
            f"{field}[{i}]",
            f"add-on `{code}` is listed twice (also at {field}[{codes.index(code)}])",
            "list each add-on once",
            "BR616",
        )
    if plan is not None and code in plan.bundles:
        raise ScenarioError(
            f"{field}[{i}]",
            f"`{code}` is a bundle of plan `{plan.code}`, not an add-on",
            "remove it from `add_ons`: the plan's bundles are cancelled with the plan",
            "BR616",
        )


class Stretch(NamedTuple):
    """One term of a renewal chain: its commitment from `start` to `end` (the first free day).

    A named tuple, not a dataclass: one or more are made per cancellation decided."""

    term: str
    start: date
    end: date  # _BEYOND when the commitment ends after 9999-12-31


#: A step of the explanation, kept as data until asked for: a function wording it, and its facts'
#: inputs (most decisions are made without `explain`, so dates and money are written out only then)
Step = tuple[Callable[..., list[Reason]], tuple[Any, ...]]


class TermDecision:
    """The decision for one term of the subscription, kept as the JSON it is written as.

    `data` is the term's part of the decision as it is written without `explain` (made once, as
    it is decided: not shaped into fields first and into JSON after); `chain` and `explained`
    give what `explain` adds."""

    __slots__ = ("allowed", "chain", "charge", "data", "earliest", "explained")

    def __init__(self, data: dict[str, Any], chain: list[Stretch] | None = None) -> None:
        self.data = data
        self.allowed = True
        self.earliest: date | None = None  # the first day it may be cancelled, when it may not be now
        #: (currency, what is due, the total it makes alone): zero when waived
        self.charge: tuple[str, Decimal, str] | None = None
        self.chain = chain or []  # the first and last few terms crossed
        self.explained: list[Step] = []

    @property
    def steps(self) -> list[Reason]:
        """The explanation, step by step."""
        return [step for words, facts in self.explained for step in words(*facts)]

    def to_json(self, explain: bool) -> dict[str, Any]:
        if not explain:
            return self.data
        chain = [{"term": s.term, "start": s.start.isoformat(), "end": _show_date(s.end)} for s in self.chain]
        return {**self.data, "chain": chain, "steps": [s.once() for s in self.steps]}


@dataclass
class CancellationDecision:
    date: date
    terms: list[TermDecision]
    #: refused: the first date on which every term allows it (None: none found, `_EARLIEST_TRIES`;
    #: `datetime.date`: the field `date` hides the type here)
    earliest: datetime.date | None = None

    @property
    def allowed(self) -> bool:
        for t in self.terms:  # noqa: SIM110 - a loop: `all()` of a generator costs more per decision
            if not t.allowed:
                return False
        return True

    def to_json(self, explain: bool = False) -> dict[str, Any]:
        allowed = self.allowed
        data: dict[str, Any] = {"date": self.date.isoformat(), "allowed": allowed}
        refused = not allowed
        if refused:
            data["earliest"] = None if self.earliest is None else _show_date(self.earliest)
            if self.earliest is None:  # say why, and each term's own first day
                own = {t.data["for"]: t.data.get("earliest") for t in self.terms if not t.allowed}
                data["reasons"] = [Reason("no_common_date", {"tries": _tries(len(self.terms)), "terms": own}).once()]
        # (a term's part as it is written without `explain`: its data, read without a call per term)
        data["terms"] = [t.to_json(True) for t in self.terms] if explain else [t.data for t in self.terms]
        if refused:  # a penalty a term would charge is not charged: say so on it (its figures stay)
            by = {t.data["for"]: t.data["term"] for t in self.terms if not t.allowed}
            for i, t in enumerate(self.terms):
                if t.allowed and t.charge is not None and not t.data["penalty"]["waived"]:
                    written = data["terms"][i]  # (`t.data` itself may be written: not changed)
                    record = Reason("not_charged", {"term": t.data["term"], "refused_by": by}).once()
                    data["terms"][i] = {**written, "reasons": [*written["reasons"], record]}
        charges = [t.charge for t in self.terms if t.charge is not None] if not refused else []
        if len(charges) == 1:  # the usual case: one penalty, its total as written in it
            currency, _, text = charges[0]
            data["total"] = {currency: text}
            return data
        totals: dict[str, Decimal] = {}  # a refused cancellation charges nothing
        for currency, amount, _ in charges:
            totals[currency] = totals.get(currency, _ZERO) + amount
        data["total"] = {currency: money_text(amount, currency) for currency, amount in sorted(totals.items())}
        return data


_ZERO = Decimal(0)


def after_plan_change(on: date, purchase_day: date, plan: str | None, to: str, running: bool = True) -> dict[str, Any]:
    """The cancellation part for a cancellation dated `on`, after a purchase on `purchase_day`
    changed the plan (`plan` → `to`): that purchase ended the contract the scenario describes,
    judging its terms as a cancellation on its day (`plan_change_penalty`); a cancellation after it
    is of the new plan's contract, which the scenario does not describe. Not judged: no term, a
    reason `after_plan_change` (facts `date`, `purchase_date`, `plan`, `to`), nothing charged
    (`total: {}`), nothing refused (until 2026-12-03 the old contract's terms were judged on `on`
    as though it still ran, and their penalties charged a second time)."""
    facts: dict[str, Any] = {"date": on.isoformat(), "purchase_date": purchase_day.isoformat(), "plan": plan, "to": to}
    if not running:  # (deactivated or not started on the purchase day: the purchase charged nothing)
        facts["running"] = False
    return {
        "date": on.isoformat(),
        "allowed": True,
        "reasons": [Reason("after_plan_change", facts).once()],
        "terms": [],
        "total": {},
    }


#: how many candidate dates `TermEvaluator._earliest` decides before it gives up (terms of
#: 100 and 101 days, both renewing into themselves, first end on one day after 100 laps)
_EARLIEST_TRIES = 1000

#: how many term decisions one search makes at most: a cancellation of hundreds of add-ons has
#: fewer candidates (at least 100), so that one decision stays well under a second
_TERM_DECISIONS = 20_000

#: how many of those may step a day at a time (a term whose exceptions read the cancellation's
#: date in a way that gives no dates to try: `.month`, a quantifier), leaving `_END_TRIES` of a
#: search's candidates; after them such a term is tried on its commitment ends only, as a term
#: without such exceptions is (its end always allows the cancellation). 900 days: two and a half
#: years (400 until 2026-12-01 gave "June next year" the commitment's end, nine months late)
_DAY_STEPS = 900
_END_TRIES = 100

#: `TermEvaluator._date_operands` of a term whose exceptions read `cancellation.date` in a way
#: that gives no dates to try: its outcome may change on any day
_ANY_DAY = object()


def _tries(parts: int) -> int:
    """How many candidates a search of `parts` terms decides: `_EARLIEST_TRIES`, fewer for a
    cancellation of hundreds of add-ons (`_TERM_DECISIONS`), at least 100."""
    return min(_EARLIEST_TRIES, max(100, _TERM_DECISIONS // max(parts, 1)))


def _next_day(day: date) -> date:
    """The day after `day`; after 9999-12-31, `_BEYOND` (which has no day after it)."""
    return day + datetime.timedelta(days=1) if day < date.max else _BEYOND


def _previous_day(day: date) -> date | None:
    return day - datetime.timedelta(days=1) if day > date.min else None


def _is_cancellation_date(node: ast.Node) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.name == "date"
        and isinstance(node.obj, ast.Name)
        and node.obj.id == "cancellation"
    )


def _is_cancellation_year(node: ast.Node) -> bool:
    return isinstance(node, ast.Attribute) and node.name == "year" and _is_cancellation_date(node.obj)


def _date_form(node: ast.Node) -> tuple[str, ast.Node | None] | None:
    """How a side of a comparison reads the cancellation's date, when it is solvable for it:
    ("date", None) for `cancellation.date`, ("year", None) for its `.year` (and ("month", None),
    ("day", None) for its `.month` and `.day`: until 2026-12-03 tried day by day, and past 900
    days the search named the commitment's end, seven years late for "in February from 2028"),
    and a date moved or
    measured from: ("minus", R) for `cancellation.date - R` (R a date: a span; R a duration: a
    date), ("plus", R) for `cancellation.date + R` or `R + cancellation.date`, ("from", R) for
    `R - cancellation.date`, R not reading the date itself; ("minus_days", R) and ("from_days", R)
    for a span's `.days` (`(cancellation.date - subscription.start).days`: until 2026-12-03 tried
    day by day, and past 900 days the search named the commitment's end). None for any other side."""
    if _is_cancellation_date(node):
        return "date", None
    if _is_cancellation_year(node):
        return "year", None
    if isinstance(node, ast.Attribute) and node.name in ("month", "day") and _is_cancellation_date(node.obj):
        return node.name, None  # compared with a number: turns on the same days of every year or month
    if isinstance(node, ast.Attribute) and node.name == "days":
        span = _date_form(node.obj)
        if span is not None and span[0] in ("minus", "from"):
            return f"{span[0]}_days", span[1]
        return None
    if isinstance(node, ast.Arith) and node.op in "+-":
        if _is_cancellation_date(node.left) and not _reads_cancellation_date(node.right):
            return ("minus" if node.op == "-" else "plus"), node.right
        if _is_cancellation_date(node.right) and not _reads_cancellation_date(node.left):
            return ("from" if node.op == "-" else "plus"), node.left
    return None


def _reasons_named(program: Any) -> dict[str, frozenset[str]]:
    """Per term, the texts its exceptions compare `cancellation.reason` with (`==`, `!=`, `in {…}`)."""
    found: dict[str, frozenset[str]] = {}

    def is_reason(node: ast.Node) -> bool:
        return (
            isinstance(node, ast.Attribute)
            and node.name == "reason"
            and isinstance(node.obj, ast.Name)
            and node.obj.id == "cancellation"
        )

    def texts(node: ast.Node) -> list[str]:
        items = node.items if isinstance(node, ast.SetLiteral) else (node,)
        return [i.value for i in items if isinstance(i, ast.Literal) and isinstance(i.value, str)]

    def visit(node: ast.Node, named: set[str]) -> None:
        if isinstance(node, ast.Compare | ast.SetRelation):
            for one, other in ((node.left, node.right), (node.right, node.left)):
                if is_reason(one):
                    named.update(texts(other))
        elif isinstance(node, ast.Membership) and is_reason(node.item):
            named.update(texts(node.collection))
        for child in node.children:
            visit(child, named)

    for owner, indexes in program.by_owner.items():
        if owner.startswith("term:"):
            named: set[str] = set()
            for i in indexes:
                visit(program.entries[i].node, named)
            found[owner[len("term:") :]] = frozenset(named)
    return found


def _reason_meant(reason: str, named: frozenset[str]) -> str | None:
    """The named reason `reason` reads as: the same words in other case or separators, or, for a
    reason of 8 characters or more, a typo (two edits at most, the length within one:
    `moved_abrod`, `omved_abroad`: two letters swapped are one edit; two edits only with the
    same first letter: `released` is not `deceased`, refused as its typo until 2026-12-03); not a longer or shorter phrase (`not_moved_abroad`,
    `moved_abroad_eu` are reasons of their own), nor a short word near another (`debt`, `health`
    beside `death`)."""

    def words(text: str) -> str:
        return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")

    same = [n for n in sorted(named) if words(n) == words(reason)]
    if same:
        return same[0]
    close = [
        n
        for n in sorted(named)
        # a reason of 8 characters or more (a short word two edits away is often another word:
        # `debt`, `death`); its own length, not the text's (until 2026-12-04 `deceasd`, 7, passed)
        if len(n) >= 8
        and abs(len(n) - len(reason)) <= 1
        and (distance := _edits(n, reason, 2)) <= 2
        and (distance == 1 or n[:1].lower() == reason[:1].lower())
    ]
    return close[0] if close else None


def _edits(a: str, b: str, most: int) -> int:
    """The edit distance of two texts (insertions, deletions, substitutions, and two neighbouring
    letters swapped: `omved_abroad` is one edit from `moved_abroad`), or `most + 1` once it is
    known to be more than `most`."""
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y and x != y:
                cost = min(cost, before[j - 2] + 1)  # (the two letters swapped)
            current.append(cost)
        if min(current) > most and (not before or min(previous) > most):
            return most + 1
        before, previous = previous, current
    return previous[-1]


def _compared_with_date(nodes: Sequence[ast.Node]) -> tuple[tuple[str, ast.Node, ast.Node | None], ...] | object | None:
    """`TermEvaluator._date_operands` of these exception conditions: (kind, the operand the date is
    compared with, what it is moved or measured by) for each comparison (`cancellation.date >= X`,
    `between X and Y`, `in {X, Y}`, `cancellation.date - subscription.start >= 500 days`; kinds of
    `_date_form`); `_ANY_DAY` when the date is read another way, or inside a quantifier or an
    aggregate (whose operands depend on each item)."""
    operands: list[tuple[str, ast.Node, ast.Node | None]] = []
    other_reads = False

    def visit(node: ast.Node) -> None:
        nonlocal other_reads
        if isinstance(node, ast.Quantifier | ast.Aggregate):
            other_reads = other_reads or _reads_cancellation_date(node)
            return
        sides: tuple[ast.Node, ...] = ()
        if isinstance(node, ast.Compare):
            sides = (node.left, node.right)
        elif isinstance(node, ast.Between):
            sides = (node.value, node.low, node.high)
        elif isinstance(node, ast.Membership) and isinstance(node.collection, ast.SetLiteral):
            sides = (node.item, *node.collection.items)
        forms = [_date_form(side) for side in sides]
        solved = next((form for form in forms if form is not None), None)
        if solved is not None:
            kind, by = solved
            for side, form in zip(sides, forms, strict=True):
                if form is None:
                    other_reads = other_reads or _reads_cancellation_date(side)
                    operands.append((kind, side, by))
                elif form != solved:  # the date on both sides, read two ways
                    other_reads = True
            return
        if _is_cancellation_date(node):
            other_reads = True
            return
        for child in node.children:
            visit(child)

    for node in nodes:
        visit(node)
    if other_reads:
        return _ANY_DAY
    return tuple(operands) or None


def _reads_cancellation_date(node: ast.Node) -> bool:
    return _is_cancellation_date(node) or any(_reads_cancellation_date(child) for child in node.children)


def _around(kind: str, value: Any) -> list[date]:
    """The days on which a comparison of the cancellation's date (or year) with `value` may turn."""
    days: list[date | None] = []
    if kind == "date" and isinstance(value, date) and not isinstance(value, datetime.datetime):
        days = [_previous_day(value), value, _next_day(value)]
    elif kind == "year" and isinstance(value, int | Decimal) and 1 <= value <= 9999:
        year = int(value)  # (`> 2015.5` turns at a year's start too)
        days = [date(year, 1, 1), date(year, 12, 31)]
        days += [date(year - 1, 12, 31)] if year > 1 else []
        days += [date(year + 1, 1, 1)] if year < 9999 else []
    elif kind == "year":
        raise ValueError(value)  # not a year of the calendar: any day may do (`_breakpoints`)
    return [d for d in days if d is not None]


#: how far ahead of the cancellation the days a `.month` or `.day` comparison turns on are listed:
#: a search decides `_EARLIEST_TRIES` candidates at most (6 a year for a month, some 60 for a day),
#: and after them a term is tried on its commitment's ends
_EVERY_YEARS = {"month": 100, "day": 8}


def _every(kind: str, value: Any, scenario: Any) -> list[date]:
    """The days on which a comparison of the cancellation date's `.month` (or `.day`) with
    `value` may turn, from the cancellation's year on: the last day before month `value` and the
    first and last days of it, and the first after it, each year (the day before, of and after
    day `value`, each month: its last day, and the next one's first, when the month is shorter);
    and where the month (day) starts again, 1 January (each month's first day), where `<` and
    `<=` turn (until 2026-12-03 left out: `cancellation.date.day <= 5` found the 4th). Raises for
    a value no month (or day) has: then any day may do (`_breakpoints`)."""
    if not isinstance(value, int | Decimal) or value != int(value):
        raise ValueError(value)
    number = int(value)
    first = scenario.cancellation.date.year
    years = range(first, min(first + _EVERY_YEARS[kind], 9999) + 1)
    days: list[date | None] = []
    if kind == "month":
        if not 1 <= number <= 12:
            raise ValueError(value)
        for year in years:
            start, end = date(year, number, 1), date(year, number, month_length(year, number))
            days += [_previous_day(start), start, end, _next_day(end), date(year, 1, 1)]
    else:
        if not 1 <= number <= 31:
            raise ValueError(value)
        for year in years:
            for month in range(1, 13):
                last = month_length(year, month)
                day = date(year, month, min(number, last))
                days += [date(year, month, 1), _previous_day(day), day, _next_day(day)]
                if number >= last:
                    days.append(_next_day(date(year, month, last)))
    return [d for d in days if d is not None and d is not _BEYOND]


def _past_listed(reads: Any, listed_from: int, day: date) -> bool:
    """Whether the search has reached a year past the days `_every` listed for a term's `.month`
    or `.day` comparisons (listed from the year of the candidate then reached, `listed_from`, for
    `_EVERY_YEARS`): then they are listed again, from the candidate the search has reached. Until
    2026-12-03 they were listed once, from the cancellation's own year: a 30-year add-on term moved
    the search past them, and a plan term allowing a cancellation on the 31st was tried on its
    commitment ends only (2046-02-11 named for 2045-03-31: an audit of that day)."""
    if not isinstance(reads, tuple):  # (`_ANY_DAY`: any day may do, nothing listed)
        return False
    spans = [_EVERY_YEARS[kind] for kind, _, by in reads if by is None and kind in _EVERY_YEARS]
    return bool(spans) and day.year >= listed_from + min(spans)


def _days_after(turns: list[date], values: list[Any]) -> list[date]:
    """For each day `values` names, its days (`_every`'s) in the month of each of `turns` and
    the next: a `.day` comparison with another condition turns there too, however far ahead
    (`_every` lists 8 years; until 2026-12-03 "the 15th from June 2034" gave the commitment's end)."""
    found: list[date] = []
    months = {(t.year, t.month) for t in turns}
    months |= {(y + m // 12, m % 12 + 1) for y, m in months if y + m // 12 <= 9999}
    for value in values:
        number = int(value)
        for year, month in months:
            last = month_length(year, month)
            day = date(year, month, min(number, last))
            found += [d for d in (date(year, month, 1), _previous_day(day), day, _next_day(day)) if d is not None]
    return [d for d in found if d is not _BEYOND]


def _solved(kind: str, value: Any, by: Any) -> date:
    """The cancellation date on which `_date_form` `kind` (moved or measured by `by`) equals
    `value`: `cancellation.date - start >= 500 days` turns at start + 500 days. Raises for values
    of other types, or off the calendar (then any day may do: `_breakpoints`)."""
    if kind == "minus" and isinstance(by, date) and isinstance(value, Duration):
        return value.add_to(by)  # a span from `by`, compared with a duration
    if kind == "minus" and isinstance(by, Duration) and isinstance(value, date):
        return by.add_to(value)
    if kind == "plus" and isinstance(by, Duration) and isinstance(value, date):
        return by.add_to(value, -1)
    if kind == "from" and isinstance(by, date) and isinstance(value, Duration):
        return value.add_to(by, -1)  # a span up to `by`
    if kind in ("minus_days", "from_days") and isinstance(by, date) and isinstance(value, int | Decimal):
        days = int(value)  # (a fraction: the margin's days around it)
        return date.fromordinal(by.toordinal() + (days if kind == "minus_days" else -days))
    raise ValueError(kind)


#: days tried either side of a solved date (`_solved`): a span's months end on month ends, and a
#: comparison of a span with a duration may turn a day or two off the date moved by it
_SOLVED_MARGIN = 3
#: with months or years: the 28th to the 31st of January plus a month are all 28 February, so
#: `cancellation.date + 1 month > 2027-02-28` turns on 1 February, four days after the solved
#: 28 January (until 2026-12-03 the search missed it and named the commitment's end)
_SOLVED_MARGIN_MONTHS = 7


def _solved_margin(value: Any, by: Any) -> int:
    """Days tried either side of `_solved`'s date: more when a month or a year moves it."""
    for moved in (value, by):
        if isinstance(moved, Duration) and moved.days is None:
            return _SOLVED_MARGIN_MONTHS
    return _SOLVED_MARGIN


class _TermsAsked(Mapping[str, list[tuple[str, bool]]]):
    """The outcomes of the exceptions of the terms a candidate date asks about, each term's
    evaluated on its own when first asked (`CriteriaProgram.evaluate_owner`): the earliest-date
    search decides a few terms on many dates, and evaluating every term's exceptions on each took
    seconds in a rule set of hundreds of terms."""

    def __init__(self, program: Any, scenario: Any) -> None:
        self.program, self.scenario = program, scenario
        self.asked: dict[str, list[tuple[str, bool]]] = {}

    def __getitem__(self, owner: str) -> list[tuple[str, bool]]:
        found = self.asked.get(owner)
        if found is None:
            if owner not in self.program.by_owner:
                raise KeyError(owner)
            found = self.asked[owner] = self.program.evaluate_owner(owner, self.scenario)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.program.by_owner)

    def __len__(self) -> int:
        return len(self.program.by_owner)


def _exact(value: Decimal, currency: str) -> str:
    """An unrounded amount for the explanation: exact up to 6 decimals, else cut with `…`."""
    cut = value.quantize(Decimal("0.000001"))
    text = plain(cut.normalize()) if cut == value else plain(cut) + "…"
    return f"{text} {currency}"


def _show_date(day: date) -> str:
    return _BEYOND_TEXT if day is _BEYOND else day.isoformat()


_BEYOND_TEXT = "after 9999-12-31"


# --- renewal chains --------------------------------------------------------------------------------


def commitment_end(term: Term, start: date) -> date:
    """The first day free of the commitment (`_BEYOND` when that is after 9999-12-31); a
    commitment of months or years started on a month's last day ends on a month's last day."""
    try:
        if term.unit is TimeUnit.MONTHS or term.unit is TimeUnit.YEARS:
            return add_months_keeping_month_end(start, term.period * (1 if term.unit is TimeUnit.MONTHS else 12))
        return add_units(start, term.period, term.unit)
    except OutOfCalendar:
        return _BEYOND


def current_term(
    terms: dict[str, Term], first: str, start: date, on: date, loops: dict[str, _Loop] | None = None
) -> tuple[list[Stretch], int]:
    """The renewal chain from `first` starting on `start`, up to the term in force on `on`.

    Returns the stretches worth showing (the first `_SHOWN` and the last `_SHOWN`; the last one
    holds `on`, or ended on or before it when the chain stops without renewal) and the number of
    renewals crossed in all. Chains may loop (every commitment is longer than zero, a validation
    rule); a loop measured in days or weeks, or in months and years from a start whose day keeps
    (`_skip_laps`), is crossed lap by lap in one step, so a 1-day or 1-month term renewing into
    itself for centuries costs no more than a few laps. `loops`: the loops walked (`_loop_of`), kept
    by the caller for every chain of the same `terms` (else walked once per chain).
    """
    term = terms[first]
    end = commitment_end(term, start)
    if on <= end or end is _BEYOND or term.renewal_term is None:  # the usual case: no renewal crossed
        return [Stretch(first, start, end)], 0
    head: list[Stretch] = []
    tail: list[Stretch] = []
    renewals = -1
    code: str | None = first
    seen: dict[str, tuple[date, int]] = {}  # term → (its last start, renewals before it)
    if loops is None:  # each term of the loop met → the loop, walked once (`_skip_laps`)
        loops = {}
    while code is not None:
        term = terms[code]
        if code in seen:
            lap_start, lap_renewals = seen[code]
            start, laps = _skip_laps(terms, code, lap_start, start, on, shown=len(head) >= _SHOWN, loops=loops)
            renewals += laps * (renewals + 1 - lap_renewals)
        seen[code] = (start, renewals + 1)
        end = commitment_end(term, start)
        renewals += 1
        stretch = Stretch(code, start, end)
        if len(head) < _SHOWN:
            head.append(stretch)
        else:
            tail = [*tail[-(_SHOWN - 1) :], stretch]
        if on <= end or end is _BEYOND:  # cancelling on the end date is free: the renewal never starts
            break
        code, start = term.renewal_term, end
    return head + tail, renewals


_SHOWN = 3


class _Loop(NamedTuple):
    """A renewal loop, walked once per chain (`_skip_laps`): its terms' units, one lap in months,
    each term's stretch start in months from the first term's (`offsets`), and per month the
    first term's stretch starts in (0-11): the shortest month any stretch of the loop starts in over
    twelve laps (until 2026-12-04 the loop was walked again each time a term of it was met: a
    cancellation in a loop of 1,000 terms took 0.8 s, of 3,000 8 s)."""

    units: frozenset[TimeUnit]
    months: int
    offsets: dict[str, int]
    shortest: tuple[int, ...]


def _loop_of(terms: dict[str, Term], code: str, loops: dict[str, _Loop]) -> _Loop:
    """The loop through `code` (from `loops`, or walked now and kept there for each of its terms)."""
    found = loops.get(code)
    if found is not None:
        return found
    units: set[TimeUnit] = set()
    offsets: dict[str, int] = {}
    months = 0
    current: str | None = code
    while current is not None:  # the loop's terms: from `code` round to `code`
        term = terms[current]
        units.add(term.unit)
        offsets.setdefault(current, months)  # where this term's stretch starts, in months from the loop's start
        months += term.period * (12 if term.unit is TimeUnit.YEARS else 1)
        current = term.renewal_term
        if current == code:
            break
    # the months (0-11) stretches start in over twelve laps, from a first stretch in month 0; from
    # another month, or counted from another term of the loop, the same set moved round
    visited = {(lap * months + offset) % 12 for lap in range(12) for offset in offsets.values()}
    shortest = tuple(min(MONTH_DAYS[(shift + month) % 12] for month in visited) for shift in range(12))
    loop = _Loop(frozenset(units), months, offsets, shortest)
    for member in offsets:
        loops[member] = loop
    return loop


def _skip_laps(
    terms: dict[str, Term],
    code: str,
    lap_start: date,
    start: date,
    on: date,
    *,
    shown: bool = True,
    loops: dict[str, _Loop] | None = None,
) -> tuple[date, int]:
    """Jump over whole laps of a renewal loop (from `lap_start` back to `start`, the same term)
    that end before `on`; returns the new start and the laps skipped.

    Loops of days and weeks have a fixed length in days. A loop of months and years moves each
    stretch's start by a fixed number of months, and keeps the day of a start that is a month's
    last (the month-end rule) or earlier than every month its stretches start in is long (a 30th
    among months of 31 days; up to the 27th always); from any other day it is walked (a 30th
    reaching June, or a 28th reaching February, becomes a month's last day, and the chain keeps
    to month ends from then on). Mixed loops are walked. A loop is skipped only once the first
    stretches shown are walked (`shown`), and leaves the last `_SHOWN` laps to walk: the
    stretches shown are those walking shows. The loop itself is walked once per chain, kept in
    `loops` (`_Loop`)."""
    if not shown:
        return start, 0
    loop = _loop_of(terms, code, {} if loops is None else loops)
    units, months = loop.units, loop.months
    if units <= {TimeUnit.DAYS, TimeUnit.WEEKS}:
        length = (start - lap_start).days
        laps = (on - start).days // length - 1 - _SHOWN
        if laps <= 0:
            return start, 0
        return date.fromordinal(start.toordinal() + laps * length), laps
    if not units <= {TimeUnit.MONTHS, TimeUnit.YEARS}:
        return start, 0
    # (February's in a common year) among the months the stretches start in from `start`
    if not is_month_end(start) and start.day >= loop.shortest[(start.month - 1 - loop.offsets[code]) % 12]:
        return start, 0
    laps = ((on.year - start.year) * 12 + on.month - start.month) // months - 1 - _SHOWN
    if laps <= 0:
        return start, 0
    return add_months_keeping_month_end(start, laps * months), laps


# --- billing cycles ---------------------------------------------------------------------------------


_LAST_ORDINAL = date.max.toordinal()


def cycle_start(start: date, frequency: BillingFrequency, k: int) -> date:
    """The first day of cycle k (k = 0 is the one starting on `start`); computed from `start` each
    time, so cycles started on a month's last day (the 31st, or 28 February) keep to month ends."""
    if frequency is BillingFrequency.WEEKLY:
        ordinal = start.toordinal() + 7 * k
        if not 1 <= ordinal <= _LAST_ORDINAL:  # (until 2026-12-03 a ValueError: an internal error)
            raise OutOfCalendar("a weekly cycle")
        return date.fromordinal(ordinal)
    return add_months_keeping_month_end(start, CYCLE_MONTHS[frequency] * k)


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


#: a memo's "no entry" (None is an entry: a reason that reads as none of those named)
_UNSEEN: Any = object()
#: at most this many reasons kept in `TermEvaluator._meant`
_MEANT_KEPT = 1024


class TermEvaluator:
    """Decides the cancellation of a scenario's subscription, term by term.

    What a term gives every decision alike (its reasons' sources and fixed words, its penalty's
    settings as written, the fee of a flat penalty) is worked out once per term (`_Prepared`);
    a pro rata fee once per share of the commitment (`_Variant.fee`)."""

    def __init__(self, rules: Any) -> None:
        self.rules = rules
        self.terms: dict[str, Term] = rules.models("term")
        self.plans, self.bundles = rules.models("plan"), rules.models("bundle")  # once, not per decision
        self.rounder = Rounder(rules.settings.rounding.value, rules.settings.minor_units)
        self._sources: dict[tuple[Any, ...], Source | None] = {}  # (term code, *path) → where it is written
        self._prepared: dict[str, _Prepared] = {}  # per term code (`_prepare`)
        #: plan code → (`plan` or bundle code, its term): what a subscription without add-ons cancels
        self._plan_parts: dict[str, tuple[tuple[str, str | None], ...]] = {}
        self._dated: dict[str, tuple[Any, ...] | object | None] = {}  # term code → `_date_operands`
        self._reasons: dict[str, frozenset[str]] | None = None  # per term, the reasons its exceptions name
        #: (term code, a reason it does not name) → the named one it reads as (`_reason_meant`), for
        #: the reasons seen last: a run meets the same few again, and each costs an edit distance
        self._meant: dict[tuple[str, str], str | None] = {}
        #: term code → its renewal loop (`_loop_of`: a function of the terms alone), walked once
        self._loops: dict[str, _Loop] = {}

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
        if request.renewed_on is not None and request.renewed_on < subscription.start:
            # (until 2026-12-03 decided, "renewed on 2014-01-01, before the cancellation …")
            raise ScenarioError(
                "cancellation.renewed_on",
                f"the renewal date {request.renewed_on} is before the subscription starts ({subscription.start})",
                "a renewal is on or after the subscription's start: check the date, or leave `renewed_on` out",
                "BR615",
            )
        parts = self._parts(scenario, request, subscription)
        decisions = [self._decide_term(of, term, start, scenario, outcomes) for of, term, start in parts]
        if request.reason is not None:  # against the terms in force on the cancellation date
            self._check_reason(request.reason, [d.data["term"] for d in decisions if d.data.get("term")])
        decided = CancellationDecision(request.date, decisions)
        if not decided.allowed:
            dated = [
                (part, decision)
                for part, decision in zip(parts, decisions, strict=True)
                if not decision.allowed and self._date_operands(decision.data["term"]) is not None
            ]
            if len(parts) == 1:  # the term's own first day is the cancellation's
                decided.earliest = self._earliest(scenario, parts, decisions)
                for _, decision in dated:
                    self._refused_until(decision, decided.earliest, request.date)
                return decided
            for part, decision in dated:
                self._refused_until(decision, self._earliest(scenario, [part], [decision]), request.date)
            decided.earliest = self._earliest(scenario, parts, decisions)
        return decided

    def _check_reason(self, reason: str, terms: list[str]) -> None:
        """A cancellation reason that reads as one the exceptions of the terms in force name,
        written otherwise (`moved abroad` or `Moved_Abroad` for
        `moved_abroad`, `moved_abrod`), is BR603 with the reason meant: until 2026-12-02 it
        matched no exception, and the full penalty was charged in silence. Any other reason is the
        scenario's own (no exception of those terms names it: `moved_house`, `not_moved_abroad`)."""
        if self._reasons is None:
            self._reasons = _reasons_named(self.rules.criteria)
        for term in dict.fromkeys(terms):
            named = self._reasons.get(term, frozenset())
            if reason in named or not named:
                continue
            key = (term, reason)
            meant = self._meant.get(key, _UNSEEN)
            if meant is _UNSEEN:
                if len(self._meant) >= _MEANT_KEPT:
                    self._meant.clear()
                meant = self._meant[key] = _reason_meant(reason, named)
            if meant is not None:
                at = self._source(term, "exceptions")
                rule = f" at {at.file}:{at.line}" if at is not None else ""
                raise ScenarioError(
                    "cancellation.reason",
                    f"cancellation reason `{reason}` is not one term `{term}` names; it reads as `{meant}`",
                    f"did you mean `{meant}`? (the terms' exceptions compare the reason as written; if the rule is "
                    f"what is misspelt, fix term `{term}`'s exceptions{rule})",
                    "BR603",
                )

    def _refused_until(self, decision: TermDecision, earliest: date | None, on: date) -> None:
        """A term whose exceptions read the cancellation's date refuses until `earliest` (the
        first day it allows the cancellation, alone), which may come before its commitment's end:
        its decision names that day, in a reason of its own."""
        if earliest == decision.earliest and (earliest is _BEYOND) == (decision.earliest is _BEYOND):
            return
        data = decision.data
        decision.earliest = earliest
        data["earliest"] = None if earliest is None else _show_date(earliest)
        facts = {"term": data["term"], "date": on.isoformat(), "end": data["commitment_end"]}
        facts["earliest"] = data["earliest"]
        replaced = [r for r in data["reasons"] if r.get("code") == "early_cancellation_not_allowed"]
        for r in replaced:  # (the exception that refuses, if one does)
            if "exception" in r["facts"]:
                facts["exception"] = r["facts"]["exception"]
        record = Reason("not_allowed_until" if earliest is not None else "not_allowed_any_date", facts).once()
        if replaced and "source" in replaced[0]:
            # located where the refusal is written, as the reason it replaces (the term's
            # `early_cancellation:`, or the refusing exception's `outcome:`): until 2026-12-02 it had no source
            record = {**record, "source": replaced[0]["source"]}
        data["reasons"] = [record if r.get("code") == "early_cancellation_not_allowed" else r for r in data["reasons"]]

    def _earliest(
        self, scenario: Any, parts: list[tuple[str, str | None, date]], decisions: list[TermDecision]
    ) -> date | None:
        """The first date on which every term allows the cancellation, decided as the cancellation
        itself (exceptions and all; whether allowed, not what a penalty costs). Candidates only
        move forward: each refusing term names the first day it may allow it, and the next
        candidate is the latest of those. A term whose exceptions do not read `cancellation.date`
        refuses until its commitment's end (`earliest`); one whose exceptions do may allow it
        sooner: the next day its exceptions' outcome may change (the day before, of and after each
        date `cancellation.date` is compared with, worked out on the scenario: `>= 2026-06-01`,
        `>= as_of.date + 30 days`, and of a span or moved date solved for it: `cancellation.date -
        subscription.start >= 500 days`), or the next day when `cancellation.date` is read otherwise.
        By then another term may refuse (one that renews into itself allows cancelling on its end
        day only), so every term is decided again on each candidate, its chain followed on from
        the term in force at the last one. Days are stepped one at a time for `_DAY_STEPS`
        candidates at most; then such a term is tried on its ends only. None when no date is found
        in `_EARLIEST_TRIES` candidates (terms whose free days meet later than that, or never)."""
        day: date = scenario.cancellation.date
        # per term: the days its exceptions' outcome may change on, and the year they were listed from
        breakpoints: dict[str, tuple[list[date] | None, int]] = {}
        tries = _tries(len(parts))
        for tried in range(tries):
            stepping = tried < min(_DAY_STEPS, max(tries - _END_TRIES, tries // 2))
            following = [self._next_try(d, day, scenario, breakpoints, stepping) for d in decisions if not d.allowed]
            if not following:
                return day
            day = _latest_of(following)
            if day is _BEYOND:
                return _BEYOND
            parts = [  # each term from the one in force at the last candidate
                (of, d.chain[-1].term, d.chain[-1].start) if d.chain else (of, code, start)
                for (of, code, start), d in zip(parts, decisions, strict=True)
            ]
            moved = scenario.cancellation.model_copy(update={"date": day})
            scenario = scenario.model_copy(update={"cancellation": moved})
            outcomes = _TermsAsked(self.rules.criteria, scenario)
            decisions = [
                self._decide_term(of, code, start, scenario, outcomes, priced=False) for of, code, start in parts
            ]
        return None

    def _next_try(
        self,
        refusing: TermDecision,
        day: date,
        scenario: Any,
        breakpoints: dict[str, tuple[list[date] | None, int]],
        stepping: bool,
    ) -> date:
        """The first day after `day` on which a term refusing on `day` may allow the cancellation
        (`breakpoints`: kept per term for one search, listed again past the years `_every` listed)."""
        end: date = refusing.earliest if refusing.earliest is not None else _BEYOND
        code = refusing.data["term"]
        reads = self._date_operands(code)
        if reads is None:  # its exceptions do not read the cancellation's date: its end
            return end
        kept = breakpoints.get(code)
        if kept is None or _past_listed(reads, kept[1], day):
            kept = breakpoints[code] = (None if reads is _ANY_DAY else self._breakpoints(reads, scenario), day.year)
        found = kept[0]
        if found is None:  # any day may do: the next one (for a while), else its end
            return _earliest_of((end, _next_day(day))) if stepping else end
        return _earliest_of([end, *(b for b in found if b > day)])

    def _date_operands(self, code: str) -> tuple[Any, ...] | object | None:
        """What `cancellation.date` is compared with in the exceptions of term `code`: None when
        they do not read it, `_ANY_DAY` when they read it otherwise (`cancellation.date.month`),
        else (kind, the other operand, what the date is moved or measured by) triples
        (`_compared_with_date`, kept per term)."""
        if code not in self._dated:
            program = self.rules.criteria
            nodes = [program.entries[i].node for i in program.by_owner.get(f"term:{code}", ())]
            self._dated[code] = _compared_with_date(nodes)
        return self._dated[code]

    def _breakpoints(self, operands: Any, scenario: Any) -> list[date] | None:
        """The days around each date (or year) `cancellation.date` is compared with, on this
        scenario; None when one of them cannot be worked out (then any day may do)."""
        from engine.criteria.environment import scenario_environment
        from engine.criteria.explain import Explainer

        explainer = Explainer(scenario_environment(), scenario)
        found = []
        days: list[Any] = []  # the values a `.day` is compared with
        for kind, node, by in operands:
            try:
                value = explainer.value(node, {})
                if by is None:
                    found += _around(kind, value) if kind in ("date", "year") else _every(kind, value, scenario)
                    if kind == "day":
                        days.append(value)
                    continue
                moved = explainer.value(by, {})
                turn = _solved(kind, value, moved)
                margin = _solved_margin(value, moved)
                first = turn.toordinal() - margin
                found += [
                    date.fromordinal(n) for n in range(first, first + 2 * margin + 1) if 1 <= n <= date.max.toordinal()
                ]
            except Exception:  # (a value that only an item gives, arithmetic out of the calendar)
                return None
        if days:  # `.day == 15 and cancellation.date >= 2034-06-01`: the 15th after each other turn too
            found += _days_after(found, days)
        return sorted(set(found))

    def _parts(self, scenario: Any, request: Any, subscription: Any) -> list[tuple[str, str | None, date]]:
        """What is cancelled: (`plan` or bundle code, its term, the date its term counts from)."""
        whole = not subscription.add_ons and not subscription.add_on_starts and request.add_ons is None
        if whole and (known := self._plan_parts.get(subscription.plan)) is not None:
            start = subscription.start  # the usual question: a plan (and its bundles), no add-on
            return [(of, term, start) for of, term in known]
        parts = self._checked_parts(request, subscription)
        if whole:  # the plan is known (checked): its parts are the same for every such subscription
            self._plan_parts[subscription.plan] = tuple((of, term) for of, term, _ in parts)
        return parts

    def _checked_parts(self, request: Any, subscription: Any) -> list[tuple[str, str | None, date]]:
        """`_parts`, the plan and add-ons checked against the rule set."""
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
            _held_once("subscription.add_ons", subscription.add_ons, i, plan)
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
        if chosen is not None and not chosen:  # (it was answered "allowed", with nothing decided)
            raise ScenarioError(
                "cancellation.add_ons",
                "the cancellation names no add-on: it cancels nothing",
                "list the add-ons to cancel, or leave out `add_ons` to cancel the whole subscription",
                "BR616",
            )
        for i, code in enumerate(chosen or []):
            if code not in subscription.add_ons:
                hint = _did_you_mean(code, subscription.add_ons) or (
                    f"the subscription's add-ons are {', '.join(subscription.add_ons) or 'none'}"
                )
                raise ScenarioError(
                    f"cancellation.add_ons[{i}]", f"`{code}` is not an add-on of the subscription", hint, "BR616"
                )
            _held_once("cancellation.add_ons", chosen or [], i, None)
        parts: list[tuple[str, str | None, date]] = []
        if chosen is None:  # the whole subscription: the plan, its bundles, every add-on
            parts.append(("plan", plan.term, subscription.start))
            # (each bundle once: one a plan lists twice, BR427, is held once; its term was charged twice)
            parts += [
                (code, bundles[code].term, subscription.start)
                for code in dict.fromkeys(plan.bundles)
                if bundles[code].term
            ]
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
        self,
        of: str,
        code: str | None,
        start: date,
        scenario: Any,
        outcomes: Mapping[str, Sequence[tuple[str, bool]]],
        priced: bool = True,
    ) -> TermDecision:
        """One term's decision; without `priced`, a penalty's outcome without its fee (`_earliest`
        asks only whether a date is allowed)."""
        on = scenario.cancellation.date
        if code is None:
            what = f"plan `{scenario.subscription.plan}`" if of == "plan" else f"bundle `{of}`"
            reasons = [Reason("no_term", {"of": what}).once()]
            return TermDecision({"for": of, "term": None, "allowed": True, "outcome": "no_term", "reasons": reasons})
        prepared = self._prepared.get(code) or self._prepare(code)
        end = prepared.end(start)
        if on <= end or end is _BEYOND or prepared.term.renewal_term is None:  # no renewal crossed
            current = Stretch(code, start, end)
            chain, renewals = [current], 0
        else:
            chain, renewals = current_term(self.terms, code, start, on, self._loops)
            current = chain[-1]
            prepared = self._prepared.get(current.term) or self._prepare(current.term)
            end = current.end
        term = current.term
        end_text = _show_date(end)
        data: dict[str, Any] = {
            "for": of,
            "term": term,
            "allowed": True,
            "outcome": "allowed",
            "start": current.start.isoformat(),
            "commitment_end": end_text,
            "renewals": renewals,
        }
        decision = TermDecision(data, chain)
        explained = decision.explained
        explained.append((_chain_steps, (chain, renewals)))
        if on >= end and end is not _BEYOND:  # (_BEYOND orders as 9999-12-31, a possible date)
            data["outcome"] = "commitment_over"
            data["reasons"] = [prepared.over.record(end_text)]
            return decision
        explained.append((_current_step, (on, term, end_text)))
        reasons = [prepared.beyond.fresh()] if end is _BEYOND else []
        rule, variant, said = prepared.rule(outcomes, reasons)
        if rule is EarlyCancellation.ALLOWED:
            reasons.append(said.record(end_text))
            if priced and self._measurable(prepared, end, scenario):  # SPEC 3.4: the decision names what remains
                self._remaining(decision, prepared, current, scenario)
        elif rule is EarlyCancellation.NOT_ALLOWED:
            decision.allowed, decision.earliest = False, end
            data["allowed"], data["outcome"], data["earliest"] = False, "not_allowed", end_text
            reasons.append(said.record(end_text))
            if priced and self._measurable(prepared, end, scenario):
                self._remaining(decision, prepared, current, scenario)
        else:
            data["outcome"] = "penalty"
            reasons.append(said.record(end_text))
            assert variant is not None  # a penalty without a fee is a validation error (BR411)
            if priced:
                self._penalty(decision, prepared, variant, current, scenario, reasons)
        data["reasons"] = reasons
        return decision

    def _penalty(
        self,
        decision: TermDecision,
        prepared: _Prepared,
        variant: _Variant,
        current: Stretch,
        scenario: Any,
        reasons: list[dict[str, Any]],
    ) -> None:
        data, explained = decision.data, decision.explained
        cancellation = scenario.cancellation
        on = cancellation.date
        remaining, total = self._remaining(decision, prepared, current, scenario)
        fee = variant.fee(remaining, total)
        explained.append(fee.steps)
        known = prepared.settings
        due = prepared.due(on)
        due_text = _show_date(due)
        explained.append((_due_step, (due_text, on, known.grace_text)))
        if prepared.booking is not None:
            explained.append(prepared.booking)
        if prepared.by_provider is not None:
            reasons.append(prepared.by_provider.fresh())
        renewed = cancellation.renewed_on
        waived = renewed is not None and on <= renewed <= due
        penalty = variant.template.copy()  # its keys in order; the values that vary set below
        penalty["share"] = fee.share
        penalty["fee"] = fee.fee_text
        penalty["tax"] = fee.tax_text
        penalty["total"] = fee.total_text
        penalty["due"] = due_text
        penalty["waived"] = waived
        if renewed is not None:
            if renewed >= on:
                code = "renewed_within_grace" if waived else "renewed_after_grace"
                facts = {"renewed_on": renewed.isoformat(), "due": due_text}
            else:  # (said since 2026-12-02: the fact was passed over in silence)
                code = "renewed_before_cancellation"
                facts = {"renewed_on": renewed.isoformat(), "date": on.isoformat(), "due": due_text}
            reason = Reason(code, facts)
            reasons.append(reason.once())
            explained.append((_reason_step, (reason,)))
        data["penalty"] = penalty
        data["outcome"] = "waived" if waived else "penalty"
        if waived:
            decision.charge = (variant.currency, variant.zero, variant.zero_text)
        else:
            decision.charge = (variant.currency, fee.total_due, fee.charged_text)

    def _remaining(
        self, decision: TermDecision, prepared: _Prepared, current: Stretch, scenario: Any
    ) -> tuple[int, int]:
        """(remaining, total) days or billing cycles of the current commitment."""
        on = scenario.cancellation.date
        end = current.end
        if end is _BEYOND:  # no share of an endless commitment: the maximum fee applies
            return 1, 1
        if prepared.calendar:
            remaining, total = (end - on).days, (end - current.start).days
            decision.data["remaining"] = {"days": remaining, "of": total}
            decision.explained.append((_days_step, (remaining, total, current, on)))
            return remaining, total
        frequency = self._frequency(scenario)
        months = prepared.months
        if months is not None and frequency is not BillingFrequency.WEEKLY:
            cycles = -(-months // CYCLE_MONTHS[frequency])  # see `_Prepared.months`
        else:
            cycles = cycles_before(current.start, frequency, end, inclusive=False)
        started = min(cycles_before(current.start, frequency, on, inclusive=True), cycles)
        decision.data["remaining"] = {"cycles": cycles - started, "of": cycles, "frequency": frequency.value}
        decision.explained.append((_cycles_step, (cycles - started, cycles, frequency.value, started, on)))
        return cycles - started, cycles

    def _measurable(self, prepared: _Prepared, end: date, scenario: Any) -> bool:
        """Can what remains of a commitment be named without a penalty to price? Not for one that
        ends after 9999-12-31, nor in billing cycles of a subscription whose frequency is unknown
        (only a penalty needs it: BR616)."""
        if end is _BEYOND:
            return False
        return prepared.calendar or self._known_frequency(scenario) is not None

    def _known_frequency(self, scenario: Any) -> BillingFrequency | None:
        """The subscription's billing frequency: as written, else its billing term scheme's, else
        the one its termed products share (its lines', or its plan's bundles': a plan of monthly
        services is billed monthly; until 2026-12-02 a cancellation without the frequency written
        was BR616), else None."""
        subscription = scenario.subscription
        if subscription.billing_frequency is not None:
            return subscription.billing_frequency  # type: ignore[no-any-return]
        scheme = self.rules.get("billing_term_scheme", subscription.billing_term_scheme or "")
        if scheme is not None:
            return scheme.billing_frequency  # type: ignore[no-any-return]
        shared = self._frequencies([line.product for line in subscription.products])
        if not shared:  # no termed line: the plan's bundles' and the add-ons' required products
            plan = self.rules.get("plan", subscription.plan) if subscription.plan is not None else None
            codes: list[str] = []
            for code in (*(plan.bundles if plan is not None else ()), *subscription.add_ons):
                bundle = self.rules.get("bundle", code)
                codes += [p.product for p in bundle.products if p.required] if bundle is not None else []
            shared = self._frequencies(codes)
        return shared.pop() if len(shared) == 1 else None

    def _frequencies(self, codes: list[str]) -> set[BillingFrequency]:
        """The billing frequencies of the termed products among `codes`."""
        products = (self.rules.get("product", code) for code in codes)
        return {
            p.billing_frequency
            for p in products
            if p is not None and p.type is ProductType.TERMED and p.billing_frequency is not None
        }

    def _frequency(self, scenario: Any) -> BillingFrequency:
        """`_known_frequency`, or BR616."""
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

    def _prepare(self, code: str) -> _Prepared:
        """What a term gives every decision alike, worked out on its first decision."""
        term = self.terms[code]
        settings = term.penalty
        known = _penalty_settings(term)
        by_provider = None
        if known.tax_rate is None and known.tax_code is not None:
            facts = {
                "tax_code": known.tax_code,
                "tax_provider": (settings.tax_provider if settings else None) or "the tax provider",
            }
            by_provider = _Record.of(Reason("tax_by_provider", facts, self._source(code, "penalty", "tax")))
        booking = None
        if settings is not None and settings.ledger_account and settings.invoice_line_type:
            booking = (_booking_step, (settings.invoice_line_type, settings.ledger_account))
        early = self._source(code, "early_cancellation")
        prepared = self._prepared[code] = _Prepared(
            term=term,
            owner=f"term:{code}" if term.exceptions else None,
            calendar=term.basis is CommitmentBasis.CALENDAR,
            over=_Dated("commitment_over", code, self._source(code, "period")),
            allowed=_Dated("early_cancellation_allowed", code, early),
            not_allowed=_Dated("early_cancellation_not_allowed", code, early, earliest=True),
            penalty=_Dated("early_cancellation_penalty", code, early),
            beyond=_Record.of(Reason("beyond_calendar", {"term": code}, self._source(code))),
            settings=known,
            by_provider=by_provider,
            booking=booking,
            variant=self._variant(
                term, known, settings.fee if settings else None, settings.pro_rata if settings else False
            ),
            evaluator=self,
        )
        return prepared

    def _variant(self, term: Term, known: _PenaltySettings, fee: Money | None, pro_rata: bool) -> _Variant | None:
        """The penalty a fee and pro rata setting of `term` charge (None without a fee)."""
        if fee is None:
            return None
        return _Variant(fee, pro_rata, known, term.penalty, self.rounder)

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


def _penalty_settings(term: Term) -> _PenaltySettings:
    """What a term's penalty settings give every decision alike."""
    settings = term.penalty
    tax = settings.tax if settings is not None else None
    rate = tax.rate if tax is not None else None
    grace = Duration(settings.grace_period, settings.grace_period_unit) if settings is not None else None
    return _PenaltySettings(
        rate,
        tax.code if tax is not None else None,
        plain(rate) if rate is not None else "",
        grace,
        str(grace) if grace is not None and grace.count else "0 days",
        tuple(  # always named (SPEC 3.4: the decision names them), null where the term leaves them out
            (name, getattr(settings, name) if settings is not None else None)
            for name in ("ledger_account", "invoice_line_type")
        ),
    )


@dataclass(frozen=True)
class _PenaltySettings:
    """A term's penalty settings as every decision writes them (`_penalty_settings`)."""

    tax_rate: Decimal | None
    tax_code: str | None
    rate_text: str  # the rate written out ("" without one)
    grace: Duration | None
    grace_text: str
    booking: tuple[tuple[str, str | None], ...]  # ledger account and invoice line type (None: not given)


class _Record:
    """A reason every decision of a term gives alike, worded once; each decision gets a fresh copy."""

    __slots__ = ("code", "facts", "source", "text")

    def __init__(self, code: str, text: str, facts: dict[str, Any], source: dict[str, Any] | None) -> None:
        self.code, self.text, self.facts, self.source = code, text, facts, source

    @classmethod
    def of(cls, reason: Reason) -> _Record:
        data = reason.once()
        return cls(data["code"], data["text"], data["facts"], data.get("source"))

    def fresh(self) -> dict[str, Any]:
        """The record as `Reason.once` writes it (facts of text and numbers: a flat copy is fresh)."""
        data = {"code": self.code, "text": self.text, "facts": dict(self.facts)}
        if self.source is not None:
            data["source"] = dict(self.source)
        return data


class _Dated:
    """A reason of a term whose only fact that varies is a date (the commitment's end): the words
    around the date made once, so a decision writes them by joining three texts."""

    __slots__ = ("around", "code", "earliest", "exception", "source", "term")

    _PROBE = "2000-01-01"  # a date to check the words around the date against

    def __init__(
        self, code: str, term: str, source: Source | None, *, earliest: bool = False, exception: int | None = None
    ) -> None:
        self.code, self.term, self.earliest, self.exception = code, term, earliest, exception
        self.source = source.to_json() if source is not None else None
        marker = "\x00"
        words = Reason(code, self._facts(marker)).words()
        self.around: tuple[str, str] | None = None
        if words.count(marker) == 1:
            before, after = words.split(marker)
            if before + self._PROBE + after == Reason(code, self._facts(self._PROBE)).words():
                self.around = before, after

    def _facts(self, day: str) -> dict[str, Any]:
        facts: dict[str, Any] = {"term": self.term, "end": day}
        if self.earliest:
            facts["earliest"] = day
        if self.exception is not None:  # (1-based, as `exception_holds` counts them)
            facts["exception"] = self.exception
        return facts

    def record(self, day: str) -> dict[str, Any]:
        """`Reason(code, facts, source).once()` for the commitment ending on `day` (as text)."""
        facts = self._facts(day)
        around = self.around
        if around is not None and day != _BEYOND_TEXT:  # (a day past the calendar: the sentence reworded)
            text = around[0] + day + around[1]
        else:
            text = Reason(self.code, facts).words()
        data = {"code": self.code, "text": text, "facts": facts}
        if self.source is not None:
            data["source"] = dict(self.source)
        return data


class _Fee(NamedTuple):
    """A penalty's money for one share of the commitment, written out; with its explanation."""

    share: str
    fee_text: str
    tax_text: str | None  # None without a tax rate
    total_text: str
    total_due: Decimal
    charged_text: str  # the decision's total when this is its only charge (`0 + total_due`)
    steps: Step


class _Variant:
    """One penalty of a term: its fee and pro rata setting (the term's, or an exception's own),
    with the term's tax, grace period and booking. The penalty's text with the keys in order is
    made once (`template`); a fee once per share of the commitment (`fee`), at most `_KEPT`."""

    _KEPT = 4096  # shares kept per penalty: a commitment of ten years has at most 3,653 days

    def __init__(
        self, maximum: Money, pro_rata: bool, known: _PenaltySettings, settings: Any, rounder: Rounder
    ) -> None:
        self.maximum, self.pro_rata, self.known, self.rounder = maximum, pro_rata, known, rounder
        self.currency = maximum.currency
        self.zero = rounder.round(Decimal(0), self.currency)
        # with the currency's minor digits, as the fee is (a fee written `240 EUR` read "240 EUR"
        # beside a fee of "140.00 EUR" until 2026-12-02); its value as written
        self.maximum_text = money_text(maximum.amount + self.zero, self.currency)
        self.zero_text = money_text(_ZERO + self.zero, self.currency)
        template: dict[str, Any] = {"maximum": self.maximum_text, "pro_rata": pro_rata, "share": "1/1", "fee": None}
        if known.tax_rate is not None:
            template["tax_rate"] = known.rate_text
        template["tax"] = None
        if known.tax_code is not None:
            template["tax_code"] = known.tax_code
        if settings is not None and settings.tax_provider is not None:
            template["tax_provider"] = settings.tax_provider
        template["total"] = template["due"] = None
        template["grace_period"] = known.grace_text
        template.update(known.booking)
        template["waived"] = False
        self.template = template
        self._fees: dict[tuple[int, int], _Fee] = {}
        self._flat: _Fee | None = None

    def fee(self, remaining: int, total: int) -> _Fee:
        """The fee for `remaining` of `total` days or cycles (the flat fee without pro rata)."""
        if not self.pro_rata:
            if self._flat is None:
                self._flat = self._worked_out(remaining, total)
            return self._flat
        found = self._fees.get((remaining, total))
        if found is None:
            found = self._worked_out(remaining, total)
            if len(self._fees) < self._KEPT:
                self._fees[remaining, total] = found
        return found

    def _worked_out(self, remaining: int, total: int) -> _Fee:
        currency, maximum, round_ = self.currency, self.maximum, self.rounder.round
        share = f"{remaining}/{total}"
        exact: Decimal | None = None
        if self.pro_rata and total:
            exact = maximum.amount * remaining / total
            fee = round_(exact, currency)
        else:
            fee = round_(maximum.amount, currency)
        fee_text = money_text(fee, currency)
        rate = self.known.tax_rate
        tax = self.zero
        exact_tax: Decimal | None = None
        if rate is not None:
            exact_tax = fee * rate / 100
            tax = round_(exact_tax, currency)
        tax_text = money_text(tax, currency)
        total_due = fee + tax
        total_text = money_text(total_due, currency)
        steps: Step = (
            _fee_steps,
            (
                self.maximum_text,
                share,
                exact,
                currency,
                fee_text,
                self.known.rate_text,
                exact_tax,
                tax_text,
                total_text,
            ),
        )
        return _Fee(
            share if self.pro_rata else "1/1",
            fee_text,
            tax_text if rate is not None else None,
            total_text,
            total_due,
            money_text(_ZERO + total_due, currency),
            steps,
        )


class _Prepared:
    """What one term gives every decision alike: its reasons' fixed parts and its penalties."""

    __slots__ = (
        "allowed",
        "beyond",
        "booking",
        "by_provider",
        "calendar",
        "evaluator",
        "exceptions",
        "months",
        "not_allowed",
        "over",
        "owner",
        "penalty",
        "settings",
        "term",
        "variant",
    )

    def __init__(
        self,
        *,
        term: Term,
        owner: str | None,
        calendar: bool,
        over: _Dated,
        allowed: _Dated,
        not_allowed: _Dated,
        penalty: _Dated,
        beyond: _Record,
        settings: _PenaltySettings,
        by_provider: _Record | None,
        booking: Step | None,
        variant: _Variant | None,
        evaluator: TermEvaluator,
    ) -> None:
        self.term, self.owner, self.calendar = term, owner, calendar  # owner: of its exceptions' criteria
        self.over, self.allowed, self.not_allowed, self.penalty, self.beyond = (
            over,
            allowed,
            not_allowed,
            penalty,
            beyond,
        )
        self.settings, self.by_provider, self.booking, self.variant = settings, by_provider, booking, variant
        self.evaluator = evaluator
        #: the commitment in months, for a term of months or years (else None). Its billing
        #: cycles of m months are then ceil(months / m) wherever it starts: cycle k begins in an
        #: earlier month than the commitment's end while k·m < months, and on or after it (the
        #: same day of the month clamped alike) from then on
        self.months: int | None = {TimeUnit.MONTHS: 1, TimeUnit.YEARS: 12}.get(term.unit)
        if self.months is not None:
            self.months *= term.period
        #: exception section (`exceptions[0]`) → its outcome, its reason, and its penalty
        self.exceptions: dict[str, tuple[EarlyCancellation, _Record, _Variant | None, _Dated]] = {}

    def end(self, start: date) -> date:
        """`commitment_end(self.term, start)`."""
        try:
            if self.months is not None:
                return add_months_keeping_month_end(start, self.months)
            return add_units(start, self.term.period, self.term.unit)
        except OutOfCalendar:
            return _BEYOND

    def due(self, on: date) -> date:
        """When a penalty for cancelling on `on` is due: at the end of the grace period."""
        grace = self.settings.grace
        try:
            if grace is None or not grace.count:
                return on
            if grace.unit is TimeUnit.DAYS:  # the usual grace period: `add_units`, without its dispatch
                ordinal = on.toordinal() + grace.count
                return date.fromordinal(ordinal) if ordinal <= _LAST_ORDINAL else _BEYOND
            if grace.unit is TimeUnit.MONTHS or grace.unit is TimeUnit.YEARS:  # as commitments count months
                return add_months_keeping_month_end(on, grace.count * (1 if grace.unit is TimeUnit.MONTHS else 12))
            return add_units(on, grace.count, grace.unit)
        except OutOfCalendar:
            return _BEYOND

    def rule(
        self, outcomes: Mapping[str, Sequence[tuple[str, bool]]], reasons: list[dict[str, Any]]
    ) -> tuple[EarlyCancellation, _Variant | None, _Dated]:
        """The early-cancellation rule in force: the first exception that holds (its reason added
        to `reasons`), else the term's; with the penalty it charges, and the reason of its outcome
        (located at the exception's `outcome` when one decided: the term's own line may say the
        opposite, `early_cancellation: penalty` beside an exception that waives it)."""
        if self.owner is not None:  # a term without exceptions has no criteria to ask for
            try:  # (`outcomes.get`, without `Mapping.get`'s own call around the lookup)
                asked: Sequence[tuple[str, bool]] = outcomes[self.owner]
            except KeyError:
                asked = ()
            for section, holds in asked:
                if holds:
                    outcome, record, variant, said = self.exceptions.get(section) or self._exception(section)
                    reasons.append(record.fresh())
                    return outcome, variant, said
        rule = self.term.early_cancellation
        return rule, self.variant, self._said(rule)

    def _said(self, rule: EarlyCancellation) -> _Dated:
        if rule is EarlyCancellation.ALLOWED:
            return self.allowed
        return self.not_allowed if rule is EarlyCancellation.NOT_ALLOWED else self.penalty

    def _exception(self, section: str) -> tuple[EarlyCancellation, _Record, _Variant | None, _Dated]:
        term, evaluator = self.term, self.evaluator
        index = int(section[len("exceptions[") : -1])
        exception = term.exceptions[index]
        outcome = EarlyCancellation(exception.outcome.value)
        facts = {"index": index + 1, "term": term.code, "when": exception.when, "outcome": outcome.value}
        record = _Record.of(Reason("exception_holds", facts, evaluator._source(term.code, "exceptions", index, "when")))
        at = evaluator._source(term.code, "exceptions", index, "outcome")
        code = self._said(outcome).code
        said = _Dated(code, term.code, at, earliest=outcome is EarlyCancellation.NOT_ALLOWED, exception=index + 1)
        variant = self.variant
        if outcome is EarlyCancellation.PENALTY:
            penalty = term.penalty
            fee = exception.fee or (penalty.fee if penalty is not None else None)
            base = penalty.pro_rata if penalty is not None else False
            pro_rata = exception.pro_rata if exception.pro_rata is not None else base
            if exception.fee is not None or exception.pro_rata is not None:  # else the term's own
                variant = evaluator._variant(term, self.settings, fee, pro_rata)
        found = self.exceptions[section] = outcome, record, variant, said
        return found


# --- the explanation's steps, worded when asked for ----------------------------------------------------


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


def _current_step(on: date, term: str, end: str) -> list[Reason]:
    return [Reason("step_current", {"date": on.isoformat(), "term": term, "end": end})]


def _days_step(remaining: int, total: int, current: Stretch, on: date) -> list[Reason]:
    facts = {
        "remaining": remaining,
        "total": total,
        "end": current.end.isoformat(),
        "date": on.isoformat(),
        "start": current.start.isoformat(),
    }
    return [Reason("step_remaining_days", facts)]


def _cycles_step(remaining: int, total: int, frequency: str, started: int, on: date) -> list[Reason]:
    facts = {"remaining": remaining, "total": total, "frequency": frequency, "started": started, "date": on.isoformat()}
    return [Reason("step_remaining_cycles", facts)]


def _fee_steps(
    maximum: str,
    share: str,
    exact: Decimal | None,
    currency: str,
    fee: str,
    rate: str,
    exact_tax: Decimal | None,
    tax: str,
    total: str,
) -> list[Reason]:
    """The fee (pro rata, or flat), and with a tax rate the tax and the total."""
    if exact is not None:
        steps = [Reason("step_fee", {"maximum": maximum, "share": share, "exact": _exact(exact, currency), "fee": fee})]
    else:
        steps = [Reason("step_fee_flat", {"fee": fee})]
    if exact_tax is not None:
        steps.append(Reason("step_tax", {"fee": fee, "rate": rate, "exact": _exact(exact_tax, currency), "tax": tax}))
        steps.append(Reason("step_total", {"fee": fee, "tax": tax, "total": total}))
    return steps


def _due_step(due: str, on: date, grace: str) -> list[Reason]:
    return [Reason("step_due", {"due": due, "date": on.isoformat(), "grace": grace})]


def _booking_step(invoice_line_type: str, ledger_account: str) -> list[Reason]:
    return [Reason("step_booking", {"invoice_line_type": invoice_line_type, "ledger_account": ledger_account})]


def _reason_step(reason: Reason) -> list[Reason]:
    return [reason]

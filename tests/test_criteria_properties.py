"""Properties of the criteria compiler.

- Differential: on generated expressions and scenarios, the compiled evaluator (negation normal
  form, shared facts, tuple sets) agrees with a small tree-walking reference interpreter kept
  here, which implements three-valued logic directly on the typed AST.
- Fuzz: any text, and any soup of the language's tokens, parses to an AST or yields a
  CriteriaError diagnostic: never another exception, never a hang.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.criteria import ast
from engine.criteria.check import check_condition
from engine.criteria.compile import CHUNK, RuleSetCompiler
from engine.criteria.environment import scenario_environment
from engine.criteria.explain import Explainer
from engine.criteria.parse import CriteriaError, parse
from engine.models.scenario import Scenario
from engine.values import Duration, Money, OutOfCalendar, TimeUnit

ENV = scenario_environment()


def locate(begin: int, end: int) -> ast.Span:
    return ast.Span("fuzz", 1, begin + 1, end + 1)


# --- the reference interpreter: Kleene logic, written independently of engine/criteria ----------


def ref_value(node: ast.Node, scenario: Any, scope: dict[str, Any]) -> Any:
    if isinstance(node, ast.Literal):
        return node.value
    if isinstance(node, ast.SetLiteral):
        return {ref_value(i, scenario, scope) for i in node.items}
    if isinstance(node, ast.Name):
        if node.id in scope:
            return scope[node.id]
        if "element" in scope and hasattr(scope["element"], node.id):
            return getattr(scope["element"], node.id)
        return getattr(scenario, node.id)
    if isinstance(node, ast.Call):  # uninterrupted(subscription, N days)
        subscription, tolerance = (ref_value(a, scenario, scope) for a in node.args)
        return None if subscription is None else _ref_uninterrupted(subscription, scenario, tolerance.days)
    if isinstance(node, ast.Attribute):
        obj = ref_value(node.obj, scenario, scope)
        if obj is None:
            return None
        if node.name == "maturity" and hasattr(obj, "status_history"):
            return _ref_uninterrupted(obj, scenario, 0)
        if node.name == "age" and hasattr(obj, "status_history"):
            end = scenario.as_of.date()
            return RefSpan(min(obj.start, end), end)
        if isinstance(obj, list):
            return [getattr(o, node.name) for o in obj]
        if isinstance(obj, datetime) and node.name == "date":
            return obj.date()
        return getattr(obj, node.name)
    if isinstance(node, ast.Aggregate):
        return _ref_aggregate(node, scenario, scope)
    if isinstance(node, ast.Arith):  # only `date ± N years` and `date - date` are generated
        day, other = ref_value(node.left, scenario, scope), ref_value(node.right, scenario, scope)
        if day is None or other is None:
            return None
        if isinstance(other, date):
            return RefSpan(other, day)
        year = day.year + (other.count if node.op == "+" else -other.count)
        if not 1 <= year <= 9999:
            return None  # outside the calendar: missing
        return day.replace(year=year, day=min(day.day, 28 if day.month == 2 and not _leap(year) else 31))
    raise AssertionError(type(node))


def _ref_aggregate(node: ast.Aggregate, scenario: Any, scope: dict[str, Any]) -> Any:
    """count/sum/min/max, with an optional `where` over the records and a projected field."""
    collection, field = node.collection, None
    if isinstance(collection, ast.Attribute) and collection.obj.type is not None and collection.obj.type.name == "list":
        collection, field = collection.obj, collection.name
    records = ref_value(collection, scenario, scope)
    if records is None:
        return None
    kept = [
        r
        for r in records
        if (node.where is None
        or ref_truth(node.where, scenario, {**scope, **({node.var: r} if node.var else {"element": r})}) is True)
        and (node.within is None or _ref_within(r.at, scenario.as_of, node.within.value))
    ]  # fmt: skip
    if node.func == "count":
        return len(kept)
    read = [getattr(r, field) if field else r for r in kept]
    if read and all(v is None for v in read):  # records, none with the value: no sum (README "Sums")
        return None
    values = [v for v in read if v is not None]
    if node.func == "sum":  # only sums of money are generated: empty = zero in the type's currency
        if not values:
            return Money(Decimal(0), node.type.currency) if node.type and node.type.currency else None
        currencies = {a.currency for a in values}
        return Money(sum((a.amount for a in values), Decimal(0)), values[0].currency) if len(currencies) == 1 else None
    if not values:
        return None
    # only min/max of date-times are generated: one without a zone is UTC among zoned ones
    return (min if node.func == "min" else max)(values, key=lambda v: v if v.tzinfo else v.replace(tzinfo=UTC))


def _ref_within(stamp: datetime, as_of: datetime, window: Duration) -> bool:
    """In (as_of - window, as_of]; a stamp and an as_of of which one has a zone compare as written."""
    if (stamp.tzinfo is None) != (as_of.tzinfo is None):
        stamp, as_of = stamp.replace(tzinfo=None), as_of.replace(tzinfo=None)
    try:
        day = window.add_to(as_of.date(), -1)
    except OutOfCalendar:
        return stamp <= as_of
    return as_of.replace(year=day.year, month=day.month, day=day.day) < stamp <= as_of


@dataclass(frozen=True)
class RefSpan:
    """`date - date`: the calendar time from `start` to `end`."""

    start: date
    end: date


def _ref_uninterrupted(subscription: Any, scenario: Any, tolerance: int) -> RefSpan:
    """Uninterrupted time at as_of: from the day after the last pause (rested or deactivated, up to
    as_of) of more than `tolerance` days, else from the start."""
    end = scenario.as_of.date()
    start = subscription.start
    for period in subscription.status_history:
        if period.status == "active" or period.from_ > end:
            continue
        last = end if period.to is None or period.to > end else period.to
        if (last - period.from_).days + 1 > tolerance and last < date.max:
            start = max(start, last + timedelta(days=1))
    return RefSpan(min(start, end), end)


def ref_sign(a: Any, b: Any) -> int | None:
    """-1/0/1 ordering two present values as the language does; None when they do not compare."""
    if isinstance(a, Money):
        if a.currency != b.currency:
            return None
        a, b = a.amount, b.amount
    elif isinstance(a, datetime):  # a date-time without a zone is UTC
        a, b = (x if x.tzinfo else x.replace(tzinfo=UTC) for x in (a, b))
    elif isinstance(a, RefSpan | Duration) or isinstance(b, RefSpan):
        return _duration_sign(a, b)
    return (a > b) - (a < b)


def _duration_sign(a: Any, b: Any) -> int | None:
    if isinstance(a, Duration) and isinstance(b, RefSpan):
        sign = _duration_sign(b, a)
        return None if sign is None else -sign
    if isinstance(a, RefSpan):
        if isinstance(b, RefSpan):
            a, b = (a.end - a.start).days, (b.end - b.start).days
            return (a > b) - (a < b)
        try:
            target = b.add_to(a.start)
        except OutOfCalendar:
            return -1
        return (a.end > target) - (a.end < target)
    months = {TimeUnit.MONTHS: 1, TimeUnit.YEARS: 12}
    days = {TimeUnit.DAYS: 1, TimeUnit.WEEKS: 7}
    if (a.unit in months) != (b.unit in months):
        return None  # months have no fixed number of days
    scale = months if a.unit in months else days
    x, y = a.count * scale[a.unit], b.count * scale[b.unit]
    return (x > y) - (x < y)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def ref_truth(node: ast.Node, scenario: Any, scope: dict[str, Any]) -> bool | None:
    if isinstance(node, ast.BoolOp):
        values = [ref_truth(o, scenario, scope) for o in node.operands]
        if node.op == "and":
            return False if False in values else (None if None in values else True)
        return True if True in values else (None if None in values else False)
    if isinstance(node, ast.Not):
        inner = ref_truth(node.operand, scenario, scope)
        return None if inner is None else not inner
    if isinstance(node, ast.Quantifier):
        items = ref_value(node.collection, scenario, scope)
        if items is None:
            return None
        values = [ref_truth(node.condition, scenario, {**scope, node.var: i}) for i in items]
        if node.kind == "any":
            return True if True in values else (None if None in values else False)
        return False if False in values else (None if None in values else True)
    if isinstance(node, ast.Literal):
        return bool(node.value)
    if isinstance(node, ast.Compare):
        a, b = ref_value(node.left, scenario, scope), ref_value(node.right, scenario, scope)
        sign = None if a is None or b is None else ref_sign(a, b)
        if sign is None:
            return None
        return {"==": sign == 0, "!=": sign != 0, "<": sign < 0, "<=": sign <= 0, ">": sign > 0, ">=": sign >= 0}[
            node.op
        ]
    if isinstance(node, ast.Between):
        v, lo, hi = (ref_value(n, scenario, scope) for n in (node.value, node.low, node.high))
        if v is None or lo is None or hi is None:
            return None
        low, high = ref_sign(v, lo), ref_sign(v, hi)
        return None if low is None or high is None else low >= 0 and high <= 0
    if isinstance(node, ast.Membership):
        item, collection = ref_value(node.item, scenario, scope), ref_value(node.collection, scenario, scope)
        if item is None or collection is None:
            return None
        if node.item.type is not None and node.item.type.name in AS_EQUALS:
            found = ref_in(item, collection)
            return None if found is None else found != node.negated
        if item in collection:
            return not node.negated
        return None if None in collection else node.negated  # a missing element: no `!=` (README)
    if isinstance(node, ast.SetRelation):
        left, right = ref_value(node.left, scenario, scope), ref_value(node.right, scenario, scope)
        if left is None or right is None:
            return None
        assert node.left.type is not None and node.left.type.elem is not None
        if node.left.type.elem.name in AS_EQUALS:
            if node.op == "overlaps":
                return _any([ref_in(x, right) for x in left])
            if isinstance(right, set | list):
                return _all([ref_in(x, left) for x in right])
            return ref_in(right, left)
        known_left = {x for x in left if x is not None}
        if node.op == "overlaps":
            if known_left & {x for x in right if x is not None}:
                return True
            return None if None in left or None in right else False
        wanted = right if isinstance(right, set) else {right}
        if any(x is not None and x not in known_left and None not in left for x in wanted):
            return False
        return None if None in wanted or None in left else True
    raise AssertionError(type(node))


#: Types whose membership compares as `==` does (three-valued): Python's equality differs there.
AS_EQUALS = ("money", "duration", "datetime")


def ref_in(item: Any, collection: Any) -> bool | None:
    """`item in collection`: `item == element` for some element, in Kleene logic."""
    return _any([None if item is None or e is None else _equal(ref_sign(item, e)) for e in collection])


def _equal(sign: int | None) -> bool | None:
    return None if sign is None else sign == 0


def _any(values: list[bool | None]) -> bool | None:
    return True if True in values else (None if None in values else False)


def _all(values: list[bool | None]) -> bool | None:
    return False if False in values else (None if None in values else True)


# --- generators --------------------------------------------------------------------------------

CLASSES = ["Residential", "SME", "Business"]
SEGMENTS = ["vip", "north", "delinquent"]
PRODUCTS = ["tv", "box", "sim"]


def _quoted(values: list[str]) -> str:
    return "{" + ", ".join(f'"{v}"' for v in values) + "}"


atoms = st.one_of(
    st.sampled_from(CLASSES).map(lambda c: f'account.classification == "{c}"'),
    st.lists(st.sampled_from(CLASSES), min_size=1, max_size=2, unique=True).map(
        lambda v: f"account.classification in {_quoted(v)}"
    ),
    st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=2, unique=True).map(
        lambda v: f"account.segments overlaps {_quoted(v)}"
    ),
    st.sampled_from(SEGMENTS).map(lambda s: f'account.segments contains "{s}"'),
    st.tuples(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), st.integers(0, 5)).map(
        lambda t: f"subscription.concurrent_usage {t[0]} {t[1]}"
    ),
    st.tuples(st.integers(0, 3), st.integers(2, 5)).map(
        lambda t: f"subscription.concurrent_usage between {t[0]} and {t[1]}"
    ),
    st.sampled_from(["2014-06-01", "2015-01-01", "2015-06-01"]).map(lambda d: f"subscription.start >= {d}"),
    st.tuples(
        st.sampled_from(["termed", "expense"]), st.lists(st.sampled_from(PRODUCTS), min_size=1, max_size=2, unique=True)
    ).map(lambda t: f'any p in subscription.products where p.type == "{t[0]}" and p.product in {_quoted(t[1])}'),
    st.sampled_from(PRODUCTS).map(lambda p: f'all p in subscription.products where p.product != "{p}"'),
    st.sampled_from(["b1", "b2"]).map(lambda b: f'any p in subscription.products where p.bundle == "{b}"'),
    st.integers(0, 3).map(lambda n: f'count(usage where device == "STB") >= {n}'),
    st.tuples(st.sampled_from(["<", ">=", "==", "!="]), st.integers(0, 6), st.sampled_from(["EUR", "USD"])).map(
        lambda t: f"sum(usage.amount) {t[0]} {t[1]} {t[2]}"
    ),
    st.tuples(st.sampled_from(["+", "-"]), st.sampled_from([1, 10, 5000, 9000]), st.sampled_from(["<", ">="])).map(
        lambda t: f"subscription.start {t[0]} {t[1]} years {t[2]} 2015-06-01"
    ),
)

AMOUNTS = ["1.50 EUR", "2.00 EUR", "1 USD"]


def _currency(money: str) -> str:
    return money.split()[-1]


MOMENTS = [
    "2015-05-31T23:00:00Z",
    "2015-06-01T10:00:00Z",
    "2015-06-01T12:00:00+02:00",  # the same instant, written three ways
    "2015-06-01T10:00:00",
    "2015-06-01T11:00:00",
    "2015-06-15T10:00:00Z",  # as_of, some of the time
]
DURATIONS = ["3 days", "2 weeks", "14 days", "1 month", "3 months", "12 weeks", "1 year", "12 months"]
ORDER = ["<", "<=", ">", ">=", "==", "!="]

#: Money, duration and date-time conditions compile to `:=` temporaries; aggregates with a `where`
#: nest generators (with temporaries of their own) inside them, also twice over (a quantifier around
#: an aggregate). A temporary reused while an outer one is still live would give a wrong answer here.
nested_atoms = st.one_of(
    st.tuples(st.sampled_from(AMOUNTS), st.sampled_from(["STB", "phone"]), st.sampled_from(MOMENTS)).map(
        lambda t: (
            f"max(u in usage.at where u.amount >= {t[0]}) between"
            f' min(u in usage.at where u.device == "{t[1]}") and {t[2]}'
        )
    ),
    st.tuples(st.sampled_from(["STB", "phone"]), st.sampled_from(AMOUNTS), st.sampled_from(AMOUNTS))
    .filter(lambda t: _currency(t[1]) == _currency(t[2]))  # (bounds of two currencies: BR503)
    .map(
        lambda t: (
            f'sum(u in usage.amount where u.device == "{t[0]}") between'
            f" sum(u in usage.amount where u.amount <= {t[1]}) and {t[2]}"
        )
    ),
    st.tuples(st.sampled_from(AMOUNTS), st.sampled_from(ORDER), st.sampled_from(MOMENTS)).map(
        lambda t: f"max(u in usage.at where u.amount > {t[0]}) {t[1]} {t[2]}"
    ),
    st.tuples(st.sampled_from(["STB", "phone"]), st.sampled_from(ORDER), st.sampled_from(AMOUNTS)).map(
        lambda t: (
            f'sum(u in usage.amount where u.device == "{t[0]}") {t[1]} sum(u in usage.amount where u.amount >= {t[2]})'
        )
    ),
    st.tuples(st.sampled_from(["STB", "phone"]), st.sampled_from(DURATIONS), st.sampled_from(DURATIONS)).map(
        lambda t: f'as_of.date - max(u in usage.at where u.device == "{t[0]}").date between {t[1]} and {t[2]}'
    ),
    st.tuples(st.sampled_from(ORDER), st.sampled_from(DURATIONS)).map(
        lambda t: f"as_of.date - subscription.start {t[0]} {t[1]}"
    ),
    st.tuples(st.sampled_from(DURATIONS), st.sampled_from(DURATIONS)).map(
        lambda t: f"subscription.binding_period between {t[0]} and {t[1]}"
    ),
    st.tuples(st.sampled_from(ORDER), st.sampled_from(DURATIONS)).map(
        lambda t: f"subscription.binding_period {t[0]} {t[1]}"
    ),
    st.tuples(st.sampled_from(["any", "all"]), st.sampled_from(AMOUNTS)).map(
        lambda t: (
            f"{t[0]} v in usage where v.at between min(x in usage.at where x.amount >= {t[1]})"
            " and max(x in usage.at where x.device == v.device)"
        )
    ),
    st.tuples(st.sampled_from(AMOUNTS), st.sampled_from(AMOUNTS))
    .filter(lambda t: _currency(t[0]) == _currency(t[1]))
    .map(
        lambda t: (
            f"any v in usage where v.amount between {t[0]} and {t[1]}"
            " and sum(x in usage.amount where x.at <= v.at) >= v.amount"
        )
    ),
)


def _set(values: list[str]) -> str:
    return "{" + ", ".join(values) + "}"


def _subset(pool: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True).map(_set)


NOT = st.sampled_from(["", "not "])
EUROS = ["1.50 EUR", "2.00 EUR", "3 EUR", "1.5 EUR"]

#: Membership and set relations on money, durations and date-times: equal as `==` says
#: (`14 days in {2 weeks}`, a naive date-time and the zoned one of the same instant), unknown where
#: `==` is (another currency, months against days, a missing element).
membership_atoms = st.one_of(
    st.tuples(NOT, st.sampled_from(["in", "not in"]), _subset(DURATIONS)).map(
        lambda t: f"{t[0]}subscription.binding_period {t[1]} {t[2]}"
    ),
    st.tuples(st.sampled_from(["in", "not in"]), _subset(DURATIONS)).map(
        lambda t: f"(as_of.date - subscription.start) {t[0]} {t[1]}"
    ),
    st.tuples(NOT, st.sampled_from(["in", "not in"]), _subset(MOMENTS)).map(lambda t: f"{t[0]}as_of {t[1]} {t[2]}"),
    st.tuples(NOT, _subset(MOMENTS)).map(lambda t: f"{t[0]}usage.at overlaps {t[1]}"),
    st.tuples(NOT, st.one_of(_subset(MOMENTS), st.sampled_from(MOMENTS))).map(
        lambda t: f"{t[0]}usage.at contains {t[1]}"
    ),
    st.tuples(NOT, _subset(EUROS)).map(lambda t: f"{t[0]}usage.amount overlaps {t[1]}"),
    st.tuples(NOT, st.sampled_from(AMOUNTS)).map(lambda t: f"{t[0]}usage.amount contains {t[1]}"),
    st.tuples(st.sampled_from(AMOUNTS), st.sampled_from(["in", "not in"])).map(lambda t: f"{t[0]} {t[1]} usage.amount"),
    st.tuples(st.sampled_from(AMOUNTS), st.sampled_from(["in", "not in"]), _subset(MOMENTS)).map(
        lambda t: f"max(u in usage.at where u.amount >= {t[0]}) {t[1]} {t[2]}"
    ),
    st.tuples(NOT, _subset(MOMENTS), st.sampled_from(["STB", "phone"])).map(
        lambda t: f'{t[0]}any u in usage where u.at in {t[1]} and u.device == "{t[2]}"'
    ),
    st.tuples(NOT, st.sampled_from(MOMENTS)).map(lambda t: f"{t[0]}any u in usage where u.at == {t[1]}"),
    st.tuples(NOT, st.sampled_from(ORDER), st.sampled_from(MOMENTS)).map(
        lambda t: f"{t[0]}min(usage.at) {t[1]} {t[2]}"
    ),
)


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(["and", "or"]), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        children.map(lambda c: f"not ({c})"),
    )


expressions = st.recursive(atoms, _combine, max_leaves=6)

product_lines = st.lists(
    st.fixed_dictionaries(
        {"product": st.sampled_from(PRODUCTS)},
        optional={"type": st.sampled_from(["termed", "expense"]), "bundle": st.sampled_from(["b1", "b2"])},
    ),
    max_size=3,
)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    data: dict[str, Any] = {"id": "g", "as_of": "2015-06-15T10:00:00Z"}
    if draw(st.booleans()):
        account: dict[str, Any] = {
            "code": "A",
            "segments": draw(st.lists(st.sampled_from(SEGMENTS), unique=True, max_size=2)),
        }
        if draw(st.booleans()):
            account["classification"] = draw(st.sampled_from(CLASSES))
        data["account"] = account
    if draw(st.booleans()):
        subscription: dict[str, Any] = {
            "code": "S",
            "start": draw(
                st.one_of(
                    st.dates(date(2014, 1, 1), date(2015, 12, 31)),
                    st.sampled_from([date(1, 1, 1), date(2016, 2, 29), date(9990, 6, 30), date(9999, 12, 31)]),
                )
            ).isoformat(),
            "products": draw(product_lines),
        }
        if draw(st.booleans()):
            subscription["concurrent_usage"] = draw(st.integers(0, 5))
        if draw(st.booleans()):
            subscription["binding_period"] = draw(st.sampled_from(["14 days", "2 weeks", "3 months", "1 year"]))
        data["subscription"] = subscription
    if draw(st.booleans()):
        data["as_of"] = draw(st.sampled_from(["2015-06-15T10:00:00", "2015-06-15T12:00:00+02:00"]))
    data["usage"] = [
        {"at": f"2015-{at}{zone}", "device": d, **({"amount": a} if a else {})}
        for d, a, at, zone in draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["STB", "phone"]),
                    st.sampled_from([None, "1.50 EUR", "2.00 EUR", "1 USD"]),
                    st.sampled_from(["06-01T10:00:00", "06-01T11:00:00", "05-31T23:30:00", "06-14T09:00:00"]),
                    st.sampled_from(["Z", "+01:00", ""]),  # naive and zoned ones mixed
                ),
                max_size=4,
            )
        )
    ]
    return Scenario.model_validate(data)


def _agrees(texts: list[str], cases: list[Scenario], chunk: int = CHUNK) -> None:
    nodes = [check_condition(parse(text, locate), ENV) for text in texts]
    compiler = RuleSetCompiler(ENV)
    for node in nodes:
        compiler.add(node)  # compiled together: shared facts and hoisted atoms are exercised
    evaluate = compiler.build(chunk).function
    for scenario in cases:
        got = evaluate(scenario)
        assert got == evaluate(scenario)  # deterministic
        for text, node, value in zip(texts, nodes, got, strict=True):
            expected = ref_truth(node, scenario, {})
            assert value == (expected is True), text
            assert Explainer(ENV, scenario).explain(node) == expected, text  # three-valued


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(expressions, min_size=1, max_size=4),
    st.lists(scenarios(), min_size=1, max_size=3),
    st.sampled_from([CHUNK, 1, 3]),  # small: the rules split into several functions
)
def test_compiled_evaluator_agrees_with_reference_interpreter(
    texts: list[str], cases: list[Scenario], chunk: int
) -> None:
    _agrees(texts, cases, chunk)


def _within_nesting(text: str) -> bool:
    """Whether the checker accepts the text's nesting: `_combine` may wrap an atom that nests two
    quantifiers or aggregates in two more, past `check.MAX_NESTING` (refused, as a rule file's
    would be: not what these tests are about)."""
    try:
        check_condition(parse(text, locate), ENV)
    except CriteriaError as exc:
        if "they nest at most" in str(exc):
            return False
        raise
    return True


# in parentheses: a `where` extends as far as it can, and would take in what `_combine` adds
nested_expressions = st.recursive(st.one_of(nested_atoms.map("({})".format), atoms), _combine, max_leaves=6).filter(
    _within_nesting
)
membership_expressions = st.recursive(
    st.one_of(membership_atoms, nested_atoms).map("({})".format), _combine, max_leaves=4
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(nested_expressions, min_size=1, max_size=4),
    st.lists(scenarios(), min_size=1, max_size=3),
    st.sampled_from([CHUNK, 2]),
)
def test_temporaries_of_nested_conditions_are_not_clobbered(
    texts: list[str], cases: list[Scenario], chunk: int
) -> None:
    """Money, duration and date-time comparisons around aggregates and quantifiers, several a rule."""
    _agrees(texts, cases, chunk)


CLOBBER = Scenario.model_validate(
    {
        "id": "c",
        "as_of": "2015-06-15T10:00:00Z",
        "usage": [
            {"at": "2015-06-01T10:00:00Z", "device": "STB", "amount": "2.00 EUR"},
            {"at": "2015-06-10T10:00:00Z", "device": "phone", "amount": "1.50 EUR"},
        ],
    }
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the value is bound to a temporary, then the bounds' aggregates run their own conditions
        (
            'max(u in usage.at where u.amount >= 2 EUR) between min(u in usage.at where u.device == "STB") and as_of',
            True,
        ),
        (
            'max(u in usage.at where u.amount >= 2 EUR) between min(u in usage.at where u.device == "phone") and as_of',
            False,
        ),
        (
            'sum(u in usage.amount where u.device == "STB") between sum(u in usage.amount where u.amount <= 2 EUR) and 4 EUR',
            False,
        ),
        (
            'sum(u in usage.amount where u.device == "STB") between sum(u in usage.amount where u.amount <= 1.5 EUR) and 2 EUR',
            True,
        ),
        # one level deeper: the quantifier's own temporaries around the aggregates'
        (
            "any v in usage where v.at between min(x in usage.at where x.amount >= 2 EUR) and max(x in usage.at where x.device == v.device)",
            True,
        ),
        (
            "all v in usage where v.at between min(x in usage.at where x.amount >= 2 EUR) and max(x in usage.at where x.device == v.device)",
            True,
        ),
        (
            'any v in usage where v.at between min(x in usage.at where x.amount <= 1.5 EUR) and max(x in usage.at where x.device == "STB")',
            False,
        ),
        ('as_of.date - max(u in usage.at where u.device == "STB").date between 2 weeks and 1 month', True),
        ('as_of.date - max(u in usage.at where u.device == "phone").date between 2 weeks and 1 month', False),
    ],
)
def test_a_value_bound_before_nested_aggregates_keeps_its_value(text: str, expected: bool) -> None:
    """Each alone, and all in one function several times over (shared and split), as `==` would say."""
    node = check_condition(parse(text, locate), ENV)
    assert ref_truth(node, CLOBBER, {}) is expected
    for chunk in (CHUNK, 1):
        compiler = RuleSetCompiler(ENV)
        for _ in range(3):
            compiler.add(node)
        assert compiler.build(chunk).function(CLOBBER) == (expected,) * 3


# --- fuzzing the parser ---------------------------------------------------------------------------

TOKENS = [
    "and",
    "or",
    "not",
    "in",
    "between",
    "overlaps",
    "contains",
    "any",
    "all",
    "where",
    "within",
    "count(",
    "sum(",
    "(",
    ")",
    "{",
    "}",
    ",",
    ".",
    "==",
    "!=",
    "<",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "=",
    "&&",
    "[",
    "]",
    "account",
    "classification",
    "subscription",
    "products",
    "p",
    "x",
    "usage",
    "as_of",
    '"SME"',
    "'x'",
    '"unclosed',
    "20.00 EUR",
    "15%",
    "6 months",
    "2015-12-31",
    "2015-02-30",
    "2015-06-15T10:00:00Z",
    "22:00",
    "saturday",
    "true",
    "false",
    "3",
    "2.5",
    "-",
    "#",
    "\n",
    "€",
    "Ω",
    "EUR",
]


def _parses_or_diagnoses(text: str) -> None:
    try:
        node = parse(text, locate)
    except CriteriaError as exc:
        assert exc.diagnostic.code.startswith("BR5")
        assert exc.diagnostic.message
        return
    assert isinstance(node, ast.Node)
    try:
        check_condition(node, ENV)
    except CriteriaError as exc:
        assert exc.diagnostic.code.startswith("BR5")


@settings(max_examples=400, deadline=500)
@given(st.text(max_size=200))
def test_arbitrary_text_parses_or_gives_a_diagnostic(text: str) -> None:
    _parses_or_diagnoses(text)


@settings(max_examples=400, deadline=500)
@given(st.lists(st.sampled_from(TOKENS), max_size=30))
def test_token_soup_parses_or_gives_a_diagnostic(tokens: list[str]) -> None:
    _parses_or_diagnoses(" ".join(tokens))


def test_deep_nesting_is_refused_with_a_diagnostic() -> None:
    for text in ("not " * 5000 + "true", "(" * 5000 + "true" + ")" * 5000, "a and (" * 3000 + "b" + ")" * 3000):
        try:
            node = parse(text, locate)
        except CriteriaError as exc:
            assert exc.diagnostic.code == "BR504"
        else:  # parentheses alone add no depth: such an expression is simply `true`
            assert isinstance(node, ast.Literal)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(membership_expressions, min_size=1, max_size=4), st.lists(scenarios(), min_size=1, max_size=3))
def test_membership_compares_as_equality_does(texts: list[str], cases: list[Scenario]) -> None:
    """`in`, `overlaps`, `contains` on money, durations and date-times, compiled and explained."""
    _agrees(texts, cases)

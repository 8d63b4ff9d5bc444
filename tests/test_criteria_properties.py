"""Properties of the criteria compiler.

- Differential: on generated expressions and scenarios, the compiled evaluator (negation normal
  form, shared facts, tuple sets) agrees with a small tree-walking reference interpreter kept
  here, which implements three-valued logic directly on the typed AST.
- Fuzz: any text, and any soup of the language's tokens, parses to an AST or yields a
  CriteriaError diagnostic: never another exception, never a hang.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.criteria import ast
from engine.criteria.check import check_condition
from engine.criteria.compile import RuleSetCompiler
from engine.criteria.environment import scenario_environment
from engine.criteria.parse import CriteriaError, parse
from engine.models.scenario import Scenario
from engine.values import Money

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
    if isinstance(node, ast.Attribute):
        obj = ref_value(node.obj, scenario, scope)
        if obj is None:
            return None
        if isinstance(obj, list):
            return [getattr(o, node.name) for o in obj]
        return getattr(obj, node.name)
    if isinstance(node, ast.Aggregate):
        items = ref_value(node.collection, scenario, scope)
        if items is None:
            return None
        if node.func == "sum":  # only `sum(usage.amount)` is generated: money, empty = zero in the type's currency
            amounts = [i for i in items if i is not None]
            if not amounts:
                return Money(Decimal(0), node.type.currency) if node.type and node.type.currency else None
            currencies = {a.currency for a in amounts}
            return (
                Money(sum((a.amount for a in amounts), Decimal(0)), amounts[0].currency)
                if len(currencies) == 1
                else None
            )
        kept = [
            i for i in items if node.where is None or ref_truth(node.where, scenario, {**scope, "element": i}) is True
        ]
        return len(kept)
    if isinstance(node, ast.Arith):  # only `date ± N years` is generated
        day, years = ref_value(node.left, scenario, scope), ref_value(node.right, scenario, scope)
        if day is None:
            return None
        year = day.year + (years.count if node.op == "+" else -years.count)
        if not 1 <= year <= 9999:
            return None  # outside the calendar: missing
        return day.replace(year=year, day=min(day.day, 28 if day.month == 2 and not _leap(year) else 31))
    raise AssertionError(type(node))


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
        if a is None or b is None:
            return None
        if isinstance(a, Money):
            if a.currency != b.currency:
                return None
            a, b = a.amount, b.amount
        return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node.op]
    if isinstance(node, ast.Between):
        v, lo, hi = (ref_value(n, scenario, scope) for n in (node.value, node.low, node.high))
        return None if v is None else lo <= v <= hi
    if isinstance(node, ast.Membership):
        item, collection = ref_value(node.item, scenario, scope), ref_value(node.collection, scenario, scope)
        if item is None or collection is None:
            return None
        return (item in collection) != node.negated
    if isinstance(node, ast.SetRelation):
        left, right = ref_value(node.left, scenario, scope), ref_value(node.right, scenario, scope)
        if left is None or right is None:
            return None
        if node.op == "overlaps":
            return bool(set(left) & set(right))
        return set(right) <= set(left) if isinstance(right, set) else right in left
    raise AssertionError(type(node))


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
        data["subscription"] = subscription
    data["usage"] = [
        {"at": "2015-06-01T10:00:00Z", "device": d, **({"amount": a} if a else {})}
        for d, a in draw(
            st.lists(
                st.tuples(st.sampled_from(["STB", "phone"]), st.sampled_from([None, "1.50 EUR", "2.00 EUR", "1 USD"])),
                max_size=4,
            )
        )
    ]
    return Scenario.model_validate(data)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(expressions, min_size=1, max_size=4), st.lists(scenarios(), min_size=1, max_size=3))
def test_compiled_evaluator_agrees_with_reference_interpreter(texts: list[str], cases: list[Scenario]) -> None:
    nodes = [check_condition(parse(text, locate), ENV) for text in texts]
    compiler = RuleSetCompiler(ENV)
    for node in nodes:
        compiler.add(node)  # compiled together: shared facts and hoisted atoms are exercised
    evaluate = compiler.build().function
    for scenario in cases:
        got = evaluate(scenario)
        assert got == evaluate(scenario)  # deterministic
        for text, node, value in zip(texts, nodes, got, strict=True):
            assert value == (ref_truth(node, scenario, {}) is True), text


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

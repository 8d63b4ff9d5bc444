"""Quantifiers and aggregates over short lists agree with the reference interpreter.

The compiled evaluator takes an empty list and a list of one element without a generator
(`_small_lists`: `all` of nothing is true, `any` false, one element is the body with the
element bound to `_q{depth}`), and an aggregate of an empty list without its comprehension or
its window's bounds (count and sum 0, the money sum's zero, min and max missing). Checked here
against the reference interpreter of `test_criteria_properties` (written independently) and the
explaining interpreter, on lists of none, one and several elements, with the quantifiers negated,
nested (an inner one reading the outer element, two at one depth) and around aggregates.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.criteria.check import check_condition
from engine.criteria.compile import CHUNK, RuleSetCompiler
from engine.criteria.environment import scenario_environment
from engine.criteria.explain import Explainer
from engine.criteria.parse import parse
from engine.models.scenario import Scenario
from tests.test_criteria_properties import PRODUCTS, _combine, locate, ref_truth

ENV = scenario_environment()

QUANTIFIED = [
    'all p in subscription.products where p.product != "tv"',
    'any p in subscription.products where p.bundle == "b1"',
    'any p in subscription.products where p.bundle == "b1" or p.type == "termed"',
    'all p in subscription.products where p.type == "termed" or p.bundle != "b2"',
    # nested: the inner quantifier reads the outer element; two quantifiers at one depth
    'any p in subscription.products where p.bundle == "b1" and'
    ' (any q in subscription.products where q.product != p.product and q.bundle == "b2")',
    "all p in subscription.products where (all q in subscription.products where q.product == p.product)"
    ' or (any q in subscription.products where q.type == "expense")',
    'all u in usage where u.amount >= 1.50 EUR or u.device == "STB"',
    'any u in usage where u.device == "phone" and count(v in usage where v.device == u.device) >= 2',
    "any u in usage where (all v in usage where v.at <= u.at)",
    'any s in account.segments where s == "retail"',
    'all s in account.segments where s != "retail"',
]
AGGREGATED = [
    'count(usage where device == "STB") == 0',
    'count(u in usage where u.device == "phone" within 14 days) >= 1',
    "count(usage within 1 month) < 2",
    "sum(usage.amount) == 0.00 EUR",
    'sum(u in usage.amount where u.device == "STB") >= 1.50 EUR',
    "min(usage.at) <= 2015-06-01T10:00:00Z",
    "max(u in usage.at where u.amount >= 1.50 EUR) > 2015-05-31T23:00:00Z",
]

atoms = st.sampled_from(QUANTIFIED + AGGREGATED)
expressions = st.recursive(atoms.map("({})".format), _combine, max_leaves=4)  # `where` reaches right

SEGMENTS = ["retail", "b2b"]
USAGE = [
    {"at": "2015-06-01T10:00:00Z", "device": "STB", "amount": "1.50 EUR"},
    {"at": "2015-06-14T09:00:00+01:00", "device": "phone"},
    {"at": "2015-05-31T23:30:00", "device": "phone", "amount": "2.00 EUR"},
    {"at": "2015-04-01T10:00:00Z", "device": "STB", "amount": "1 USD"},
]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """Lists of none, one or a few elements (the fast paths' three cases), some of them missing."""
    data: dict[str, Any] = {"id": "l", "as_of": draw(st.sampled_from(["2015-06-15T10:00:00Z", "2015-06-15T10:00:00"]))}
    if draw(st.integers(0, 3)):
        data["account"] = {"code": "A", "segments": draw(st.lists(st.sampled_from(SEGMENTS), unique=True, max_size=2))}
    if draw(st.integers(0, 3)):
        products = [
            {
                "product": draw(st.sampled_from(PRODUCTS)),
                **({"type": draw(st.sampled_from(["termed", "expense"]))} if draw(st.booleans()) else {}),
                **({"bundle": draw(st.sampled_from(["b1", "b2"]))} if draw(st.booleans()) else {}),
            }
            for _ in range(draw(st.sampled_from([0, 1, 1, 2, 3])))
        ]
        data["subscription"] = {"code": "S", "start": "2015-01-01", "products": products}
    data["usage"] = draw(st.lists(st.sampled_from(USAGE), max_size=3))
    return Scenario.model_validate(data)


def _compiled(texts: list[str], chunk: int = CHUNK) -> tuple[list[Any], Any]:
    nodes = [check_condition(parse(text, locate), ENV) for text in texts]
    compiler = RuleSetCompiler(ENV)
    for node in nodes:
        compiler.add(node)
    return nodes, compiler.build(chunk)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(expressions, min_size=1, max_size=4), st.lists(scenarios(), min_size=1, max_size=3))
def test_short_lists_agree_with_the_reference_interpreter(texts: list[str], cases: list[Scenario]) -> None:
    nodes, rules = _compiled(texts)
    live = rules.mask(range(len(texts)))
    for scenario in cases:
        got = rules.function(scenario)
        assert rules.masked_function(scenario, live) == got
        for text, node, value in zip(texts, nodes, got, strict=True):
            expected = ref_truth(node, scenario, {})
            assert value is (expected is True), (text, scenario)  # a boolean, as from `all`/`any`
            assert Explainer(ENV, scenario).explain(node) == expected, text


def test_each_condition_on_lists_of_every_length() -> None:
    """Every condition above on each list length, with the lists' elements all of one kind and mixed."""
    cases = []
    for count in range(4):
        products = [{"product": PRODUCTS[i % len(PRODUCTS)], "bundle": "b1" if i else "b2"} for i in range(count)]
        usage = USAGE[:count]
        segments = SEGMENTS[:count]
        cases.append(
            Scenario.model_validate(
                {
                    "id": f"n{count}",
                    "as_of": "2015-06-15T10:00:00Z",
                    "account": {"code": "A", "segments": segments},
                    "subscription": {"code": "S", "start": "2015-01-01", "products": products},
                    "usage": usage,
                }
            )
        )
    texts = QUANTIFIED + AGGREGATED + [f"not ({text})" for text in QUANTIFIED + AGGREGATED]
    nodes, rules = _compiled(texts)
    for scenario in cases:
        for text, node, value in zip(texts, nodes, rules.function(scenario), strict=True):
            expected = ref_truth(node, scenario, {})
            assert value is (expected is True), (text, scenario.id)


def test_the_short_list_forms_are_the_ones_generated() -> None:
    _, rules = _compiled(QUANTIFIED + AGGREGATED)
    source = rules.source
    assert source.count("if len(f") >= len(QUANTIFIED) - 2  # the fast path of every quantifier over a fact
    assert re.search(r"\(_q1 := f[0-9]+\[0\]\) is _q1", source)  # a nested one, a name of its own
    assert re.search(r"\(0 if not f[0-9]+ else \(_w[0-9] := ", source)  # no window bounds for no usage
    assert re.search(r"\(None if not f[0-9]+ else _agg\(", source)  # min and max of nothing

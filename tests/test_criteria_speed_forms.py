"""The evaluator's shared per-scenario facts agree with the straightforward computation.

- `uninterrupted_ordinals` (every span start of a subscription in one walk of its status history)
  equals `uninterrupted_start` tolerance by tolerance, and `age` for `AGE`: generated histories
  of several periods, out of order, open-ended, up to 9999-12-31, empty; tolerance 0.
- Conditions whose compiled form changed (no not-missing guard on `==` and `in` against literals;
  money and duration `between` literals without the sign helper; `any p in … where p.price >= …`
  as the largest or smallest amount in the currency) against the reference interpreter of
  `test_criteria_properties` and the explaining interpreter, on scenarios with missing fields,
  another currency, durations of both families.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.criteria import ast, runtime
from engine.criteria.check import check_condition
from engine.criteria.compile import CompiledRules, RuleSetCompiler
from engine.criteria.environment import (
    AGE,
    Tolerances,
    scenario_environment,
    span_start,
    uninterrupted_ordinals,
    uninterrupted_start,
)
from engine.criteria.explain import Explainer
from engine.criteria.parse import parse
from engine.models.scenario import Scenario
from engine.values import Duration
from tests.test_criteria_compiled_forms import ENDS, _combine, _reference
from tests.test_criteria_properties import locate

ENV = scenario_environment()

EDGES = [*ENDS, date(2024, 2, 28), date(2023, 12, 31), date(9999, 12, 30)]  # month and calendar ends, leap days
DAYS = st.sampled_from(EDGES) | st.dates(date(2020, 1, 1), date(2025, 12, 31))
TOLERANCES = st.lists(st.sampled_from([0, 1, 7, 14, 30, 365, AGE]) | st.integers(0, 60), min_size=1, max_size=6)


@st.composite
def histories(draw: st.DrawFn) -> Scenario:
    as_of = draw(DAYS)
    start = draw(DAYS)
    periods = []
    for _ in range(draw(st.integers(0, 5))):  # in any order: the schema says oldest first, nothing checks it
        first = draw(DAYS)
        period = {"status": draw(st.sampled_from(["active", "rested", "deactivated"])), "from": first.isoformat()}
        if draw(st.booleans()):
            last = date.fromordinal(min(first.toordinal() + draw(st.integers(0, 90)), date.max.toordinal()))
            period["to"] = draw(st.sampled_from([last, date.max])).isoformat()
        periods.append(period)
    subscription = {"code": "S", "start": start.isoformat(), "status_history": periods}
    return Scenario.model_validate({"id": "h", "as_of": f"{as_of.isoformat()}T12:00:00Z", "subscription": subscription})


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), TOLERANCES)
def test_every_span_start_in_one_walk_equals_each_computed_alone(scenario: Scenario, allowed: list[int]) -> None:
    tolerances = Tolerances()
    positions = [tolerances.position(a) for a in allowed]
    starts = uninterrupted_ordinals(scenario.subscription, tolerances, scenario)
    assert len(starts) == len(tolerances)
    for a, position in zip(allowed, positions, strict=True):
        assert tolerances[position] == a
        expected = uninterrupted_start(scenario.subscription, _Days(a), scenario.as_of.date()).toordinal()
        assert starts[position] == expected, a
        if a == AGE:
            assert starts[position] == span_start("age", scenario.subscription, None, scenario)
    no_subscription = scenario.model_copy(update={"subscription": None})
    assert uninterrupted_ordinals(None, tolerances, no_subscription) == (None,) * len(tolerances)


def _compiled(texts: list[str]) -> tuple[list[ast.Node], CompiledRules]:
    """The typed conditions and the rule set's evaluator of them."""
    nodes = [check_condition(parse(text, locate), ENV) for text in texts]
    compiler = RuleSetCompiler(ENV)
    for node in nodes:
        compiler.add(node)
    return nodes, compiler.build()


def compiled_and_explained(texts: list[str], cases: list[Scenario]) -> Iterator[tuple[str, Scenario, bool, Any]]:
    """Each condition's compiled outcome next to the explaining interpreter's, scenario by scenario."""
    nodes, rules = _compiled(texts)
    for scenario in cases:
        for text, node, value in zip(texts, nodes, rules.function(scenario), strict=True):
            yield text, scenario, value, Explainer(ENV, scenario).explain(node)


class _Days:
    """A tolerance of `days` days, as `uninterrupted_start` reads a duration."""

    def __init__(self, days: int) -> None:
        self.days = days


# --- compiled forms against the reference interpreter -------------------------------------------------------

OPS = ["<", "<=", ">", ">=", "==", "!="]
MONEY = ["2.00 EUR", "1.5 EUR", "3 USD", "0 EUR", "40 EUR"]
DURATION_LITERALS = ["14 days", "2 weeks", "1 month", "6 months", "1 year", "12 months", "30 days"]

COUNTED = [  # counts and number sums with a `where` and a window, the element named or implicit
    'count(u in usage where u.service == "data" within 14 days)',
    'count(usage where service == "voice" within 1 month)',
    'count(u in usage where "data" == u.service within 1 month)',
    'sum(u in usage.quantity where "voice" == u.service within 14 days)',
]

atoms = st.one_of(
    st.tuples(
        st.sampled_from(["binding_period", "buy_in_advance"]),
        st.sampled_from(DURATION_LITERALS),
        st.sampled_from(DURATION_LITERALS),
    ).map(lambda t: f"subscription.{t[0]} between {t[1]} and {t[2]}"),
    st.tuples(st.sampled_from(MONEY), st.sampled_from(MONEY))
    .filter(lambda t: t[0].split()[-1] == t[1].split()[-1])  # (bounds of two currencies: BR503)
    .map(lambda t: f"any p in subscription.products where p.price between {t[0]} and {t[1]}"),
    st.tuples(st.sampled_from(OPS), st.sampled_from(MONEY)).map(
        lambda t: f"any p in subscription.products where p.price {t[0]} {t[1]}"
    ),
    st.tuples(st.sampled_from(OPS), st.sampled_from(MONEY)).map(
        lambda t: f"any p in subscription.products where {t[1]} {t[0]} p.price"  # the literal on the left
    ),
    st.tuples(st.sampled_from(['"termed"', '"usage"']), st.sampled_from(OPS), st.sampled_from(MONEY)).map(
        lambda t: f"any p in subscription.products where p.type == {t[0]} and p.price {t[1]} {t[2]}"
    ),
    st.tuples(st.sampled_from(OPS), st.sampled_from(MONEY)).map(
        lambda t: f'any p in subscription.products where p.product in {{"a", "b"}} and p.price {t[0]} {t[1]}'
    ),
    st.sampled_from(['"tv"', '"mobile"']).map(lambda v: f"subscription.type == {v}"),
    st.sampled_from(['"tv"', '"mobile"']).map(lambda v: f"{v} == subscription.type"),
    st.sampled_from(['{"tv"}', '{"tv", "mobile"}']).map(lambda v: f"subscription.type in {v}"),
    st.sampled_from(['{"tv"}', '{"tv", "mobile"}']).map(lambda v: f"subscription.type not in {v}"),
    st.tuples(st.sampled_from(['"data"', '"voice"']), st.sampled_from(OPS), st.sampled_from(["0", "2", "3.5"])).map(
        lambda t: f"sum(u in usage.quantity where u.service == {t[0]} within 1 month) {t[1]} {t[2]}"
    ),
    st.tuples(st.sampled_from(OPS), st.sampled_from(["0", "1", "4"])).map(
        lambda t: f"sum(u in usage.quantity within 14 days) {t[0]} {t[1]}"
    ),
    st.tuples(st.sampled_from(COUNTED), st.sampled_from(OPS), st.sampled_from(["0", "1", "2"])).map(
        lambda t: f"{t[0]} {t[1]} {t[2]}"
    ),
    st.sampled_from(['"SME"', '"Business"']).map(lambda v: f"account.classification == {v}"),
)
expressions = st.recursive(atoms.map("({})".format), _combine, max_leaves=4)

STAMPS = [  # around the windows' starts (2024-01-29 and 2024-02-15) and `as_of`, naive and zoned
    "2024-02-14T10:00:00Z",
    "2024-02-15T10:00:00Z",
    "2024-01-29T10:00:00Z",
    "2024-01-29T10:00:01",
    "2024-02-29T10:00:00+01:00",
    "2024-02-29T10:00:01Z",
    "2023-12-01T00:00:00Z",
]
PRICES = ["2.00 EUR", "1.50 EUR", "3 USD", "40.00 EUR", "0.00 EUR", "2 EUR"]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    data: dict[str, Any] = {"id": "c", "as_of": "2024-02-29T10:00:00Z"}
    if draw(st.booleans()):
        classification = draw(st.sampled_from(["SME", "Residential", None]))
        data["account"] = {"code": "A"} | ({"classification": classification} if classification else {})
    if draw(st.integers(0, 5)):
        sub: dict[str, Any] = {"code": "S", "start": "2020-01-31"}
        if draw(st.booleans()):
            sub["type"] = draw(st.sampled_from(["tv", "mobile", "landline"]))
        for name in ("binding_period", "buy_in_advance"):
            if draw(st.booleans()):
                sub[name] = draw(st.sampled_from(["14 days", "2 weeks", "6 months", "1 year", "12 months", "3 weeks"]))
        sub["products"] = [
            {
                "product": draw(st.sampled_from(["a", "b", "c"])),
                **({"type": draw(st.sampled_from(["termed", "usage"]))} if draw(st.booleans()) else {}),
                **({"price": draw(st.sampled_from(PRICES))} if draw(st.integers(0, 3)) else {}),
            }
            for _ in range(draw(st.integers(0, 4)))
        ]
        data["subscription"] = sub
    data["usage"] = [
        {
            "at": draw(st.sampled_from(STAMPS)),
            **({"service": draw(st.sampled_from(["data", "voice"]))} if draw(st.integers(0, 3)) else {}),
            **({"quantity": draw(st.sampled_from(["1", "2.5", "0"]))} if draw(st.booleans()) else {}),
        }
        for _ in range(draw(st.integers(0, 4)))
    ]
    return Scenario.model_validate(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(expressions, min_size=1, max_size=4), st.lists(scenarios(), min_size=1, max_size=3))
def test_shared_and_inline_forms_agree_with_the_reference_interpreter(texts: list[str], cases: list[Scenario]) -> None:
    for text, scenario, value, explained in compiled_and_explained(texts, cases):
        # the reference interpreter sums money only: number sums against the explainer and
        # `_number_sums` (the values present, in the window, by `runtime.in_window`)
        expected = explained if "sum(" in text else _reference(text, scenario)
        assert value == (expected is True), (text, scenario)
        assert explained == expected, text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.sampled_from(["data", "voice"]), st.sampled_from(["1 month", "14 days"]))
def test_number_sums_in_a_window_are_the_sum_of_the_values_present(
    scenario: Scenario, service: str, window: str
) -> None:
    duration = Duration.parse(window)
    inside = [u for u in scenario.usage if runtime.in_window(u.at, scenario.as_of, duration)]
    expected = {
        "": sum((u.quantity for u in inside), Decimal(0)),
        service: sum((u.quantity for u in inside if u.service == service), Decimal(0)),
    }
    for where, total in expected.items():
        condition = f' where u.service == "{service}"' if where else ""
        text = f"sum(u in usage.quantity{condition} within {window})"
        _, rules = _compiled([f"{text} {op} {total}" for op in ("==", "<", ">")])
        assert rules.function(scenario) == (True, False, False), text


def test_the_forms_checked_above_are_the_ones_generated() -> None:
    texts = [
        'any p in subscription.products where p.type == "termed" and p.price >= 2 EUR',
        "any p in subscription.products where p.price < 2 EUR",
        "subscription.buy_in_advance between 1 month and 6 months",
        "any p in subscription.products where p.price between 1 EUR and 3 EUR",
        "subscription.maturity >= 6 months and subscription.age < 1 year",
        "uninterrupted(subscription, 14 days) >= 1 year",
    ]
    source = _compiled(texts)[1].source
    assert "max([" in source and "min([" in source
    assert "_ds(" not in source and "_ms(" not in source
    # one walk of the history for maturity, age and 14 days, unpacked up front; without a
    # history, the subscription's start in place
    assert len(re.findall(r"^        f[0-9]+, f[0-9]+, f[0-9]+, = _uo\(", source, re.MULTILINE)) == 1
    assert source.count("_uo(") == 1
    assert "not f0.status_history:" in source

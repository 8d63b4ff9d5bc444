"""The compiled evaluator's precomputed forms agree with the plain meaning of the language.

- `runtime.latest_start` (the calendar threshold behind `maturity >= 6 months` and its kin) is
  checked exhaustively around month ends, leap days and the calendar's ends against
  `runtime.duration_sign` on the span itself.
- Maturity, age, `uninterrupted(...)` and `as_of.date - d` thresholds with every comparison
  operator, money and duration-field comparisons inlined, and shared `within` aggregates: the
  compiled evaluator against the reference interpreter of `test_criteria_properties` (Kleene
  logic written independently) and the explaining interpreter, on generated scenarios with month
  ends, leap years, interruptions, and missing status history or subscription.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.criteria import runtime
from engine.criteria.check import check_condition
from engine.criteria.compile import RuleSetCompiler
from engine.criteria.environment import scenario_environment, uninterrupted
from engine.criteria.explain import Explainer
from engine.criteria.parse import parse
from engine.models.scenario import Scenario
from engine.values import Duration, TimeUnit
from tests.test_criteria_properties import locate

ENV = scenario_environment()
DURATIONS = [
    Duration(n, u)
    for n, u in [
        (1, TimeUnit.MONTHS),
        (6, TimeUnit.MONTHS),
        (12, TimeUnit.MONTHS),
        (1, TimeUnit.YEARS),
        (4, TimeUnit.YEARS),
        (0, TimeUnit.DAYS),
        (14, TimeUnit.DAYS),
        (2, TimeUnit.WEEKS),
        (13, TimeUnit.MONTHS),
        (0, TimeUnit.MONTHS),
    ]
]
ENDS = [
    date(2024, 2, 29),
    date(2023, 2, 28),
    date(2024, 3, 31),
    date(2024, 4, 30),
    date(2024, 1, 31),
    date(2024, 3, 1),
    date(2000, 2, 29),
    date(1, 1, 1),
    date(1, 6, 30),
    date(9999, 12, 31),
]


@pytest.mark.parametrize("duration", DURATIONS, ids=str)
def test_latest_start_is_exact_on_every_start_around_month_ends(duration: Duration) -> None:
    for end in ENDS:
        threshold = runtime.latest_start(end, duration)
        low, high = max(end.toordinal() - 1600, 1), end.toordinal()
        for ordinal in range(low, high + 1):
            start = date.fromordinal(ordinal)
            sign = runtime.duration_sign(runtime.Span(start, end), duration)
            assert (sign is not None and sign >= 0) == (ordinal <= threshold), (start, end, duration)


def test_thresholds_rows_hold_reach_and_pass_for_each_duration() -> None:
    table = runtime.Thresholds()
    six, fortnight = table.index(Duration(6, TimeUnit.MONTHS)), table.index(Duration(14, TimeUnit.DAYS))
    row = table[date(2024, 8, 31).toordinal()]
    assert row[six] == date(2024, 2, 29).toordinal()  # Feb 29 + 6 months = Aug 29 ≤ Aug 31; Mar 1 + 6 = Sep 1
    assert row[six + 1] == date(2024, 2, 29).toordinal()  # reaches Aug 30 too: passes
    assert row[fortnight] == date(2024, 8, 17).toordinal() and row[fortnight + 1] == date(2024, 8, 16).toordinal()
    assert table[1] == (0, 0, 0, 0)  # 0001-01-01: nothing reaches 6 months or 14 days by then


def _reference(text: str, scenario: Scenario) -> bool | None:
    from tests.test_criteria_properties import ref_truth

    return ref_truth(check_condition(parse(text, locate), ENV), scenario, {})


OPS = ["<", "<=", ">", ">=", "==", "!="]
LITERALS = ["0 days", "14 days", "2 weeks", "1 month", "6 months", "12 months", "1 year", "4 years", "29 days"]

span_atoms = st.one_of(
    st.tuples(st.sampled_from(["maturity", "age"]), st.sampled_from(OPS), st.sampled_from(LITERALS)).map(
        lambda t: f"subscription.{t[0]} {t[1]} {t[2]}"
    ),
    st.tuples(st.sampled_from(["0 days", "5 days", "2 weeks"]), st.sampled_from(OPS), st.sampled_from(LITERALS)).map(
        lambda t: f"uninterrupted(subscription, {t[0]}) {t[1]} {t[2]}"
    ),
    st.tuples(st.sampled_from(OPS), st.sampled_from(LITERALS)).map(
        lambda t: f"{t[1]} {t[0]} subscription.maturity"  # the literal on the left
    ),
    st.tuples(st.sampled_from(["start", "billing_term_start"]), st.sampled_from(OPS), st.sampled_from(LITERALS)).map(
        lambda t: f"as_of.date - subscription.{t[0]} {t[1]} {t[2]}"
    ),
    st.tuples(
        st.sampled_from(["binding_period", "buy_in_advance"]), st.sampled_from(OPS), st.sampled_from(LITERALS)
    ).map(lambda t: f"subscription.{t[0]} {t[1]} {t[2]}"),
    st.tuples(st.sampled_from(OPS), st.sampled_from(["2.00 EUR", "1.5 EUR", "3 USD"])).map(
        lambda t: f"any p in subscription.products where p.price {t[0]} {t[1]}"
    ),
    st.tuples(st.sampled_from(["STB", "phone"]), st.sampled_from(["1 month", "14 days"]), st.integers(0, 2)).map(
        lambda t: f'count(u in usage where u.device == "{t[0]}" within {t[1]}) >= {t[2]}'
    ),
)


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(["and", "or"]), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        children.map(lambda c: f"not ({c})"),
    )


span_expressions = st.recursive(span_atoms.map("({})".format), _combine, max_leaves=4)

AS_OF = ["2024-02-29T10:00:00Z", "2023-02-28T23:00:00+01:00", "2024-03-31T00:00:00", "2024-08-31T12:00:00Z"]
DAYS = st.sampled_from(
    [
        date(2023, 8, 29),
        date(2023, 8, 31),
        date(2023, 9, 1),
        date(2023, 2, 28),
        date(2020, 2, 29),
        date(2024, 2, 29),
        date(2024, 3, 1),
        date(2024, 1, 31),
        date(2022, 2, 28),
        date(2024, 9, 1),
    ]
) | st.dates(date(2019, 1, 1), date(2024, 12, 31))


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    data: dict[str, Any] = {"id": "c", "as_of": draw(st.sampled_from(AS_OF))}
    if draw(st.integers(0, 5)):  # mostly with a subscription
        start = draw(DAYS)
        sub: dict[str, Any] = {"code": "S", "start": start.isoformat()}
        if draw(st.booleans()):
            sub["billing_term_start"] = draw(DAYS).isoformat()
        for name in ("binding_period", "buy_in_advance"):
            if draw(st.booleans()):
                sub[name] = draw(st.sampled_from(["14 days", "2 weeks", "6 months", "1 year", "12 months"]))
        if draw(st.booleans()):  # an interruption (or none): a missing status history is the default
            first = start + timedelta(days=draw(st.integers(0, 500)))
            length = draw(st.integers(0, 20))
            sub["status_history"] = [
                {
                    "status": draw(st.sampled_from(["rested", "deactivated", "active"])),
                    "from": first.isoformat(),
                    **({"to": (first + timedelta(days=length)).isoformat()} if draw(st.booleans()) else {}),
                }
            ]
        sub["products"] = [
            {
                "product": "p",
                **({"price": draw(st.sampled_from(["2.00 EUR", "1.50 EUR", "3 USD"]))} if draw(st.booleans()) else {}),
            }
            for _ in range(draw(st.integers(0, 2)))
        ]
        data["subscription"] = sub
    data["usage"] = [
        {
            "at": draw(
                st.sampled_from(
                    [
                        "2024-02-14T10:00:00Z",
                        "2024-01-31T00:00:00",
                        "2024-02-29T09:00:00+01:00",
                        "2023-02-01T10:00:00Z",
                        "2024-08-01T12:00:00Z",
                    ]
                )
            ),
            "device": draw(st.sampled_from(["STB", "phone"])),
        }
        for _ in range(draw(st.integers(0, 3)))
    ]
    return Scenario.model_validate(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(span_expressions, min_size=1, max_size=4), st.lists(scenarios(), min_size=1, max_size=3))
def test_precomputed_forms_agree_with_the_reference_interpreter(texts: list[str], cases: list[Scenario]) -> None:
    nodes = [check_condition(parse(text, locate), ENV) for text in texts]
    for chunk in (500, 1):
        compiler = RuleSetCompiler(ENV)
        for node in nodes:
            compiler.add(node)
        evaluate = compiler.build(chunk).function
        for scenario in cases:
            got = evaluate(scenario)
            for text, node, value in zip(texts, nodes, got, strict=True):
                expected = _reference(text, scenario)
                assert value == (expected is True), (text, scenario)
                assert Explainer(ENV, scenario).explain(node) == expected, text


def test_maturity_threshold_on_a_leap_day_and_a_missing_subscription() -> None:
    texts = [
        "subscription.maturity >= 6 months",
        "subscription.maturity < 6 months",
        "subscription.maturity == 6 months",
    ]
    compiler = RuleSetCompiler(ENV)
    for text in texts:
        compiler.add(check_condition(parse(text, locate), ENV))
    evaluate = compiler.build().function
    # 2024-02-29 + 6 months = 2024-08-29, reached by 2024-08-31 (not exactly equal: > 6 months)
    leap = Scenario.model_validate(
        {"id": "l", "as_of": "2024-08-31T00:00:00Z", "subscription": {"code": "S", "start": "2024-02-29"}}
    )
    assert evaluate(leap) == (True, False, False)
    exact = Scenario.model_validate(
        {"id": "e", "as_of": "2024-08-29T00:00:00Z", "subscription": {"code": "S", "start": "2024-02-29"}}
    )
    assert evaluate(exact) == (True, False, True)
    assert uninterrupted(exact.subscription, None, exact) == runtime.Span(date(2024, 2, 29), date(2024, 8, 29))
    missing = Scenario.model_validate({"id": "m", "as_of": "2024-08-29T00:00:00Z"})
    assert evaluate(missing) == (False, False, False)  # unknown both ways

"""The compiler's sharing (issue 11, third round) changes nothing that is evaluated.

- A condition text written in several definitions is generated once and evaluated once: the
  outcomes are spread to every entry (`operator.itemgetter`), equal to compiling each alone.
- The fast forms of span starts (`uninterrupted_ordinal`, `age_ordinal`, the tolerance in days
  worked out when compiling) equal `span_start`; the cached bounds of a `within` window equal
  `window_bounds`, at the calendar's ends too.
- Python compiles the generated source on first use of the function, not in `build()`.
- A locator that makes a new span per call (`fresh`) anchors the same spans as one that does not.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.criteria import ast, runtime
from engine.criteria.check import check_condition
from engine.criteria.compile import RuleSetCompiler
from engine.criteria.environment import (
    age_ordinal,
    scenario_environment,
    span_start,
    tolerance_days,
    uninterrupted_ordinal,
)
from engine.criteria.locate import fresh
from engine.criteria.parse import anchor, parse, parse_located
from engine.models.scenario import Scenario
from engine.values import Duration, TimeUnit
from tests.test_criteria_compiled_forms import scenarios
from tests.test_criteria_properties import locate

ENV = scenario_environment()

TEXTS = [
    'account.classification in {"Residential", "SME"}',
    "subscription.maturity >= 6 months",
    "uninterrupted(subscription, 0 days) >= 6 months",  # maturity's own start, shared
    "uninterrupted(subscription, 2 weeks) < 1 year",
    "subscription.age <= 400 days or subscription.binding_period <= 12 months",
    'count(usage where device == "STB" within 30 days) >= 1',
    'count(usage where device == "phone" within 30 days) == 0',
    "count(usage within 1 month) <= 2",
]


def _compiled(texts: list[str]) -> tuple[str, object]:
    compiler = RuleSetCompiler(ENV)
    for text in texts:
        compiler.add(check_condition(parse(text, locate), ENV))
    rules = compiler.build()
    return rules.source, rules.function


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TEXTS), min_size=2, max_size=12), st.lists(scenarios(), min_size=1, max_size=3))
def test_repeated_conditions_are_evaluated_once_with_the_outcomes_of_each(
    texts: list[str], cases: list[Scenario]
) -> None:
    source, evaluate = _compiled(texts)
    alone = {text: _compiled([text])[1] for text in set(texts)}
    for scenario in cases:
        got = evaluate(scenario)  # type: ignore[operator]
        assert isinstance(got, tuple) and len(got) == len(texts)
        assert got == tuple(alone[text](scenario)[0] for text in texts)  # type: ignore[operator]
    if len(set(texts)) < len(texts):  # each distinct condition computed once (texts that compile
        # alike share one too), its outcome named in each rule's place
        assert len(re.findall(r"^    _r[0-9]+ = ", source, re.M)) <= len(set(texts))
        assert len(re.findall(r"\b_r[0-9]+, ", source.rsplit("return", 1)[1])) == len(texts)


def test_a_repeated_section_is_generated_once() -> None:
    text = 'account.classification in {"Residential", "SME"}'
    source, _ = _compiled([text] * 50)
    assert len(re.findall(r" in K[0-9]+\b", source)) == 1  # the membership test once, not 50 times
    assert source.count("_r0, ") == 50  # its one outcome, in each rule's place


@pytest.mark.parametrize(
    "tolerance",
    [
        None,
        Duration(0, TimeUnit.DAYS),
        Duration(14, TimeUnit.DAYS),
        Duration(2, TimeUnit.WEEKS),
        Duration(1, TimeUnit.MONTHS),
    ],
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases=st.lists(scenarios(), min_size=1, max_size=4))
def test_fast_span_starts_equal_span_start(tolerance: Duration | None, cases: list[Scenario]) -> None:
    for scenario in cases:
        sub = scenario.subscription
        kind = "maturity" if tolerance is None else "uninterrupted"
        assert uninterrupted_ordinal(sub, tolerance_days(tolerance), scenario) == span_start(
            kind, sub, tolerance, scenario
        )
        assert age_ordinal(sub, scenario) == span_start("age", sub, None, scenario)


@pytest.mark.parametrize(
    "as_of",
    [
        datetime(2024, 3, 31, 10, tzinfo=UTC),
        datetime(2024, 2, 29, 23, 30),
        datetime(2024, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))),
        datetime(1, 1, 20, 12, tzinfo=UTC),  # windows reaching past 0001-01-01
        datetime(9999, 12, 31, 23, 59),
    ],
)
@pytest.mark.parametrize(
    "window", [Duration(30, TimeUnit.DAYS), Duration(1, TimeUnit.MONTHS), Duration(1, TimeUnit.YEARS)]
)
def test_cached_window_bounds_equal_window_bounds(as_of: datetime, window: Duration) -> None:
    starts = runtime.WindowStarts(window)
    for _ in range(2):  # computed, then cached
        assert runtime.cached_window_bounds(as_of, starts) == runtime.window_bounds(as_of, window)
    same_day = as_of.replace(hour=1) if as_of.tzinfo is None else as_of.astimezone(timezone(timedelta(hours=-3)))
    assert runtime.cached_window_bounds(same_day, starts) == runtime.window_bounds(same_day, window)


def test_python_compiles_the_source_on_first_use() -> None:
    compiler = RuleSetCompiler(ENV)
    compiler.add(check_condition(parse("subscription.maturity >= 6 months", locate), ENV))
    rules = compiler.build()
    assert "function" not in vars(rules)  # not compiled yet
    scenario = Scenario.model_validate(
        {"id": "x", "as_of": "2024-08-31T00:00:00Z", "subscription": {"code": "S", "start": "2024-02-29"}}
    )
    assert rules.function(scenario) == (True,)
    assert rules.function is rules.function  # compiled once


def _spans(node: ast.Node) -> list[tuple[str, int, int, int, str]]:
    return [(n.span.file, n.span.line, n.span.column, n.span.end_column, n.span.text) for n in ast.walk(node)]


def test_a_fresh_locator_anchors_the_same_spans() -> None:
    text = "any p in subscription.products where p.price >= 20.00 EUR and account.due_in_days <= 7"

    def plain(begin: int, end: int) -> ast.Span:
        return ast.Span("r.yaml", 3, 5 + begin, 5 + end)

    def new(begin: int, end: int) -> ast.Span:
        return ast.Span("r.yaml", 3, 5 + begin, 5 + end)

    template = parse_located(text, plain).template
    assert _spans(anchor(template, plain)) == _spans(anchor(template, fresh(new)))


def test_one_window_is_one_cached_constant_and_aggregates_stay_shared() -> None:
    texts = [
        'count(usage where device == "STB" within 30 days) >= 1',
        'count(usage where device == "STB" within 30 days) >= 2',  # the same aggregate: computed once
        'count(usage where device == "phone" within 30 days) == 0',
        "count(usage within 1 month) <= 2",
    ]
    source, _ = _compiled(texts)
    assert len(set(re.findall(r"_cwb\(s\.as_of, (K[0-9]+)\)", source))) == 2  # 30 days, 1 month
    assert len(set(re.findall(r"len\(\[0 for (e[0-9]+)", source))) == 3  # three aggregates, the first shared

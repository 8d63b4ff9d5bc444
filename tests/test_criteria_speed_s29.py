"""Cheaper forms of the scenario builder and the criteria compiler (issue 11, round s29) decide as before.

- The direct scenario builder tests an optional field with `in` before reading it (most are
  omitted); a field that is null still keeps its default, and counts as given.
- A required field given by its alias (a period's `from`) is renamed in the fields set without a test.
- A period's after-validator tests its order itself (one call fewer): the same error, in the same words.
- A result tuple of 31 to 90 conditions is built as tuples of 30 added: the same outcomes, in order.
- The largest or smallest amount of a list reads each element's price once (`for p in [x.price]`).
- `as_of`'s day number is read once, at the prologue's top, where the prologue reads it anyway.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from engine.criteria import compile as compile_module
from engine.criteria.check import check_condition
from engine.criteria.compile import RuleSetCompiler
from engine.criteria.parse import parse
from engine.models._scenario_direct import build_scenario
from engine.models.scenario import Scenario
from tests.test_criteria_codegen_s28 import _check
from tests.test_criteria_compile_sharing import ENV, _compiled
from tests.test_criteria_properties import locate
from tests.test_scenario_speed_direct import _compare


def _base(**subscription: Any) -> dict[str, Any]:
    return {
        "id": "s29",
        "as_of": "2024-02-29T10:00:00Z",
        "subscription": {"code": "S", "start": "2020-01-01", **subscription},
    }


def test_omitted_null_and_given_optional_fields_build_as_pydantic_does() -> None:
    for extra in (
        {},
        {"type": None, "plan": None},
        {"type": "mobile", "plan": None, "concurrent_usage": 2},
        {"billing_period": None, "buy_in_advance": "3 months"},
    ):
        data = _base(**extra)
        assert _compare(data) == "direct"
        built = build_scenario(data)
        assert built is not None
        assert built.subscription.model_fields_set == Scenario.model_validate(data).subscription.model_fields_set


def test_periods_given_by_their_alias_are_named_by_the_field_in_the_fields_set() -> None:
    data = _base(
        status_history=[
            {"status": "active", "from": "2020-01-01", "to": "2021-01-01"},
            {"status": "rested", "from": "2021-01-02"},
        ],
        billing_period={"from": "2024-02-01", "to": "2024-02-29"},
    )
    assert _compare(data) == "direct"
    built = build_scenario(data)
    assert built is not None
    assert built.subscription.status_history[0].model_fields_set == {"status", "from_", "to"}
    assert built.subscription.status_history[1].model_fields_set == {"status", "from_"}
    assert built.subscription.billing_period.model_fields_set == {"from_", "to"}


@pytest.mark.parametrize(
    "extra",
    [
        {"status_history": [{"status": "active", "from": "2021-01-02", "to": "2021-01-01"}]},
        {"billing_period": {"from": "2024-02-29", "to": "2024-02-01"}},
    ],
)
def test_a_period_out_of_order_is_refused_in_the_same_words(extra: dict[str, Any]) -> None:
    data = _base(**extra)
    assert build_scenario(data) is None  # pydantic decides, and words the error
    with pytest.raises(ValidationError, match=r"the period ends on (\S+), before it starts on (\S+)"):
        Scenario.model_validate(data)
    assert _compare(data) == "refused"


def test_a_period_of_one_day_or_open_is_in_order() -> None:
    one_day = {"status_history": [{"status": "active", "from": "2021-01-01", "to": "2021-01-01"}]}
    for extra in (one_day, {"billing_period": {"from": "2024-02-01", "to": "2024-02-01"}}):
        assert _compare(_base(**extra)) == "direct"


@pytest.mark.parametrize("count", [29, 30, 31, 45, 60, 61, 90, 91, 120])
def test_results_of_many_conditions_keep_their_order(count: int) -> None:
    texts = [f"subscription.concurrent_usage >= {k}" for k in range(count)]
    source, evaluate = _compiled(texts)
    added = compile_module._TUPLE_AT_ONCE < count <= compile_module._TUPLES_ADDED
    assert bool(re.search(r"\)\s*\+\s*\(", source)) == added
    scenario = Scenario.model_validate(_base(concurrent_usage=count // 2))
    got = evaluate(scenario)  # type: ignore[operator]
    assert isinstance(got, tuple)
    assert got == tuple(k <= count // 2 for k in range(count))


def test_repeated_results_of_many_conditions_keep_their_order() -> None:
    texts = [f"subscription.concurrent_usage >= {k % 7}" for k in range(50)]  # 7 distinct, 50 outcomes
    source, evaluate = _compiled(texts)
    assert source.count("_r0, ") == 50 // 7 + 1
    got = evaluate(Scenario.model_validate(_base(concurrent_usage=3)))  # type: ignore[operator]
    assert got == tuple(k % 7 <= 3 for k in range(50))


def test_the_extreme_amount_reads_each_price_once_and_decides_as_the_reference() -> None:
    texts = [
        "any p in subscription.products where p.price >= 10.00 EUR",
        "any p in subscription.products where p.price < 5.00 EUR",
        'any p in subscription.products where p.price > 1.00 EUR and p.type == "termed"',
        "not (any p in subscription.products where p.price >= 20.00 EUR)",
    ]
    products = [
        [],
        [{"product": "a"}],
        [{"product": "a", "price": "12.00 USD"}],
        [{"product": "a", "price": "12.00 EUR"}, {"product": "b"}],
        [{"product": "a", "price": "4.00 EUR", "type": "termed"}, {"product": "b", "price": "30.00 USD"}],
        [{"product": "a", "price": "25.00 EUR", "type": "usage"}, {"product": "b", "price": "2.00 EUR"}],
    ]
    cases = [Scenario.model_validate(_base(products=p)) for p in products]
    source = _check(texts, cases)
    assert re.search(r"for (x[0-9]+) in \[x[0-9]+\.price\] if \1 is not None and \1\.currency == ", source)


DAY_TEXTS = [
    "subscription.maturity >= 6 months",
    "account.due_in_days <= 10",
    "account.due_in_days between -30 and 0",
    "uninterrupted(subscription, 14 days) >= 1 year",
]


def test_as_of_s_day_is_read_once_where_the_prologue_reads_it() -> None:
    source, _ = _compiled(DAY_TEXTS)
    assert source.count("s.as_of.toordinal()") == 1
    assert re.search(r"^    f[0-9]+ = s\.as_of\.toordinal\(\)$", source.splitlines()[1])
    alone, _ = _compiled(["account.due_in_days <= 10"])  # no thresholds' row: read where used, if reached
    assert alone.count("s.as_of.toordinal()") == 1 and "as_of" not in alone.splitlines()[1]


def test_as_of_s_day_reaches_every_part_of_a_split_evaluator() -> None:
    compiler = RuleSetCompiler(ENV)
    for text in DAY_TEXTS * 3:
        compiler.add(check_condition(parse(text, locate), ENV))
    split = compiler.build(chunk=2)
    assert "_part1(" in split.source
    cases = [
        Scenario.model_validate(
            {
                **_base(status_history=[{"status": "active", "from": "2020-01-01", "to": "2023-01-01"}]),
                "account": {"code": "A", "due_date": due},
            }
        )
        for due in ("2024-02-20", "2024-03-05", "2024-03-20")
    ]
    for scenario in cases:
        _, whole = _compiled(DAY_TEXTS * 3)
        assert split.function(scenario) == whole(scenario)  # type: ignore[operator]
    _check([DAY_TEXTS[0], DAY_TEXTS[3]], cases)  # the spans, as the reference interpreter reads them
    due_in_days = [-9, 5, 20]  # as of 2024-02-29
    for scenario, days in zip(cases, due_in_days, strict=True):
        got = split.function(scenario)
        assert got[1::4] == (days <= 10,) * 3 and got[2::4] == (-30 <= days <= 0,) * 3

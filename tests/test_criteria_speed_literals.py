"""Compiled forms that fold literals or skip a helper agree with the explaining interpreter.

- A negated number or money literal (`-30`, `-5 EUR`) is negated when compiling: compared with
  `account.due_in_days` (now day numbers in place: missing account, missing due date, a due date
  before and after `as_of`), in `between` and against money of either currency.
- Money times a number or percentage literal compared with money literals (`sum(…) * 10% >= 1.05 EUR`,
  the factor on either side, `between`) is the amount times the factor: prices missing, in another
  currency, none at all, amounts whose product rounds at many digits.
- A date-time compared with a literal is compared with the literal in UTC, zoned or not as the
  value is (no `datetime_sign` call): naive and zoned stamps and literals, the same instant written
  three ways, literals whose offset reaches past the calendar's ends (left to the helper).
- A window's start is `as_of` moved back by whole days: the same date-time, field by field, as
  `datetime.replace` gives, zones and `fold` included, at month ends and on leap days.
- The span starts of a subscription without status history are computed in place (see
  `test_criteria_compiled_forms`, whose scenarios have a history half the time); checked here for
  a subscription starting after `as_of` too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.criteria import runtime
from engine.models.scenario import Scenario
from engine.values import Duration, TimeUnit
from tests.test_criteria_compiled_forms import _combine
from tests.test_criteria_speed_forms import _compiled, compiled_and_explained

OPS = ["<", "<=", ">", ">=", "==", "!="]
NUMBERS = ["-30", "-1", "0", "-0", "5", "-2.5"]
MONEY = ["-5 EUR", "-0.00 EUR", "1.05 EUR", "-1 USD", "3.3333 EUR", "0 EUR"]
MOMENTS = [  # the same instant written three ways, without a zone (UTC), at the calendar's ends
    "2024-02-29T10:00:00Z",
    "2024-02-29T11:00:00+01:00",
    "2024-02-29T10:00:00",
    "2024-02-29T10:00",
    "2024-03-01T00:30:00+02:00",
    "0001-01-01T00:30:00+01:00",
    "9999-12-31T23:30:00-01:00",
    "9999-12-31T23:59:59",
]
STAMPS = ["2024-02-29T10:00:00Z", "2024-02-29T10:00:00", "2024-02-29T09:59:59", "2024-02-29T22:30:00-01:00"]
EUROS = [m for m in MONEY if m.endswith("EUR")]  # `between` bounds of one currency
FACTORS = ["10%", "17%", "33.3%", "-10%", "0%", "2", "-1", "0.5", "3"]

atoms = st.one_of(
    st.tuples(st.sampled_from(OPS), st.sampled_from(NUMBERS)).map(lambda t: f"account.due_in_days {t[0]} {t[1]}"),
    st.tuples(st.sampled_from(OPS), st.sampled_from(NUMBERS)).map(lambda t: f"{t[1]} {t[0]} account.due_in_days"),
    st.tuples(st.sampled_from(NUMBERS), st.sampled_from(NUMBERS)).map(
        lambda t: f"account.due_in_days between {t[0]} and {t[1]}"
    ),
    st.tuples(st.sampled_from(OPS), st.sampled_from(NUMBERS)).map(
        lambda t: f"subscription.concurrent_usage {t[0]} {t[1]}"
    ),
    st.tuples(st.sampled_from(FACTORS), st.sampled_from(OPS), st.sampled_from(MONEY)).map(
        lambda t: f"sum(subscription.products.price) * {t[0]} {t[1]} {t[2]}"
    ),
    st.tuples(st.sampled_from(FACTORS), st.sampled_from(OPS), st.sampled_from(MONEY)).map(
        lambda t: f"{t[2]} {t[1]} {t[0]} * sum(subscription.products.price)"  # factor and literal on the left
    ),
    st.tuples(st.sampled_from(FACTORS), st.sampled_from(EUROS), st.sampled_from(EUROS)).map(
        lambda t: f"sum(subscription.products.price) * {t[0]} between {t[1]} and {t[2]}"
    ),
    st.tuples(st.sampled_from(FACTORS), st.sampled_from(OPS), st.sampled_from(MONEY)).map(
        lambda t: f"any p in subscription.products where p.price * {t[0]} {t[1]} {t[2]}"
    ),
    st.tuples(st.sampled_from(OPS), st.sampled_from(MOMENTS)).map(lambda t: f"any u in usage where u.at {t[0]} {t[1]}"),
    st.tuples(st.sampled_from(OPS), st.sampled_from(MOMENTS)).map(lambda t: f"all u in usage where {t[1]} {t[0]} u.at"),
    st.tuples(st.sampled_from(OPS), st.sampled_from(MOMENTS)).map(
        lambda t: f"max(usage.at) {t[0]} {t[1]}"  # missing when there is no usage
    ),
    st.tuples(st.sampled_from(["maturity", "age"]), st.sampled_from(OPS), st.sampled_from(["0 days", "1 month"])).map(
        lambda t: f"subscription.{t[0]} {t[1]} {t[2]}"
    ),
)
expressions = st.recursive(atoms.map("({})".format), _combine, max_leaves=4)

AS_OF = ["2024-02-29T10:00:00Z", "2023-02-28T23:00:00+01:00", "2024-03-31T00:00:00"]
DUE = ["2024-02-29", "2024-03-30", "2024-01-30", "2023-02-28", "2024-02-28", "2024-04-01"]
PRICES = ["2.00 EUR", "1.50 EUR", "3 USD", "0.01 EUR", "10.5 EUR", "3.333333 EUR"]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    data: dict[str, Any] = {"id": "l", "as_of": draw(st.sampled_from(AS_OF))}
    if draw(st.integers(0, 4)):
        data["account"] = {"code": "A"} | ({"due_date": draw(st.sampled_from(DUE))} if draw(st.booleans()) else {})
    if draw(st.integers(0, 4)):
        sub: dict[str, Any] = {"code": "S", "start": draw(st.sampled_from(["2020-02-29", "2024-03-15", "2023-03-01"]))}
        if draw(st.booleans()):
            sub["concurrent_usage"] = draw(st.integers(0, 3))
        sub["products"] = [
            {"product": "p", **({"price": draw(st.sampled_from(PRICES))} if draw(st.integers(0, 3)) else {})}
            for _ in range(draw(st.integers(0, 3)))
        ]
        data["subscription"] = sub
    data["usage"] = [{"at": draw(st.sampled_from(STAMPS)), "device": "STB"} for _ in range(draw(st.integers(0, 3)))]
    return Scenario.model_validate(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(expressions, min_size=1, max_size=4), st.lists(scenarios(), min_size=1, max_size=3))
def test_folded_and_scaled_forms_agree_with_the_explaining_interpreter(texts: list[str], cases: list[Scenario]) -> None:
    for text, scenario, value, explained in compiled_and_explained(texts, cases):
        assert value == (explained is True), (text, scenario)


def test_the_forms_checked_above_are_the_ones_generated() -> None:
    texts = [
        "account.due_in_days <= -30",
        "sum(subscription.products.price) * 10% >= 1.05 EUR",
        "2 * sum(subscription.products.price) between -5 EUR and 3 EUR",
        "any u in usage where u.at >= 2024-02-29T10:00:00Z",
    ]
    source = _compiled(texts)[1].source
    assert "_neg(" not in source and "_mul(" not in source and "_dts(" not in source
    assert "due_date.toordinal() - s.as_of.toordinal()" in source


@pytest.mark.parametrize(
    "as_of",
    [
        datetime(2024, 3, 31, 10, tzinfo=UTC),
        datetime(2024, 2, 29, 23, 30, 15, 123),
        datetime(2024, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))),
        datetime(2023, 10, 29, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")),
        datetime(2023, 10, 29, 2, 30, tzinfo=ZoneInfo("Europe/Berlin"), fold=1),  # the second 02:30
        datetime(2024, 3, 31, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")),  # a time that does not exist
        datetime(1, 1, 20, 12, tzinfo=UTC),  # windows reaching past 0001-01-01
        datetime(9999, 12, 31, 23, 59),
    ],
)
@pytest.mark.parametrize(
    "window",
    [
        Duration(30, TimeUnit.DAYS),
        Duration(1, TimeUnit.MONTHS),
        Duration(1, TimeUnit.YEARS),
        Duration(2, TimeUnit.WEEKS),
    ],
)
def test_a_window_start_is_the_replaced_date_time_field_by_field(as_of: datetime, window: Duration) -> None:
    starts = runtime.WindowStarts(window)
    expected = runtime.window_bounds(as_of, window)
    for _ in range(2):  # computed, then cached
        start, end, naive = runtime.cached_window_bounds(as_of, starts)
        assert (end, naive) == expected[1:] and end is as_of
        if expected[0] is None:
            assert start is None
            continue
        fields = ("year", "month", "day", "hour", "minute", "second", "microsecond", "fold")
        assert [getattr(start, f) for f in fields] == [getattr(expected[0], f) for f in fields]
        assert start.tzinfo is expected[0].tzinfo

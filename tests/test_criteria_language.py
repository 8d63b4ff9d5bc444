"""The criteria language, operator by operator and type by type, on small scenarios.

Each row: an expression, the scenario facts, and whether the criterion holds. Missing data never
makes a criterion hold, whichever way it is written.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.criteria.ast import Span
from engine.criteria.check import check_condition
from engine.criteria.compile import RuleSetCompiler
from engine.criteria.environment import scenario_environment
from engine.criteria.explain import Explainer
from engine.criteria.parse import parse
from engine.models.scenario import Scenario

ENV = scenario_environment()

SUB = {
    "code": "S",
    "start": "2015-01-31",
    "plan": "p1",
    "type": "res",
    "concurrent_usage": 3,
    "concurrent_usage_rate": 40,
    "products": [
        {"product": "tv", "type": "termed", "price": "20.00 EUR", "bundle": "b1"},
        {"product": "box", "type": "expense", "price": "5.50 EUR"},
    ],
}
ACCOUNT = {"code": "A", "classification": "SME", "segments": ["vip", "north"], "due_date": "2015-06-20"}
USAGE = [
    {"at": "2015-06-13T23:30:00+02:00", "device": "STB", "quantity": 2},  # a Saturday night, local time
    {"at": "2015-06-14T05:00:00+02:00", "device": "STB", "quantity": 3},  # the Sunday morning after
    {"at": "2015-05-01T12:00:00Z", "device": "phone", "quantity": 10},
]

BOUND = {**SUB, "binding_period": "14 days"}
YEAR = {**SUB, "binding_period": "1 year"}
DAYS_180 = {**SUB, "binding_period": "180 days"}
UNPRICED = {**SUB, "products": [*SUB["products"], {"product": "sim"}]}


def facts(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "t",
        "as_of": "2015-06-15T10:00:00+00:00",
        "account": ACCOUNT,
        "subscription": SUB,
        "usage": USAGE,
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


NAIVE = facts(usage=[{"at": "2015-05-01T12:00:00", "device": "phone"}])


def holds(text: str, data: dict[str, Any]) -> bool:
    node = check_condition(parse(text, lambda b, e: Span("t", 1, b + 1, e + 1)), ENV)
    compiler = RuleSetCompiler(ENV)
    compiler.add(node)
    scenario = Scenario.model_validate(data)
    compiled = compiler.build().function(scenario)[0]
    explained = Explainer(ENV, scenario).explain(node)
    assert compiled == (explained is True), f"compiled {compiled} but explained {explained}"
    return compiled


CASES = [
    # comparisons on text, numbers, percentages
    ("eq-text", 'account.classification == "SME"', facts(), True),
    ("ne-text", 'account.classification != "SME"', facts(), False),
    ("lt", "subscription.concurrent_usage < 4", facts(), True),
    ("le", "subscription.concurrent_usage <= 3", facts(), True),
    ("gt", "subscription.concurrent_usage > 3", facts(), False),
    ("ge", "subscription.concurrent_usage >= 3", facts(), True),
    ("decimal", "subscription.concurrent_usage > 2.5", facts(), True),
    ("percent", "subscription.concurrent_usage_rate >= 40%", facts(), True),
    ("percent-lt", "subscription.concurrent_usage_rate < 39.5%", facts(), False),
    # sets
    ("in", 'account.classification in {"Residential", "SME"}', facts(), True),
    ("not-in", 'account.classification not in {"Residential", "SME"}', facts(), False),
    ("overlaps", 'account.segments overlaps {"vip", "gold"}', facts(), True),
    ("not-overlaps", 'not account.segments overlaps {"delinquent"}', facts(), True),
    ("contains-element", 'account.segments contains "north"', facts(), True),
    ("contains-subset", 'account.segments contains {"north", "vip"}', facts(), True),
    ("contains-subset-no", 'account.segments contains {"north", "gold"}', facts(), False),
    ("projection-in", '"tv" in subscription.products.product', facts(), True),
    ("string-escape", 'account.classification != "S\\"ME"', facts(), True),
    # logic
    ("and", 'account.classification == "SME" and subscription.plan == "p1"', facts(), True),
    ("or", 'account.classification == "X" or subscription.plan == "p1"', facts(), True),
    ("not", 'not subscription.plan == "p1"', facts(), False),
    ("parens", '(account.classification == "X" or subscription.plan == "p1") and not false', facts(), True),
    ("boolean-literal", "true", facts(), True),
    # arithmetic
    (
        "money-times-percent",
        "subscription.products.price contains 20.00 EUR and 20.00 EUR * 10% == 2 EUR",
        facts(),
        True,
    ),
    ("money-sum", "sum(subscription.products.price) == 25.50 EUR", facts(), True),
    ("money-minus", "sum(subscription.products.price) - 5.50 EUR == 20 EUR", facts(), True),
    ("money-divide", "sum(subscription.products.price) / 2 == 12.75 EUR", facts(), True),
    ("number-arith", "subscription.concurrent_usage * 2 + 1 - 3 / 3 == 6", facts(), True),
    ("negate", "-subscription.concurrent_usage < -2", facts(), True),
    # dates, durations, calendar edges
    ("date-compare", "subscription.start < 2015-02-01", facts(), True),
    ("month-end", "subscription.start + 1 month == 2015-02-28", facts(), True),
    (
        "leap-year",
        "subscription.start + 1 month == 2016-02-29",
        facts(subscription={**SUB, "start": "2016-01-31"}),
        True,
    ),
    (
        "leap-day-plus-year",
        "subscription.start + 1 year == 2017-02-28",
        facts(subscription={**SUB, "start": "2016-02-29"}),
        True,
    ),
    ("date-minus-date", "as_of.date - subscription.start >= 4 months", facts(), True),
    ("date-minus-date-no", "as_of.date - subscription.start >= 5 months", facts(), False),
    ("weeks", "subscription.start + 2 weeks == 2015-02-14", facts(), True),
    ("maturity", "subscription.maturity >= 4 months", facts(), True),
    (
        "maturity-interrupted",
        "subscription.maturity >= 2 months",
        facts(subscription={**SUB, "status_history": [{"status": "rested", "from": "2015-05-01", "to": "2015-05-10"}]}),
        False,
    ),
    (
        "uninterrupted-tolerance",
        "uninterrupted(subscription, 10 days) >= 4 months",
        facts(subscription={**SUB, "status_history": [{"status": "rested", "from": "2015-05-01", "to": "2015-05-10"}]}),
        True,
    ),
    ("due-in-days", "account.due_in_days between 0 and 7", facts(), True),
    ("date-parts", "as_of.date.month == 6 and as_of.date.year == 2015 and as_of.date.day == 15", facts(), True),
    ("weekday", "as_of.weekday == monday", facts(), True),
    # date-times and time zones
    ("datetime-zones", "as_of > 2015-06-15T11:00:00+02:00", facts(), True),  # 09:00 UTC
    ("naive-is-utc", "as_of == 2015-06-15T10:00:00Z", facts(as_of="2015-06-15T10:00:00"), True),
    ("local-weekday", "any u in usage where u.at.weekday == saturday and u.at.time >= 23:00", facts(), True),
    ("window-midnight", "count(u in usage where u.at.time between 22:00 and 06:00) == 2", facts(), True),
    ("time-between", "any u in usage where u.at.time between 10:00 and 13:00", facts(), True),
    (
        "datetime-between",
        "any u in usage where u.at between 2015-05-01T00:00:00Z and 2015-05-02T00:00:00Z",
        facts(),
        True,
    ),
    # membership on money, durations and date-times compares as `==` does
    ("in-duration", "14 days in {2 weeks}", facts(), True),
    ("not-in-duration", "14 days not in {2 weeks}", facts(), False),
    ("in-duration-field", "subscription.binding_period in {2 weeks, 3 months}", facts(subscription=BOUND), True),
    ("not-in-duration-field", "subscription.binding_period not in {2 weeks}", facts(subscription=BOUND), False),
    ("not-in-duration-field-yes", "subscription.binding_period not in {3 weeks}", facts(subscription=BOUND), True),
    ("in-years-months", "subscription.binding_period in {12 months}", facts(subscription=YEAR), True),
    # months have no fixed length: against days, `==` and `!=` have no answer, nor `in`, `not in`
    ("eq-months-days", "subscription.binding_period == 6 months", facts(subscription=DAYS_180), False),
    ("ne-months-days", "subscription.binding_period != 6 months", facts(subscription=DAYS_180), False),
    ("in-months-days", "subscription.binding_period in {6 months}", facts(subscription=DAYS_180), False),
    ("not-in-months-days", "subscription.binding_period not in {6 months}", facts(subscription=DAYS_180), False),
    ("in-mixed-families", "subscription.binding_period in {6 months, 180 days}", facts(subscription=DAYS_180), True),
    ("maturity-eq", "subscription.maturity == 4 months", facts(as_of="2015-05-31T10:00:00Z"), True),
    ("maturity-in", "subscription.maturity in {4 months}", facts(as_of="2015-05-31T10:00:00Z"), True),
    ("maturity-not-in", "subscription.maturity not in {4 months}", facts(as_of="2015-05-31T10:00:00Z"), False),
    ("maturity-not-in-yes", "subscription.maturity not in {6 months}", facts(as_of="2015-05-31T10:00:00Z"), True),
    ("in-naive-zoned", "as_of in {2015-06-15T10:00:00Z}", facts(as_of="2015-06-15T10:00:00"), True),
    ("not-in-naive-zoned", "as_of not in {2015-06-15T10:00:00Z}", facts(as_of="2015-06-15T10:00:00"), False),
    ("in-offsets", "as_of in {2015-06-15T12:00:00+02:00}", facts(), True),
    ("in-zoned-naive", "as_of in {2015-06-15T10:00:00}", facts(), True),
    ("contains-datetime", "usage.at contains 2015-06-13T21:30:00Z", facts(), True),
    ("contains-datetimes", "usage.at contains {2015-06-14T03:00:00Z, 2015-05-01T14:00:00+02:00}", facts(), True),
    ("overlaps-datetimes", "usage.at overlaps {2015-06-14T03:00:00, 2016-01-01T00:00:00Z}", facts(), True),
    ("not-overlaps-datetimes", "not usage.at overlaps {2015-06-14T03:00:00}", facts(), False),
    ("any-datetime-naive", 'any u in usage where u.at == 2015-05-01T12:00:00Z and u.device == "phone"', NAIVE, True),
    ("any-datetime-in-naive", "any u in usage where u.at in {2015-05-01T14:00:00+02:00}", NAIVE, True),
    ("max-naive-zoned", "max(usage.at) == 2015-06-14T03:00:00Z", facts(usage=[*USAGE, NAIVE["usage"][0]]), True),
    ("min-naive-zoned", "min(usage.at) == 2015-05-01T12:00:00Z", facts(usage=[*USAGE[:2], NAIVE["usage"][0]]), True),
    ("in-money", "sum(subscription.products.price) in {25.5 EUR}", facts(), True),
    ("ne-money-currency", "sum(subscription.products.price) != 1 USD", facts(), False),
    ("not-in-money-currency", "sum(subscription.products.price) not in {1 USD}", facts(), False),
    ("contains-money-missing", "subscription.products.price contains 5.50 EUR", facts(subscription=UNPRICED), True),
    # a product without a price: whether it costs 7 EUR is unknown, as `p.price == 7 EUR` is
    (
        "not-contains-money-missing",
        "not subscription.products.price contains 7 EUR",
        facts(subscription=UNPRICED),
        False,
    ),
    # quantifiers and aggregates
    ("any", 'any p in subscription.products where p.type == "termed" and p.product in {"tv", "radio"}', facts(), True),
    ("any-none", 'any p in subscription.products where p.type == "usage"', facts(), False),
    ("all", "all p in subscription.products where p.price > 5 EUR", facts(), True),
    ("all-no", "all p in subscription.products where p.price > 6 EUR", facts(), False),
    ("all-empty", "all p in usage where p.quantity > 100", facts(usage=[]), True),
    ("not-any", 'not any p in subscription.products where p.type == "usage"', facts(), True),
    # the box has no bundle: whether it is in b9 is unknown, so "none is in b9" does not hold
    ("not-any-missing-field", 'not any p in subscription.products where p.bundle == "b9"', facts(), False),
    ("count", 'count(usage where device == "STB") == 2', facts(), True),
    ("count-within", "count(usage within 1 month) == 2", facts(), True),
    ("count-within-days", "count(usage within 2 days) == 2", facts(), True),  # 21:30Z and 03:00Z after 13th 10:00Z
    ("count-within-day", "count(usage within 1 day) == 0", facts(), True),
    ("sum-where", 'sum(u in usage.quantity where u.device == "STB") == 5', facts(), True),
    ("sum-within", "sum(usage.quantity within 1 year) == 15", facts(), True),
    ("min", "min(usage.quantity) == 2", facts(), True),
    ("max", "max(usage.quantity) == 10", facts(), True),
    ("min-empty-is-missing", "min(usage.quantity) > 0", facts(usage=[]), False),
    # missing data: unknown in both polarities
    ("missing-account-eq", 'account.classification == "SME"', facts(account=None), False),
    ("missing-account-not-eq", 'not account.classification == "SME"', facts(account=None), False),
    ("missing-field-in", 'account.payment_preference in {"card"}', facts(), False),
    ("missing-field-not-in", 'account.payment_preference not in {"card"}', facts(), False),
    ("missing-or-true", 'account.payment_preference == "card" or true', facts(), True),
    (
        "missing-subscription-any",
        'not any p in subscription.products where p.type == "termed"',
        facts(subscription=None),
        False,
    ),
    ("missing-maturity", "not subscription.maturity >= 1 month", facts(subscription=None), False),
    ("money-other-currency", "any p in subscription.products where p.price > 1 USD", facts(), False),
    ("money-other-currency-negated", "not any p in subscription.products where p.price > 1 USD", facts(), False),
]


@pytest.mark.parametrize(("text", "data", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_criterion(text: str, data: dict[str, Any], expected: bool) -> None:
    assert holds(text, data) is expected


@pytest.mark.parametrize(
    ("text", "data", "step"),
    [
        (
            "subscription.binding_period not in {2 weeks}",
            facts(subscription=BOUND),
            "✗ subscription.binding_period = 14 days is in {2 weeks} (t:1:1)",
        ),
        (
            "as_of in {2015-06-15T12:00:00+02:00}",
            facts(),
            "✓ as_of = 2015-06-15T10:00:00+00:00 is in {2015-06-15T12:00:00+02:00} (t:1:1)",
        ),
        (
            "subscription.binding_period in {6 months}",
            facts(subscription=DAYS_180),
            "? subscription.binding_period = 180 days cannot be compared with {6 months},"
            " so `subscription.binding_period in {6 months}` is unknown (t:1:1)",
        ),
        (
            "3 EUR not in subscription.products.price",
            facts(subscription=UNPRICED),
            # (told from the scenario's side since 2026-12-03: the constant was the subject)
            "? subscription.products.price = [20.00 EUR, 5.50 EUR, missing] cannot be compared with 3 EUR,"
            " so `3 EUR not in subscription.products.price` is unknown (t:1:1)",
        ),
    ],
)
def test_membership_explained(text: str, data: dict[str, Any], step: str) -> None:
    node = check_condition(parse(text, lambda b, e: Span("t", 1, b + 1, e + 1)), ENV)
    explainer = Explainer(ENV, Scenario.model_validate(data))
    explainer.explain(node)
    assert [s.render() for s in explainer.steps] == [step]

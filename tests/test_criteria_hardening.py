"""Criteria that validate must decide without an exception, in bounded time (issue 8).

What cannot be decided is refused at validation, located at the expression: numbers beyond the
limits, date arithmetic on literals that leaves the calendar, quantifiers nested too deeply.
At decision time, date arithmetic that leaves the calendar is *missing* (the condition does not
hold, whichever way it is written), and the empty sum of money is zero in the currency it meets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine import load_rules
from engine.criteria import compile, environment
from engine.criteria.ast import Span
from engine.criteria.check import MAX_NESTING, check_condition
from engine.criteria.compile import RuleSetCompiler
from engine.criteria.environment import scenario_environment
from engine.criteria.explain import Explainer
from engine.criteria.parse import CriteriaError, parse
from engine.models.scenario import Scenario

ENV = scenario_environment()

SUB = {
    "code": "S",
    "start": "2015-01-31",
    "concurrent_usage": 3,
    "products": [
        {"product": "tv", "type": "termed", "price": "20.00 EUR", "bundle": "b1"},
        {"product": "box", "type": "expense", "price": "5.50 EUR"},
    ],
}


def facts(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"id": "t", "as_of": "2015-06-15T10:00:00+00:00", "subscription": SUB, "usage": []}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def typed(text: str) -> Any:
    return check_condition(parse(text, lambda b, e: Span("t", 1, b + 1, e + 1)), ENV)


def outcomes(text: str, data: dict[str, Any]) -> tuple[bool, bool | None, list[str]]:
    """(compiled result, explained three-valued result, explanation steps)."""
    node = typed(text)
    compiler = RuleSetCompiler(ENV)
    compiler.add(node)
    scenario = Scenario.model_validate(data)
    compiled = compiler.build().function(scenario)[0]
    explainer = Explainer(ENV, scenario)
    explained = explainer.explain(node)
    assert compiled == (explained is True), f"compiled {compiled} but explained {explained}"
    return compiled, explained, [s.render() for s in explainer.steps]


def refused(text: str) -> tuple[str, int, str]:
    """(code, column, message) of the diagnostic that refuses `text`."""
    with pytest.raises(CriteriaError) as caught:
        typed(text)
    d = caught.value.diagnostic
    return d.code, d.column, d.message


# --- 1. the empty sum of money ---------------------------------------------------------------------

USAGE_EUR = [{"at": "2015-06-10T10:00:00Z", "amount": "2.50 EUR"}, {"at": "2015-06-11T10:00:00Z", "amount": "1.50 EUR"}]


@pytest.mark.parametrize(
    ("text", "usage", "expected"),
    [
        ("sum(usage.amount) == 0 EUR", [], True),
        ("sum(usage.amount) > 0 EUR", [], False),
        ("not sum(usage.amount) > 0 EUR", [], True),
        ("sum(usage.amount) < 5 EUR", [], True),
        ('sum(u in usage.amount where u.device == "STB") == 0 EUR', USAGE_EUR, True),
        ("sum(usage.amount) == 4 EUR", USAGE_EUR, True),
        ("sum(usage.amount) + 1 EUR == 1 EUR", [], True),
        ("2 EUR - sum(usage.amount) == 2 EUR", [], True),
        ("sum(usage.amount) * 2 == 0 EUR", [], True),
        ("-sum(usage.amount) == 0 EUR", [], True),
        ("sum(usage.amount) between 0 EUR and 1 EUR", [], True),
        ("sum(usage.amount) in {0 EUR, 1 EUR}", [], True),
        # zero euros is not zero dollars: the currency comes from the money it meets
        ("sum(usage.amount) == 0 USD", USAGE_EUR, False),
        ("not sum(usage.amount) == 0 USD", USAGE_EUR, False),
        # nothing written says which currency: the empty sum is missing, so neither way holds
        ("sum(usage.amount) == sum(subscription.products.price)", [], False),
        ("not sum(usage.amount) == sum(subscription.products.price)", [], False),
    ],
)
def test_empty_sum_of_money_is_zero_in_the_currency_it_meets(text: str, usage: list[Any], expected: bool) -> None:
    compiled, _explained, _steps = outcomes(text, facts(usage=usage))
    assert compiled is expected


def test_empty_sum_of_money_is_explained_as_zero_euros() -> None:
    _compiled, explained, steps = outcomes("sum(usage.amount) < 5 EUR", facts())
    assert explained is True
    assert steps == ["✓ sum(usage.amount) = 0.00 EUR is less than 5 EUR (t:1:1)"]


def test_the_empty_sum_takes_its_currency_from_the_type_checker() -> None:
    node = typed("sum(usage.amount) > 0 EUR")
    assert node.left.type.currency == "EUR"
    source = RuleSetCompiler(ENV)
    source.add(node)
    assert "Money(amount=Decimal('0.00'), currency='EUR')" in repr(source.constants)


# --- 2. dates stay in the calendar -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column", "shown"),
    [
        ("subscription.start < 2026-01-01 + 9000 years", 22, "2026-01-01 + 9000 years"),
        ("subscription.start > 2026-01-01 - 3000 years", 22, "2026-01-01 - 3000 years"),
        ("subscription.start > 2026-01-01 + 7000 years + 3000 years", 22, "2026-01-01 + 7000 years + 3000 years"),
        ("as_of > 9999-12-31T00:00:00Z + 1 day", 9, "9999-12-31T00:00:00Z + 1 day"),
        ("as_of.date > 0001-01-01 - 1 week", 14, "0001-01-01 - 1 week"),
    ],
)
def test_date_arithmetic_on_literals_that_leaves_the_calendar_is_refused(text: str, column: int, shown: str) -> None:
    assert refused(text) == (
        "BR505",
        column,
        f"`{shown}` falls outside the calendar (0001-01-01 to 9999-12-31)",
    )


def test_date_arithmetic_on_literals_inside_the_calendar_is_accepted() -> None:
    assert outcomes("subscription.start < 2026-01-01 + 7973 years", facts())[0] is True  # 9999-01-01


@pytest.mark.parametrize(
    "text",
    [
        "subscription.start + 9000 years > 2026-01-01",
        "subscription.start - 3000 years < 2026-01-01",
        "as_of + 9000 years > 2026-01-01T00:00:00Z",
        "subscription.start + 3652058 days > 2026-01-01",
        "subscription.start + 9000 years between 2000-01-01 and 9999-12-31",
    ],
)
def test_date_arithmetic_leaving_the_calendar_at_decision_time_holds_neither_way(text: str) -> None:
    assert outcomes(text, facts())[:2] == (False, None)
    assert outcomes(f"not ({text})", facts())[:2] == (False, None)


def test_dates_near_the_calendar_edges_decide() -> None:
    late = facts(as_of="9999-12-31T23:00:00-05:00", subscription={**SUB, "start": "9999-12-31"})
    assert outcomes("subscription.start + 1 day > 2026-01-01", late)[1] is None
    assert outcomes("as_of + 1 day > as_of", late)[1] is None
    assert outcomes("as_of - 1 day < as_of", late)[1] is True
    early = facts(as_of="0001-01-01T01:00:00+05:00", subscription={**SUB, "start": "0001-01-01"})
    assert outcomes("subscription.start - 1 day < 2026-01-01", early)[1] is None
    assert outcomes("as_of - 1 day < as_of", early)[1] is None


def test_a_span_compared_with_a_duration_past_the_calendar_is_exact() -> None:
    # the subscription is 4 months old: shorter than 9,998 years, even though 2015 + 9998 years has no date
    assert outcomes("subscription.maturity < 9998 years", facts())[:2] == (True, True)
    assert outcomes("subscription.age >= 3652058 days", facts())[:2] == (False, False)
    assert outcomes("uninterrupted(subscription, 3652058 days) > 1 month", facts())[:2] == (True, True)


def test_a_window_reaching_back_past_the_first_day_has_no_start() -> None:
    usage = [{"at": "0001-01-01T00:30:00Z", "quantity": 2}, {"at": "0001-01-01T00:10:00Z", "quantity": 3}]
    data = facts(as_of="0001-01-01T01:00:00Z", subscription={**SUB, "start": "0001-01-01"}, usage=usage)
    assert outcomes("count(usage within 1 year) == 2", data)[:2] == (True, True)
    assert outcomes("sum(usage.quantity within 1 day) == 5", data)[:2] == (True, True)


def test_an_interruption_until_the_last_day_of_the_calendar_decides() -> None:
    sub = {**SUB, "status_history": [{"status": "rested", "from": "9999-12-01", "to": "9999-12-31"}]}
    data = facts(as_of="9999-12-31T10:00:00Z", subscription=sub)
    assert outcomes("subscription.maturity >= 1 day", data)[:2] == (False, False)
    assert outcomes("uninterrupted(subscription, 9998 years) >= 1 year", data)[:2] == (True, True)


# --- 3. numbers the decimal context cannot hold ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        (
            "subscription.concurrent_usage > " + "9" * 5000,
            33,
            "`999999999999999999…999999999999999999` is too large: at most 15 digits before the decimal point",
        ),
        (
            "subscription.concurrent_usage > 1" + "0" * 15,
            33,
            "`1000000000000000` is too large: at most 15 digits before the decimal point",
        ),
        (
            "subscription.concurrent_usage > 0.0000000001",
            33,
            "`0.0000000001` is too precise: at most 9 digits after the decimal point",
        ),
        (
            "sum(subscription.products.price) > 20." + "0" * 5000 + "1 EUR",
            36,
            "`20.000000000000000…000000000000000001` is too precise: at most 9 digits after the decimal point",
        ),
        (
            "subscription.concurrent_usage_rate > 1" + "0" * 20 + "%",
            38,
            "`100000000000000000000` is too large: at most 15 digits before the decimal point",
        ),
        (
            "subscription.start + 99999999999 days > 2015-01-01",
            22,
            "`99999999999 days` is longer than the calendar (0001-01-01 to 9999-12-31): at most 3,652,058 days",
        ),
        (
            "subscription.maturity > 9999 years",
            25,
            "`9999 years` is longer than the calendar (0001-01-01 to 9999-12-31): at most 9,998 years",
        ),
    ],
)
def test_literals_beyond_the_limits_are_refused_where_they_are_written(text: str, column: int, message: str) -> None:
    assert refused(text) == ("BR505", column, message)


def test_literals_at_the_limits_decide() -> None:
    assert outcomes("subscription.concurrent_usage < 999999999999999.999999999", facts())[0] is True
    assert outcomes("sum(subscription.products.price) < 999999999999999.99 EUR", facts())[0] is True


def test_huge_products_of_numbers_are_explained_in_full() -> None:
    text = " * ".join(["subscription.concurrent_usage", "0.5"] + ["999999999999999"] * 90) + " > 0"
    compiled, explained, steps = outcomes(text, facts())
    assert (compiled, explained) == (True, True)
    assert "E+" not in steps[0]  # written out, never in exponent form
    assert outcomes(" * ".join(["subscription.concurrent_usage"] + ["999999999999999"] * 90) + " > 0", facts())[1]


def test_counts_in_scenarios_have_at_most_15_digits() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="less than or equal to 999999999999999"):
        Scenario.model_validate(facts(subscription={**SUB, "concurrent_usage": 10**5000}))


# --- 4. nested quantifiers: a bounded amount of work ------------------------------------------------


def _nested(depth: int, innermost: str = "true", kind: str = "any") -> str:
    names = "abcdefgh"
    return " where ".join(f"{kind} {names[i]} in subscription.products" for i in range(depth)) + f" where {innermost}"


@pytest.mark.parametrize("kind", ["any", "all"])
def test_quantifiers_nested_past_the_limit_are_refused_at_the_innermost(kind: str) -> None:
    text = _nested(MAX_NESTING + 1, kind=kind)
    column = text.index(f"{kind} d in") + 1
    code, col, message = refused(text)
    assert (code, col) == ("BR504", column)
    assert message == f"`{kind}` inside 3 other `any`/`all`/`count`/`sum`/`min`/`max`: they nest at most 3 levels deep"


def test_aggregates_and_negations_count_as_levels() -> None:
    text = "any a in usage where not all b in usage where count(usage where sum(usage.quantity) > 1) > 0"
    assert refused(text)[:2] == ("BR504", text.index("sum(") + 1)


def test_quantifiers_at_the_limit_evaluate_the_innermost_condition_length_cubed_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []
    params, result, impl = environment.FUNCTIONS["uninterrupted"]

    def counting(*args: Any) -> Any:
        calls.append(1)
        return impl(*args)

    monkeypatch.setitem(environment.FUNCTIONS, "uninterrupted", (params, result, counting))
    starts = []
    span_start = compile.HELPERS["_uo"]  # the start of an uninterrupted span

    def counting_starts(*args: Any) -> Any:
        starts.append(1)
        return span_start(*args)

    monkeypatch.setitem(compile.HELPERS, "_uo", counting_starts)
    products = [{"product": f"p{i}", "type": "termed"} for i in range(6)]
    data = facts(subscription={**SUB, "products": products})
    text = _nested(MAX_NESTING, "not uninterrupted(subscription, 1 day) > 100 years", kind="all")
    assert outcomes(text, data)[:2] == (True, True)
    assert len(calls) == 6**MAX_NESTING  # explained: 6 x 6 x 6, bounded by the limit
    # compiled: the span's start at most once per scenario (in place when the status history is
    # empty, as here), compared with a threshold
    assert len(starts) <= 1


# --- 7. more that must not explode at decision time -----------------------------------------------


def test_days_of_a_duration_in_months_is_missing_not_an_error() -> None:
    data = facts(subscription={**SUB, "binding_period": "6 months", "buy_in_advance": "3 weeks"})
    assert outcomes("subscription.binding_period.days > 3", data)[:2] == (False, None)
    assert outcomes("not subscription.binding_period.days > 3", data)[:2] == (False, None)
    assert outcomes("subscription.buy_in_advance.days == 21", data)[:2] == (True, True)


def test_a_percentage_of_a_percentage_is_a_percentage() -> None:
    assert outcomes("10% * 50% == 5%", facts())[:2] == (True, True)
    assert outcomes("20 EUR * (10% * 50%) == 1 EUR", facts())[:2] == (True, True)


@pytest.mark.parametrize(
    "text",
    [
        "subscription.concurrent_usage / sum(usage.quantity) > 1",
        "min(usage.quantity) / 0.000000001 > 1",
    ],
)
def test_division_by_zero_is_missing(text: str) -> None:
    assert outcomes(text, facts())[:2] == (False, None)


@pytest.mark.parametrize(
    ("text", "division"),
    [
        ("subscription.concurrent_usage / 0 > 1", "subscription.concurrent_usage / 0"),
        ("sum(subscription.products.price) / 0 > 1 EUR", "sum(subscription.products.price) / 0"),
    ],
)
def test_division_by_a_written_zero_is_refused(text: str, division: str) -> None:
    # it could never hold: refused where it is written (BR505), as date arithmetic leaving the calendar is
    code, column, message = refused(text)
    assert (code, column, message) == ("BR505", len(division), f"`{division}` divides by zero")


def test_large_sets_on_several_fields_never_build_their_product(monkeypatch: pytest.MonkeyPatch) -> None:
    """`p.a in {200 values} and p.b in {200} and p.type in {200}` would be 8 million tuples to share."""
    import itertools

    from engine.criteria import compile as compile_module

    built: list[int] = []
    real_product = itertools.product

    def product(*sets: Any) -> Any:
        built.append(len(list(real_product(*sets))))
        return real_product(*sets)

    monkeypatch.setattr(compile_module.itertools, "product", product)

    def values(prefix: str) -> str:
        return "{" + ", ".join(f'"{prefix}{i}"' for i in range(200)) + "}"

    text = (
        f"any p in subscription.products where p.product in {values('x')} and p.bundle in {values('b')}"
        f" and p.type in {values('t')}"
    )
    assert outcomes(text, facts())[:2] == (False, False)
    assert built == []  # too many combinations: the generic loop is compiled instead
    small = 'any p in subscription.products where p.product in {"tv", "radio"} and p.bundle in {"b1"}'
    assert outcomes(small, facts())[:2] == (True, True)
    assert built == [2]


def test_section_numbers_in_exponent_form_are_desugared_in_full(tmp_path: Path) -> None:
    """YAML gives `0.0000001` as a float whose Decimal prints as `1E-7`; the section must still parse."""
    (tmp_path / "ruleset.yaml").write_text(
        'kind: rule_set\ncode: t\nname: T\nversion: "1"\ndefault_currency: EUR\n', encoding="utf-8"
    )
    (tmp_path / "d.yaml").write_text(
        "kind: product\ncode: tv\nname: TV\ntype: termed\nprice: 30.00 EUR\nbilling_frequency: monthly\n---\n"
        "kind: discount\ncode: tiny\nname: Tiny\ntype: auto_apply\nclassification: subscription\n"
        "applied_service_type: both\nstate: effective\namount: {type: percentage, value: 10}\n"
        "discounted_products: [{product: tv}]\nvalidity: {effective: 2015-01-01}\ncriteria:\n"
        "  billing_term:\n    concurrent_usage_rate: {more_than: 0.0000001}\n"
        "  quantitative:\n    total_usage: {min: 0.0000001, max: 1e5}\n",
        encoding="utf-8",
    )
    rules = load_rules(tmp_path)
    data = facts(
        subscription={"code": "S", "start": "2015-01-01", "concurrent_usage_rate": 1, "products": [{"product": "tv"}]},
        usage=[{"at": "2015-06-10T10:00:00Z", "quantity": 2}],
    )
    assert rules.decide(data)["discounts"]["definitions"][0]["status"] == "applied"


# --- values the checker passed that the run could not compute (a fuzzing campaign, 2026-12-01) ----


@pytest.mark.parametrize(
    ("text", "operand", "message"),
    [
        ("account.segments in {}", "account.segments", "`in` tests one value, found a list of texts"),
        (
            'subscription.products in {"tv"}',
            "subscription.products",
            "`in` tests one value, found a list of records of `subscription.products`",
        ),
        (
            "subscription.start + uninterrupted(subscription, 5 days) > 2015-01-01",
            "uninterrupted(subscription, 5 days)",
            "`uninterrupted(subscription, 5 days)` is a span of calendar time; it can only be compared with a duration",
        ),
        (
            "as_of.date - subscription.maturity < 2015-01-01",
            "subscription.maturity",
            "`subscription.maturity` is a span of calendar time; it can only be compared with a duration",
        ),
    ],
)
def test_values_that_cannot_be_computed_are_refused_where_they_are_written(
    text: str, operand: str, message: str
) -> None:
    assert refused(text) == ("BR503", text.index(operand) + 1, message)


def test_a_span_compared_with_a_duration_is_still_accepted() -> None:
    assert outcomes("as_of.date - subscription.start >= 3 months", facts())[:2] == (True, True)
    assert outcomes("uninterrupted(subscription, 5 days) >= 3 months", facts())[:2] == (True, True)


def test_a_field_of_a_missing_element_of_a_projected_list_is_missing() -> None:
    lines = [{"product": "tv", "price": "20.00 EUR"}, {"product": "box"}]
    data = facts(subscription={**SUB, "products": lines})
    assert outcomes('subscription.products.price.currency contains "EUR"', data)[:2] == (True, True)
    # no known element is USD, and one is missing: no answer (README: a missing element of a list)
    assert outcomes('subscription.products.price.currency overlaps {"USD"}', data)[:2] == (False, None)


def test_a_field_of_date_arithmetic_that_leaves_the_calendar_is_missing() -> None:
    assert outcomes("(as_of + 3652058 days).year > 2000", facts())[:2] == (False, None)
    assert outcomes("not ((as_of + 3652058 days).year > 2000)", facts())[:2] == (False, None)
    assert outcomes("(as_of + 1 year).year == 2016", facts())[:2] == (True, True)


def test_equality_of_sets_lists_and_mixed_values_is_explained_as_it_is_decided() -> None:
    """`==` and `!=` explain as the compiled code decides: sets and lists by their elements (not
    as subsets), values of different kinds as unequal (not unknown)."""
    account = {"code": "A1", "segments": ["STB", "x"]}
    assert outcomes('{account.code} == {"x"}', facts(account=account))[:2] == (False, False)
    assert outcomes('{account.code} != {"x"}', facts(account=account))[:2] == (True, True)
    usage = [{"at": "2015-06-10T10:00:00Z", "device": "STB"}, {"at": "2015-06-11T10:00:00Z"}]
    assert outcomes("not usage.device == account.segments", facts(account=account, usage=usage))[:2] == (True, True)


def test_a_requested_value_given_as_a_number_is_read_as_its_text() -> None:
    """The criteria type a requested discount's value as text; a scenario may give it as a
    number (`value: 20`), which reads as its digits: equal to `"20"`, ordered as text."""
    for value in (20, "20"):
        requests = [{"discount": "complaint-discount", "value": value}]
        assert outcomes('any r in requested_discounts where r.value == "20"', facts(requested_discounts=requests))[
            :2
        ] == (True, True)
        assert outcomes('any r in requested_discounts where r.value > "1"', facts(requested_discounts=requests))[
            :2
        ] == (True, True)
    no_value = [{"discount": "complaint-discount"}]
    assert outcomes('any r in requested_discounts where r.value == "20"', facts(requested_discounts=no_value))[:2] == (
        False,
        None,
    )


# --- min and max of money; windows over date-times without a zone ----------------------------------

USAGE_MONEY = [
    {"at": "2015-06-10T10:00:00Z", "amount": "2.50 EUR", "quantity": 1},
    {"at": "2015-06-11T10:00:00Z", "amount": "8.00 EUR", "quantity": 3},
    {"at": "2015-06-12T10:00:00Z", "amount": "1.50 EUR", "quantity": 2},
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("max(usage.amount) == 8.00 EUR", True),
        ("min(usage.amount) == 1.50 EUR", True),
        ("min(u in usage.amount where u.quantity > 1) == 1.50 EUR", True),
        ("max(u in usage.amount where u.quantity < 3) between 2 EUR and 3 EUR", True),
        ("max(usage.amount) > 8.00 EUR", False),
        ("max(usage.amount) == 8.00 USD", False),
    ],
)
def test_min_and_max_of_money_compare_amounts(text: str, expected: bool) -> None:
    """Money has no order of its own: min and max pick by amount (they were always missing)."""
    compiled, explained, _steps = outcomes(text, facts(usage=USAGE_MONEY))
    assert compiled is expected
    assert explained is expected or (not expected and explained is not True)


# as_of is 00:00 UTC on 1 August, written at +02:00; the usage is stamped without a zone (UTC)
NAIVE_USAGE = [
    {"at": "2015-07-01T00:00:00", "quantity": 1},  # the window's start: outside
    {"at": "2015-07-01T00:00:01", "quantity": 2},
    {"at": "2015-08-01T00:00:00", "quantity": 4},  # as_of itself: inside
    {"at": "2015-08-01T00:00:01", "quantity": 8},  # a second after as_of: outside
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sum(usage.quantity within 1 month) == 6", True),
        ("count(usage where quantity > 3 within 1 month) == 1", True),
        ("count(u in usage where u.at <= as_of) == 3", True),  # the same reading as a comparison
    ],
)
def test_a_window_reads_date_times_without_a_zone_as_utc(text: str, expected: bool) -> None:
    """README: date-times without a zone are UTC when compared with zoned ones; the window read
    them in as_of's local time, so a record a second after as_of counted."""
    data = facts(usage=NAIVE_USAGE, as_of="2015-08-01T02:00:00+02:00")
    compiled, explained, _steps = outcomes(text, data)
    assert (compiled, explained) == (expected, expected)


def test_a_negated_group_is_explained_as_the_negation_of_its_steps() -> None:
    """`not (a or b)`: the trace showed a's step (holds) under a section that does not hold, with
    no sign of the `not`; a last step now says the group holds, so its negation does not."""
    account = {"code": "A", "classification": "Residential"}
    text = 'not (account.classification == "Residential" or account.classification == "SME")'
    compiled, explained, steps = outcomes(text, facts(account=account))
    assert (compiled, explained) == (False, False)
    assert steps[-1].startswith(
        '✗ `account.classification == "Residential" or account.classification == "SME"` holds, '
        'so `not (account.classification == "Residential" or account.classification == "SME")` does not hold'
    )
    compiled, explained, steps = outcomes("not not subscription.concurrent_usage > 5", facts())
    assert (compiled, explained) == (False, False)
    assert steps[-1].startswith("✗ `not subscription.concurrent_usage > 5` holds, so `not not")

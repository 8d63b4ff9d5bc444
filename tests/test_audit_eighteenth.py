"""Findings of the eighteenth session's audits (2026-12-02), each reduced to a reproduction with
the outcome SPEC or README requires."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from engine.criteria.ast import Span
from engine.criteria.check import check_condition
from engine.criteria.environment import scenario_environment
from engine.criteria.parse import CriteriaError, parse

ENV = scenario_environment()
REPO = Path(__file__).resolve().parent.parent


def _checked(text: str) -> None:
    check_condition(parse(text, lambda b, e: Span("t", 1, b + 1, e + 1)), ENV)


# --- membership between durations is equality: days never equal months, so it is an error ---


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("6 months in {180 days}", 1),
        ("not (6 months in {180 days})", 6),
        ("1 year in {365 days}", 1),
        ("6 months not in {180 days}", 1),
        ("6 months in {6 months, 26 weeks}", 1),
        ("{6 months} contains {180 days}", 1),
        ("{6 months} overlaps {180 days}", 1),
        ("{6 months} contains 180 days", 1),
    ],
)
def test_membership_of_durations_of_two_unit_families_is_a_type_error(text: str, column: int) -> None:
    """README: "for money, durations and date-times, `in`, `overlaps` and `contains` compare
    elements as `==` does", and `6 months == 180 days` is BR503; `6 months in {180 days}` passed
    validation and never held, negated or not."""
    with pytest.raises(CriteriaError) as caught:
        _checked(text)
    diagnostic = caught.value.diagnostic
    assert (diagnostic.code, diagnostic.column) == ("BR503", column)
    assert "months and years have no fixed number of days" in diagnostic.message


@pytest.mark.parametrize(
    "text",
    [
        "2 weeks in {14 days, 3 weeks}",
        "1 year in {12 months}",
        "subscription.maturity in {180 days, 6 months}",  # a span of calendar time: compares with both
        "subscription.binding_period in {180 days}",  # data: its unit is known at run time
    ],
)
def test_membership_of_durations_that_compare_passes(text: str) -> None:
    _checked(text)


# --- the caret stands under the offending text in a terminal, wide characters before it or not ---


@pytest.mark.parametrize(
    ("before", "pad"),
    [("日本", 4), ("😀😀", 4), ("née", 3), ("e\u0301e", 2), ("ab", 2)],
)
def test_the_caret_is_padded_by_terminal_columns(tmp_path: Path, before: str, pad: int) -> None:
    """SPEC 3.3: "a caret under the offending text". The padding counted characters: after `"日本"`
    (four columns wide) the caret stood two columns to the left of the misspelt name."""
    from engine.cli.reporters import TextReporter
    from engine.diagnostics import Diagnostic

    line = f'x == "{before}" and account.clasification'
    rule = tmp_path / "probe.yaml"
    rule.write_text(f"when: {line}\n", encoding="utf-8")
    column = len("when: ") + line.index("account") + 1
    stream = io.StringIO()
    reporter = TextReporter(stream, 10)
    reporter.add([Diagnostic(str(rule), 1, column, "BR502", "no such field", end_column=column + 7)])
    caret_line = stream.getvalue().splitlines()[2]
    caret = caret_line.index("^") - caret_line.index("|") - 2
    assert caret == len('when: x == "') + pad + len('" and ')
    assert caret_line.endswith("^~~~~~~")


# --- a field written without its record is told with the record ---


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("maturity >= 6 months", "did you mean `subscription.maturity`?"),
        ('classification == "SME"', "did you mean `account.classification`?"),
        ('reason == "moved_abroad"', "did you mean `cancellation.reason`?"),
        ("any p in subscription.products where prise > 2 EUR", "did you mean `p.price`?"),
        ("any p in subscription.products where price > 2 EUR", "did you mean `p.price`?"),
        # a root a quantifier's name hides is not offered
        ('any account in subscription.products where segments overlaps {"a"}', "did you mean `job.segments`?"),
    ],
)
def test_a_field_without_its_record_is_told_with_the_record(text: str, hint: str) -> None:
    """The hint was the nearest top-level name (`classification`: "did you mean `cancellation`?",
    `prise`: "`purchase`?") or the list of top-level names (`maturity`)."""
    with pytest.raises(CriteriaError) as caught:
        _checked(text)
    assert (caught.value.diagnostic.code, caught.value.diagnostic.hint) == ("BR502", hint)


# --- a consumption's product is a product of the rule set, in decide as in validate --scenarios ---


def test_a_consumption_naming_an_unknown_product_is_refused_by_decide() -> None:
    """README: BR605 for a consumption's unknown names, "as `decide` reports them"; `validate
    --scenarios` refused `product: tv-essentails` and `decide` drew credits for it in silence (a
    credit scoped to the product meant was passed over)."""
    from engine import load_rules
    from engine.decide.scenarios import ScenarioError

    rules = load_rules(REPO / "rules")
    scenario = {
        "id": "typo",
        "as_of": "2015-04-15T09:00:00+02:00",
        "consumptions": [
            {
                "id": "R1",
                "organisation": "globex-de",
                "credit_type": "network-offer",
                "product": "tv-essentails",
                "quantity": 1,
                "at": "2015-04-15T09:00:00+02:00",
            }
        ],
    }
    with pytest.raises(ScenarioError) as caught:
        rules.decide(scenario)
    error = caught.value
    assert (error.field, error.code, error.message) == (
        "consumptions[0].product",
        "BR605",
        "unknown product `tv-essentails`",
    )
    assert error.hint == "did you mean `tv-essentials`?"

"""Findings of the twentieth session's audits (2026-12-03), review: a credit verdict naming each
failing criterion's owner, `closest` for the name a hint suggests, BR422's hint rounded by
billing's `Rounder`, a field in braces checked by BR302 and BR408, and one walker for both."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules
from engine.criteria import catalog_codes
from engine.criteria.ast import Span
from engine.criteria.check import check_condition
from engine.criteria.environment import scenario_environment
from engine.criteria.parse import parse
from engine.diagnostics import Diagnostic, closest, did_you_mean
from engine.validate import validate_paths
from tests.test_audit_twentieth_checks import _retention_when
from tests.test_audit_twentieth_w3 import _CONSUMPTION
from tests.test_money_checks import edit, rules

REPO = Path(__file__).resolve().parent.parent
__all__ = ["rules"]  # the fixture, shared


def underlined(diagnostic: Diagnostic) -> str:
    """The text a diagnostic's caret underlines."""
    line = Path(diagnostic.file).read_text(encoding="utf-8").splitlines()[diagnostic.line - 1]
    return line[diagnostic.column - 1 : diagnostic.end_column - 1]


# --- 1. a credit verdict names each failing criterion's owner --------------------------------------

_OWN_CREDIT = """kind: credit
code: paris-a
type: targeting-offer
quantity: 5
usage_period: {from: 2015-01-01, to: 2015-12-31}
holder: globex-fr-paris
allocation: this_organisation
issued: 2015-01-01
criteria:
  when: consumption.quantity <= 10 and consumption.at.weekday == wednesday
"""

_SATURDAY_FOUR: dict[str, Any] = _CONSUMPTION  # (4 on a Saturday: the w3 finding's consumption)


def test_a_credit_verdict_names_the_owner_of_each_failing_criterion(rules: Path) -> None:
    """A credit's own criterion failing with its type's was said to be of the type: "criteria of
    credit type `targeting-offer` do not hold: `…`; `consumption.at.weekday == wednesday`"."""
    edit(
        rules / "credits" / "credit_types.yaml",
        "service: targeting-experience\n",
        "service: targeting-experience\ncriteria:\n  quantity: {max: 2}\n  when: consumption.quantity <= 3\n",
    )
    (rules / "credits" / "extra.yaml").write_text(_OWN_CREDIT, encoding="utf-8")
    decision = load_rules(rules).decide(_SATURDAY_FOUR, explain=True)
    (why,) = decision["credits"]["why"]
    verdict = next(c["verdict"] for c in why["credits"] if c["credit"] == "paris-a")
    assert [m["of"] for m in verdict["facts"]["more"]] == ["credit type `targeting-offer`", "credit `paris-a`"]
    assert verdict["text"] == (
        "credit `paris-a`: criteria of credit type `targeting-offer` do not hold: "
        "`consumption.quantity <= 2` (consumption.quantity = 4 is not at most 2); "
        "`consumption.quantity <= 3` (consumption.quantity = 4 is not at most 3); "
        "criterion of credit `paris-a` does not hold: `consumption.quantity <= 10 and consumption.at.weekday == "
        "wednesday` (consumption.at.weekday = saturday is not equal to wednesday)"
    )


# --- 2. `closest`: the name a "did you mean" suggests ----------------------------------------------


def test_closest_is_the_candidate_did_you_mean_suggests() -> None:
    kinds = ["term", "plan", "product", "credit_type"]
    assert closest("terms", kinds) == "term"
    assert closest("credit_typ", kinds) == "credit_type"
    assert closest("contract_term", kinds) is None
    for name in ("terms", "credit_typ", "contract_term", "users"):
        match = closest(name, kinds)
        assert did_you_mean(name, kinds) == (f"did you mean `{match}`?" if match else "")


def test_a_misspelt_kind_still_stands_for_its_kind(rules: Path) -> None:
    """`kind: terms` is reported once, not as well as every reference to the term it defines."""
    edit(rules / "catalog" / "terms.yaml", "kind: term", "kind: terms")
    codes = {d.code for d in validate_paths([rules])}
    assert "BR302" not in codes


# --- 3. BR422's hint rounds with billing's own `Rounder` --------------------------------------------


def test_the_br422_hint_rounds_with_billing_s_rounder(rules: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.decide import money

    made: list[tuple[str, dict[str, int] | None]] = []
    init = money.Rounder.__init__

    def spy(self: money.Rounder, mode: str = "half_up", minor_units: dict[str, int] | None = None) -> None:
        made.append((mode, minor_units))
        init(self, mode, minor_units)

    monkeypatch.setattr(money.Rounder, "__init__", spy)
    edit(rules / "ruleset.yaml", "rounding: half_up", "rounding: half_down")
    edit(rules / "catalog" / "terms.yaml", "  fee: 100.00 EUR", "  fee: 50.005 EUR")
    (diagnostic,) = validate_paths([rules])
    assert diagnostic.code == "BR422"
    assert diagnostic.hint.startswith("write it to the EUR minor unit, e.g. `50.00 EUR`")
    assert [mode for mode, _ in made] == ["half_down"]
    assert money.Rounder("half_down").round(Decimal("50.005"), "EUR") == Decimal("50.00")


# --- 4. a field in braces: BR408 and BR302 ----------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "named"),
    [
        ('{subscription.billing_term_scheme} overlaps {"monthly-24"}', ["monthly-24"]),
        ('{"monthly-flex", "monthly-24"} overlaps {subscription.billing_term_scheme}', ["monthly-24"]),
        ('"monthly-24" in {subscription.billing_term_scheme}', ["monthly-24"]),
        ('not ({subscription.billing_term_scheme} overlaps {"monthly-24"})', []),
        ('{subscription.billing_term_scheme} overlaps {"monthly-flex"}', []),
    ],
)
def test_br408_reads_a_scheme_field_in_braces(
    rules: Path, when: str, named: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(rules)
    _retention_when(rules, when)
    diagnostics = validate_paths([Path(".")])
    assert [d.code for d in diagnostics] == ["BR408"] * len(named), diagnostics
    for diagnostic, scheme in zip(diagnostics, named, strict=True):
        assert underlined(diagnostic) == f'"{scheme}"'


def test_br302_reads_a_field_in_braces(rules: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(rules)
    _retention_when(rules, '{subscription.billing_frequency} overlaps {"montly"}')
    (diagnostic,) = validate_paths([Path(".")])
    assert diagnostic.code == "BR302"
    assert diagnostic.message == "unknown billing frequency `montly` (compared with `subscription.billing_frequency`)"
    assert diagnostic.hint == "did you mean `monthly`?"
    assert underlined(diagnostic) == '"montly"'


# --- 5. one walker for the comparisons and the required texts ---------------------------------------


def _typed(text: str) -> Any:
    return check_condition(parse(text, lambda b, e: Span("x.yaml", 1, 1 + b, 1 + e)), scenario_environment())


def test_one_walk_tells_every_comparison_and_whether_it_is_required() -> None:
    tree = _typed(
        'subscription.billing_term_scheme != "a" and not (subscription.billing_term_scheme != "b") '
        'and count(subscription.products where product == "TV") > 0 and account.segments overlaps {"vip"}'
    )
    walked = [
        (field.span.text, element, [t.value for t in texts], required)
        for field, element, texts, required in catalog_codes._walk(tree)
    ]
    assert walked == [
        ("subscription.billing_term_scheme", None, ["a"], False),
        ("subscription.billing_term_scheme", None, ["b"], True),
        ("product", "ProductLine", ["TV"], True),
        ("account.segments", None, ["vip"], True),
    ]
    assert [(f, e, t) for f, e, t, _ in walked] == [
        (f.span.text, e, [t.value for t in ts]) for f, e, ts in catalog_codes._comparisons(tree)
    ]
    assert [t.value for t in catalog_codes.required_texts(tree, "billing_term_scheme")] == ["b"]
    assert [t.value for t in catalog_codes.required_texts(tree, "product")] == ["TV"]

"""Findings of the twenty-first session's audits (2026-12-03), codes in criteria expressions: a name
that `any`, `all`, `count`, ... bind to the items of a code field (`any s in account.segments`) is
that field to the code checks, so its texts are checked as codes (BR302, and BR408 for a scheme an
ad hoc discount names); a name bound to other values is no field of the element."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.criteria import catalog_codes
from engine.criteria.ast import Span
from engine.criteria.check import check_condition
from engine.criteria.environment import scenario_environment
from engine.criteria.parse import parse
from engine.validate import validate_paths
from tests.test_audit_twentieth_checks import _retention_when, rules, underlined

__all__ = ["rules"]  # the fixture, shared

# --- BR302: the texts compared with a name bound to codes ------------------------------------------


_SEGMENTS = ("segment", "account.segments", "vip")


@pytest.mark.parametrize(
    ("when", "text", "named"),
    [
        ('any s in account.segments where s == "zzvip"', "zzvip", _SEGMENTS),
        ('all s in account.segments where s != "vipp"', "vipp", _SEGMENTS),
        ('any s in account.segments where s in {"students", "vipp"}', "vipp", _SEGMENTS),
        ('any s in account.segments where {"vipp"} contains s', "vipp", _SEGMENTS),
        ('count(s in account.segments where s == "vipp") > 0', "vipp", _SEGMENTS),
        ('any s in {subscription.plan} where s == "tv-flexx"', "tv-flexx", ("plan", "subscription.plan", "tv-flex")),
        (
            'any p in subscription.products.product where p == "tv-premuim"',
            "tv-premuim",
            ("product", "subscription.products.product", "tv-premium"),
        ),
        # bound through another bound name
        ('any s in account.segments where any t in {s} where t == "vipp"', "vipp", _SEGMENTS),
    ],
)
def test_a_text_compared_with_a_name_bound_to_codes_is_checked(
    rules: Path, when: str, text: str, named: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Accepted until 2026-12-03 (the same text compared with the field itself was BR302)."""
    monkeypatch.chdir(rules)
    _retention_when(rules, when)
    (diagnostic,) = validate_paths([Path(".")])
    kind, field, meant = named
    assert diagnostic.code == "BR302", diagnostic
    assert diagnostic.message == f"unknown {kind} `{text}` (compared with `{field}`)"
    assert diagnostic.hint == f"did you mean `{meant}`?"
    assert underlined(diagnostic, rules) == f'"{text}"'


@pytest.mark.parametrize(
    "when",
    [
        'any s in account.segments where s == "vip"',
        'count(s in account.segments where s in {"students", "vip"}) > 0',
        # a name bound to records, or to texts, is no code: `product` here is not the line's field
        'any u in usage where u.device == "STB"',
        'count(subscription.products where any product in {"a", "b"} where product == "zz") > 0',
        'any s in account.segments where (any s in {"a"} where s == "zz")',
    ],
)
def test_known_codes_and_names_bound_to_other_values_pass(
    rules: Path, when: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fourth was BR302 until 2026-12-03: `product`, bound to texts, was read as the field of
    the line the `count` looks through."""
    monkeypatch.chdir(rules)
    _retention_when(rules, when)
    assert validate_paths([Path(".")]) == []


# --- BR408: a scheme named through a bound name ------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "named"),
    [
        ('any s in {subscription.billing_term_scheme} where s == "monthly-24"', ["monthly-24"]),
        ('all s in {subscription.billing_term_scheme} where s in {"monthly-flex", "monthly-24"}', ["monthly-24"]),
        ('any s in {subscription.billing_term_scheme} where "monthly-24" == s', ["monthly-24"]),
        ('count(s in {subscription.billing_term_scheme} where s == "monthly-24") > 0', ["monthly-24"]),
        # excluded, not named
        ('all s in {subscription.billing_term_scheme} where s != "monthly-24"', []),
        ('not (any s in {subscription.billing_term_scheme} where s == "monthly-24")', []),
        ('any s in {subscription.billing_term_scheme} where s == "monthly-flex"', []),
    ],
)
def test_br408_reads_a_scheme_compared_with_a_bound_name(
    rules: Path, when: str, named: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The named ones were accepted until 2026-12-03: an ad hoc discount offered on a scheme
    without flexible pricing."""
    monkeypatch.chdir(rules)
    _retention_when(rules, when)
    diagnostics = validate_paths([Path(".")])
    assert [d.code for d in diagnostics] == ["BR408"] * len(named), diagnostics
    for diagnostic, scheme in zip(diagnostics, named, strict=True):
        assert underlined(diagnostic, rules) == f'"{scheme}"'


# --- the walk: a bound name stands for the field it is bound to -------------------------------------


def _typed(text: str) -> Any:
    return check_condition(parse(text, lambda b, e: Span("x.yaml", 1, 1 + b, 1 + e)), scenario_environment())


def test_the_walk_yields_the_field_a_name_is_bound_to() -> None:
    tree = _typed(
        'any s in account.segments where s == "a" '
        'and count(subscription.products where any x in {product} where x != "b") > 0 '
        'and count(subscription.products where any product in {"c"} where product == "d") > 0 '
        'and count(u in usage.quantity where u.product == "e") > 0'
    )
    walked = [
        (field.span.text, element, [t.value for t in texts], required)
        for field, element, texts, required in catalog_codes._walk(tree)
    ]
    assert walked == [
        ("account.segments", None, ["a"], True),
        ("product", "ProductLine", ["b"], True),
        ("u.product", None, ["e"], True),
    ]

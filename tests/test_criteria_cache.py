"""Criteria parsed and type-checked once per text (and environment), placed at every occurrence.

- the same condition in two files: a diagnostic at each occurrence, at its own line and column;
- the same text in different contexts (discount criteria, credit criteria) is typed in each;
- a cached result, re-anchored, is the AST the uncached path builds (spans included);
- the lean LALR driver gives Lark's own trees (offsets included), and fails where Lark fails;
- the one-line locator places every offset where the character-by-character alignment does.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_parser_generated import EXPRESSIONS, TOKENS  # the shipped parser's corpus, checked against Lark

from engine.criteria import ast
from engine.criteria.check import Checker, Scope, check_condition, check_parsed
from engine.criteria.environment import credit_environment, scenario_environment
from engine.criteria.locate import _align, _aligned_locator, _straight_locator
from engine.criteria.parse import CriteriaError, Parsed, _Builder, parse, parse_located, parser
from engine.pipeline import compile_ruleset

CASES = Path(__file__).parent / "cases"
REPO = Path(__file__).resolve().parent.parent

DISCOUNT = """\
kind: discount
code: {code}
name: Discount
type: auto_apply
classification: subscription
applied_service_type: non_usage
state: effective
amount: {{type: percentage, value: 10}}
discounted_products: [{{product: TV}}]
validity: {{effective: 2015-01-01}}
criteria:
{padding}  when: account.classification in {{"SME"}} and subscription.maturty >= 6 months
"""


def test_the_same_condition_in_two_files_is_reported_at_each_occurrence(tmp_path: Path) -> None:
    root = tmp_path / "rules"
    shutil.copytree(CASES / "BR502-unknown-field", root, ignore=shutil.ignore_patterns("expected.txt"))
    (root / "e.yaml").write_text(DISCOUNT.format(code="D2", padding=""), encoding="utf-8")
    (root / "f.yaml").write_text(
        "# a comment\n\n" + DISCOUNT.format(code="D3", padding="  # shifted\n"), encoding="utf-8"
    )
    found = [(Path(d.file).name, d.line, d.column, d.end_column, d.code) for d in compile_ruleset(root).diagnostics]
    expected = []
    for name in ("d.yaml", "e.yaml", "f.yaml"):
        lines = (root / name).read_text(encoding="utf-8").splitlines()
        line = next(i for i, text in enumerate(lines) if "subscription.maturty" in text)
        column = lines[line].index("subscription.maturty") + 1
        expected.append((name, line + 1, column, column + len("subscription.maturty"), "BR502"))
    assert found == expected
    assert expected[1][1:3] != expected[2][1:3]  # the same text, at another place


def test_a_syntax_error_is_reported_at_each_occurrence() -> None:
    text = 'account.classification in {"SME" and true'
    for line in (3, 30):
        with pytest.raises(CriteriaError) as caught:
            parse_located(text, lambda b, e, line=line: ast.Span("x.yaml", line, 5 + b, 5 + e))  # type: ignore[misc]
        assert (caught.value.diagnostic.line, caught.value.diagnostic.code) == (line, "BR501")


def _at(file: str, line: int) -> Any:
    return lambda b, e: ast.Span(file, line, b + 1, e + 1)


def test_one_text_is_typed_in_each_context() -> None:
    text = "consumption.quantity >= 2"
    in_credit = parse_located(text, _at("credits.yaml", 4))
    in_discount = parse_located(text, _at("discounts.yaml", 9))
    for _ in range(2):  # and again, from the cache
        node = check_parsed(in_credit, credit_environment())
        assert node.span.file == "credits.yaml" and getattr(node, "type", None) is not None
        with pytest.raises(CriteriaError) as caught:
            check_parsed(in_discount, scenario_environment())
        d = caught.value.diagnostic
        assert (d.file, d.line, d.column, d.code) == ("discounts.yaml", 9, 1, "BR502")
        assert "consumption" in d.message


def test_a_non_condition_is_refused_alone_and_in_a_section() -> None:
    parsed = parse_located("subscription.maturity", _at("d.yaml", 7))
    with pytest.raises(CriteriaError) as alone:
        check_parsed(parsed, scenario_environment())
    with pytest.raises(CriteriaError) as inside:
        check_parsed(parsed, scenario_environment(), "`and`")
    assert alone.value.diagnostic.code == "BR507"
    assert inside.value.diagnostic.code == "BR503"
    assert inside.value.diagnostic.message.startswith("`and` needs a condition")


def _shape(node: ast.Node) -> Any:
    """Every field of every node, spans included (file, line, columns and text)."""
    fields = []
    for name, value in sorted(vars(node).items()):
        if isinstance(value, ast.Node):
            value = _shape(value)
        elif isinstance(value, tuple) and value and isinstance(value[0], ast.Node):
            value = tuple(_shape(v) for v in value)
        elif isinstance(value, ast.Span):
            value = (value.file, value.line, value.column, value.end_column, value.text)
        fields.append((name, value))
    return type(node).__name__, fields


TEXTS = [
    'account.classification in {"Residential", "SME"} and subscription.maturity >= 6 months',
    '(subscription.maturity >= 6 months or account.due_in_days between 0 and 30) and not account.segments overlaps {"x"}',
    "count(u in usage where u.at.weekday == saturday and u.at.time >= 18:00 within 30 days) <= 3",
    "sum(subscription.products.price) * 15% >= 20.00 EUR and subscription.binding_period <= 24 months",
    'any p in subscription.products where p.bundle != "b-1" and p.quantity <= 2',
    "uninterrupted(subscription, 5 days) >= 12 months",
    "subscription.start between 2014-01-01 and 2015-03-04 + 2 months",
    "-(account.due_in_days) < -5",
    "count(usage) >= 1 and max(usage.quantity) > 0",
    "as_of.date - subscription.start >= 14 days",
]


@pytest.mark.parametrize("text", TEXTS)
def test_a_cached_typed_tree_is_the_tree_checking_gives(text: str) -> None:
    env = scenario_environment()
    for locate in (_at("a.yaml", 2), lambda b, e: ast.Span("b.yaml", 8, 3, 12)):
        expected = check_condition(_Builder(text, locate).build(_lark_tree(text)), env)
        assert _shape(check_parsed(parse_located(text, locate), env)) == _shape(expected)
        assert _shape(parse(text, locate)) == _shape(_Builder(text, locate).build(_lark_tree(text)))


def _lark_tree(text: str) -> Any:
    from engine.criteria.parse import _from_lark

    return _from_lark(parser().parse(text))


def _lean(node: Any) -> Any:
    from engine.criteria.lalr import Token, Tree

    if isinstance(node, Tree):
        return (node.data, node.start_pos, node.end_pos, [_lean(c) for c in node.children])
    if isinstance(node, Token):
        return (node.type, node.value, node.start_pos, node.end_pos)
    return node


def _lark(node: Any) -> Any:
    from engine.criteria._parser import Token, Tree

    if isinstance(node, Tree):
        return (node.data, node.meta.start_pos, node.meta.end_pos, [_lark(c) for c in node.children])
    if isinstance(node, Token):
        return (node.type, str(node), node.start_pos, node.end_pos)
    return node


def _corpus() -> list[str]:
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from validate import _when  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    generated = [_when(i, c) for i in range(60) for c in ("subscription", "job")]
    odd = [
        "a ==",
        "a = 1",
        "(a or b",
        "{}",
        '{"a",}',
        "a.b.c in {1, 2, 3}",
        "not not a",
        "a not in {1}",
        "a contains b and c overlaps {d}",
        "count(x where y) > 1",
        "min(a within 3 days) < 2",
        "f(1)",
        "x # a comment\n and y",
        "  spaced   out  ",
        "1 +",
        "'single' == \"double\"",
        "2015-01-01T10:00:00Z > 2015-01-01T10:00",
        "10:00 between 22:00 and 06:00",
        "Account.x",
        "a & b",
        "",
        "-1 * -2 / 3 - 4 + 5",
        "any x in y where any z in x.w where z == 1",
        "true and false or monday == tuesday",
    ]
    return [*TEXTS, *generated, *odd]


def _same_tree(text: str) -> None:
    from engine.criteria._parser import UnexpectedInput
    from engine.criteria.lalr import Fallback
    from engine.criteria.parse import _driver

    try:
        expected = _lark(parser().parse(text))
    except UnexpectedInput:
        expected = "error"
    try:
        found = _lean(_driver().parse(text))  # the engine's driver, over the shipped tables
    except Fallback:
        found = "error"
    assert found == expected, text


def test_the_lean_driver_builds_larks_trees_and_fails_where_lark_fails() -> None:
    for text in [*_corpus(), *EXPRESSIONS]:
        _same_tree(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=25))
def test_the_lean_driver_parses_token_soup_like_lark(tokens: list[str]) -> None:
    _same_tree(" ".join(tokens))


@pytest.mark.parametrize(
    "text",
    ["a  and   b", "a\tand b  ", "  a", "x == 1", "x", "", "a and  ", 'p.name == "two  spaces"', "é  ü"],
)
def test_the_one_line_locator_agrees_with_the_alignment(text: str) -> None:
    lines = ("kind: discount", f"  when: {text}  # trailing")
    straight = _straight_locator("f.yaml", text, 1, 8)
    aligned = _aligned_locator("f.yaml", _align(text, lines, 1, 8), (1, 8))
    for begin in range(len(text) + 2):
        for end in range(len(text) + 3):
            assert straight(begin, end) == aligned(begin, end), (begin, end)


def test_a_parsed_expression_can_still_give_its_untyped_tree() -> None:
    parsed = parse_located("subscription.maturity >= 6 months", _at("a.yaml", 1))
    assert isinstance(parsed, Parsed)
    node = parsed.node()
    assert isinstance(node, ast.Compare) and getattr(node, "type", None) is None
    typed = Checker(scenario_environment()).check(node, Scope())
    assert _shape(typed) == _shape(check_parsed(parsed, scenario_environment()))

"""Loading a rule set's criteria: the fast paths give what the slow ones give.

- A criteria text of a shape met before (the same text around literals of the same terminals)
  is made from that shape's template (`engine.criteria.parse._Shape`) instead of being parsed:
  for every expression of the parser's corpus, of the shipped rules, of a generated rule set and
  of the broken cases, and for variants of each with other literals (longer, shorter, refused by
  the builder), the template or diagnostic is the parser's, every span, value and type included.
- The pipeline's entries keep typed templates and place their spans when the AST is first read
  (`engine.criteria.check.Placed`): the placed AST is the one checking the placed parse gives, the
  compiler makes the same source from either, BR302 finds the same codes at the same places, and
  a pickled entry carries its placed AST.
- Whole rule sets (the shipped rules, a generated set, every case of `tests/cases`) give the same
  diagnostics, entries and generated code with shapes on and off.
"""

from __future__ import annotations

import importlib.util
import pickle
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_criteria_cache import TEXTS, _shape
from test_parser_generated import EXPRESSIONS

import engine.criteria.parse as parse
from engine.criteria.catalog_codes import unknown_codes
from engine.criteria.check import Checker, Scope, _typed, forget_texts
from engine.criteria.compile import RuleSetCompiler
from engine.criteria.environment import credit_environment, scenario_environment
from engine.criteria.parse import CriteriaError
from engine.criteria.program import Entry
from engine.diagnostics import Diagnostic
from engine.pipeline import Compilation, compile_ruleset

REPO = Path(__file__).resolve().parent.parent
CASES = sorted(p for p in (REPO / "tests" / "cases").iterdir() if (p / "ruleset.yaml").is_file())


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rule set made by the validate benchmark's generator (its 4,000 definitions, smaller)."""
    spec = importlib.util.spec_from_file_location("benchmark_validate", REPO / "benchmarks" / "validate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    target = tmp_path_factory.mktemp("generated") / "rules"
    module.generate_rules(REPO / "rules", target, 300)
    return target


def _outcome(result: Any) -> Any:
    return result if isinstance(result, Diagnostic) else _shape(result)


def _parsed(text: str) -> Any:
    """`_syntax_tree` of `text`, past its cache (shapes as `USE_SHAPES` says)."""
    return _outcome(parse._syntax_tree.__wrapped__(text))  # type: ignore[attr-defined]


def _slow(text: str) -> Any:
    parse.USE_SHAPES = False
    try:
        return _parsed(text)
    finally:
        parse.USE_SHAPES = True


#: other texts for each literal terminal: longer, shorter, odd, and some the builder refuses
_OTHERS = {
    "NUMBER": ["7", "12345", "0.5", "1" * 30, "3.14159265358979"],
    "STRING": ['""', '"a much longer text than before"', r'"with \"quotes\" and \\ and \n"', "'single'"],
    "MONEY": ["1 USD", "123456.78 EUR", "5 XYZ", "1.5   GBP", "9" * 30 + " EUR"],
    "PERCENT": ["1%", "99.95%", "1" * 30 + "%"],
    "DURATION": ["1 day", "36 months", "2 weeks", "99999999 years", "10 years"],
    "DATE": ["1999-12-31", "2024-02-30", "0001-01-01", "9999-12-31"],
    "DATETIME": ["2020-01-01T00:00", "2020-06-30T23:59:59Z", "2020-06-30T12:00:00+02:00", "2020-13-01T00:00"],
    "TIME": ["00:00", "23:59:59", "25:00", "07:30"],
}


def _variants(text: str) -> Iterator[str]:
    """`text` with each literal, one at a time and then all at once, written otherwise."""
    found = [(m.lastgroup, m.start(), m.end()) for m in parse._LITERAL.finditer(text)]
    for i, (kind, start, end) in enumerate(found):
        for other in _OTHERS[kind or ""]:
            yield text[:start] + other + text[end:]
        if i == len(found) - 1:
            every = text
            for kind_, start_, end_ in reversed(found):
                every = every[:start_] + _OTHERS[kind_ or ""][1] + every[end_:]
            yield every


def _rule_set_texts(root: Path) -> list[str]:
    """Every criteria text `compile_ruleset(root)` parses, in order."""
    seen: list[str] = []
    cached = parse._syntax_tree

    def recording(text: str) -> Any:
        seen.append(text)
        return cached(text)

    recording.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    parse._syntax_tree = recording  # type: ignore[assignment]
    try:
        compile_ruleset(root)
    finally:
        parse._syntax_tree = cached
    return list(dict.fromkeys(seen))


def _corpus(generated: Path) -> list[str]:
    texts = [*EXPRESSIONS, *TEXTS, *_rule_set_texts(REPO / "rules"), *_rule_set_texts(generated)]
    for case in CASES:
        texts += _rule_set_texts(case)
    return list(dict.fromkeys(texts))


def test_a_text_of_a_known_shape_is_the_parse_of_it(generated: Path) -> None:
    texts = _corpus(generated)
    assert len(texts) > 300
    made = 0
    for text in texts:
        forget_texts()
        first = _parsed(text)  # the shape of the text, met first
        assert first == _slow(text), text
        for variant in _variants(text):
            if parse._shape_key(variant, parse._LITERAL.finditer(variant))[0] in parse._SHAPES:
                made += 1
            assert _parsed(variant) == _slow(variant), (text, variant)
    forget_texts()
    assert made > 1000  # most variants were made from a shape


@pytest.mark.parametrize(
    "text",
    [
        'x == 1 # "a comment"',  # a literal-like text in a comment: the shape does not stand
        'x in"a"',  # a quote right after a word: not where `_LITERAL` looks
        "a.b1 == 2 and c == 3",
        "1.x == 2",
        "5 EURx == 1",
        "2024-01-01T10:00+5 > 3",
        "-5 < -(3)",
        '{"a", "b"} contains "c"',
    ],
)
def test_odd_texts_and_their_variants_parse_alike(text: str) -> None:
    forget_texts()
    assert _parsed(text) == _slow(text)
    for variant in _variants(text):
        assert _parsed(variant) == _slow(variant), variant
    forget_texts()


def test_a_shape_stands_only_where_the_parser_found_the_literals() -> None:
    forget_texts()
    _parsed('x == 1 # "c"')
    assert not parse._SHAPES  # the comment's quotes are no literal
    _parsed('account.classification in {"a"}')
    assert len(parse._SHAPES) == 1
    forget_texts()
    assert not parse._SHAPES and not parse._LITERAL_VALUES


def _compilation(root: Path, shapes: bool) -> Compilation:
    parse.USE_SHAPES = shapes
    try:
        return compile_ruleset(root)
    finally:
        parse.USE_SHAPES = True


def _snapshot(c: Compilation) -> Any:
    entries: list[Any] = []
    sources: list[str] = []
    if c.criteria is not None:
        entries = [(e.owner, e.section, _shape(e.node)) for e in [*c.criteria.entries, *c.criteria.credit_entries]]
        if c.ok:
            sources = [c.criteria.compiled.source]
            if c.criteria.credit_entries:
                sources.append(c.criteria.credit_compiled.source)
    return c.diagnostics, entries, sources


def _rule_sets(generated: Path) -> list[Path]:
    return [REPO / "rules", generated, *CASES]


def test_rule_sets_compile_alike_with_and_without_shapes(generated: Path) -> None:
    for root in _rule_sets(generated):
        assert _snapshot(_compilation(root, True)) == _snapshot(_compilation(root, False)), root


def _entries(c: Compilation) -> list[tuple[Entry, Any]]:
    assert c.criteria is not None
    return [
        *((e, scenario_environment()) for e in c.criteria.entries),
        *((e, credit_environment()) for e in c.criteria.credit_entries),
    ]


def test_placed_entries_are_the_trees_checking_their_placed_parse_gives(generated: Path) -> None:
    for root in (REPO / "rules", generated):
        c = compile_ruleset(root)
        assert c.ok and c.criteria is not None
        for entry, env in _entries(c):
            placed = entry._placed
            assert placed is not None and entry._node is None  # nothing placed by validating
            checked = []
            for template, locate in placed.parts:
                untyped = parse.anchor(parse._syntax_tree(template.span.text), locate)
                checked.append(Checker(env).check(untyped, Scope()))
            node = entry.node
            if len(checked) == 1:
                assert _shape(node) == _shape(checked[0])
            else:
                assert [_shape(o) for o in node.operands] == [_shape(o) for o in checked]  # type: ignore[attr-defined]
            assert entry.node is node  # placed once


def test_the_compiler_makes_the_same_code_from_placed_and_unplaced_trees(generated: Path) -> None:
    for root in (REPO / "rules", generated):
        c = compile_ruleset(root)
        assert c.criteria is not None
        for entries, env in (
            (c.criteria.entries, scenario_environment()),
            (c.criteria.credit_entries, credit_environment()),
        ):
            unplaced, placed = RuleSetCompiler(env), RuleSetCompiler(env)
            for entry in entries:
                unplaced.add(entry.tree)
            for entry in entries:
                placed.add(entry.node)
            assert unplaced.build().source == placed.build().source


def test_unknown_codes_are_found_alike_on_placed_and_unplaced_trees() -> None:
    found = 0
    for case in [*CASES, REPO / "rules"]:
        c = compile_ruleset(case)
        if c.criteria is None:
            continue
        catalog = {kind: dict.fromkeys(codes) for kind, codes in c.catalog.items()}
        for kind in ("product", "segment", "plan", "bundle"):  # fewer codes: more findings
            catalog[kind] = {}
        for entry, _env in _entries(c):
            lazily = entry.findings(lambda node, catalog=catalog: unknown_codes(node, catalog))  # type: ignore[misc]
            assert lazily == list(unknown_codes(entry.node, catalog)), (case, entry.owner)
            found += len(lazily)
    assert found > 0


def test_a_pickled_entry_carries_its_placed_tree() -> None:
    c = compile_ruleset(REPO / "rules")
    assert c.criteria is not None
    entries = c.criteria.entries[:20]
    shapes = [_shape(e.node) for e in entries]
    fresh = compile_ruleset(REPO / "rules").criteria
    assert fresh is not None
    copies = pickle.loads(pickle.dumps(fresh.entries[:20]))
    assert [_shape(e.node) for e in copies] == shapes
    assert [(e.owner, e.section) for e in copies] == [(e.owner, e.section) for e in entries]


def test_the_literal_pattern_names_the_grammar_terminals() -> None:
    grammar = (REPO / "engine" / "criteria" / "grammar.lark").read_text(encoding="utf-8")
    for name in parse._LITERAL_TERMINALS:
        assert re.search(rf"^{name}(\.\d)?:", grammar, re.MULTILINE), name
        assert f"-> {name.lower()}" in grammar


def _checked(text: str, template: Any, env: Any) -> Any:
    try:
        return _outcome(Checker(env).check(template, Scope()))
    except CriteriaError as exc:
        return exc.diagnostic


def _typed_alike(text: str, variants: list[str]) -> int:
    """Type `text` (its shape's first text), then each variant from the shape's typed tree where
    it can be: the same as the checker gives for the variant's template. How many were made."""
    made = 0
    forget_texts()
    first = parse._syntax_tree(text)
    if isinstance(first, Diagnostic):
        return 0
    envs = (scenario_environment(), credit_environment())
    for env in envs:
        _typed(text, first, env)
    for variant in variants:
        template = parse._syntax_tree(variant)
        if isinstance(template, Diagnostic):
            continue
        for env in envs:
            if parse.typed_instance(template, env) is not None:
                made += 1
            assert _outcome(_typed(variant, template, env)) == _checked(variant, template, env), (text, variant)
    forget_texts()
    return made


def test_a_text_of_a_known_shape_is_typed_as_the_checker_types_it(generated: Path) -> None:
    made = sum(_typed_alike(text, list(_variants(text))) for text in _corpus(generated))
    assert made > 1000


@pytest.mark.parametrize(
    ("text", "variants"),
    [
        ("6 months > 5 months", ["6 months > 180 days", "1 year > 2 weeks"]),  # a literal's value decides
        ("subscription.start < 2015-01-01 + 2 months", ["subscription.start < 9999-12-31 + 2 months"]),
        ("subscription.binding_period >= 12 months", ["subscription.binding_period >= 12 days"]),
        (
            "any p in subscription.products where p.price >= 10 EUR",
            ["any p in subscription.products where p.price >= 10 USD"],
        ),
        (
            "sum(subscription.products.price) * 15% >= 20.00 EUR",
            ["sum(subscription.products.price) * 15% >= 20.00 GBP"],
        ),
        ("sum(subscription.products.price) + 5 EUR > 3 EUR", ["sum(subscription.products.price) + 5 EUR > 3 USD"]),
        ('account.classification in {"a", "b"}', ['account.classification in {"a", 5}']),
    ],
)
def test_literals_that_change_a_verdict_are_checked_again(text: str, variants: list[str]) -> None:
    _typed_alike(text, variants)


def test_threads_reading_an_entry_all_get_its_one_placed_tree() -> None:
    """An entry places its AST once, whichever thread reads it first: threads that read a fresh
    program's entries at the same moment all get the same tree (the "why not" keys its memos by
    the identity of its nodes; a second tree, made and dropped, would lend its identities to other
    nodes, and a reason of one definition could be given for another)."""
    import sys
    import threading

    c = compile_ruleset(REPO / "rules")
    assert c.criteria is not None
    entries = c.criteria.entries
    assert all(entry._node is None for entry in entries)  # placed on first read, not before
    start = threading.Barrier(8)
    seen: list[list[int]] = []

    def read() -> None:
        start.wait()
        seen.append([id(entry.node) for entry in entries])

    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=read) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switching)
    assert len(seen) == 8
    assert all(ids == [id(entry.node) for entry in entries] for ids in seen)

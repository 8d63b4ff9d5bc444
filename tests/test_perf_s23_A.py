"""Loading a rule set (2026-12-03, twenty-third session): the fast paths give what the slow ones give.

- A condition whose typed tree is a shape's (`engine.criteria.parse.typed_shape`) gets its code
  from the shape's recording (`engine.criteria.compile._ShapeRecorder`) instead of the code
  generator: the generated evaluator (source, masked source, positions, constants) is the same
  with recordings on and off, for the parser's corpus, the shipped rules, a generated rule set,
  every case of `tests/cases`, variants of every literal of every text (longer, equal to another,
  of another currency or family, zero, negative) and texts written to meet the recorder's edges.
- Rule-file models built directly (`engine.models._direct`): an omitted field with an immutable
  default gets that default, the fields set are the keys given (aliases too).
- BR508 walks a tree once: its findings are the two-walk version's.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from test_criteria_cache import TEXTS
from test_load_speed_shapes import _variants
from test_parser_generated import EXPRESSIONS

import engine.criteria.compile as compile_module
import engine.criteria.parse as parse
from engine.criteria import ast
from engine.criteria.check import _typed, forget_texts
from engine.criteria.compile import RuleSetCompiler
from engine.criteria.environment import credit_environment, scenario_environment
from engine.criteria.lint import where_reaches_past
from engine.diagnostics import Diagnostic
from engine.pipeline import compile_ruleset

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
    module.generate_rules(REPO / "rules", target, 400)
    return target


def _snapshot(compiler: RuleSetCompiler) -> Any:
    compiled = compiler.build()
    constants = [
        (name, type(value).__name__, repr(sorted(map(repr, value)) if isinstance(value, frozenset) else value))
        for name, value in compiled._namespace.items()
        if name.startswith("K") and type(value).__name__ not in ("Thresholds", "WindowStarts")
    ]
    masked = compiled._masked_source() if compiled._masked_source is not None else None
    return compiled.source, masked, compiled.positions, constants


class _Counting:
    """Counts the conditions whose code came from a recording (`RuleSetCompiler._replay`)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.replayed = 0
        replay = RuleSetCompiler._replay

        def counting(compiler: RuleSetCompiler, tape: Any, values: list[Any]) -> str:
            self.replayed += 1
            return replay(compiler, tape, values)

        monkeypatch.setattr(RuleSetCompiler, "_replay", counting)


def _compiled_alike(trees: list[ast.Node], env: Any) -> None:
    """The same evaluator from `trees` with recordings on and off (and each tree's own code)."""
    codes = {}
    for shapes in (True, False):
        compile_module.USE_SHAPES = shapes
        try:
            compiler = RuleSetCompiler(env)
            for tree in trees:
                compiler.add(tree)
            codes[shapes] = (compiler.rules, _snapshot(compiler))
        finally:
            compile_module.USE_SHAPES = True
    assert codes[True][0] == codes[False][0]
    assert codes[True][1] == codes[False][1]


def _typed_trees(texts: list[str], env: Any) -> list[ast.Node]:
    """The typed conditions of `texts` (each typed once per text, as the pipeline types them: a
    text of a known shape from its shape's typed tree where it can be)."""
    trees = []
    for text in texts:
        template = parse._syntax_tree(text)
        if isinstance(template, Diagnostic):
            continue
        typed = _typed(text, template, env)
        if isinstance(typed, ast.Node) and getattr(typed, "type", None) is not None and typed.type.name == "bool":  # type: ignore[attr-defined]
            trees.append(typed)
    return trees


def _rule_set_texts(root: Path) -> list[str]:
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


#: texts at the recorder's edges, each followed by texts of its shape with other literals
EDGES = [
    # literals equal to each other in one text and not in another (a set of one value, shared constants)
    'account.classification in {"A", "B"}',
    'account.classification in {"A", "A"}',
    'account.classification in {"B", "C"}',
    'account.classification in {"C", "C"}',
    "any p in subscription.products where p.quantity <= 3 and p.quantity >= 3",
    "any p in subscription.products where p.quantity <= 3 and p.quantity >= 4",
    "any p in subscription.products where p.quantity <= 5 and p.quantity >= 5",
    # money of one currency and of two, prices against extremes, scaled sums
    'any p in subscription.products where p.price >= 10 EUR and p.type == "termed"',
    'any p in subscription.products where p.price >= 10 USD and p.type == "termed"',
    'any p in subscription.products where p.price >= 11 EUR and p.type == "other"',
    'any p in subscription.products where p.price >= 12 EUR and p.type == "termed"',
    'any p in subscription.products where p.price >= 1 EUR and p.type in {"a", "b"}',
    'any p in subscription.products where p.price >= 2 EUR and p.type in {"a", "a"}',
    'any p in subscription.products where p.price >= 3 EUR and p.type in {"c", "d"}',
    "sum(subscription.products.price) * 10% >= 1.05 EUR and subscription.binding_period <= 17 months",
    "sum(subscription.products.price) * 17% >= 1.12 EUR and subscription.binding_period <= 24 months",
    "sum(subscription.products.price) * 0% >= 0 EUR and subscription.binding_period <= 2 years",
    "sum(subscription.products.price) * 5% >= 1 USD and subscription.binding_period <= 30 days",
    "sum(subscription.products.price) * 5% >= 2 USD and subscription.binding_period <= 4 weeks",
    # spans: thresholds, tolerances (new ones and ones met before), ages
    "subscription.maturity >= 8 months and subscription.age <= 14 days",
    "subscription.maturity >= 14 days and subscription.age <= 8 months",
    "subscription.maturity >= 8 months and subscription.age <= 8 months",
    "subscription.maturity >= 9 months and subscription.age <= 15 days",
    "uninterrupted(subscription, 14 days) >= 12 months or account.due_in_days between 0 and 30",
    "uninterrupted(subscription, 17 days) >= 11 months or account.due_in_days between 5 and 5",
    "uninterrupted(subscription, 14 days) >= 14 days or account.due_in_days between 1 and 2",
    "uninterrupted(subscription, 2 months) >= 1 year or account.due_in_days between 0 and 0",
    # windows, weekdays (literals of the shape itself), times
    "count(u in usage where u.at.weekday == saturday and u.at.time >= 19:00 within 18 days) <= 3",
    "count(u in usage where u.at.weekday == saturday and u.at.time >= 20:00 within 18 days) <= 6",
    "count(u in usage where u.at.weekday == saturday and u.at.time >= 19:00 within 1 month) <= 0",
    "count(u in usage where u.at.weekday == saturday and u.at.time >= 07:30 within 2 weeks) <= 3",
    # dates, date-times (not recorded), negated numbers (not recorded), booleans
    'subscription.start between 2014-01-01 and 2015-01-03 and not account.segments overlaps {"delinquent"}',
    'subscription.start between 2014-01-01 and 2014-01-01 and not account.segments overlaps {"x"}',
    'subscription.start between 2016-02-29 and 2015-01-03 and not account.segments overlaps {"delinquent"}',
    "any u in usage where u.at >= 2024-03-01T00:00:00Z and u.quantity > 2",
    "any u in usage where u.at >= 2024-03-02T00:00:00+02:00 and u.quantity > 3",
    "any u in usage where u.at >= 2024-03-03T00:00 and u.quantity > 4",
    "account.due_in_days > -5 and account.due_in_days < 10",
    "account.due_in_days > -6 and account.due_in_days < 11",
    "account.due_in_days > -7 and account.due_in_days < -7",
    "count(p in job.products where p.quantity >= 3) >= 1 and as_of.date >= 2015-01-24",
    "count(p in job.products where p.quantity >= 4) >= 4 and as_of.date >= 2015-01-25",
    "count(p in job.products where p.quantity >= 0) >= 0 and as_of.date >= 2015-01-25",
    'job.type == "installation" and any p in job.products where p.price >= 1.03 EUR',
    'job.type == "repair" and any p in job.products where p.price >= 1.03 USD',
    'job.type == "x" and any p in job.products where p.price >= 0 EUR',
    'any p in subscription.products where p.product == "sports-pack"',
    'any p in subscription.products where p.product == "movies-pack"',
    'any p in subscription.products where p.product == "kids-pack"',
]


def test_conditions_of_a_shape_compile_as_the_generator_compiles_them(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = _Counting(monkeypatch)
    texts = [*EXPRESSIONS, *TEXTS, *_rule_set_texts(REPO / "rules"), *_rule_set_texts(generated), *EDGES]
    for case in CASES:
        texts += _rule_set_texts(case)
    texts = list(dict.fromkeys(texts))
    for env in (scenario_environment(), credit_environment()):
        forget_texts()
        _compiled_alike(_typed_trees(texts, env), env)
        # each text with its variants, in one rule set: a shape's first text, then its others
        forget_texts()
        trees = _typed_trees([t for text in texts for t in (text, *_variants(text), text)], env)
        _compiled_alike(trees, env)
    forget_texts()
    assert counting.replayed > 2000


@pytest.mark.parametrize("reverse", [False, True])
def test_edge_texts_compile_alike_in_either_order(reverse: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    counting = _Counting(monkeypatch)
    env = scenario_environment()
    texts = EDGES[::-1] if reverse else EDGES
    forget_texts()
    trees = _typed_trees([t for text in texts for t in (text, *_variants(text))], env)
    _compiled_alike(trees, env)
    forget_texts()
    assert counting.replayed > 50


def _pipeline(root: Path, shapes: bool) -> Any:
    compile_module.USE_SHAPES = shapes
    try:
        c = compile_ruleset(root)
    finally:
        compile_module.USE_SHAPES = True
    sources: list[Any] = []
    if c.ok and c.criteria is not None:
        sources = [c.criteria.compiled.source, c.criteria.compiled.positions]
        if c.criteria.credit_entries:
            sources += [c.criteria.credit_compiled.source, c.criteria.credit_compiled.positions]
    return c.diagnostics, sources


def test_rule_sets_compile_alike_with_and_without_recordings(generated: Path) -> None:
    for root in (REPO / "rules", generated, *CASES):
        assert _pipeline(root, True) == _pipeline(root, False), root


def _valid_documents(generated: Path) -> Iterator[Any]:
    from engine.pipeline import Compilation, stage_kinds, stage_load, stage_schema

    for root in (REPO / "rules", generated, *CASES):
        c = Compilation(root)
        for stage in (stage_load, stage_kinds, stage_schema):
            stage(c)
        yield from c.valid


def test_models_built_directly_keep_defaults_and_fields_set(generated: Path) -> None:
    """Every schema-checked document of the rule sets: the direct builder's instance is
    pydantic's, every field's value and type, the fields set, the order of the fields."""
    from engine.models import KINDS
    from engine.models._direct import Unsure, _model

    compared = 0
    for document in _valid_documents(generated):
        model = KINDS[document.data["kind"]]
        try:
            built = _model(model)(document.data)
        except Unsure:
            continue
        expected = model.model_validate(document.data)
        assert built == expected
        assert built.model_fields_set == expected.model_fields_set
        assert list(built.__dict__) == list(expected.__dict__)
        assert [type(v) for v in built.__dict__.values()] == [type(v) for v in expected.__dict__.values()]
        compared += 1
    assert compared > 400


def _two_walks(tree: ast.Node) -> Iterator[Diagnostic]:
    """BR508 as found until 2026-12-03: a walk for the negated nodes, another for the quantifiers."""
    from engine.criteria.lint import _reads
    from engine.diagnostics import Severity

    negated: set[int] = {id(node.operand) for node in ast.walk(tree) if isinstance(node, ast.Not)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Quantifier) or not isinstance(node.condition, ast.BoolOp):
            continue
        condition = node.condition
        differs = id(node) in negated or (node.kind, condition.op) in (("any", "or"), ("all", "and"))
        if not differs:
            continue
        written = node.span.text or ""
        head = written[: written.find(" where ")] if " where " in written else f"{node.kind} {node.var} in …"
        for operand in condition.operands:
            if _reads(operand, node.var):
                continue
            span = operand.span
            yield Diagnostic(
                span.file,
                span.line,
                span.column,
                "BR508",
                f"`{span.text}` does not read `{node.var}`, yet it is part of the `where` that tests each "
                f"`{node.var}` (a `where` runs to the end of the expression): it is not tested once, beside it",
                f"if it is meant beside the quantifier, close the quantifier in parentheses: "
                f"`({head} where …) {condition.op} …`",
                severity=Severity.WARNING,
                end_column=span.end_column,
            )


def test_where_reaching_past_walks_once_and_finds_the_same(generated: Path) -> None:
    texts = [
        *EXPRESSIONS,
        *TEXTS,
        *EDGES,
        *_rule_set_texts(generated),
        'not any u in usage where u.service_type == "PPV" and account.classification == "SME"',
        'any u in usage where u.service_type == "PPV" or account.classification == "SME"',
        'all p in subscription.products where p.quantity > 1 and account.classification == "SME"',
        "not (all p in subscription.products where p.quantity > 1 and not any u in usage where u.quantity > 2"
        ' or account.classification == "x")',
    ]
    found = 0
    for env in (scenario_environment(), credit_environment()):
        forget_texts()
        for tree in _typed_trees(texts, env):
            diagnostics = list(where_reaches_past(tree))
            assert diagnostics == list(_two_walks(tree))
            found += len(diagnostics)
    forget_texts()
    assert found >= 3


def _empty_in_before(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    """`engine.semantics._empty_in` until 2026-12-03 (a generator per value, scalars too)."""
    if isinstance(value, dict):
        if not value and len(path) > 1:
            yield path, "section"
        for key, item in value.items():
            yield from _empty_in_before(item, (*path, key))
    elif isinstance(value, list):
        if not value and path[-1] != "exclude":
            yield path, "list"
        for i, item in enumerate(value):
            yield from _empty_in_before(item, (*path, i))


def test_empty_entries_are_found_as_before(generated: Path) -> None:
    import random

    from engine.semantics import _empty_in

    values: list[Any] = [document.data.get("criteria") for document in _valid_documents(generated)]
    rng = random.Random(23)

    def nested(depth: int) -> Any:
        pick = rng.random()
        if depth > 4 or pick < 0.3:
            return rng.choice([None, 0, "x", [], {}, 1.5])
        if pick < 0.65:
            return {
                rng.choice(["a", "b", "exclude", "types", "c"]): nested(depth + 1) for _ in range(rng.randint(0, 4))
            }
        return [nested(depth + 1) for _ in range(rng.randint(0, 4))]

    values += [nested(0) for _ in range(3000)]
    found = 0
    for value in values:
        expected = list(_empty_in_before(value, ("criteria",)))
        assert _empty_in(value, ("criteria",)) == expected
        found += len(expected)
    assert found > 100


def _parse_at_before(document: Any, path: Any, text: str, keyed: Any = ()) -> Any:
    """`engine.criteria.sections._parse_at` until 2026-12-03 (every span looked up up front)."""
    from engine.criteria.parse import parse_located

    span = document.locate(path)
    at = ast.Span(document.file, span.line, span.column, span.end_column)
    ranges: list[tuple[int, int, ast.Span]] = []
    start = 0
    for key, part in keyed:
        found = text.find(part, start)
        if found < 0:
            continue
        start = found + len(part)
        written = document.locate((*path, key), key=True)
        ranges.append((found, start, ast.Span(document.file, written.line, written.column, written.end_column)))

    def locate(begin: int, end: int) -> ast.Span:
        for first, after, where in ranges:
            if first <= begin and end <= after:
                return where
        return at

    return parse_located(text, locate)


def _placed_sections(root: Path) -> list[Any]:
    """Every discount's sections, desugared and placed in the rule file (every span)."""
    from engine.criteria.parse import CriteriaError
    from engine.criteria.sections import desugar
    from engine.pipeline import Compilation, stage_kinds, stage_load, stage_models, stage_schema

    c = Compilation(root)
    for stage in (stage_load, stage_kinds, stage_schema, stage_models):
        stage(c)
    placed = []
    for code in sorted(c.catalog.get("discount", {})):
        item = c.catalog["discount"][code]
        if item.model.criteria is None:
            continue
        try:
            for condition in desugar(item.model.criteria, item.document, item.model.classification.value):
                placed.append((code, condition.section, repr(condition.node)))
        except CriteriaError as exc:
            placed.append((code, repr(exc.diagnostic)))
    return placed


def test_sections_are_placed_where_they_were_before(generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.criteria.sections as sections

    for root in (REPO / "rules", generated, *CASES):
        placed = _placed_sections(root)
        with monkeypatch.context() as patched:
            patched.setattr(sections, "_parse_at", _parse_at_before)
            assert _placed_sections(root) == placed, root


def test_a_text_differing_where_no_recording_did_is_recorded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A shape's recording stands for a later text only where texts recorded alike differed: a
    literal that differs from the first text's at a place no text has yet varies is recorded
    again first (the lead's guard, 2026-12-03: otherwise a value the generator read outside the
    recorded calls, equal in the first two texts, would be copied from the first into the rest)."""
    recorded = []
    record = compile_module._recorded

    def counting(*args: Any) -> Any:
        recorded.append(args[2].span.text)
        return record(*args)

    monkeypatch.setattr(compile_module, "_recorded", counting)
    counting_replays = _Counting(monkeypatch)
    env = scenario_environment()
    texts = [
        'subscription.billing_frequency == "quarterly" and account.classification == "A0"',  # the template
        'subscription.billing_frequency == "monthly" and account.classification == "A1"',  # recorded first
        'subscription.billing_frequency == "yearly" and account.classification == "A1"',  # place 0 varies
        'subscription.billing_frequency == "weekly" and account.classification == "A2"',  # place 1: again
        'subscription.billing_frequency == "daily" and account.classification == "A3"',  # replayed
    ]
    forget_texts()
    trees = _typed_trees(texts, env)
    _compiled_alike(trees, env)
    forget_texts()
    assert recorded == texts[1:4]
    assert counting_replays.replayed >= 2
    assert compile_module._differing((1, "a", True), [1, "b", True]) == {1}
    assert compile_module._differing((1, Decimal("1.0")), [1.0, Decimal(1)]) == {0}  # (another type)

"""What keeps `billrules validate` cheap to start (benchmarks/validate.py measures it).

- it imports only what validation needs: not Lark, the decision code, the explainer, difflib (a
  clean rule set needs no hint), jsonschema (a clean rule set has no schema error to word), the
  other commands and the billing runs;
- the garbage collector is paused while the stages run and restored after;
- a parse tree cached by text gives each occurrence its own spans.
"""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from engine.criteria import ast
from engine.criteria.parse import CriteriaError, Locator, _syntax_tree, parse
from engine.pipeline import compile_ruleset

REPO = Path(__file__).resolve().parent.parent
#: jsonschema only words the errors of a document the schema stage's own checks refuse
NOT_NEEDED = (
    "lark",
    "engine.decide",
    "engine.criteria.explain",
    "engine.expectations",
    "engine.ruleset",
    "difflib",
    "jsonschema",
    "engine.run",
    "engine.cli.decide_cmd",
    "engine.cli.run_cmd",
    "engine.cli.test_cmd",
    "engine.cli.diff_cmd",
    "engine.cli.coupons_cmd",
    "engine.cli.schema_cmd",
)


def _after_validate(expression: str) -> str:
    """What `expression` prints in a fresh process after `billrules validate rules/` (exit 0)."""
    code = (
        "import sys\n"
        "from engine.cli.main import main\n"
        "from engine.models import KINDS\n"
        f"assert main(['validate', {str(REPO / 'rules')!r}]) == 0\n"
        f"print({expression})\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_validate_imports_only_what_it_needs() -> None:
    assert _after_validate(f"sorted(m for m in sys.modules if m.startswith({NOT_NEEDED!r}))") == "[]"


def test_the_collector_is_restored_after_compiling() -> None:
    assert gc.isenabled()
    compile_ruleset(REPO / "rules")
    assert gc.isenabled()
    gc.disable()
    try:
        compile_ruleset(REPO / "rules")
        assert not gc.isenabled()
    finally:
        gc.enable()


def _locator(file: str, line: int) -> Locator:
    def locate(begin: int, end: int) -> ast.Span:
        return ast.Span(file, line, begin + 1, end + 1)

    return locate


def test_a_cached_parse_tree_gets_the_spans_of_each_occurrence() -> None:
    text = 'account.classification in {"SME"} and subscription.maturity >= 6 months'
    first = parse(text, _locator("a.yaml", 3))
    hits = _syntax_tree.cache_info().hits
    second = parse(text, _locator("b.yaml", 9))
    assert _syntax_tree.cache_info().hits == hits + 1
    assert isinstance(first, ast.BoolOp) and isinstance(second, ast.BoolOp)
    assert (first.span.file, first.span.line) == ("a.yaml", 3)
    assert (second.span.file, second.span.line) == ("b.yaml", 9)
    assert [o.span.text for o in first.operands] == [o.span.text for o in second.operands]
    assert [(o.span.file, o.span.line) for o in second.operands] == [("b.yaml", 9), ("b.yaml", 9)]


def test_syntax_errors_and_depth_errors_are_reported_at_every_occurrence() -> None:
    for text, code in (("a ==", "BR501"), ("not " * 150 + "true", "BR504")):
        for file in ("a.yaml", "b.yaml"):
            try:
                parse(text, _locator(file, 1))
            except CriteriaError as exc:
                assert (exc.diagnostic.file, exc.diagnostic.code) == (file, code)
            else:  # pragma: no cover
                raise AssertionError(f"{text!r} parsed")


def test_validate_builds_no_rule_file_model_validator() -> None:
    """Clean documents become models without pydantic generating their core schemas
    (`engine.models._direct`); a validator is built only for a document it must word errors for."""
    assert _after_validate("sorted(kind for kind, model in KINDS.items() if model.__pydantic_complete__)") == "[]"

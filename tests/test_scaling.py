"""Huge inputs stay linear, and a huge flow sequence is refused early and cheaply.

Times are CPU times of this process (`time.process_time`), so other work on the machine does not
disturb the measure much; the smaller input takes the best of three runs, the larger the best of
two, each with the collector paused (its full passes grow with what is alive, which is not the
code's growth). Ten times the input must take well under a hundred times as long (quadratic):
the bound is 25 times.
"""

from __future__ import annotations

import gc
import json
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.decide.scenarios import read_scenarios
from engine.load import load_file
from engine.pipeline import compile_ruleset

RULESET = 'kind: rule_set\ncode: t\nname: T\nversion: "1"\ndefault_currency: EUR\n'
RATIO_BOUND = 25


def cpu_seconds(run: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """The best CPU time of `repeat` runs, and what the last run returned."""
    best, result = float("inf"), None
    for _ in range(repeat):
        result = None
        gc.collect()
        gc.disable()  # the collector's full passes grow with what is alive: noise, not the code's growth
        try:
            start = time.process_time()
            result = run()
            best = min(best, time.process_time() - start)
        finally:
            gc.enable()
    return best, result


def growth(make: Callable[[int], Callable[[], Any]], n: int) -> tuple[float, Any]:
    """How many times longer 10·n takes than n, and the result for 10·n."""
    small, large = make(n), make(10 * n)
    small_seconds, _ = cpu_seconds(small, repeat=3)
    large_seconds, result = cpu_seconds(large, repeat=2)
    return large_seconds / max(small_seconds, 1e-3), result


def scenarios_of(tmp_path: Path, document: str) -> Callable[[int], Callable[[], Any]]:
    def make(count: int) -> Callable[[], Any]:
        path = tmp_path / f"scenarios-{count}.yaml"
        path.write_text(document * count, encoding="utf-8")
        return lambda: sum(1 for _ in read_scenarios(path))

    return make


def rule_set_of(tmp_path: Path, documents: Callable[[int], str]) -> Callable[[int], Callable[[], Any]]:
    def make(count: int) -> Callable[[], Any]:
        root = tmp_path / f"rules-{count}"
        root.mkdir()
        (root / "ruleset.yaml").write_text(RULESET, encoding="utf-8")
        (root / "many.yaml").write_text(documents(count), encoding="utf-8")
        return lambda: compile_ruleset(root)

    return make


def test_a_scenario_file_of_100000_empty_documents_loads_in_linear_time(tmp_path: Path) -> None:
    ratio, count = growth(scenarios_of(tmp_path, "---\n"), 10_000)
    assert (ratio < RATIO_BOUND, count) == (True, 1)  # one item: the file holds no scenario


def test_a_scenario_file_of_50000_tiny_documents_loads_in_linear_time(tmp_path: Path) -> None:
    ratio, count = growth(scenarios_of(tmp_path, "--- {id: s}\n"), 5_000)
    assert (ratio < RATIO_BOUND, count) == (True, 50_000)


def test_documents_with_directives_load_in_linear_time(tmp_path: Path) -> None:
    """Each document's directives are found in the text before its `---`, never by counting from the start."""

    def make(count: int) -> Callable[[], Any]:
        path = tmp_path / f"directives-{count}.yaml"
        path.write_text("%YAML 1.2\n---\na: 1\n...\n" * count, encoding="utf-8")
        return lambda: load_file(path)

    ratio, source = growth(make, 2_000)
    assert (ratio < RATIO_BOUND, len(source.documents), source.diagnostics) == (True, 20_000, [])


def test_a_rule_set_of_10000_documents_validates_in_linear_time(tmp_path: Path) -> None:
    def documents(count: int) -> str:
        return "".join(f"---\nkind: segment\ncode: S{i}\nname: Segment {i}\n" for i in range(count))

    ratio, compilation = growth(rule_set_of(tmp_path, documents), 1_000)
    assert (ratio < RATIO_BOUND, compilation.diagnostics) == (True, [])
    assert len(compilation.catalog["segment"]) == 10_000


def test_a_file_of_100000_lines_with_an_error_on_each_validates_in_linear_time(tmp_path: Path) -> None:
    make = rule_set_of(tmp_path, lambda count: "--- {}\n" * count)  # each document lacks `kind:`
    ratio, compilation = growth(make, 10_000)
    assert ratio < RATIO_BOUND
    assert len(compilation.diagnostics) == 100_000
    assert {d.code for d in compilation.diagnostics} == {"BR112"}
    assert [d.line for d in compilation.diagnostics[:3]] == [1, 2, 3]


# --- the generated evaluator of thousands of criteria -------------------------------------------


def _criterion(i: int) -> str:
    """Distinct criteria (nothing shared between them) with money, duration and date-time
    comparisons, aggregates with conditions inside `between`, quantifiers and windows."""
    return [
        f"subscription.maturity >= {1 + i % 500} days and account.due_in_days <= {i}",
        f'any p in subscription.products where p.price >= {i}.50 EUR and p.type == "termed"',
        f'max(u in usage.at where u.amount >= {i} EUR) between min(u in usage.at where u.device == "d{i}") and as_of',
        f'sum(u in usage.amount where u.device == "d{i}") <= {i} EUR'
        f" or subscription.binding_period between {1 + i % 90} days and 1 year",
        f"count(u in usage where u.at.time >= 18:00 within {1 + i % 300} days) <= {i}",
    ][i % 5]


def test_the_evaluator_of_4000_criteria_compiles_in_linear_time() -> None:
    """Python's `compile` of one function is super-linear in its local names times its generator
    expressions: every `:=` temporary used to be a new local (4,000 criteria: 16,000 locals, 80
    times the time of 400). Temporaries are reused and the rules split into several functions."""
    from engine.criteria.ast import Span
    from engine.criteria.check import check_condition
    from engine.criteria.compile import RuleSetCompiler
    from engine.criteria.environment import scenario_environment
    from engine.criteria.parse import parse

    env = scenario_environment()
    nodes = [check_condition(parse(_criterion(i), lambda b, e: Span("t", 1, b + 1, e + 1)), env) for i in range(4000)]

    def make(count: int) -> Callable[[], Any]:
        def build() -> Any:
            gc.disable()  # as the pipeline runs it: the collector's walks are not the compiler's
            try:
                compiler = RuleSetCompiler(env)
                for node in nodes[:count]:
                    compiler.add(node)
                compiled = compiler.build()
                _ = compiled.function  # Python compiles the source on first use: timed with the rest
                return compiled
            finally:
                gc.enable()

        return build

    ratio, compiled = growth(make, 400)
    assert ratio < RATIO_BOUND
    namespace = compiled.function.__globals__
    functions = [f for name, f in namespace.items() if name == "evaluate" or name.startswith("_part")]
    assert len(functions) > 2  # split
    assert max(f.__code__.co_nlocals for f in functions) < 1000
    assert len(set(re.findall(r"_t[0-9]+_[0-9]+", compiled.source))) <= 8  # two depths, four at most each


# --- a flow sequence of a million numbers -------------------------------------------------------

PROBE = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path
    import engine.load
    engine.load.USE_C_PARSER = sys.argv[2] == "libyaml"
    engine.load.load_file(Path(sys.argv[1]).with_name("warm.yaml"))  # imports done before measuring
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    source = engine.load.load_file(Path(sys.argv[1]))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    found = [(d.line, d.column, d.code) for d in source.diagnostics]
    print(json.dumps({"found": found, "mib": (after - before) / 1024}))
    """
)


@pytest.mark.parametrize("parser", ["libyaml", "pure"])
def test_a_million_numbers_in_one_flow_sequence_are_refused_early(tmp_path: Path, parser: str) -> None:
    """Refused at the 100,001st value, before the rest is parsed: no composing of a million nodes.

    Both libyaml (the parser billrules uses) and ruamel's pure parser, the fallback, stop at the
    same place with the same memory (a million composed nodes would take well over 64 MiB); how
    long it takes is not a test's to say.
    """
    path = tmp_path / "million.yaml"
    path.write_text("[" + "1," * 999_999 + "1]", encoding="utf-8")
    assert path.stat().st_size <= 2 * 1024 * 1024
    (tmp_path / "warm.yaml").write_text("a: [1, 2]\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(path), parser], capture_output=True, text=True, timeout=60, check=True
    )
    measured = json.loads(result.stdout)
    assert measured["found"] == [[1, 200_000, "BR108"]]  # the sequence is value 1; its 100,000th number is 100,001
    assert measured["mib"] < 64

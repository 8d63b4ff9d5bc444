"""`billrules test [DIR...] [--rules DIR]`: run analysts' expectation files; exit 0 all pass, 1 otherwise.

Each mismatch prints like a compiler error at the expectation's line, then the expected and the
actual value. Files without `expect:` are skipped (they are plain scenarios).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.cli.exits import EXIT_FINDINGS, EXIT_OK, UsageError
from engine.cli.reporters import TextReporter, add_report_options
from engine.cli.safe_text import printable
from engine.diagnostics import Diagnostic


def add_parser(commands: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "test", help="run expectation files (a scenario plus the decision parts it expects)"
    )
    parser.add_argument(
        "paths", nargs="*", default=["samples"], metavar="PATH", help="expectation files or folders (default: samples)"
    )
    parser.add_argument("--rules", default="rules", metavar="DIR", help="the rule set (default: rules)")
    add_report_options(parser)
    return parser


def _files(paths: list[str]) -> tuple[list[Path], list[Diagnostic]]:
    """Expectation files named or found under folders, and the problems met walking the folders.

    Folders are walked without following folder links; unreadable folders and links leading out
    of the folder given are reported. An entry that is not a regular file is kept: the loader
    says what it is, with a diagnostic.
    """
    from engine.files import is_dir, may_exist, outside_link, walk
    from engine.load import display_path

    found: list[Path] = []
    problems: list[Diagnostic] = []
    for name in paths:
        path = Path(name)
        if is_dir(path):
            listing = walk(path, display_path)
            found.extend(p for p in listing.files if p.suffix in (".yaml", ".yml", ".json"))
            problems.extend(listing.diagnostics)
            problems.extend(outside_link(p, display_path(p), "the folder given") for p in listing.outside)
        elif may_exist(path):
            found.append(path)  # not a regular file? the loader says so, with a diagnostic
        else:
            raise UsageError(f"no such file or directory: {printable(name)}")
    return found, problems


def run(args: argparse.Namespace) -> int:
    from engine.cli.decide_cmd import load_rules_or_report, scenario_error_diagnostics, unanswered_diagnostics
    from engine.decide.decision import decide
    from engine.decide.scenarios import ScenarioError, read_scenarios
    from engine.expectations import compare, mismatch_location

    files, unreadable = _files(args.paths)
    rules = load_rules_or_report(args.rules, args.max_diagnostics)
    if rules is None:
        return EXIT_FINDINGS
    passed, failed = 0, len(unreadable)
    problems = TextReporter(sys.stdout, args.max_diagnostics)
    problems.add(unreadable)
    for path in files:
        for item in read_scenarios(path):
            if item.diagnostics:
                problems.add(item.diagnostics)
                failed += 1
                continue
            if item.expect is None:
                continue
            try:
                decision = decide(rules, item.scenario)
            except ScenarioError as exc:
                problems.add(scenario_error_diagnostics(item.document, str(path), exc))
                failed += 1
                continue
            unanswered = unanswered_diagnostics(item.document, str(path), item.scenario)
            if unanswered:  # an expectation of a question nobody answers must not pass by comparing nothing
                problems.add(unanswered)
                failed += 1
                continue
            mismatches = list(compare(item.expect, decision))
            if not mismatches:
                passed += 1
                continue
            failed += 1
            file = item.document.file if item.document else str(path)
            diagnostics = []
            for m in mismatches:
                line, column = mismatch_location(item.document, m)
                diagnostics.append(
                    Diagnostic(
                        file,
                        line,
                        column,
                        "BR701",
                        f"scenario `{item.scenario.id}`: {m.render()}",
                        "fix the rules or the expectation",
                        detail=tuple(_diff(m)),
                    )
                )
            problems.add(diagnostics)
    problems.close()
    sys.stdout.write(f"{passed} passed, {failed} failed\n")
    return EXIT_OK if failed == 0 else EXIT_FINDINGS


def _diff(m: object) -> list[str]:
    expected, actual = getattr(m, "expected", None), getattr(m, "actual", None)
    if actual is None or isinstance(expected, dict | list):
        return []
    return [f"- expected: {expected}", f"+ actual:   {actual}"]

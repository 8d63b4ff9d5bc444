"""`billrules test [DIR...] [--rules DIR]`: run analysts' expectation files; exit 0 all pass, 1 otherwise.

Each mismatch prints like a compiler error at the expectation's line, then the expected and the
actual value (and, for a status, the decision's reasons). A run cannot pass by accident: files
without `expect:` are counted and listed as skipped, a file named twice is tested once, a rule
file given as a scenario says so in one line, and a run that tests nothing exits 1.
`--coverage` adds the rule coverage table (engine/coverage.py); `--coverage-json FILE` writes it
as JSON.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from engine.cli.exits import EXIT_FINDINGS, EXIT_OK, UsageError
from engine.cli.html_output import json_report_named, not_an_input, not_over_scenarios, report_target, write_report
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
    parser.add_argument(
        "--rules",
        default="rules",
        metavar="DIR",
        help="the rule set (default: rules/, else the nearest ruleset.yaml above)",
    )
    parser.add_argument(
        "--coverage",
        action="store_true",
        help="report per definition and per condition what the expectations exercised",
    )
    parser.add_argument("--coverage-json", metavar="FILE", help="write the rule coverage as JSON to FILE")
    add_report_options(parser)
    return parser


def _files(paths: list[str]) -> tuple[list[tuple[Path, bool]], list[Diagnostic], list[str]]:
    """Expectation files named or found under folders, the problems met walking the folders, and
    the files found that are not read (`B.YAML`: listed as skipped, as `diff` lists them).

    Folders are walked without following folder links; unreadable folders and links leading out
    of the folder given are reported. An entry that is not a regular file is kept: the loader
    says what it is, with a diagnostic.
    """
    from engine.files import is_dir, may_exist, outside_link, walk
    from engine.load import display_path

    found: list[tuple[Path, bool]] = []  # (file, named on the command line)
    seen: set[Path] = set()
    problems: list[Diagnostic] = []
    not_read: list[str] = []

    def add(path: Path, named: bool) -> None:
        key = Path(os.path.realpath(path))
        if key not in seen:  # a file named twice (or inside two folders given) is tested once
            seen.add(key)
            found.append((path, named))

    for name in paths:
        path = Path(name)
        if is_dir(path):
            listing = walk(path, display_path)
            for p in listing.files:
                if p.suffix in _SUFFIXES:  # JSON Lines only when named (a run's input)
                    add(p, False)
                elif p.suffix.lower() in _SUFFIXES:  # (until 2026-12-02 passed over without a word)
                    not_read.append(
                        f"{printable(str(p))}: not read (expectation files end in `.yaml`, `.yml` or `.json`, in lower case)"
                    )
            problems.extend(listing.diagnostics)
            problems.extend(outside_link(p, display_path(p), "the folder given") for p in listing.outside)
        elif may_exist(path):
            add(path, True)  # not a regular file? the loader says so, with a diagnostic
        else:
            raise UsageError(f"no such file or directory: {printable(name)}")
    return found, problems, not_read


_SUFFIXES = (".yaml", ".yml", ".json")


def run(args: argparse.Namespace) -> int:
    from engine.cli.decide_cmd import (
        load_rules_or_report,
        rule_document,
        rule_file_diagnostic,
        scenario_error_diagnostics,
        unanswered_diagnostics,
    )
    from engine.decide.decision import decide
    from engine.decide.scenarios import ScenarioError, read_scenarios
    from engine.expectations import compare, mismatch_location
    from engine.files import is_parquet, parquet_scenarios
    from engine.load import display_path

    coverage_path = report_target(args.coverage_json, "coverage") if args.coverage_json else None
    if coverage_path is not None:
        not_an_input(coverage_path, "--coverage-json", [*args.paths, args.rules])
        not_over_scenarios(str(coverage_path), "--coverage-json")
    files, unreadable, not_read = _files(args.paths)
    rules = load_rules_or_report(args.rules, args.max_diagnostics, near=args.paths[0] if args.paths else None)
    if rules is None:
        return EXIT_FINDINGS
    if coverage_path is not None:  # the rule set found above the paths when `--rules` is not given
        not_an_input(coverage_path, "--coverage-json", [rules.root])
        json_report_named(coverage_path, "coverage")
    passed, failed = 0, len(unreadable)
    skipped: list[str] = list(not_read)
    problems = TextReporter(sys.stdout, args.max_diagnostics)
    problems.add(unreadable)
    coverage = None
    if args.coverage or args.coverage_json:
        from engine.coverage import Coverage

        coverage = Coverage.of(rules)
    for path, named in files:
        if is_parquet(path):  # (one line, not "binary file" at column 20: `run` reads it)
            problems.add([parquet_scenarios(path, display_path(path))])
            failed += 1
            continue
        for item in read_scenarios(path):
            kind = rule_document(item)
            if kind is not None:
                if named:
                    problems.add([rule_file_diagnostic(item, str(path), kind)])
                    failed += 1
                else:
                    skipped.append(f"{printable(str(path))}: a rule file (`kind: {printable(kind)}`)")
                break  # one line per file, not one per document
            if item.diagnostics:
                problems.add(item.diagnostics)
                failed += 1
                continue
            if _expects_nothing(item.expect):  # `expect:` missing, or nothing in it to check (`expect: {}`)
                # the document's or the JSON Lines record's line (a record's document is its line's)
                document = item.document
                several = document is not None and (document.index > 0 or path.suffix in (".jsonl", ".ndjson"))
                where = f":{document.start.line}" if document is not None and several else ""
                why = "no `expect:`" if item.expect is None else "nothing in `expect:` to check"
                skipped.append(f"{printable(str(path))}{where}: {why}")
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
            if coverage is not None:
                coverage.record(rules, item.scenario, decision)
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
                        max(column, 1),  # (a JSON Lines record has no column: 1, as `decide` says; it was 0)
                        "BR701",
                        f"scenario `{item.scenario.id}`: {m.render()}",
                        m.hint or "fix the rules or the expectation",
                        detail=(*_diff(m), *m.context),
                    )
                )
            problems.add(diagnostics)
    problems.close()
    for entry in skipped:
        sys.stdout.write(f"skipped {entry}\n")
    if coverage is not None:
        _write_coverage(coverage, args)
    counts = f"{passed} passed, {failed} failed" + (f", {len(skipped)} skipped" if skipped else "")
    sys.stdout.write(counts + "\n")
    if passed + failed == 0:
        sys.stdout.write(
            "billrules: no expectation was tested: give files or folders holding scenarios with `expect:`\n"
        )
        return EXIT_FINDINGS
    return EXIT_OK if failed == 0 else EXIT_FINDINGS


def _write_coverage(coverage: Any, args: argparse.Namespace) -> None:
    import json

    if args.coverage:
        sys.stdout.write(coverage.render())
    if args.coverage_json:
        text = json.dumps(coverage.to_json(), ensure_ascii=False, indent=1) + "\n"
        write_report(Path(args.coverage_json), text)  # (atomically: a reader never sees half of it)


def _diff(m: object) -> list[str]:
    expected, actual = getattr(m, "expected", None), getattr(m, "actual", None)
    if actual is None or isinstance(expected, dict | list) or isinstance(actual, dict | list):
        return []  # (a whole part of the decision is no diff: the message says what it is)
    import json

    from engine.expectations import _text

    quoted = isinstance(expected, str) != isinstance(actual, str)  # text against yes/no: `"true"` / `true`

    def shown(value: object) -> str:
        return json.dumps(value, ensure_ascii=False) if quoted and isinstance(value, str) else _text(value)

    return [f"- expected: {shown(expected)}", f"+ actual:   {shown(actual)}"]


def _expects_nothing(expect: Any, path: tuple[str, ...] = ()) -> bool:
    """No expectation, or mappings with nothing in them (`expect: {}`, `{discounts: {}}`): such a
    file would pass by comparing nothing. An empty list (`alerts: []`) does expect something: none;
    so does an empty mapping of money per currency (`cancellation: {total: {}}`)."""
    from engine.expectations import PER_CURRENCY

    if expect is None:
        return True
    return isinstance(expect, dict) and all(
        isinstance(v, dict) and (*path, k) not in PER_CURRENCY and _expects_nothing(v, (*path, k))
        for k, v in expect.items()
    )

"""`billrules diff --rules OLD --rules NEW --input SCENARIOS [--json] [--html FILE]`: impact of a rule change.

Every scenario is decided under both rule sets; the report says how many changed, grouped by what
changed, with the money moved per currency (engine/diff.py holds the comparison as data). OLD or
NEW may be a git revision of the rules folder: `git:HEAD~1:rules`.

Exit 0 nothing changed (and every scenario was decided under both), 1 something changed, some
scenario could not be decided or none was found, 2 usage.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from engine.cli.exits import EXIT_FINDINGS, EXIT_OK, UsageError
from engine.cli.html_output import html_target, not_an_input, write_html
from engine.cli.reporters import add_report_options
from engine.cli.safe_text import json_safe, printable


def add_parser(commands: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "diff", help="impact of a rule change: decide scenarios under two rule sets and report what changed"
    )
    parser.add_argument(
        "--rules",
        action="append",
        default=[],
        metavar="DIR",
        help="give it twice: the old rule set, then the new; a folder, or git:REVISION:FOLDER (e.g. git:HEAD~1:rules)",
    )
    parser.add_argument(
        "--input",
        required=True,
        metavar="SCENARIOS",
        help="a folder of scenario files (YAML/JSON; `expect:` ignored), a JSON Lines file, or one scenario file",
    )
    parser.add_argument("--json", action="store_true", help="the report as one JSON document")
    parser.add_argument("--html", metavar="FILE", help="also write the report as one self-contained HTML file")
    parser.add_argument(
        "--per-group",
        type=int,
        default=10,
        metavar="N",
        help="scenarios listed per group in the text report (default 10; 0 for all; --json and --html list all)",
    )
    add_report_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from engine.cli.decide_cmd import load_rules_or_report
    from engine.diff import GIT_PREFIX, diff, scenario_inputs
    from engine.files import is_parquet, may_exist, parquet_run

    if len(args.rules) != 2:
        raise UsageError(f"give --rules twice, the old rule set then the new one (got {len(args.rules)})")
    if args.per_group < 0:  # refused before any rule set is loaded or scenario decided
        raise UsageError("--per-group must be 0 (all) or more")
    source = Path(args.input)
    if args.input == "-" and not may_exist(source):  # ("no such scenario file or folder: -" until 2026-12-03)
        raise UsageError(
            "diff reads a scenario file or folder, not standard input (`-`); write the scenarios to a file first"
        )
    if not may_exist(source):
        raise UsageError(f"no such scenario file or folder: {printable(args.input)}")
    if is_parquet(source):  # (until 2026-12-03 "1 scenarios", not decided: "binary file", at column 20)
        raise UsageError(
            f"the input {printable(args.input)} is a Parquet file (it starts with `PAR1`): diff reads scenario "
            "files (YAML, JSON) and JSON Lines; Parquet scenarios are decided by "
            f"`{parquet_run(printable(args.input))}`"
        )
    html_path = html_target(args.html) if args.html else None
    if html_path is not None:
        not_an_input(html_path, "--html", [*(r for r in args.rules if not r.startswith(GIT_PREFIX)), args.input])
    with tempfile.TemporaryDirectory(prefix="billrules-diff-") as scratch:
        folders = []
        for i, name in enumerate(args.rules):
            folders.append(_git_rules(name, Path(scratch) / str(i)) if name.startswith(GIT_PREFIX) else name)
        old = load_rules_or_report(folders[0], args.max_diagnostics)
        new = load_rules_or_report(folders[1], args.max_diagnostics)
        if old is None or new is None:
            return EXIT_FINDINGS
        # the report keeps what it prints: every scenario of each group for --json and --html,
        # else the first --per-group; both decisions of the changed scenarios the HTML page shows
        listed = 0 if args.json or html_path is not None else args.per_group
        pairs = 0
        if html_path is not None:
            from engine.report.html import MAX_DECISION_PAIRS

            pairs = MAX_DECISION_PAIRS
        try:
            report = diff(old, new, scenario_inputs(source), (args.rules[0], args.rules[1]), listed=listed, pairs=pairs)
        except OSError as exc:  # (an input whose read failed: named as the input's)
            from engine.cli.exits import unreadable_input

            raise unreadable_input(exc, [args.input]) from exc
    if args.json:
        import json

        sys.stdout.write(json_safe(json.dumps(report.to_json(), ensure_ascii=False, indent=1)) + "\n")
    else:
        render(report.to_json(), sys.stdout, args.per_group)
    if html_path is not None:
        from engine.report.html import diff_page

        write_html(html_path, diff_page(report))
    return EXIT_OK if report.clean else EXIT_FINDINGS


def _git_rules(spec: str, into: Path) -> str:
    from engine.diff import GitRevisionError, extract_git_rules

    try:
        return str(extract_git_rules(spec, into))
    except GitRevisionError as exc:
        raise UsageError(str(exc)) from None


_SHORT = {"discounts_net": "net", "cancellation_penalties": "penalties", "purchase_price": "purchase price"}


def _moving(report: dict[str, Any]) -> str:
    """` (46 of them moving money)`: of the changed scenarios, those whose money moved."""
    moving = report.get("money_changed")
    return f" ({moving:,} of them moving money)" if moving is not None else ""


def render(report: dict[str, Any], out: TextIO, per_group: int = 0) -> None:
    """The report in words: the two rule sets, the counts, money moved, the groups in a table, then
    each group and its scenarios (at most `per_group` of them, 0 for all)."""
    from engine.diff import MEASURES

    names = dict(MEASURES)
    for side in ("old", "new"):
        rules = report[side]
        out.write(f"{side} rules: {printable(rules['rules'])} ({rules['rules_version']})\n")
    out.write(
        f"{report['scenarios']:,} scenarios: {report['changed']:,} changed{_moving(report)}, {report['unchanged']:,} unchanged"
        f", {report['undecided']:,} not decided\n"
    )
    for entry in report["skipped"]:
        out.write(f"skipped {printable(entry)}\n")
    if report["money"]:
        out.write("\nmoney moved (new - old, over the changed scenarios):\n")
        for measure, amounts in report["money"].items():
            for amount in amounts.values():
                out.write(f"  {names[measure]:<34}{amount:>18}\n")
    if not report["scenarios"]:
        out.write("\nno scenario found: nothing was compared (name the scenario files or the folder that holds them)\n")
        return
    if not report["groups"]:
        out.write("\nnothing changed\n")
        return
    out.write("\ngroups (a scenario is in every group of what changed in it):\n")
    for group in report["groups"]:
        out.write(f"  {group['count']:>8,}  {printable(group['label'])}\n")
    out.write("\nby what changed:\n")
    for group in report["groups"]:
        noun = "scenario" if group["count"] == 1 else "scenarios"
        moved = ", ".join(f"{_SHORT[m]} {a}" for m, amounts in group["money"].items() for a in amounts.values())
        out.write(f"\n  {printable(group['label'])} — {group['count']:,} {noun}{f'  ({moved})' if moved else ''}\n")
        listed = group["scenarios"] if not per_group else group["scenarios"][:per_group]
        for s in listed:
            where = f"{printable(s['file'])}:{s['line']}"
            detail = f"  {printable(s['detail'])}" if s.get("detail") else ""
            out.write(f"    {printable(s['scenario'] or '(no id)')}  {where}{detail}\n")
            for p in s.get("problems", []):
                out.write(f"      {p['rules']}: {printable(p['code'])} {printable(p['message'])}\n")
                if p.get("hint"):
                    out.write(f"        hint: {printable(p['hint'])}\n")
        if len(listed) < group["count"]:  # (the report may keep only the scenarios listed)
            out.write(f"    … {group['count'] - len(listed):,} more (--per-group 0, --json or --html list all)\n")

"""`billrules decide --rules DIR SCENARIO [--json] [--explain]`: one scenario, readable or JSON.

Exit 0 decided, 1 the rules or the scenario have problems (reported as diagnostics), 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from engine.cli.main import EXIT_FINDINGS, EXIT_OK, UsageError
from engine.cli.reporters import report_text
from engine.diagnostics import Diagnostic


def load_rules_or_report(rules_dir: str) -> Any:
    """The RuleSet, or None after printing its diagnostics to stderr."""
    from engine.ruleset import RuleSetError, load_rules

    if not Path(rules_dir).exists():
        raise UsageError(f"no such rules folder: {rules_dir}")
    try:
        return load_rules(rules_dir)
    except RuleSetError as exc:
        sys.stderr.write(f"billrules: the rules in {rules_dir} have errors:\n")
        report_text(exc.diagnostics, sys.stderr)
        return None


def scenario_error_diagnostic(document: Any, file: str, exc: Any) -> Diagnostic:
    """A ScenarioError located at its field in the scenario file."""
    path: list[str | int] = []
    for part in exc.field.replace("]", "").replace("[", ".").split("."):
        path.append(int(part) if part.isdigit() else part)
    if document is not None:
        located: Diagnostic = document.diagnostic(tuple(path), "BR603", exc.message, exc.hint)
        return located
    return Diagnostic(file, 1, 1, "BR603", f"{exc.field}: {exc.message}", exc.hint)


def run_decide(args: argparse.Namespace) -> int:
    from engine.decide.decision import decide, to_json
    from engine.decide.scenarios import ScenarioError, read_scenarios

    rules = load_rules_or_report(args.rules)
    if rules is None:
        return EXIT_FINDINGS
    path = Path(args.scenario)
    if not path.is_file():
        raise UsageError(f"no such scenario file: {args.scenario}")
    status = EXIT_OK
    for item in read_scenarios(path):
        if item.diagnostics:
            report_text(item.diagnostics, sys.stderr)
            status = EXIT_FINDINGS
            continue
        try:
            decision = decide(rules, item.scenario, explain=args.explain)
        except ScenarioError as exc:
            report_text([scenario_error_diagnostic(item.document, str(path), exc)], sys.stderr)
            status = EXIT_FINDINGS
            continue
        if args.json:
            sys.stdout.write(to_json(decision) + "\n")
        else:
            render(decision, sys.stdout)
    return status


def render(decision: dict[str, Any], out: TextIO) -> None:
    """A readable decision: a table per line (gross → each discount → net), then every definition."""
    out.write(f"scenario {decision['scenario']}   (rules {decision['rules_version']})\n")
    discounts = decision.get("discounts")
    if discounts is not None:
        out.write("\ndiscounts, per line:\n")
        for line in discounts["lines"]:
            bundle = f" in {line['bundle']}" if "bundle" in line else ""
            out.write(f"  {line['line']}: {line['product']}{bundle}\n")
            out.write(f"    {'gross':<34}{line['gross']:>16}\n")
            for take in line["discounts"]:
                out.write(f"    {take['code']:<34}{take['amount']:>16}\n")
            out.write(f"    {'net':<34}{line['net']:>16}\n")
        out.write("\ndefinitions:\n")
        for item in discounts["definitions"]:
            amount = item.get("amount", "")
            out.write(f"  {item['status']:<17}{item['code']:<34}{amount:>16}\n")
            for reason in item["reasons"]:
                out.write(f"  {'':<17}  {reason}\n")
        for currency, total in discounts["totals"].items():
            out.write(f"\ntotal {currency}: gross {total['gross']}, discount {total['discount']}, net {total['net']}\n")
    for owner, sections in decision.get("trace", {}).items():
        out.write(f"\nwhy {owner}:\n")
        for section in sections:
            out.write(f"  section {section['section']}: {'holds' if section['holds'] else 'does not hold'}\n")
            for step in section["steps"]:
                out.write(f"    {step}\n")

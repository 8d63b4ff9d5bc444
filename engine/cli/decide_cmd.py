"""`billrules decide [--rules DIR] SCENARIO... [--json] [--explain]`: scenarios, readable or JSON.

Exit 0 decided, 1 the rules or the scenario have problems (reported as diagnostics), 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from engine.cli.exits import EXIT_FINDINGS, EXIT_OK, UsageError
from engine.cli.html_output import html_target, not_an_input, write_html
from engine.cli.reporters import Reporter, TextReporter, add_report_options
from engine.cli.safe_text import json_safe, printable
from engine.diagnostics import Diagnostic
from engine.files import is_dir, may_exist


def add_parser(commands: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser("decide", help="decide scenario files with a rule set")
    parser.add_argument(
        "--rules",
        default="rules",
        metavar="DIR",
        help="the rule set (its root folder; default: rules/, else the nearest ruleset.yaml above)",
    )
    parser.add_argument(
        "scenarios", nargs="+", metavar="SCENARIO", help="scenario files (YAML or JSON; several documents each)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output, one JSON object per scenario")
    parser.add_argument("--explain", action="store_true", help="add the criterion-level trace")
    parser.add_argument(
        "--only",
        metavar="CODE",
        help="show only this discount definition (its status and reasons; with --explain, its trace)",
    )
    parser.add_argument("--html", metavar="FILE", help="also write the decisions as one self-contained HTML report")
    parser.add_argument(
        "--brief-reasons",
        action="store_true",
        help="a not-eligible discount names its failing criteria section only (as a billing run does)",
    )
    parser.add_argument(
        "--applied-only",
        action="store_true",
        help="list only the discounts that apply or await an action; count the others by status (as `run "
        "--applied-only`); with --only, the definition named is shown whatever its status",
    )
    add_report_options(parser)
    return parser


def load_rules_or_report(rules_dir: str, limit: int, near: str | None = None) -> Any:
    """The RuleSet, or None after printing its diagnostics to stderr. Without a rule set in
    `rules/` (the default, `--rules` not given), the nearest `ruleset.yaml` at or above `near`
    (the first file or folder given), else at or above the current folder, as `validate` finds
    one: `billrules test ../tests` run inside a rule set that is not in `rules/`."""
    from engine.load import display_path, find_ruleset_root, holds_ruleset
    from engine.ruleset import RuleSetError, load_rules

    if rules_dir == "rules" and not holds_ruleset(Path("rules")):
        starts = [Path(near) if is_dir(Path(near)) else Path(near).parent] if near is not None else []
        for start in [*starts, Path.cwd()]:  # then at or above the current folder, as `validate`
            found = find_ruleset_root(start.resolve())
            if found is not None:
                rules_dir = display_path(found)
                break
    if not is_dir(Path(rules_dir)):
        if Path(rules_dir).is_file():  # (said "no such rules folder" of an existing file until 2026-12-03)
            folder = printable(str(Path(rules_dir).parent))
            raise UsageError(
                f"--rules {printable(rules_dir)} is a file: give the rule set's folder (the one holding "
                f"its ruleset.yaml), e.g. --rules {folder}"
            )
        raise UsageError(f"no such rules folder: {printable(rules_dir)}")
    try:
        return load_rules(rules_dir)
    except RuleSetError as exc:
        sys.stderr.write(f"billrules: the rules in {printable(rules_dir)} have errors:\n")
        reporter = TextReporter(sys.stderr, limit)
        reporter.add(exc.diagnostics)
        reporter.close()
        return None


def scenario_error_diagnostic(document: Any, file: str, exc: Any) -> Diagnostic:
    """A ScenarioError located at its field in the scenario file."""
    path: list[str | int] = []
    for part in exc.field.replace("]", "").replace("[", ".").split("."):
        path.append(int(part) if part.isdigit() else part)
    if document is not None:
        where = exc.path if getattr(exc, "path", None) is not None else tuple(path)
        located: Diagnostic = document.diagnostic(
            where, exc.code, exc.message, exc.hint, key=getattr(exc, "key", False)
        )
        return located
    return Diagnostic(file, 1, 1, exc.code, f"{exc.field}: {exc.message}", exc.hint)


def _for_reader(d: Diagnostic) -> Diagnostic:
    """A JSON line's problem for a person: the record's column 0 (none of its own) shown as 1 and
    the field named, as `validate --scenarios` shows it (until 2026-12-02 `decide` said column 0
    and named no field). Error records of a run keep their own shape (`column` 0, `field`)."""
    if d.column != 0:
        return d
    from dataclasses import replace

    field = getattr(d, "field_path", "")
    return replace(d, column=1, message=f"`{field}`: {d.message}" if field else d.message)


def scenario_error_diagnostics(document: Any, file: str, exc: Any) -> list[Diagnostic]:
    """A ScenarioError and the further problems it carries (`also`), each at its field."""
    return [scenario_error_diagnostic(document, file, e) for e in (exc, *exc.also)]


def unanswered_diagnostics(document: Any, file: str, scenario: Any) -> list[Diagnostic]:
    """BR604 for every question the scenario asks that no decision answers, at the field asking it."""
    from engine.decide.decision import unanswered

    found = []
    for part in unanswered(scenario):
        path = (part.field,) if part.field else ()
        if document is not None:
            found.append(document.diagnostic(path, "BR604", part.message, part.hint, key=bool(path)))
        else:
            found.append(Diagnostic(file, 1, 1, "BR604", part.message, part.hint))
    return found


def rule_document(item: Any) -> str | None:
    """The `kind` of a rule document read as a scenario (rule files hold `kind:`, scenarios never)."""
    data = item.document.data if item.document is not None else None
    if isinstance(data, dict) and isinstance(data.get("kind"), str):
        return str(data["kind"])
    return None


def rule_file_diagnostic(item: Any, file: str, kind: str) -> Diagnostic:
    document = item.document
    return Diagnostic(
        document.file if document is not None else file,
        document.start.line if document is not None else 1,
        1,
        "BR601",
        f"this is a rule file (`kind: {kind}`), not a scenario",
        "a rule file belongs to the rule set given with `--rules`; a scenario has an `id` and an `as_of`",
    )


def run(args: argparse.Namespace) -> int:
    from engine.decide.decision import decide, decide_text, to_json
    from engine.decide.scenarios import ScenarioError, read_scenarios
    from engine.files import is_parquet, parquet_scenarios
    from engine.load import display_path

    if "-" in args.scenarios and not may_exist(Path("-")):  # ("no such scenario file: -" until 2026-12-03)
        raise UsageError(
            "decide reads scenario files, not standard input (`-`); write the scenario to a file, or "
            "decide a JSON Lines stream with `billrules run --input - --output -`"
        )
    paths = [Path(name) for name in args.scenarios]
    missing = [printable(str(p)) for p in paths if not may_exist(p)]
    if missing:
        raise UsageError(f"no such scenario file: {', '.join(missing)}")
    html = html_target(args.html) if args.html else None
    if html is not None:
        not_an_input(html, "--html", [*args.scenarios, args.rules])
    rules = load_rules_or_report(args.rules, args.max_diagnostics, near=args.scenarios[0] if args.scenarios else None)
    if rules is None:
        return EXIT_FINDINGS
    if html is not None:  # the rule set found above the scenarios when `--rules` is not given
        not_an_input(html, "--html", [rules.root])
    if args.brief_reasons:
        rules = rules.brief()
    if args.applied_only and args.only is None:  # `--only CODE` shows that definition whatever its status
        rules = rules.applied_only()
    if args.only is not None:
        check_only(rules, args.only)
    reporter: Reporter = TextReporter(sys.stderr, args.max_diagnostics)
    first = True
    decided: list[dict[str, Any]] = []  # for --html
    unshown: list[Any] = []  # with --only: scenarios that ask no discount question (said, exit 1)
    nothing_shown = False
    refused: list[Diagnostic] = []  # for --html: what could not be decided, listed in the report too

    def report(found: list[Diagnostic]) -> None:
        reporter.add(found)
        if html is not None:
            refused.extend(found)

    for path in paths:
        if is_parquet(path):  # (one line, not "binary file" at column 20: `run` reads it)
            report([parquet_scenarios(path, display_path(path))])
            continue
        for item in read_scenarios(path):
            kind = rule_document(item)
            if kind is not None:  # one line for a rule file, not one per unknown field
                report([rule_file_diagnostic(item, str(path), kind)])
                break
            if item.diagnostics:
                report(item.diagnostics)
                continue
            fast = args.json and args.only is None and html is None  # the text a billing run writes
            text: str | None = None
            try:
                if fast:
                    text = decide_text(rules, item.scenario, explain=args.explain)
                else:
                    decision = decide(rules, item.scenario, explain=args.explain)
                    if args.only is not None:
                        decision = only(decision, args.only)
                        if "discounts" not in decision:  # (an empty decision, exit 0, until 2026-12-03)
                            unshown.append(decision["scenario"])
                    if args.json:
                        text = to_json(decision)
            except ScenarioError as exc:
                report([_for_reader(d) for d in scenario_error_diagnostics(item.document, str(path), exc)])
                continue
            if text is not None:
                sys.stdout.write(json_safe(text) + "\n")
            else:
                if not first:
                    sys.stdout.write("\n")
                render(_printable_tree(decision), sys.stdout)
            first = False
            if html is not None:
                decided.append(decision)
            report(unanswered_diagnostics(item.document, str(path), item.scenario))
            while unshown:
                sys.stdout.flush()  # (after the decision it is about)
                sys.stderr.write(
                    f"billrules: error: {printable(str(path))}: scenario `{printable(str(unshown.pop()))}` asks no "
                    f"discount question (of a subscription or a job): `--only {printable(args.only)}` has nothing "
                    "to show\n"
                    "  hint: --only shows one definition of a subscription's or a job's discounts; "
                    "leave it out to see the parts the scenario asks (a purchase's prices among them)\n"
                )
                nothing_shown = True
    reporter.close()
    if html is not None:
        from engine.report.html import decisions_page

        write_html(html, decisions_page(decided, refused))
    return EXIT_FINDINGS if reporter.total or nothing_shown else EXIT_OK


def check_only(rules: Any, code: str) -> None:
    """`--only CODE` names a discount definition of the rule set (else a usage error, with did-you-mean)."""
    from engine.decide.decision import lookup
    from engine.diagnostics import did_you_mean

    discounts = lookup(rules, "discount")
    if code not in discounts:
        hint = did_you_mean(code, discounts)
        raise UsageError(
            f"--only: no discount definition `{printable(code)}` in the rules"
            + (f"; {hint}" if hint else f" (it has: {', '.join(discounts)})")
        )


def only(decision: dict[str, Any], code: str) -> dict[str, Any]:
    """The decision limited to one discount definition: its status and reasons, the lines it takes
    from, and its trace (the other parts and definitions left out)."""
    limited: dict[str, Any] = {"scenario": decision["scenario"], "rules_version": decision["rules_version"]}
    discounts = decision.get("discounts")
    if discounts is not None:
        limited["discounts"] = {
            "lines": [line for line in discounts["lines"] if any(t["code"] == code for t in line["discounts"])],
            "definitions": [d for d in discounts["definitions"] if d["code"] == code],
        }
    if "trace" in decision:
        owner = f"discount:{code}"
        limited["trace"] = {owner: decision["trace"][owner]} if owner in decision["trace"] else {}
    return limited


def _printable_tree(value: Any) -> Any:
    """The decision with every text escaped for a terminal (codes and ids come from input)."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(str(k)): _printable_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable_tree(v) for v in value]
    return value


def render(decision: dict[str, Any], out: TextIO) -> None:
    """A readable decision: a table per line (gross → each discount → net), then every definition."""
    out.write(f"scenario {decision['scenario']}   (rules {decision['rules_version']})\n")
    discounts = decision.get("discounts")
    if discounts is not None:
        if discounts["lines"]:  # (`--only` a discount that reduces no line: no empty heading)
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
            if not amount and "requested" in item:  # what the agent asked for (an approver reads it here)
                amount = f"requested {item['requested']}"
            out.write(f"  {item['status']:<17}{item['code']:<34}{amount:>16}\n")
            for reason in item["reasons"]:
                out.write(f"  {'':<17}  {reason_words(reason)}\n")
        omitted = [f"{n} {status.replace('_', ' ')}" for status, n in discounts.get("omitted", {}).items() if n]
        if omitted:  # --applied-only: what was counted rather than listed
            out.write(f"  {'(not listed)':<17}{', '.join(omitted)}\n")
        for currency, total in discounts.get("totals", {}).items():
            out.write(f"\ntotal {currency}: gross {total['gross']}, discount {total['discount']}, net {total['net']}\n")
    balance = decision.get("balance")
    if balance is not None:
        render_balance(balance, out)
    credits = decision.get("credits")
    if credits is not None:
        _render_credits(credits, out)
    cancellation = decision.get("cancellation")
    if cancellation is not None:
        from engine.cli.render_cancellation import render_cancellation

        render_cancellation(cancellation, out)
    if "purchase" in decision:
        from engine.cli.render_purchase import render_purchase

        render_purchase(decision["purchase"], out)
    unconsulted = _exceptions_unconsulted(cancellation)
    for owner, sections in decision.get("trace", {}).items():
        out.write(f"\nwhy {owner}:\n")
        if owner in unconsulted:  # (until 2026-12-04 an exception that "holds" read as if it decided)
            out.write(f"  (not consulted: {unconsulted[owner]})\n")
        for section in sections:
            out.write(f"  {section_words(section['section'])}: {'holds' if section['holds'] else 'does not hold'}\n")
            for step in section["steps"]:
                out.write(f"    {step_words(step)}\n")


def _exceptions_unconsulted(cancellation: Any) -> dict[str, str]:
    """Per trace owner (`term:CODE`), why a term's exceptions decided nothing in this cancellation:
    its commitment was over (the trace still shows how each would have read)."""
    found: dict[str, str] = {}
    for term in (cancellation or {}).get("terms", []):
        if term.get("outcome") == "commitment_over":
            found[f"term:{term['term']}"] = f"the commitment ended on {term.get('commitment_end')}: cancelling is free"
    return found


def section_words(section: str) -> str:
    """A trace section's heading: a term's exception counted from 1, as its reasons count it
    ("exception 3 (`exceptions[2]`)"; until 2026-12-02 "section exceptions[2]" beside reasons
    saying "exception 3")."""
    if section.startswith("exceptions[") and section.endswith("]") and section[11:-1].isdigit():
        return f"exception {int(section[11:-1]) + 1} (`{section}`)"
    return f"section {section}"


def reason_words(reason: Any) -> str:
    """A reason in words: a record's `text`, or words as they are."""
    return str(reason["text"]) if isinstance(reason, dict) else str(reason)


_MARKS = {"holds": "✓", "does not hold": "✗", "unknown": "?"}


def step_words(step: dict[str, Any]) -> str:
    """One step of the trace (`Step.to_json`) in words: the values that decided the condition as
    written, its verdict and where it is written."""
    source = step["source"]
    where = f"{source['file']}:{source['line']}:{source['column']}"
    if "missing" in step:
        facts = f"{step['missing']} is missing"
    elif step["kind"] in ("any", "all"):
        facts = f"{step['kind']}: {step['matched']} of {step['count']} in {step['collection']} match"
        if step.get("unknown"):
            facts += f", {step['unknown']} unknown"
    elif step["kind"] == "not":
        facts = f"`{step['operand']}` {step['operand_verdict']}"
    else:
        actual = step["actual"]
        shown = "[" + ", ".join(actual) + "]" if isinstance(actual, list) else actual
        facts = f"{step['subject']} = {shown}"
        if "other" in step:  # a field on the other side: its value too (SPEC 3.3, "the values that made it so")
            facts += f", {step['other']} = {step['expected']}"
        for bound in ("low", "high"):  # `between` a field: each bound the scenario gives, with its value
            if step.get(f"{bound}_other") not in (None, step["subject"]):  # (until 2026-12-03 the subject alone)
                facts += f", {step[bound + '_other']} = {step[bound]}"
        if "window" in step:  # the records a `within` counted (since 2026-12-02)
            from engine.criteria.explain import window_words

            facts += f" ({window_words(step['window'])})"
    verdict = "is unknown" if step["verdict"] == "unknown" else step["verdict"]
    return f"{_MARKS[step['verdict']]} {facts}: `{step['condition']}` {verdict} ({where})"


def render_balance(balance: dict[str, Any], out: TextIO) -> None:
    """The balance part: the ledger line by line, then what was refused and the alerts raised."""
    out.write(f"\nbalance (policy {balance['policy']}):\n")
    out.write(f"  {'opening':<58}{balance['opening']:>12}\n")
    for entry in balance["ledger"]:
        what = f"{entry['event']} {entry['type']}" + (f" {entry['request']}" if "request" in entry else "")
        sign = "+" if entry["type"] in ("grant", "refund") else "-"
        out.write(f"  {entry['at']:<26}{what:<32}{sign + entry['quantity']:>12}{entry['balance']:>12}\n")
    out.write(f"  {'closing':<58}{balance['closing']:>12}\n")
    totals = balance["totals"]
    out.write(
        f"  grants {totals['grants']}, withdrawals {totals['withdrawals']}, "
        f"debits {totals['debits']}, refunds {totals['refunds']}\n"
    )
    if balance.get("debits"):  # the state the next scenario carries (`balance.debits`, since 2026-12-04)
        carried = ", ".join(
            f"{d['request']} {d['amount']}" + (" (refunded)" if d["refunded"] else "") for d in balance["debits"]
        )
        out.write(f"  debits to carry: {carried}\n")
    for title, reasons in (("refused", balance["refused"]), ("alerts", balance["alerts"])):
        if reasons:
            out.write(f"{title}:\n")
            for reason in reasons:
                out.write(f"  {reason['facts']['event']}: {reason['text']}\n")


def _render_reasons(reasons: list[dict[str, Any]], out: TextIO) -> None:
    for reason in reasons:
        out.write(f"  {'':<28}{reason['text']}\n")


def _render_owners(owners: list[dict[str, Any]], out: TextIO) -> None:
    """The credit owners' usage view (seed 001): each owner, then the owner and their credit users
    with what each drew, by credit type (until 2026-12-02 it was in the JSON decision only)."""
    for owner in owners:
        out.write(f"\ncredit owner {owner['owner']}, usage by user:\n")
        for user in owner["users"]:
            if not user["drawn"]:
                out.write(f"  {user['user']:<24}nothing drawn\n")
            for i, drawn in enumerate(user["drawn"]):
                out.write(f"  {user['user'] if i == 0 else '':<24}{drawn['credit_type']:<34}{drawn['quantity']:>12}\n")


def _render_credits(credits: dict[str, Any], out: TextIO) -> None:
    """Credits: each request's draws (rank, credit, quantity), refusals with reasons, what is left."""
    for p in credits.get("purchases", []):
        out.write(
            f"\npurchase {p['purchase']} by {p['user']}: assigned to {p['assigned_to']}, billed to {p['billed_to']}\n"
        )
    out.write("\ncredits, per request:\n")
    for a in credits["allocations"]:
        out.write(f"  {a['request']:<24}#{a['rank']:<3}{a['credit']:<34}{a['quantity']:>12}\n")
        _render_reasons(a.get("reasons", []), out)
    for r in credits["refused"]:
        out.write(f"  {r['request']:<24}refused {r['quantity']}\n")
        _render_reasons(r["reasons"], out)
    out.write("\nremaining:\n")
    for c in credits["remaining"]:
        out.write(f"  {c['credit']:<34} issued {c['issued']:>10}  drawn {c['drawn']:>10}  left {c['remaining']:>10}\n")
    if credits.get("alerts"):
        out.write("alerts:\n")
        for reason in credits["alerts"]:
            out.write(f"  {reason['facts']['request']}: {reason['text']}\n")
    _render_owners(credits.get("owners", []), out)
    if credits.get("passed_over"):  # credits whose criteria left them out of a request's candidates
        out.write("\npassed over:\n")
        for passed in credits["passed_over"]:
            out.write(f"  {passed['request']}\n")
            _render_reasons(passed["reasons"], out)
    for why in credits.get("why", []):
        out.write(f"\nwhy, for {why['request']}:\n")
        for c in why["credits"]:
            out.write(f"  {c['credit']:<34}{c['verdict']['text']}\n")
        if not why["credits"]:  # (a heading over nothing read as if something was left out)
            out.write("  no credit is held in the consumer's organisation tree (or by the consumer)\n")

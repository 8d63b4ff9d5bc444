"""`billrules validate --scenarios PATH...`: scenarios checked against the rule set, not decided.

Each scenario gets the scenario schema's checks (BR601, BR602), the rule set's references
(BR603: an unknown plan, product, user, organisation, ... with "did you mean"), a question no
decision answers, or none asked, or a part no decision reads (BR604), and then whatever `decide`
refuses it for (a refund with an amount, an add-on listed twice, a payment method no plan
supports, …), at its line and column in YAML or JSON files, at its line in JSON Lines files
(`.jsonl`, `.ndjson`: one scenario per line, the field named in the message).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.cli.exits import UsageError
from engine.cli.safe_text import printable
from engine.diagnostics import Diagnostic, Severity

JSON_LINES = (".jsonl", ".ndjson")


def check_scenario_paths(rules_dir: str, names: list[str]) -> list[Diagnostic]:
    from engine.files import is_dir, is_parquet, may_exist, parquet_scenarios
    from engine.load import display_path
    from engine.ruleset import RuleSetError, load_rules

    if not is_dir(Path(rules_dir)):
        raise UsageError(f"no such rules folder: {printable(rules_dir)}")
    missing = [printable(n) for n in names if not may_exist(Path(n))]
    if missing:
        raise UsageError(f"no such scenario file: {', '.join(missing)}")
    try:
        rules = load_rules(rules_dir)
    except RuleSetError as exc:  # the scenarios cannot be checked against rules with errors: said so
        # (until 2026-12-02 only the rules' errors were printed, as though the scenarios had passed)
        sys.stderr.write(
            f"billrules: note: the scenarios were not checked: the rule set {printable(rules_dir)} has errors; "
            "fix them first\n"
        )
        return exc.diagnostics
    found: list[Diagnostic] = []
    seen: set[str] = set()  # a file named twice (or inside two folders given) is checked once, as `test` tests it
    for name in names:
        files, problems = _files(Path(name))
        found += problems
        if not files and not problems:  # a CI job pointed at the wrong folder must not pass on nothing checked
            found.append(
                Diagnostic(
                    printable(name),
                    1,
                    1,
                    "BR601",
                    "no scenario file here (.yaml, .yml, .json, .jsonl, .ndjson)",
                    "name the scenario files or the folder that holds them",
                )
            )
        for path in [path for path in files if _first_time(path, seen)]:
            if is_parquet(path):  # (one line, not "binary file" at column 20: `run` reads it)
                found.append(parquet_scenarios(path, display_path(path)))
                continue
            # (a file named in other letters, `x.JSONL`, is read as `run` reads it: lines)
            found.extend(_json_lines(rules, path) if path.suffix.lower() in JSON_LINES else _documents(rules, path))
    return found


_SCENARIO_SUFFIXES = (".yaml", ".yml", ".json", *JSON_LINES)


def _first_time(path: Path, seen: set[str]) -> bool:
    """Whether `path` (by the file it resolves to) is met for the first time; noted in `seen`."""
    key = os.path.realpath(path)
    if key in seen:
        return False
    seen.add(key)
    return True


def _files(path: Path) -> tuple[list[Path], list[Diagnostic]]:
    """The scenario files under `path`, and what of the folder is not read: a folder that cannot be
    read, a link leading outside it (BR117), a file named as a scenario file in other letters
    (`B.YAML`, BR119). Until 2026-12-02 `validate --scenarios` left those out in silence and
    passed, where `test` and `diff` said so."""
    from engine.files import is_dir, outside_link, walk
    from engine.load import display_path

    if not is_dir(path):
        return [path], []
    listing = walk(path, display_path)
    problems = [
        *listing.diagnostics,
        *(outside_link(p, display_path(p), "the folder given") for p in listing.outside),
        *(
            Diagnostic(
                display_path(p),
                1,
                1,
                "BR119",
                "not read as a scenario file: scenario files end in `.yaml`, `.yml`, `.json`, `.jsonl` or "
                "`.ndjson` (in lower case)",
                "rename it in lower case, or move it out of the folder",
            )
            for p in listing.files
            if p.suffix not in _SCENARIO_SUFFIXES and p.suffix.lower() in _SCENARIO_SUFFIXES
        ),
    ]
    return [p for p in listing.files if p.suffix in _SCENARIO_SUFFIXES], problems


def _documents(rules: Any, path: Path) -> Iterator[Diagnostic]:
    from engine.cli.decide_cmd import rule_document, rule_file_diagnostic, scenario_error_diagnostic
    from engine.decide.decision import unanswered
    from engine.decide.scenarios import read_scenarios
    from engine.scenario_check import unknown_references

    for item in read_scenarios(path):
        kind = rule_document(item)
        if kind is not None:  # one line for a rule file, not one per unknown field
            yield rule_file_diagnostic(item, str(path), kind)
            return
        if item.diagnostics or item.document is None:
            yield from item.diagnostics
            continue
        document = item.document
        data = {k: v for k, v in document.data.items() if k != "expect"}
        found = [
            _staff(document.diagnostic(u.path, u.code, u.message, u.hint), u) for u in unknown_references(rules, data)
        ]
        found += [  # at the field's key, as `decide` and `run` place them
            document.diagnostic((q.field,) if q.field else (), "BR604", q.message, q.hint, key=bool(q.field))
            for q in unanswered(item.scenario)
        ]
        if not any(d.code == "BR604" for d in found):  # what only deciding finds (a refund with an amount, …)
            # also beside unknown names: every problem in one run, as `decide` reports them (until
            # 2026-12-02 a debit without its request went untold beside an unknown policy)
            refusals = [scenario_error_diagnostic(document, str(path), e) for e in _refusals(rules, item.scenario)]
            # one problem once: at a place `decide` refuses, its words and code (BR620 for a
            # purchase's unknown plan), not the name check's BR603 beside them
            places = {(d.line, d.column) for d in refusals}
            found = [d for d in found if (d.line, d.column) not in places or d.severity is not Severity.ERROR]
            found += refusals
        if _billed_without_period(item.scenario):
            where = document.diagnostic(("subscription",), "BR607", NO_PERIOD, _no_period_hint(item.scenario))
            found.append(_warning(where))
        yield from sorted(found, key=lambda d: (d.line, d.column))


#: BR607: a later bill of a subscription without the period billed (its hint: `_no_period_hint`)
NO_PERIOD = (
    "a bill with a discount history but no `billing_period`: the bill is the day of `as_of` alone, and "
    "discounts' validity, durations and free periods count the history's bills up to that day"
)


def _no_period_hint(scenario: Any) -> str:
    """BR607's hint with the month of the scenario's `as_of` (the example was June 2015, whatever
    the bill's year)."""
    import calendar

    day = scenario.as_of.date()
    last = calendar.monthrange(day.year, day.month)[1]
    first, end = day.replace(day=1), day.replace(day=last)
    return f"give the period billed, e.g. the month of `as_of`: `billing_period: {{from: {first}, to: {end}}}`"


def _billed_without_period(scenario: Any) -> bool:
    """A subscription's discount question with a `discount_history` (a later bill, whose earlier
    bills durations and validity count) but without its `billing_period` (BR607, a warning:
    `decide` answers it, for a bill of one day, which is seldom what is meant: a 3-month welcome
    discount's second bill, dated after its expiration, looks expired)."""
    from engine.decide.decision import asks_discounts

    subscription = scenario.subscription
    return (
        subscription is not None
        and subscription.billing_period is None
        and bool(scenario.discount_history)
        and asks_discounts(scenario)
    )


def _warning(diagnostic: Diagnostic) -> Diagnostic:
    from dataclasses import replace

    return replace(diagnostic, severity=Severity.WARNING)


def _staff(diagnostic: Diagnostic, unknown: Any) -> Diagnostic:
    """An unknown agent or approver (or their unit) as a warning: `decide` takes them."""
    return _warning(diagnostic) if unknown.staff else diagnostic


def _refusals(rules: Any, scenario: Any) -> list[Any]:
    """The ScenarioErrors `decide` raises for a scenario that passed every check above, with the
    further problems each carries: `validate --scenarios` passes only what `decide` decides."""
    from engine.decide.scenarios import ScenarioError

    try:
        rules.decide(scenario)
    except ScenarioError as exc:
        return [exc, *exc.also]
    return []


def _json_lines(rules: Any, path: Path) -> Iterator[Diagnostic]:
    from engine.decide.decision import unanswered
    from engine.decide.scenarios import json_line_records, validate_scenario
    from engine.load import display_path, dotted
    from engine.scenario_check import unknown_references

    file = display_path(path)
    read = False
    for number, data, problem in json_line_records(path, file):
        read = True
        if problem is not None:
            yield problem
            continue
        checked = validate_scenario(data, None, file)
        for d in checked.diagnostics:
            yield Diagnostic(file, number, 1, d.code, d.message, d.hint)
        if checked.diagnostics:
            continue
        unknowns = unknown_references(rules, data)
        questions = unanswered(checked.scenario)
        # beside unknown names too, as `decide` says them; one problem once: at a field `decide`
        # refuses, its words and code (BR620 for a purchase's unknown plan), not BR603 beside them
        refusals = _refusals(rules, checked.scenario) if not questions else []
        refused = {e.field for e in refusals}
        for unknown in unknowns:
            where = dotted(unknown.path)
            if where in refused and not unknown.staff:
                continue
            yield _staff(
                Diagnostic(file, number, 1, unknown.code, f"`{where}`: {unknown.message}", unknown.hint), unknown
            )
        for question in questions:  # the field named, as for the other problems of a line
            named = question.field and not question.message.startswith(f"`{question.field}`")
            message = f"`{question.field}`: {question.message}" if named else question.message
            yield Diagnostic(file, number, 1, "BR604", message, question.hint)
        for e in refusals:
            yield Diagnostic(file, number, 1, e.code, f"`{e.field}`: {e.message}", e.hint)
        if _billed_without_period(checked.scenario):
            hint = _no_period_hint(checked.scenario)
            yield _warning(Diagnostic(file, number, 1, "BR607", f"`subscription`: {NO_PERIOD}", hint))
    if not read:  # (an export that failed upstream: passed in silence until 2026-12-03, as `decide` refuses it)
        yield Diagnostic(file, 1, 1, "BR601", "the file holds no scenario", "write one scenario per line")

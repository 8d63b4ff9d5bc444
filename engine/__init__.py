"""billrules: a billing rules engine configured from declarative YAML rule files.

Public API::

    from engine import load_rules
    from engine.run import RunOptions, decide_records, run
    rules = load_rules("rules/")          # RuleSetError with every diagnostic if the rules are bad
    decision = rules.decide(scenario)     # a Decision (JSON-ready data); ScenarioProblem for a bad one
    text = rules.decide_json(scenario)    # the same, as the canonical JSON text a run writes
    summary = run(rules.brief(), RunOptions(input="in.jsonl", output="out.jsonl", errors="err.jsonl"))
    outcomes = decide_records(rules.brief(), scenarios)  # in memory, in order, lazily: Outcome per scenario

The names below are imported lazily so that `billrules validate` starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.decide.scenarios import ScenarioError, ScenarioInvalid, ScenarioProblem
    from engine.diagnostics import Diagnostic, Severity
    from engine.ruleset import Decision, RuleSet, RuleSetError, load_rules
    from engine.run import RunOptions, Summary
    from engine.validate import validate_paths

__all__ = [
    "Decision",
    "Diagnostic",
    "RuleSet",
    "RuleSetError",
    "RunOptions",
    "ScenarioError",
    "ScenarioInvalid",
    "ScenarioProblem",
    "Severity",
    "Summary",
    "load_rules",
    "validate_paths",
]

_HOMES = {
    "Diagnostic": "engine.diagnostics",
    "Severity": "engine.diagnostics",
    "Decision": "engine.ruleset",
    "RunOptions": "engine.run",
    "ScenarioError": "engine.decide.scenarios",
    "ScenarioInvalid": "engine.decide.scenarios",
    "ScenarioProblem": "engine.decide.scenarios",
    "Summary": "engine.run",
    "RuleSet": "engine.ruleset",
    "RuleSetError": "engine.ruleset",
    "load_rules": "engine.ruleset",
    "validate_paths": "engine.validate",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The lazily imported names too (`dir(engine)`, `help(engine)`, completion in a shell)."""
    return sorted({*globals(), *__all__})

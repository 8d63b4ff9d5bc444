"""`RuleSet`: a checked, compiled rule set, immutable and cheap to ship to workers.

`load_rules(path)` runs the whole pipeline and refuses a rule set with errors (the diagnostics
travel in the exception). A RuleSet pickles its typed models and criteria AST; the generated
evaluator is rebuilt on first use in the receiving process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from engine.diagnostics import Diagnostic, Severity

#: A decision: JSON-ready data (`{"scenario", "rules_version", "discounts", "credits", "balance",
#: "cancellation", "purchase", "trace"}`, each part only when the scenario asks it; README
#: "Decisions"), written as canonical JSON by `RuleSet.decide_json` and `engine.decide.decision.to_json`.
Decision: TypeAlias = dict[str, Any]


class RuleSetError(Exception):
    """The rule set has errors; `diagnostics` lists them all."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        # errors and warnings counted apart, the first error named (until 2026-12-03 a warning was
        # counted as an error, and named as the first when it came first)
        errors = [d for d in diagnostics if d.severity != Severity.WARNING]
        warnings = len(diagnostics) - len(errors)
        first = errors[0] if errors else (diagnostics[0] if diagnostics else None)
        where = f" (first: {first.file}:{first.line}:{first.column} {first.message})" if first else ""
        counted = f"{len(errors)} error{'' if len(errors) == 1 else 's'}"
        if warnings:
            counted += f" and {warnings} warning{'' if warnings == 1 else 's'}"
        super().__init__(f"the rule set has {counted}{where}")
        self.diagnostics = diagnostics

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with its diagnostics (not its message), so a process pool hands it back, and
        `copy` copies it (until 2026-12-02 both failed: `load_rules` in a pool broke the pool)."""
        return type(self), (self.diagnostics,)


@dataclass(frozen=True, eq=False)
class RuleSet:
    """Settings, the typed documents of every kind, and the compiled criteria.

    Compared and hashed by identity (`eq=False`): a rule set can key a dict or a cache, and sit
    in a set (until 2026-12-03 `hash(rules)` raised "unhashable type: 'dict'" from its catalog,
    and two loads of the same files compared unequal field by field anyway). Whether two rule
    sets hold the same files: `a.rules_version == b.rules_version`."""

    root: str
    version: str
    settings: Any
    catalog: dict[str, dict[str, Any]]  # kind → code → semantics.Entry (model + document)
    criteria: Any  # criteria.program.CriteriaProgram
    #: "detailed": a not-eligible discount names each failing condition with the scenario's value
    #: against the rule's (the analyst's "why not"); "brief": the failing criteria section only,
    #: for billing runs that need throughput more than words (the detail re-reads the scenario).
    reasons: str = "detailed"
    #: "all": a decision lists every discount definition with its status and reasons; "applied":
    #: only those that apply or await an action, the others counted by status (`applied_only`)
    listed: str = "all"
    #: (display path, path from the rule set's parent folder) of every rule file: how decisions
    #: name them (`engine.load.rule_file`), remembered again in a worker that unpickles the set
    rule_files: tuple[tuple[str, str], ...] = ()

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (to a billing run's workers) without what is kept beside the fields (the
        evaluators, the rules' sources, lookups: every name starting `_`): caches, rebuilt on
        first use. They hold JSON written once and the compiled decision modules' records, which
        are not picklable (until 2026-12-04 only the evaluators were left out)."""
        return {name: value for name, value in self.__dict__.items() if not name.startswith("_")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        from engine.load import remember_rule_files

        self.__dict__.update(state)
        remember_rule_files(state.get("rule_files", ()))

    def brief(self) -> RuleSet:
        """This rule set deciding with brief reasons (`--brief-reasons`): same statuses and amounts."""
        from dataclasses import replace

        return replace(self, reasons="brief")

    def applied_only(self) -> RuleSet:
        """This rule set listing, in a decision's discounts, only the definitions that apply or
        await an action (`--applied-only`): not effective, not eligible and not requested ones are
        counted by status under `omitted`, not written one by one. On a rule set of hundreds of
        definitions, a decision is then a few hundred bytes instead of a hundred kilobytes."""
        from dataclasses import replace

        return replace(self, listed="applied")

    @property
    def rules_version(self) -> str:
        """Content hash of the rule files, stamped on every decision."""
        return self.version

    def models(self, kind: str) -> dict[str, Any]:
        """code → typed model, for one kind."""
        return {code: entry.model for code, entry in sorted(self.catalog.get(kind, {}).items())}

    def decide(self, scenario: Any, *, explain: bool = False) -> Decision:
        """Decide one scenario (a `Scenario` model, a mapping in the scenario schema, or its JSON text).

        Returns the decision as JSON-ready data; raises `ScenarioError` (naming the scenario field)
        for a scenario that cannot be decided, or `ScenarioInvalid` for one that breaks the schema.
        """
        model, owned = _checked(scenario)
        return _hot.decide(self, model, explain=explain, owned=owned)

    def decide_json(self, scenario: Any, *, explain: bool = False) -> str:
        """`decide`, written as the decision's canonical JSON text (what `decide --json` and a
        billing run write): the same text as `to_json(decide(...))`, faster, because what the rule
        set keeps is written without copies and shared results are written once."""
        model, owned = _checked(scenario)
        return _hot.decide_text(self, model, explain=explain, owned=owned)

    def get(self, kind: str, code: str) -> Any:
        entry = self.catalog.get(kind, {}).get(code)
        return entry.model if entry is not None else None


def _checked(scenario: Any) -> tuple[Any, bool]:
    """`scenario` as a `Scenario` model (a mapping is validated first), and whether the model was
    made for this decision alone (then it is typed in place, not copied: `decide(owned=True)`)."""
    if isinstance(scenario, _hot.Scenario):
        return scenario, False
    if isinstance(scenario, str | bytes | bytearray | memoryview):  # JSON text, as a run reads a line
        # (a memoryview, as `decide_records` takes: until 2026-12-04 "a scenario must be a mapping")
        scenario = _json_scenario(scenario)
    return _hot.checked_scenario(scenario), True


def _json_scenario(text: str | bytes | bytearray | memoryview) -> Any:
    """The JSON object of a scenario given as text (a service's request body), read by a billing
    run's line reader (duplicate keys, inexact numbers, UTF-16, ... refused in its words); raises
    `ScenarioInvalid` (BR601, BR103, BR105, ...). Until 2026-12-02 text was refused as "a scenario
    must be a mapping" with the hint "start it with `id:`"."""
    from engine.decide.scenarios import ScenarioInvalid
    from engine.run.evaluate import parse_line

    data, problem = parse_line(bytes(text) if isinstance(text, bytearray | memoryview) else text, "<scenario>", 1)
    if problem is not None:
        raise ScenarioInvalid([problem])
    return data


class _DecisionPath:
    """What `decide` and `decide_json` call, imported on first use (loading and validating a rule
    set never imports the decision path) and then read as plain attributes: an import statement
    in a method costs a lookup in `sys.modules` on every decision."""

    decide: Callable[..., dict[str, Any]]
    decide_text: Callable[..., str]

    def __getattr__(self, name: str) -> Any:
        from engine.decide.decision import decide, decide_text
        from engine.decide.scenarios import checked_scenario
        from engine.models.scenario import Scenario

        found = {
            "decide": decide,
            "decide_text": decide_text,
            "checked_scenario": checked_scenario,
            "Scenario": Scenario,
        }
        self.__dict__.update(found)
        return found[name]


_hot = _DecisionPath()


def load_rules(path: str | Path) -> RuleSet:
    """Load, check and compile the rule set at `path` (its root folder or any file in it).

    Raises `RuleSetError` with every diagnostic when the rule set has errors.
    """
    from engine.files import may_exist
    from engine.load import find_ruleset_root
    from engine.pipeline import compile_ruleset

    target = Path(path)
    root = find_ruleset_root(target) if may_exist(target) else None
    if root is None:
        raise RuleSetError(
            [
                Diagnostic(
                    str(target),
                    1,
                    1,
                    "BR110",
                    "no rule set here (no ruleset.yaml in this or any parent folder)",
                    "point to the folder that holds ruleset.yaml",
                )
            ]
        )
    compilation = compile_ruleset(root.resolve())
    if not compilation.ok:
        raise RuleSetError(compilation.diagnostics)
    from engine.load import rule_file

    files = tuple((source.display, rule_file(source.display)) for source in compilation.files)
    return RuleSet(
        str(root),
        compilation.version_hash(),
        compilation.settings,
        compilation.catalog,
        compilation.criteria,
        rule_files=files,
    )

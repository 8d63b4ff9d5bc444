"""A rule set's compiled criteria: every condition of every definition in one function.

`CriteriaProgram` keeps the typed AST next to the compiled function: explanations walk the AST,
and pickling ships the AST (closures and generated functions do not pickle) and compiles again on
the other side, so a RuleSet is cheap to send to billing-run workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.criteria import ast
from engine.criteria.compile import CompiledRules, RuleSetCompiler
from engine.criteria.environment import scenario_environment

if TYPE_CHECKING:
    from engine.criteria.explain import Step


@dataclass(frozen=True)
class Entry:
    owner: str  # e.g. "discount:COMPLAINT-CREDIT"
    section: str  # e.g. "accounts_receivable" or "when"
    node: ast.Node


class CriteriaProgram:
    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries
        self.by_owner: dict[str, list[int]] = {}
        for i, entry in enumerate(entries):
            self.by_owner.setdefault(entry.owner, []).append(i)
        self._compiled: CompiledRules | None = None

    def compile(self) -> CompiledRules:
        """Generate (once) the function that evaluates every condition of the rule set."""
        return self.compiled

    @property
    def compiled(self) -> CompiledRules:
        if self._compiled is None:
            compiler = RuleSetCompiler(scenario_environment())
            for entry in self.entries:
                compiler.add(entry.node)
            self._compiled = compiler.build()
        return self._compiled

    def evaluate(self, scenario: Any) -> tuple[bool, ...]:
        """The outcome of every condition, in entry order (one call for the whole rule set)."""
        return self.compiled.function(scenario)

    def outcomes(self, scenario: Any) -> dict[str, list[tuple[str, bool]]]:
        results = self.evaluate(scenario)
        return {
            owner: [(self.entries[i].section, results[i]) for i in indices] for owner, indices in self.by_owner.items()
        }

    def explain(self, scenario: Any, owner: str) -> list[tuple[str, bool | None, list[Step]]]:
        """Per section of `owner`: its outcome and the steps that decided it."""
        from engine.criteria.explain import Explainer

        out = []
        for i in self.by_owner.get(owner, []):
            explainer = Explainer(scenario_environment(), scenario)
            outcome = explainer.explain(self.entries[i].node)
            out.append((self.entries[i].section, outcome, explainer.steps))
        return out

    def __getstate__(self) -> dict[str, Any]:
        return {"entries": self.entries}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["entries"])  # type: ignore[misc]

"""A rule set's compiled criteria: every condition of every definition in one function.

`CriteriaProgram` keeps the typed AST next to the compiled function: explanations walk the AST,
and pickling ships the AST (closures and generated functions do not pickle) and compiles again on
the other side, so a RuleSet is cheap to send to billing-run workers.

Two entry points, one per context: discount criteria are evaluated against the scenario
(`evaluate`), credit criteria against one consumption and its consumer (`evaluate_credit`, over an
`engine.models.credit_context.CreditContext`). Each is one generated function.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from engine.criteria import ast
from engine.criteria.check import Placed
from engine.criteria.compile import CompiledRules, RuleSetCompiler
from engine.criteria.environment import credit_environment, scenario_environment

if TYPE_CHECKING:
    from engine.criteria.explain import Step
    from engine.diagnostics import Diagnostic


#: placing an entry's AST (`Entry.node`) happens once, whichever thread asks first
_PLACING = threading.Lock()


class Entry:
    """One condition of a definition: its owner, its section and its typed AST (`node`).

    The AST may be given as `Placed` (what the pipeline gives): its spans are then placed in the
    rule file when `node` is first read (explanations, "why not"), and the compiler reads `tree`,
    the typed tree whose positions are not placed yet (see `engine.criteria.check.Placed`). An
    entry pickles with its placed AST.
    """

    __slots__ = ("_node", "_placed", "owner", "section")

    def __init__(self, owner: str, section: str, node: ast.Node | Placed) -> None:
        self.owner = owner  # e.g. "discount:COMPLAINT-CREDIT", "credit_type:network-offer", "credit:globex-fr-email"
        self.section = section  # e.g. "accounts_receivable" or "when"
        self._placed = node if isinstance(node, Placed) else None
        self._node = None if isinstance(node, Placed) else node

    @property
    def node(self) -> ast.Node:
        """The placed AST, made once: threads deciding with one rule set share it (the "why not"
        keys its memos by the identity of its nodes, so a second copy, made by another thread and
        then dropped, could lend its identities to other nodes)."""
        node = self._node
        if node is None:
            with _PLACING:
                node = self._node
                if node is None:
                    assert self._placed is not None
                    node = self._node = self._placed.node()
        return node

    @property
    def tree(self) -> ast.Node:
        """The typed tree to compile: `node`, or the same tree before its spans are placed."""
        if self._node is not None or self._placed is None:
            return self.node
        return self._placed.tree

    def findings(self, find: Callable[[ast.Node], Iterable[Diagnostic]]) -> list[Diagnostic]:
        """What `find` reports over `node` (at the spans of nodes), without placing the AST when
        it can (`Placed.findings`)."""
        if self._node is not None or self._placed is None:
            return list(find(self.node))
        return self._placed.findings(find)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Entry):
            return NotImplemented
        return (self.owner, self.section, self.node) == (other.owner, other.section, other.node)

    def __hash__(self) -> int:
        return hash((self.owner, self.section, self.node))

    def __repr__(self) -> str:
        return f"Entry(owner={self.owner!r}, section={self.section!r}, node={self.node!r})"

    def __reduce__(self) -> tuple[type[Entry], tuple[str, str, ast.Node]]:
        return (Entry, (self.owner, self.section, self.node))


class CriteriaProgram:
    def __init__(self, entries: list[Entry], credit_entries: Sequence[Entry] = ()) -> None:
        self.entries = entries
        self.by_owner: dict[str, list[int]] = {}
        for i, entry in enumerate(entries):
            self.by_owner.setdefault(entry.owner, []).append(i)
        self.credit_entries = list(credit_entries)
        self.credit_by_owner: dict[str, list[int]] = {}
        for i, entry in enumerate(self.credit_entries):
            self.credit_by_owner.setdefault(entry.owner, []).append(i)
        self._compiled: CompiledRules | None = None
        self._credit_compiled: CompiledRules | None = None
        self._groups: dict[str, tuple[list[int], Callable[[Any], tuple[bool, ...]]]] = {}

    def compile(self) -> CompiledRules:
        """Generate (once) the functions that evaluate every condition of the rule set."""
        if self.credit_entries:
            _ = self.credit_compiled
        return self.compiled

    @property
    def compiled(self) -> CompiledRules:
        if self._compiled is None:
            compiler = RuleSetCompiler(scenario_environment())
            for entry in self.entries:
                compiler.add(entry.tree)
            self._compiled = compiler.build()
        return self._compiled

    @property
    def credit_compiled(self) -> CompiledRules:
        """The credit criteria's evaluator: one function over a consumption's context."""
        if self._credit_compiled is None:
            compiler = RuleSetCompiler(credit_environment())
            for entry in self.credit_entries:
                compiler.add(entry.tree)
            self._credit_compiled = compiler.build()
        return self._credit_compiled

    def evaluate(self, scenario: Any) -> tuple[bool, ...]:
        """The outcome of every condition, in entry order (one call for the whole rule set)."""
        return self.compiled.function(scenario)

    def evaluate_group(self, prefix: str, scenario: Any) -> dict[int, bool]:
        """The outcomes of the entries whose owner starts with `prefix` (e.g. `term:`), by entry
        index: a function generated (once) over those entries only, for a question that needs no
        other criterion (a cancellation's exceptions, without the discounts' hundreds)."""
        group = self._groups.get(prefix)
        if group is None:
            indices = [i for i, entry in enumerate(self.entries) if entry.owner.startswith(prefix)]
            compiler = RuleSetCompiler(scenario_environment())
            for i in indices:
                compiler.add(self.entries[i].tree)
            group = self._groups[prefix] = (indices, compiler.build().function)
        indices, function = group
        return dict(zip(indices, function(scenario), strict=True))

    def evaluate_owner(self, owner: str, scenario: Any) -> list[tuple[str, bool]]:
        """(section, holds) of one owner's entries (`outcomes()[owner]`), from a function generated
        (once) over that owner's entries alone: a refused cancellation's earliest-date search asks
        the terms it decides on many candidate dates, not every term of the rule set."""
        key = "=" + owner
        group = self._groups.get(key)
        if group is None:
            indices = self.by_owner.get(owner, [])
            compiler = RuleSetCompiler(scenario_environment())
            for i in indices:
                compiler.add(self.entries[i].tree)
            group = self._groups[key] = (indices, compiler.build().function)
        indices, function = group
        return [(self.entries[i].section, holds) for i, holds in zip(indices, function(scenario), strict=True)]

    def evaluate_credit(self, context: Any) -> tuple[bool, ...]:
        """The outcome of every credit criterion for one consumption, in `credit_entries` order."""
        return self.credit_compiled.function(context)

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
            explainer = Explainer(scenario_environment(), scenario, every_operand=True)  # a trace: every criterion
            outcome = explainer.explain(self.entries[i].node)
            out.append((self.entries[i].section, outcome, explainer.steps))
        return out

    def explain_credit(self, context: Any, index: int) -> tuple[bool | None, list[Step]]:
        """One credit criterion, traced step by step for one consumption (the slow path)."""
        from engine.criteria.explain import Explainer

        explainer = Explainer(credit_environment(), context, every_operand=True)  # each failing value named
        outcome = explainer.explain(self.credit_entries[index].node)
        return outcome, explainer.steps

    def __getstate__(self) -> dict[str, Any]:
        return {"entries": self.entries, "credit_entries": self.credit_entries}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["entries"], state.get("credit_entries", ()))  # type: ignore[misc]


def credit_program(criteria: Sequence[tuple[str, str]]) -> CriteriaProgram:
    """A program of credit criteria written as text, `(owner, expression)` pairs, without rule
    files (property tests and benchmarks); located in a pseudo file `<criteria>`. Raises
    `CriteriaError` for a criterion that does not parse or type-check."""
    from engine.criteria.check import check_condition
    from engine.criteria.parse import parse

    env = credit_environment()
    entries = []
    for owner, text in criteria:
        node = parse(text, lambda b, e: ast.Span("<criteria>", 1, b + 1, e + 1))
        entries.append(Entry(owner, "when", check_condition(node, env)))
    return CriteriaProgram([], entries)

"""Warnings about criteria that read otherwise than they are likely meant (run after type checking).

`where_reaches_past`: a quantifier's or an aggregate's `where` runs to the end of the expression
(`any u in usage where A and B` tests `A and B` for each item), so a condition written after it
that does not read the item's name is tested inside, item by item, not once beside it:
`not any u in usage where u.service_type == "PPV" and account.classification == "SME"` is
`not any u (PPV and SME)`, which holds for a Residential customer with a PPV rental. It is
usually meant outside: the warning (BR508) says so and how to write it.

`shadowed_roots`: a quantifier's item named as a fact of the scenario (`any account in
subscription.products where account.classification == …`) hides that fact inside it, and the
error that follows (`account` has no field `classification`) does not say why: a warning (BR509).
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.criteria import ast
from engine.diagnostics import Diagnostic, Severity


def where_reaches_past(tree: ast.Node) -> Iterator[Diagnostic]:
    """BR508 (a warning) for each `and`/`or` operand of a `where` that does not read the item."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Quantifier):
            var, condition = node.var, node.condition
        elif isinstance(node, ast.Aggregate) and node.var is not None and node.where is not None:
            var, condition = node.var, node.where
        else:
            continue
        if not isinstance(condition, ast.BoolOp):
            continue
        written = node.span.text or ""
        head = written[: written.find(" where ")] if " where " in written else f"… {var} in …"
        for operand in condition.operands:
            if _reads(operand, var):
                continue
            span = operand.span
            yield Diagnostic(
                span.file,
                span.line,
                span.column,
                "BR508",
                f"`{span.text}` does not read `{var}`, yet it is part of the `where` that tests each "
                f"`{var}` (a `where` runs to the end of the expression): it is not tested once, beside it",
                f"if it is meant beside the quantifier, close the quantifier in parentheses: "
                f"`({head} where …) {condition.op} …`",
                severity=Severity.WARNING,
                end_column=span.end_column,
            )


def _reads(node: ast.Node, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def shadowed_roots(tree: ast.Node, roots: frozenset[str]) -> Iterator[Diagnostic]:
    """BR509 (a warning) for each quantifier or aggregate whose item is named as a root fact."""
    for node in ast.walk(tree):
        var = node.var if isinstance(node, ast.Quantifier | ast.Aggregate) else None
        if var is None or var not in roots:
            continue
        span = node.span
        yield Diagnostic(
            span.file,
            span.line,
            span.column,
            "BR509",
            f"the item is named `{var}`, as the scenario's `{var}`: inside it, `{var}` is each item, not the "
            f"scenario's `{var}`",
            "name the item otherwise (`p`, `u`, `item`)",
            severity=Severity.WARNING,
            end_column=span.end_column,
        )

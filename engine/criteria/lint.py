"""Warnings about criteria that read otherwise than they are likely meant (run after type checking).

`where_reaches_past`: a quantifier's `where` runs to the end of the expression (`any u in usage
where A and B` tests `A and B` for each item), so a condition written after it that does not
read the item is tested inside, item by item. Mostly that means the same as beside it (`any …
where A and B` is `(any … where A) and B`), but not under a `not` (`not any u in usage where
u.service_type == "PPV" and account.classification == "SME"` is `not any u (PPV and SME)`, which
holds for a Residential customer with a PPV rental), nor for `any … or B` and `all … and B` (over
an empty list they differ): there the warning (BR508) says so and how to write it. An
aggregate's `where` ends at its own `)`: nothing is swallowed.

`shadowed_roots`: a quantifier's item named as a fact of the scenario (`any account in
subscription.products where account.classification == …`) hides that fact inside it, and the
error that follows (`account` has no field `classification`) does not say why: a warning (BR509).

`amounts_across_currencies`: `sum(subscription.products.charge.amount)` adds the amounts of
money as plain numbers, 3 EUR and 2 USD as 5, where the money itself (`sum(…charge)`) has no sum
across currencies: a warning (BR511), with the money's own form that keeps one currency.

`empty_sets`: a set written empty (`x in {}`, `account.segments overlaps {}`) decides the
condition whatever the scenario holds (`in` and `overlaps` never hold, `not in` and `contains {}`
always do): a value left out, most likely, and a warning (BR510), as a section written empty is
an error (BR206).
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.criteria import ast
from engine.diagnostics import Diagnostic, Severity


def where_reaches_past(tree: ast.Node) -> Iterator[Diagnostic]:
    """BR508 (a warning) for each `and`/`or` operand of a quantifier's `where` that does not read
    its item, where being inside changes the meaning (see the module's words)."""
    negated: set[int] = set()
    quantifiers: list[ast.Quantifier] = []
    for node in ast.walk(tree):  # (one walk: the negated nodes are all known before any is read)
        if isinstance(node, ast.Not):
            negated.add(id(node.operand))
        elif isinstance(node, ast.Quantifier) and isinstance(node.condition, ast.BoolOp):
            quantifiers.append(node)
    for node in quantifiers:
        condition = node.condition
        assert isinstance(condition, ast.BoolOp)
        differs = id(node) in negated or (node.kind, condition.op) in (("any", "or"), ("all", "and"))
        if not differs:
            continue
        written = node.span.text or ""
        head = written[: written.find(" where ")] if " where " in written else f"{node.kind} {node.var} in …"
        for operand in condition.operands:
            if _reads(operand, node.var):
                continue
            span = operand.span
            yield Diagnostic(
                span.file,
                span.line,
                span.column,
                "BR508",
                f"`{span.text}` does not read `{node.var}`, yet it is part of the `where` that tests each "
                f"`{node.var}` (a `where` runs to the end of the expression): it is not tested once, beside it",
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


def empty_sets(tree: ast.Node) -> Iterator[Diagnostic]:
    """BR510 (a warning) for each set written empty, saying what the condition around it always is."""
    for node in ast.walk(tree):
        for child in node.children:
            if not (isinstance(child, ast.SetLiteral) and not child.items):
                continue
            outcome = _empty_set_outcome(node, child)
            written = node.span.text or "{}"
            span = child.span
            yield Diagnostic(
                span.file,
                span.line,
                span.column,
                "BR510",
                f"a set written empty: `{written}` {outcome}"
                + (", whatever the scenario says" if outcome.endswith(("never holds", "always holds")) else ""),
                "write the values the condition is about between the braces, or leave the condition out",
                severity=Severity.WARNING,
                end_column=span.end_column,
            )


def _empty_set_outcome(parent: ast.Node, empty: ast.Node) -> str:
    if isinstance(parent, ast.Membership) and parent.collection is empty:
        return "always holds" if parent.negated else "never holds"
    if isinstance(parent, ast.SetRelation):
        if parent.op == "overlaps":
            return "never holds"
        if parent.right is empty:
            return "always holds"
        right = parent.right
        if isinstance(right, ast.SetLiteral):  # a set written with items is never empty
            return "never holds"
        if getattr(getattr(right, "type", None), "elem", None) is not None:
            # a collection is in `{}` only when it is empty itself (`{} contains account.segments`)
            return f"holds only when `{right.span.text}` is empty"
        return "never holds"  # nothing is in `{}`
    return "compares with no value"


def amounts_across_currencies(tree: ast.Node) -> Iterator[Diagnostic]:
    """BR511 (a warning) for each `sum`, `min` or `max` of the `.amount` of a list of money: amounts
    of every currency are added as plain numbers (its `where` reads each number: no currency)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Aggregate) or node.func == "count":
            continue
        collection = node.collection
        if not (isinstance(collection, ast.Attribute) and collection.name == "amount"):
            continue
        listed = getattr(collection.obj, "type", None)
        element = getattr(listed, "elem", None)
        if getattr(listed, "name", None) != "list" or getattr(element, "name", None) != "money":
            continue
        money = collection.obj.span.text or "…"
        field = money.rsplit(".", 1)[-1]
        span = node.span
        yield Diagnostic(
            span.file,
            span.line,
            span.column,
            "BR511",
            f"`{span.text}` {'adds' if node.func == 'sum' else 'compares'} the amounts of `{money}` as plain "
            "numbers, whatever their currency "
            + ("(3.00 EUR and 2.00 USD make 5)" if node.func == "sum" else "(3.00 EUR and 2.00 USD as 3 and 2)"),
            f"read the money itself, one currency kept: `{node.func}({money} where {field}.currency == "
            f'"EUR")`, compared with money (`> 100.00 EUR`); money has no {node.func} across currencies',
            severity=Severity.WARNING,
            end_column=span.end_column,
        )

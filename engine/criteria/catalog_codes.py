"""Codes written as text inside criteria expressions, checked against the catalog.

A criteria *section* names plans, products, segments, ... in YAML fields, and the reference
stage checks each one (BR302). A `when:` expression (or a term's exception) can name the same
things as text — `p.product == "tv-premuim"`, `account.segments overlaps {"vip"}` — and a typo
there silently never matches, which changes money. After type checking, every comparison of a
code-bearing field with text (`==`, `!=`, `in`, `not in`, `overlaps`, `contains`) has its text
checked against the rule set's codes of that kind: an unknown one is BR302 at the text, with
"did you mean".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.criteria import ast
from engine.diagnostics import Diagnostic, did_you_mean

#: (record, field) → the kind of rule document its text names; records are the criteria
#: environments' (scenario and credit contexts).
CODE_FIELDS: dict[tuple[str, str], str] = {
    ("Subscription", "plan"): "plan",
    ("Subscription", "add_ons"): "bundle",
    ("Subscription", "billing_term_scheme"): "billing_term_scheme",
    ("ProductLine", "product"): "product",
    ("ProductLine", "bundle"): "bundle",
    ("Account", "segments"): "segment",
    ("Job", "segments"): "segment",
    ("UsageRecord", "termed_service"): "product",
    ("UsageRecord", "product"): "product",
    ("Agent", "user"): "user",
    ("Agent", "units"): "unit",
    ("DiscountRequest", "discount"): "discount",
    ("ApprovalRecord", "discount"): "discount",
    ("ApprovalRecord", "by"): "user",
    ("ApprovalRecord", "units"): "unit",
    ("AppliedDiscount", "discount"): "discount",
    ("Cancellation", "add_ons"): "bundle",
    ("Purchase", "plan"): "plan",
    ("Purchase", "add_ons"): "bundle",
    ("Consumption", "product"): "product",
    ("Consumption", "credit_type"): "credit_type",
    ("Consumption", "organisation"): "organisation",
    ("Consumption", "user"): "user",
    ("Consumer", "organisation"): "organisation",
    ("Consumer", "parent"): "organisation",
    ("Consumer", "organisations"): "organisation",
    ("Consumer", "user"): "user",
    ("Consumer", "owner"): "user",
}


def unknown_codes(node: ast.Node, catalog: dict[str, dict[str, Any]]) -> Iterator[Diagnostic]:
    """BR302 for each text compared with a code-bearing field that names no document of its kind."""
    written = node.span.text
    if written and '"' not in written and "'" not in written:
        return  # no text in quotes (a node's span covers its children's): nothing to look up
    for field, texts in _comparisons(node):
        kind = _kind(field)
        if kind is None:
            continue
        known = catalog.get(kind, {})
        for text in texts:
            if isinstance(text.value, str) and text.value not in known:
                what = kind.replace("_", " ")
                hint = did_you_mean(text.value, sorted(known)) or f"use a {what} code of the rule set"
                span = text.span
                yield Diagnostic(
                    span.file,
                    span.line,
                    span.column,
                    "BR302",
                    f"unknown {what} `{text.value}` (compared with `{field.span.text or field.name}`)",
                    hint,
                    end_column=span.end_column,
                )


def _kind(field: ast.Attribute) -> str | None:
    owner = getattr(field.obj, "type", None)
    record = owner.record if owner is not None else None
    return CODE_FIELDS.get((record, field.name)) if record else None


def _texts(node: ast.Node) -> list[ast.Literal]:
    if isinstance(node, ast.Literal):
        return [node]
    if isinstance(node, ast.SetLiteral):
        return [item for item in node.items if isinstance(item, ast.Literal)]
    return []


def _pair(a: ast.Node, b: ast.Node) -> Iterator[tuple[ast.Attribute, list[ast.Literal]]]:
    for field, other in ((a, b), (b, a)):
        if isinstance(field, ast.Attribute) and (texts := _texts(other)):
            yield field, texts


def _comparisons(node: ast.Node) -> Iterator[tuple[ast.Attribute, list[ast.Literal]]]:
    """The comparisons of fields with texts, parents before children, in the order of the fields."""
    from engine.criteria.parse import _CHILD_FIELDS

    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Compare) and node.op in ("==", "!="):
            yield from _pair(node.left, node.right)
        elif isinstance(node, ast.Membership):
            yield from _pair(node.item, node.collection)
        elif isinstance(node, ast.SetRelation):
            yield from _pair(node.left, node.right)
        values = node.__dict__
        for name in reversed(_CHILD_FIELDS[type(node)]):
            child = values[name]
            if type(child) is tuple:
                stack.extend(reversed(child))
            elif child is not None:
                stack.append(child)

"""Codes written as text inside criteria expressions, checked against the catalog.

A criteria *section* names plans, products, segments, ... in YAML fields, and the reference
stage checks each one (BR302). A `when:` expression (or a term's exception) can name the same
things as text — `p.product == "tv-premuim"`, `account.segments overlaps {"vip"}` — and a typo
there silently never matches, which changes money. After type checking, every comparison of a
code-bearing field with text (`==`, `!=`, `in`, `not in`, `overlaps`, `contains`) has its text
checked against the rule set's codes of that kind: an unknown one is BR302 at the text, with
"did you mean". A name bound to the items of such a field (`any s in account.segments where s ==
"vip"`) is read as the field (until 2026-12-03 its texts went unchecked).
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from typing import Any

from engine.criteria import ast
from engine.diagnostics import Diagnostic, did_you_mean
from engine.references import OPEN_KINDS

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
    # not documents, but as closed: a consumption's service (the services the credit types pay
    # for), and the scenario fields of fixed choices (`known_texts`)
    ("Consumption", "service"): "service",
    ("Subscription", "billing_frequency"): "billing_frequency",
    ("ProductLine", "type"): "product_type",
    # (until 2026-12-03 only these two of the fixed-choice fields were checked: `s.status ==
    # "deactived"` or `e.type == "grnt"` never held, and was accepted)
    ("StatusPeriod", "status"): "status",
    ("BalanceEvent", "type"): "balance_event_type",
    ("BalanceEvent", "reason"): "refund_reason",
    ("ScenarioCredit", "allocation"): "allocation",
}

#: the kind of a money's currency (`p.charge.currency`): its texts are ISO 4217 codes
CURRENCY = "currency"


def _fixed_choices() -> dict[str, type[Enum]]:
    """The kinds whose texts are the values of an enum of the scenario schema (`CODE_FIELDS`)."""
    from engine.models.catalog import BillingFrequency, ProductType
    from engine.models.credits import Allocation
    from engine.models.scenario import BalanceEventType, RefundReason, Status

    return {
        "billing_frequency": BillingFrequency,
        "product_type": ProductType,
        "status": Status,
        "balance_event_type": BalanceEventType,
        "refund_reason": RefundReason,
        "allocation": Allocation,
    }


def known_texts(catalog: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`catalog` with the texts of the closed fields that are no documents: the services the credit
    types pay for, and the fixed choices of the scenario schema (billing frequencies, product
    types, statuses, balance event types and reasons, allocations). `subscription.billing_frequency
    == "montly"` never held, and was accepted."""
    types = [entry.model for entry in catalog.get("credit_type", {}).values() if entry is not None]  # (None: broken)
    # a credit type naming no service may be asked for any service: then services are open (None)
    services = None if any(model.service is None for model in types) else {model.service: None for model in types}
    return {
        **catalog,
        # segments and units a rule set declares none of are free text (OPEN_KINDS)
        **{kind: None for kind in OPEN_KINDS if not catalog.get(kind)},  # type: ignore[misc]
        "service": services,  # type: ignore[dict-item]
        **{kind: {choice.value: None for choice in enum} for kind, enum in _fixed_choices().items()},
    }


#: the kinds whose texts are fixed choices: the hint lists them
_CHOICES = ("billing_frequency", "product_type", "status", "balance_event_type", "refund_reason", "allocation")


def unknown_codes(node: ast.Node, catalog: dict[str, dict[str, Any]]) -> Iterator[Diagnostic]:
    """BR302 for each text compared with a code-bearing field that names no document of its kind."""
    written = node.span.text
    if written and '"' not in written and "'" not in written:
        return  # no text in quotes (a node's span covers its children's): nothing to look up
    for field, element, texts in _comparisons(node):
        kind = _kind(field, element)
        if kind is None:
            continue
        if kind == CURRENCY:
            yield from _unknown_currencies(field, texts)
            continue
        known = catalog.get(kind, {})
        if known is None:  # an open kind (`known_texts`): any text may be right
            continue
        for text in texts:
            if isinstance(text.value, str) and text.value not in known:
                what = kind.replace("_", " ")
                hint = did_you_mean(text.value, sorted(known)) or (
                    f"use one of: {', '.join(known)}" if kind in _CHOICES else f"use a {what} code of the rule set"
                )
                span = text.span
                yield Diagnostic(
                    span.file,
                    span.line,
                    span.column,
                    "BR302",
                    f"unknown {what} `{text.value}` (compared with `{field.span.text or _named(field)}`)",
                    hint,
                    end_column=span.end_column,
                )


def _unknown_currencies(field: ast.Attribute | ast.Name, texts: list[ast.Literal]) -> Iterator[Diagnostic]:
    """BR505 for each text compared with a money's currency that is no ISO 4217 code, as for a money
    literal (`20.00 EUX`): `p.charge.currency == "EUX"` never held (until 2026-12-03 accepted)."""
    from engine.currencies import MINOR_UNITS
    from engine.values import nearest_currency

    for text in texts:
        value = text.value
        if not isinstance(value, str) or value in MINOR_UNITS:
            continue
        near = value.upper() if value.upper() in MINOR_UNITS else nearest_currency(value, list(MINOR_UNITS))
        span = text.span
        yield Diagnostic(
            span.file,
            span.line,
            span.column,
            "BR505",
            f"`{value}` is not an ISO 4217 currency (compared with `{field.span.text or _named(field)}`)",
            f"did you mean `{near}`?" if near else "write an ISO 4217 currency code, e.g. `EUR`",
            end_column=span.end_column,
        )


def _named(field: ast.Attribute | ast.Name) -> str:
    return field.id if isinstance(field, ast.Name) else field.name


def _kind(field: ast.Attribute | ast.Name, element: str | None) -> str | None:
    """The kind of code `field` holds: a record's field, a projection's (`subscription.products.
    product`: each line's), or a bare name in an aggregate's `where` without a variable (the
    element's field, `element` its record)."""
    if isinstance(field, ast.Name):
        return CODE_FIELDS.get((element, field.id)) if element else None
    owner = getattr(field.obj, "type", None)
    if owner is not None and owner.name == "list" and owner.elem is not None:
        owner = owner.elem
    if owner is not None and owner.name == "money" and field.name == "currency":
        return CURRENCY  # `p.charge.currency`, `subscription.products.charge.currency`
    record = owner.record if owner is not None else None
    return CODE_FIELDS.get((record, field.name)) if record else None


def _texts(node: ast.Node) -> list[ast.Literal]:
    if isinstance(node, ast.Literal):
        return [node]
    if isinstance(node, ast.SetLiteral):
        return [item for item in node.items if isinstance(item, ast.Literal)]
    return []


Compared = tuple[ast.Attribute | ast.Name, str | None, list[ast.Literal]]


def _fields(node: ast.Node) -> list[ast.Attribute | ast.Name]:
    """The fields one side of a comparison reads: a field, or each field of a set literal
    (`{subscription.billing_term_scheme} overlaps {"MONTHLY-STD"}`; until 2026-12-03 a field inside
    braces went unchecked, BR302 and BR408 alike)."""
    if isinstance(node, ast.Attribute | ast.Name):
        return [node]
    if isinstance(node, ast.SetLiteral):
        return [item for item in node.items if isinstance(item, ast.Attribute | ast.Name)]
    return []


def _pair(a: ast.Node, b: ast.Node, element: str | None) -> Iterator[Compared]:
    for side, other in ((a, b), (b, a)):
        if texts := _texts(other):
            for field in _fields(side):
                yield field, element, texts


def _comparisons(node: ast.Node) -> Iterator[Compared]:
    """The comparisons of fields with texts, parents before children, in the order of the fields,
    each with the record whose fields bare names name there (inside an aggregate's `where`
    without a variable), if any."""
    for field, element, texts, _ in _walk(node):
        yield field, element, texts


def required_texts(node: ast.Node, kind: str) -> Iterator[ast.Literal]:
    """The texts that `node` requires a field of `kind` to equal, or to be among: those compared
    with it by `==`, `in`, `overlaps` or `contains` where the condition holds only as the
    comparison does, and those compared by `!=` or `not in` under a `not`. A text only excluded
    (`!=`, `not in`, `not x == "a"`, `not (x in {"a", "b"})`, `not (p and x == "a")`, which is
    `not p or x != "a"`) is not required: the condition holds for the other codes. Where the
    condition's truth cannot be told from the comparison's (in a `count … where`, a function's
    argument, a comparison of truth values) each text counts as required. Both orders are read:
    `"a" == subscription.billing_term_scheme` names `a` as the other order does."""
    for field, element, texts, required in _walk(node):
        if required and _kind(field, element) == kind:
            yield from texts


#: a name a quantifier or aggregate binds (`any s in account.segments`): the code field it takes its
#: items from and the record whose fields bare names name there; None for a name bound to other values
Bound = dict[str, tuple[ast.Attribute | ast.Name, str | None] | None]


def _resolve(
    field: ast.Attribute | ast.Name, element: str | None, bound: Bound
) -> tuple[ast.Attribute | ast.Name, str | None] | None:
    """The code field `field` reads: itself, or for a bound name the field its items come from
    (None for a name bound to records or other values: it shadows the element's field)."""
    if isinstance(field, ast.Name) and field.id in bound:
        return bound[field.id]
    return field, element


def _source(
    collection: ast.Node, element: str | None, bound: Bound
) -> tuple[ast.Attribute | ast.Name, str | None] | None:
    """The code field whose items a name bound to `collection` takes: a code field itself
    (`account.segments`, a projection), a name bound to one, or those of a set literal
    (`{subscription.billing_term_scheme}`) when they are all of one kind; None for any other
    collection (records, texts), and for a set of codes of several kinds, or of codes and other
    texts (`{subscription.plan, account.classification}`), (`{subscription.plan,
    subscription.billing_term_scheme}`: its items are a plan or a scheme, and a text compared with
    them may be either; until 2026-12-03 it was checked as the first's kind alone, a false BR302)."""
    found = None
    kinds = set()
    for field in _fields(collection):
        resolved = _resolve(field, element, bound)
        kinds.add(_kind(*resolved) if resolved is not None else None)  # (None: a field of no code)
        found = found or resolved
    return found if len(kinds) == 1 and None not in kinds else None


def _walk(node: ast.Node) -> Iterator[tuple[ast.Attribute | ast.Name, str | None, list[ast.Literal], bool]]:
    """Each comparison of a field with texts (`_comparisons`), and whether the condition requires
    it (`required_texts`): one walk for both (until 2026-12-03 each had its own copy). A name a
    quantifier or an aggregate binds to the items of a code field (`any s in account.segments
    where s == "vip"`, `any s in {subscription.billing_term_scheme} where s == "monthly-24"`)
    stands for that field: the comparison is yielded with the field (until 2026-12-03 such a name
    was no field, and its texts went unchecked by BR302 and BR408 alike)."""
    from engine.criteria.parse import _CHILD_FIELDS

    # (node, polarity, element, bound): polarity 1 where the condition holds only as the node
    # does, -1 where only as it does not, 0 where it cannot be told; element: the record whose
    # fields bare names name (inside an aggregate's `where` without a variable), if any; bound:
    # the names bound around the node (`Bound`)
    stack: list[tuple[ast.Node, int, str | None, Bound]] = [(node, 1, None, {})]
    while stack:
        node, polarity, element, bound = stack.pop()
        if isinstance(node, ast.Not):
            stack.append((node.operand, -polarity, element, bound))
            continue
        if isinstance(node, ast.BoolOp):
            stack.extend((operand, polarity, element, bound) for operand in reversed(node.operands))
            continue
        if isinstance(node, ast.Quantifier):  # `any`/`all … where c` holds more often as `c` does
            inside = {**bound, node.var: _source(node.collection, element, bound)}
            stack.append((node.condition, polarity, element, inside))
            stack.append((node.collection, 0, element, bound))
            continue
        pairs: Iterator[Compared] = iter(())
        equal = 1
        if isinstance(node, ast.Compare) and node.op in ("==", "!="):
            pairs, equal = _pair(node.left, node.right, element), 1 if node.op == "==" else -1
        elif isinstance(node, ast.Membership):
            pairs, equal = _pair(node.item, node.collection, element), -1 if node.negated else 1
        elif isinstance(node, ast.SetRelation):
            pairs = _pair(node.left, node.right, element)
        for field, scope, texts in pairs:
            resolved = _resolve(field, scope, bound) if bound else (field, scope)
            if resolved is not None:
                yield resolved[0], resolved[1], texts, polarity in (0, equal)
        inner, inside = element, bound
        if isinstance(node, ast.Aggregate):
            if node.var is None:
                listed = getattr(node.collection, "type", None)
                if listed is not None and listed.name == "list" and listed.elem is not None:
                    inner = listed.elem.record
            else:  # over a field of records (`sum(u in usage.quantity …)`) the name is the record
                collection = node.collection
                owner = getattr(collection.obj, "type", None) if isinstance(collection, ast.Attribute) else None
                records = owner is not None and owner.name == "list" and owner.elem is not None and owner.elem.record
                inside = {**bound, node.var: None if records else _source(collection, element, bound)}
        values = node.__dict__
        for name in reversed(_CHILD_FIELDS[type(node)]):
            child = values[name]
            scope, names = (inner, inside) if name == "where" else (element, bound)
            if type(child) is tuple:
                stack.extend((c, 0, scope, names) for c in reversed(child))
            elif child is not None:
                stack.append((child, 0, scope, names))

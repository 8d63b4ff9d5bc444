"""Semantic checks for rules that load but can never be reached: each passed every other check,
and the bill or the draw it was written for never happened (the eleventh session's audit of
`validate`, 2026-12-02).

- **BR426** a product listed twice in one bundle: the bundle bought brings two lines of it, each
  billed (a plan of it cost its product twice);
- **BR413** a plan's bundle (or a compatible add-on) whose purchase window never meets the plan's:
  every purchase of the plan is refused (`bundle_withdrawn`), or the add-on can never join it;
- **BR413** a discount granted only by bundles that become available after it has expired: no
  subscription holds one of them while it is effective;
- **BR413** a credit its holder alone draws on (`this_organisation`, of a type not shared on issue)
  whose `criteria.organisations` names none of the holder's organisations (the holder and its
  ancestors, what `consumer.organisations` holds when the holder consumes): it is never drawn; and
  a shared credit (`all_organisations`, or of a type shared on issue) whose organisations are
  none of the holder's chain and subtree (the organisations of every consumer that may draw on it);
- **BR430** an alert threshold without `enabled: true`: the alert the threshold was written for
  is never raised (`enabled: false` written out keeps a threshold for later, and passes);
- **BR421** (warning) a credit's `priority` in a rule set whose `credit_precedence` has no
  `priority` key: it orders nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from engine.diagnostics import Diagnostic, Severity
from engine.models.common import Validity
from engine.semantics import Catalog, _each  # (the semantic checks' walk over one kind, in code order)


def check_reach(catalog: Catalog, settings: Any) -> Iterator[Diagnostic]:
    yield from _bundle_products(catalog)
    yield from _plan_bundles(catalog)
    yield from _granted_discounts(catalog)
    yield from _credits(catalog, settings)
    yield from _alert_thresholds(catalog)
    yield from _discount_lists(catalog)


def _bundle_products(catalog: Catalog) -> Iterator[Diagnostic]:
    for model, doc in _each(catalog, "bundle"):
        seen: dict[str, int] = {}
        for i, item in enumerate(model.products):
            if item.product in seen:
                first = model.products[seen[item.product]]
                both = (
                    "required both times: the bundle would bill it twice"
                    if first.required and item.required
                    else (
                        "once required, once optional: it is unclear whether the customer may leave it out"
                        if first.required != item.required
                        else "optional both times"
                    )
                )
                yield doc.diagnostic(
                    ("products", i, "product"),
                    "BR426",
                    f"product `{item.product}` is listed twice in bundle `{model.code}` (first as entry "
                    f"{seen[item.product] + 1}), {both}",
                    "list each product once (a quantity is the scenario line's `quantity`)",
                )
            else:
                seen[item.product] = i


def _disjoint(first: Validity, second: Validity) -> bool:
    return (first.to is not None and first.to < second.from_) or (second.to is not None and second.to < first.from_)


def _window(validity: Validity) -> str:
    return f"{validity.from_} to {validity.to or 'open'}"


def _plan_bundles(catalog: Catalog) -> Iterator[Diagnostic]:
    bundles = catalog.get("bundle", {})
    for model, doc in _each(catalog, "plan"):
        for field in ("bundles", "compatible_bundles"):
            yield from _listed_twice(doc, model, field)
        for i, code in enumerate(model.bundles):
            bundle = bundles.get(code)
            if bundle is not None and _disjoint(bundle.model.validity, model.validity):
                yield doc.diagnostic(
                    ("bundles", i),
                    "BR413",
                    f"bundle `{code}` is available {_window(bundle.model.validity)}, never while the plan is "
                    f"({_window(model.validity)}): every purchase of the plan would be refused",
                    "align the plan's validity with its bundles'",
                )
            if (
                bundle is not None
                and model.term is not None
                and bundle.model.term is not None
                and _both_charge(catalog, model.term, bundle.model.term)
            ):
                yield dataclasses.replace(
                    doc.diagnostic(
                        ("bundles", i),
                        "BR432",
                        f"the plan carries term `{model.term}` and its bundle `{code}` term "
                        f"`{bundle.model.term}`: cancelling the plan charges both commitments",
                        "give the term to the plan or to the bundle (seed 003: a term is assigned to one of them)",
                    ),
                    severity=Severity.WARNING,
                )
        for i, code in enumerate(model.compatible_bundles):
            bundle = bundles.get(code)
            ends = bundle.model.validity.to if bundle is not None else None
            if ends is not None and ends < model.validity.from_:  # (one bought later by the plan's holders is fine)
                yield doc.diagnostic(
                    ("compatible_bundles", i),
                    "BR413",
                    f"add-on `{code}` is withdrawn on {ends}, before the plan is available "
                    f"({_window(model.validity)}): no holder of the plan can buy it",
                    "remove it from `compatible_bundles`, or fix the two validities",
                )


def _listed_twice(doc: Any, model: Any, field: str) -> Iterator[Diagnostic]:
    """A bundle a plan lists twice in `field` (a warning: it is sold and billed once, so the second
    entry says nothing, but an analyst who wrote it may have meant another bundle; until
    2026-12-02 accepted in silence)."""
    seen: dict[str, int] = {}
    for i, code in enumerate(getattr(model, field)):
        if code in seen:
            yield dataclasses.replace(
                doc.diagnostic(
                    (field, i),
                    "BR427",
                    f"bundle `{code}` is listed twice in `{field}` of plan `{model.code}` (first as entry "
                    f"{seen[code] + 1}): it is sold once, the second entry says nothing",
                    "list each bundle once, or name the bundle you meant",
                ),
                severity=Severity.WARNING,
            )
        else:
            seen[code] = i


def _discount_lists(catalog: Catalog) -> Iterator[Diagnostic]:
    """BR428: an entry a discount lists twice in `discounted_products`, `allowed_units` or its
    approvers (a warning: the discount reduces, admits and asks each once, so the second entry says
    nothing, but an analyst who wrote it may have meant another one; until 2026-12-03 accepted in
    silence). Criteria lists are sets and are not told."""
    for model, doc in _each(catalog, "discount"):
        lists: list[tuple[tuple[str, ...], list[Any]]] = [
            (("discounted_products",), model.discounted_products),
            (("allowed_units",), model.allowed_units),
        ]
        if model.approval is not None:
            lists += [(("approval", "users"), model.approval.users), (("approval", "units"), model.approval.units)]
        for path, items in lists:
            seen: dict[Any, int] = {}
            for i, item in enumerate(items):
                key = (
                    item if isinstance(item, str) else (item.product, item.product_type, item.bundle, item.main_service)
                )
                if key not in seen:
                    seen[key] = i
                    continue
                yield dataclasses.replace(
                    doc.diagnostic(
                        (*path, i),
                        "BR428",
                        f"{_entry_text(item)} is listed twice in `{'.'.join(path)}` of discount `{model.code}` "
                        f"(first as entry {seen[key] + 1}): the second entry says nothing",
                        "list each entry once, or name the one you meant",
                    ),
                    severity=Severity.WARNING,
                )


def _entry_text(item: Any) -> str:
    if isinstance(item, str):
        return f"`{item}`"
    parts = [
        f"product `{item.product}`" if item.product else "",
        f"product type `{item.product_type.value}`" if item.product_type else "",
    ]
    parts += [f"in bundle `{item.bundle}`" if item.bundle else "", "main service" if item.main_service else ""]
    return " ".join(part for part in parts if part)


def _both_charge(catalog: Catalog, *codes: str) -> bool:
    """Whether each of these terms may cost something to leave early (a penalty, or a refusal):
    two month-to-month terms that allow cancelling charge nothing twice."""
    terms = catalog.get("term", {})
    return all(
        code in terms and (terms[code].model.early_cancellation.value != "allowed" or terms[code].model.exceptions)
        for code in codes
    )


def _granted_discounts(catalog: Catalog) -> Iterator[Diagnostic]:
    granting: dict[str, list[Any]] = {}
    for model, _doc in _each(catalog, "bundle"):
        for code in model.discounts:
            granting.setdefault(code, []).append(model)
    for model, doc in _each(catalog, "discount"):
        bundles = granting.get(model.code)
        expires = model.validity.expiration
        if not bundles or expires is None:
            continue
        if all(b.validity.from_ > expires for b in bundles):  # a holder keeps a bundle after its window
            first = min(bundles, key=lambda b: b.validity.from_)
            yield doc.diagnostic(
                ("validity", "expiration"),
                "BR413",
                f"the discount expires on {expires}, before a bundle granting it can be bought "
                f"(`{first.code}` from {first.validity.from_}): no subscription holds one while it is effective",
                "fix the discount's validity, or its bundles'",
            )


def _credits(catalog: Catalog, settings: Any) -> Iterator[Diagnostic]:
    from engine.models.credits import Allocation

    parents = {code: entry.model.parent for code, entry in catalog.get("organisation", {}).items()}
    ordered_by_priority = settings is None or any(k.value == "priority" for k in settings.credit_precedence)
    types = catalog.get("credit_type", {})
    for model, doc in _each(catalog, "credit"):
        criteria = model.criteria
        credit_type = types.get(model.type)
        shared = model.allocation is Allocation.ALL_ORGANISATIONS or (
            credit_type is not None and credit_type.model.shared_on_issue  # (as the credit evaluator reads it)
        )
        if (
            criteria is not None
            and criteria.organisations
            and model.holder in parents
            and shared
            and all(o in parents for o in criteria.organisations)
        ):
            # shared: the holder and every organisation below it draw on it, and a consumer's
            # organisations are its own and those above it: the holder's chain and subtree
            up = set(_chain(parents, model.holder))
            reached = any(o in up or model.holder in _chain(parents, o) for o in criteria.organisations)
            if not reached:
                yield doc.diagnostic(
                    ("criteria", "organisations"),
                    "BR413",
                    f"`{model.holder}` and the organisations below it draw on this credit, and none of them, nor "
                    f"any above `{model.holder}`, is one of these: no consumption can meet it",
                    f"list `{model.holder}`, an organisation below it or one above it",
                )
        if (
            criteria is not None
            and criteria.organisations
            and model.holder in parents
            and not shared
            and all(o in parents for o in criteria.organisations)  # (an unknown one is BR302's)
        ):
            chain = _chain(parents, model.holder)
            if not set(criteria.organisations) & set(chain):
                yield doc.diagnostic(
                    ("criteria", "organisations"),
                    "BR413",
                    f"only `{model.holder}` draws on this credit (`this_organisation`), and its organisations "
                    f"({', '.join(chain)}) are none of these: no consumption can meet it",
                    "list the holder (or an ancestor), or allocate the credit to `all_organisations`",
                )
        if model.priority is not None and not ordered_by_priority:
            found = doc.diagnostic(
                ("priority",),
                "BR421",
                "`priority` orders nothing: the rule set's `credit_precedence` has no `priority` key",
                "add `priority` to `credit_precedence` in ruleset.yaml, or remove it here",
            )
            yield dataclasses.replace(found, severity=Severity.WARNING)


def _chain(parents: dict[str, Any], org: str) -> list[str]:
    """The organisation and those above it, nearest first (a cycle, BR303's, ends it)."""
    chain: list[str] = []
    seen: set[str] = set()
    node: Any = org
    while node is not None and node not in seen:
        chain.append(node)
        seen.add(node)
        node = parents.get(node)
    return chain


def _alert_thresholds(catalog: Catalog) -> Iterator[Diagnostic]:
    for model, doc in _each(catalog, "balance_policy"):
        alerts = model.alerts
        written = doc.data.get("alerts") if isinstance(doc.data, dict) else None
        if alerts.threshold is not None and not alerts.enabled and "enabled" not in (written or {}):
            yield doc.diagnostic(
                ("alerts", "threshold"),
                "BR430",
                "a threshold is given, but threshold alerts are not enabled: it never alerts",
                "add `enabled: true` under `alerts:` (or write `enabled: false` to keep the threshold for later)",
            )

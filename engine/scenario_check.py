"""Check a scenario against a rule set without deciding it: every code it names must exist.

`billrules validate --scenarios PATH...` runs this after the scenario schema, so an analyst sees
every unknown plan, product, bundle, user, unit, organisation, segment, discount, credit type or
balance policy of a scenario file (or of each line of a JSON Lines file) at its field, with "did
you mean", before any billing run meets it. Periods that end before they start are already
refused by the scenario model. The table below is the single list of which scenario field names
which kind; a test walks the scenario model to prove no code-bearing field is missing from it.
A scenario credit's `priority` that orders nothing is a warning (BR421), as a rule-file credit's is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.diagnostics import did_you_mean
from engine.references import walk_pattern

#: (path into the scenario, with `*` for every item of a list, the kind of rule document it names)
REFERENCES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("account", "segments", "*"), "segment"),
    (("subscription", "plan"), "plan"),
    (("subscription", "add_ons", "*"), "bundle"),
    (("subscription", "billing_term_scheme"), "billing_term_scheme"),
    (("subscription", "products", "*", "product"), "product"),
    (("subscription", "products", "*", "bundle"), "bundle"),
    (("job", "segments", "*"), "segment"),
    (("job", "products", "*", "product"), "product"),
    (("job", "products", "*", "bundle"), "bundle"),
    (("usage", "*", "termed_service"), "product"),
    (("usage", "*", "product"), "product"),
    (("agent", "user"), "user"),
    (("agent", "units", "*"), "unit"),
    (("requested_discounts", "*", "discount"), "discount"),
    (("approvals", "*", "discount"), "discount"),
    (("approvals", "*", "by"), "user"),
    (("approvals", "*", "units", "*"), "unit"),
    (("discount_history", "*", "discount"), "discount"),
    (("consumptions", "*", "organisation"), "organisation"),
    (("consumptions", "*", "user"), "user"),
    (("consumptions", "*", "credit_type"), "credit_type"),
    (("consumptions", "*", "product"), "product"),
    (("balance", "policy"), "balance_policy"),
    (("cancellation", "add_ons", "*"), "bundle"),
    (("purchase", "plan"), "plan"),
    (("purchase", "add_ons", "*"), "bundle"),
    (("purchase", "products", "*", "product"), "product"),
    (("purchase", "products", "*", "bundle"), "bundle"),
    (("purchase", "user"), "user"),
    (("credits", "*", "type"), "credit_type"),
    (("credits", "*", "scope", "products", "*"), "product"),
    (("credit_purchases", "*", "user"), "user"),
    (("credit_purchases", "*", "credit_type"), "credit_type"),
)

#: Code-shaped fields that name the scenario's own things (ids), not rule documents.
OWN_IDS = frozenset(
    {
        ("account", "code"),
        ("subscription", "code"),
        ("job", "code"),
        ("consumptions", "*", "id"),
        ("balance", "events", "*", "id"),
        ("balance", "events", "*", "request"),
        ("balance", "debits", "*", "request"),  # (a request debited before this scenario)
        ("credits", "*", "code"),
        ("credit_purchases", "*", "id"),
    }
)

#: Fields naming a service: one a credit type of the rule set pays for (SPEC 3.6).
SERVICES = (("consumptions", "*", "service"), ("credits", "*", "scope", "services", "*"))

#: A credit's holder is an organisation or a user (a credit owner).
HOLDERS = (("credits", "*", "holder"), ("organisation", "user"))


@dataclass(frozen=True)
class UnknownReference:
    path: tuple[Any, ...]
    message: str
    hint: str
    #: a warning, not an error: an agent's or an approval's user or unit, which `decide` takes (a
    #: CRM's own staff, whose units the scenario gives; until 2026-12-02 an error, exit 1, for a
    #: scenario `decide` decided), or a scenario credit's `priority` that orders nothing (BR421)
    staff: bool = False
    #: the finding's own code, where it is not a reference's (`code`)
    own_code: str | None = None

    @property
    def code(self) -> str:
        """The code `decide` gives the same finding: BR605 (credit facts) for a consumption's or a
        credit purchase's organisation, user, credit type or product, BR610 for a balance's policy,
        BR603 for the rest (until 2026-12-02 `validate --scenarios` said BR603 for all)."""
        if self.own_code is not None:
            return self.own_code
        first = self.path[0] if self.path else None
        if first in ("consumptions", "credit_purchases"):
            return "BR605"
        return "BR302" if first == "credits" else "BR610" if self.path[:2] == ("balance", "policy") else "BR603"


#: the scenario fields that may name a CRM's own staff and their units (see `UnknownReference.staff`)
STAFF = frozenset(
    {("agent", "user"), ("agent", "units", "*"), ("approvals", "*", "by"), ("approvals", "*", "units", "*")}
)


def unknown_references(rules: Any, data: dict[str, Any]) -> list[UnknownReference]:
    """Every code the scenario (as written: the mapping validated) names that the rules lack."""
    known: dict[str, set[str]] = {}

    def codes(kind: str) -> set[str]:
        if kind not in known:
            known[kind] = set(rules.catalog.get(kind, {}))
        return known[kind]

    from engine.references import OPEN_KINDS

    found = []
    for pattern, kind in REFERENCES:
        if kind in OPEN_KINDS and not codes(kind):
            continue  # none declared: free text
        for path, value in walk_pattern(data, pattern):
            if isinstance(value, str) and value not in codes(kind):
                unknown = _unknown(path, kind.replace("_", " "), value, codes(kind))
                if pattern in STAFF:
                    unknown = UnknownReference(
                        unknown.path,
                        unknown.message,
                        f"{unknown.hint} (`decide` takes it as staff the rule set does not define)",
                        True,
                    )
                found.append(unknown)
    services = {t.service for t in rules.models("credit_type").values() if getattr(t, "service", None)}
    for pattern in SERVICES:  # the services credit types pay for (`decide` refused them unnamed here)
        for path, value in walk_pattern(data, pattern):
            if isinstance(value, str) and value not in services:
                found.append(_unknown(path, "service", value, services))
    pattern, kinds = HOLDERS
    for path, value in walk_pattern(data, pattern):
        if isinstance(value, str) and not any(value in codes(kind) for kind in kinds):
            everyone = set().union(*(codes(kind) for kind in kinds))
            found.append(_unknown(path, "organisation or user", value, everyone))
    found.extend(_priorities_ordering_nothing(rules, data))
    return found


def _priorities_ordering_nothing(rules: Any, data: dict[str, Any]) -> list[UnknownReference]:
    """BR421, a warning, for a scenario credit's `priority` where the rule set's `credit_precedence`
    has no `priority` key: it orders nothing, as a rule-file credit's does (`reach_checks`; until
    2026-12-04 a scenario's passed in silence, and its credits were drawn in another order than
    the one the priorities were written for)."""
    from engine.decide.credits import DEFAULT_ORDER

    settings = rules.settings
    order = [k.value for k in settings.credit_precedence] if settings is not None else list(DEFAULT_ORDER)
    if "priority" in order:
        return []
    return [
        UnknownReference(
            path,
            "`priority` orders nothing: the rule set's `credit_precedence` has no `priority` key",
            "add `priority` to `credit_precedence` in ruleset.yaml, or remove it from the scenario's credit",
            staff=True,
            own_code="BR421",
        )
        for path, value in walk_pattern(data, ("credits", "*", "priority"))
        if value is not None
    ]


def _unknown(path: tuple[Any, ...], what: str, value: str, known: set[str]) -> UnknownReference:
    hint = did_you_mean(value, sorted(known)) or f"use a {what} code from the rule set"
    return UnknownReference(path, f"unknown {what} `{value}`", hint)

"""Credits (seeds 000, 001, 004): credit types, organisations, credits, users, balance policies."""

# No `from __future__ import annotations` in the rule-file models: pydantic would evaluate every
# annotation string at import (typing.ForwardRef compiles each one), 3 ms of `billrules validate`.

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from engine.models.common import MAX_COUNT, Code, DateField, DecimalField, RuleDocument, Strict, Text
from engine.models.criteria import CreditCriteria


class CreditMeasure(StrEnum):
    OFFERS = "offers"
    AMOUNT = "amount"


class CreditType(RuleDocument):
    """A kind of credit, e.g. Network Offer (w/ 7 tokens)."""

    kind: Literal["credit_type"] = Field(description="Document kind.")
    shared_on_issue: bool = Field(
        default=False, description="Shared with all organisations when issued; needs no allocation."
    )
    expires: bool = Field(default=True, description="False for credits with no usage period (e.g. Jumpstart).")
    measure: CreditMeasure = Field(default=CreditMeasure.OFFERS, description="offers (a count) or amount.")
    tokens: int | None = Field(
        default=None, ge=0, le=MAX_COUNT, description="Tokens that come with each credit, if any."
    )
    service: Text | None = Field(
        default=None,
        description="The service the type pays for; a consumption of that service may draw on credits of every "
        "type naming it, as one candidate list.",
    )
    unit: Text | None = Field(
        default=None,
        description="Unit consumptions are counted in (e.g. `e-mails`); the measure's name (offers, amount) when omitted.",
    )
    overdraft_policy: Code | None = Field(
        default=None,
        description="Balance policy whose `overdraft` lets a consumption the candidates cannot cover overdraw "
        "the last candidate; without one, such a consumption is refused whole.",
    )
    criteria: CreditCriteria | None = Field(
        default=None,
        description="Which consumptions may draw on credits of this type (with each credit's own criteria).",
    )


class Organisation(RuleDocument):
    """A node of the customer's organisation tree (any depth)."""

    kind: Literal["organisation"] = Field(description="Document kind.")
    parent: Code | None = Field(default=None, description="Parent organisation; the root has none.")


class Unit(RuleDocument):
    """An organisational unit of the operator (e.g. Customer Centre Supervisors)."""

    kind: Literal["unit"] = Field(description="Document kind.")
    parent: Code | None = Field(default=None, description="Parent unit.")


class Segment(RuleDocument):
    """A segment accounts or jobs can belong to, used by discount criteria."""

    kind: Literal["segment"] = Field(description="Document kind.")


class Allocation(StrEnum):
    ALL_ORGANISATIONS = "all_organisations"
    THIS_ORGANISATION = "this_organisation"


class UsagePeriod(Strict):
    from_: DateField = Field(alias="from", description="First day the credit may be used.")
    to: DateField | None = Field(default=None, description="Last day (inclusive); never expires when omitted.")


class CreditScope(Strict):
    services: list[Text] = Field(
        default_factory=list, description="Only consumptions of these services may draw on the credit."
    )
    products: list[Code] = Field(
        default_factory=list, description="Only consumptions of these products may draw on the credit."
    )


#: The JSON Schema of a quantity more than zero, as rule files write it (a number, or its text without
#: an exponent): an editor marks 0 and below as `validate` does (BR207 "must be more than 0", worded
#: so by engine.schema); until 2026-12-04 the schema took them.
_POSITIVE: dict[str, Any] = {"exclusiveMinimum": 0, "pattern": r"^(?=[0-9.]*[1-9])[0-9]+(\.[0-9]+)?$"}


class Credit(RuleDocument):
    """A credit issued to an organisation."""

    kind: Literal["credit"] = Field(description="Document kind.")
    type: Code = Field(description="Code of the credit type.")
    quantity: DecimalField = Field(
        gt=0, description="Number of offers or amount granted (more than zero).", json_schema_extra=_POSITIVE
    )
    usage_period: UsagePeriod | None = Field(
        default=None, description="When the credit may be used (omitted: from issue, never expires)."
    )
    holder: Code = Field(description="Organisation holding the credit, or a user (a credit owner, seed 001).")
    allocation: Allocation = Field(
        default=Allocation.THIS_ORGANISATION,
        description="all_organisations (holder and its descendants) or this_organisation.",
    )
    issued: DateField | None = Field(
        default=None, description="Issue date (a tie-breaker in precedence); omitted: when its usage period starts."
    )
    priority: int | None = Field(
        default=None,
        ge=-MAX_COUNT,
        le=MAX_COUNT,
        description="Explicit priority (lower first) for declared precedence orders.",
    )
    scope: CreditScope | None = Field(
        default=None,
        description="Restrict the credit to some services or products (shorthand for `criteria` services/products).",
    )
    criteria: CreditCriteria | None = Field(
        default=None, description="Which consumptions may draw on the credit (its type's criteria must hold too)."
    )


class User(RuleDocument):
    """A user: an agent (member of units) and/or a customer's user who may have a credit owner."""

    kind: Literal["user"] = Field(description="Document kind.")
    organisation: Code | None = Field(default=None, description="Organisation the user belongs to.")
    units: list[Code] = Field(
        default_factory=list, description="Operator units the user belongs to (agents, approvers)."
    )
    credit_owner: Code | None = Field(
        default=None, description="User whose credits this user consumes; purchases are assigned to the owner."
    )


class Alerts(Strict):
    enabled: bool = Field(default=False, description="Alert when the balance falls below `threshold`.")
    threshold: DecimalField | None = Field(default=None, description="Alert threshold in credits.")


class BalancePolicy(RuleDocument):
    """How a customer's credit balance behaves (seed 004)."""

    kind: Literal["balance_policy"] = Field(description="Document kind.")
    overdraft: bool = Field(default=True, description="The balance may go below zero.")
    alerts: Alerts = Field(
        default_factory=Alerts, description="Threshold alerts (an alert below zero is always raised)."
    )


CREDIT_KINDS = (CreditType, Organisation, Unit, Segment, Credit, User, BalancePolicy)

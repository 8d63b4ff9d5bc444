"""Discount definitions (seed 002)."""

# No `from __future__ import annotations` in the rule-file models: pydantic would evaluate every
# annotation string at import (typing.ForwardRef compiles each one), 3 ms of `billrules validate`.

from enum import StrEnum
from typing import Literal

from pydantic import Field

from engine.models.catalog import ProductType
from engine.models.common import (
    MAX_COUNT,
    Code,
    DateField,
    DecimalField,
    DurationField,
    MoneyField,
    RuleDocument,
    Strict,
    UnitField,
)
from engine.models.criteria import Criteria


class DiscountType(StrEnum):
    AUTO_APPLY = "auto_apply"
    AD_HOC = "ad_hoc"


class Classification(StrEnum):
    SUBSCRIPTION = "subscription"
    JOB = "job"


class AppliedServiceType(StrEnum):
    USAGE = "usage"
    NON_USAGE = "non_usage"
    BOTH = "both"

    def serves(self, product_type: str | None) -> bool:
        """Does a discount of this service type reduce a line of `product_type` (its text)? Seed
        002: it "defines whether auto apply discounts will be applied on 'Usage', 'Non-Usage'
        services or both": usage lines for `usage`, the others (termed, expense) for `non_usage`."""
        if self is AppliedServiceType.BOTH:
            return True
        return (product_type == "usage") is (self is AppliedServiceType.USAGE)


class LifeCycleState(StrEnum):
    DRAFT = "draft"
    EFFECTIVE = "effective"
    INACTIVE = "inactive"


class AmountType(StrEnum):
    AMOUNT = "amount"
    PERCENTAGE = "percentage"
    FREE_PERIOD = "free_period"


class DiscountAmount(Strict):
    """What the discount takes: a money amount, a percentage, or a free period.

    `value` is money text for `amount` (`20.00 EUR`), a number for `percentage` (15 = 15 %) and a
    whole number of `unit`s for `free_period`. Ad hoc definitions give `range: [min, max]`
    instead; the agent requests a value inside it (a range of one value, `[50, 50]`: a request
    need not name it).
    """

    type: AmountType = Field(description="amount, percentage or free_period.")
    value: str | DecimalField | None = Field(
        default=None,
        description="Fixed value (auto apply).",
        examples=["20.00 EUR", 50],
    )
    range: list[str | DecimalField] | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description="Ad hoc: [min, max] the agent may choose from.",
    )
    level: int | None = Field(
        default=None, ge=1, le=3, description="Percentage only: 1 applies first; same level is summed on the same base."
    )
    unit: UnitField | None = Field(default=None, description="Free period only: unit of the free period.")


class DiscountedProduct(Strict):
    product: Code | None = Field(default=None, description="A product the discount reduces.")
    product_type: ProductType | None = Field(
        default=None, description="A product type the discount reduces (termed, usage or expense)."
    )
    bundle: Code | None = Field(default=None, description="Only when the product is part of this flexible bundle.")
    main_service: bool = Field(
        default=False,
        description=(
            "Only the customer's main service: a line marked `main: true` (or, when no line of the bill is "
            "marked, a line of a product the catalog marks `main_service: true`). Alone: any such termed, "
            "usage or expense line."
        ),
    )


class DefinitionValidity(Strict):
    effective: DateField = Field(description="First day the definition may be applied or offered.")
    expiration: DateField | None = Field(default=None, description="Last day (inclusive); open when omitted.")


class DiscountDuration(Strict):
    """How long the discount runs once added: exactly one of the three options."""

    billing_periods: int | None = Field(default=None, ge=1, le=MAX_COUNT, description="Number of billing periods.")
    until: DateField | None = Field(default=None, description="End date (inclusive).")
    indefinite: bool = Field(default=False, description="Runs until removed.")
    flexible_start: bool = Field(default=False, description="Ad hoc: the agent may choose the start date.")
    flexible_end: bool = Field(default=False, description="Ad hoc: the agent may choose the end date.")
    latest_start: DurationField | None = Field(
        default=None, description="Flexible start at most this long after the request."
    )
    max_length: DurationField | None = Field(
        default=None, description="A flexible duration may not be longer than this."
    )


class LimitWindow(StrEnum):
    ROLLING = "rolling"
    CALENDAR = "calendar"


class ApplicationLimit(Strict):
    times: int = Field(ge=1, le=MAX_COUNT, description="Maximum number of applications per customer per window.")
    per: DurationField = Field(description="Window length, e.g. `1 year`.")
    window: LimitWindow = Field(
        default=LimitWindow.ROLLING,
        description="rolling (counted back from the billing date) or calendar (whole calendar years, months "
        "or weeks from Monday, the current one included; days are the same either way).",
    )


class Approval(Strict):
    required: bool = Field(default=False, description="The discount needs approval before it is applied.")
    users: list[Code] = Field(default_factory=list, description="Users who may approve.")
    units: list[Code] = Field(default_factory=list, description="Organisational units whose members may approve.")


class Discount(RuleDocument):
    """An additive discount definition."""

    kind: Literal["discount"] = Field(description="Document kind.")
    type: DiscountType = Field(description="auto_apply (billing applies it) or ad_hoc (offered to agents).")
    classification: Classification = Field(description="subscription or job.")
    applied_service_type: AppliedServiceType = Field(
        description="usage, non_usage or both; decides which criteria sections are allowed."
    )
    state: LifeCycleState = Field(description="Only effective definitions are applied or offered.")
    amount: DiscountAmount = Field(description="What the discount takes.")
    cap: MoneyField | None = Field(default=None, description="Maximum discount per billing period, e.g. `20.00 EUR`.")
    discounted_products: list[DiscountedProduct] = Field(
        min_length=1, description="Products or product types the discount reduces."
    )
    validity: DefinitionValidity = Field(description="Effective and expiration dates of the definition.")
    duration: DiscountDuration | None = Field(
        default=None, description="How long the discount runs once added; indefinite when omitted."
    )
    limit: ApplicationLimit | None = Field(default=None, description="Maximum applications per customer per window.")
    approval: Approval | None = Field(default=None, description="Approval settings (ad hoc).")
    allowed_units: list[Code] = Field(
        default_factory=list, description="Ad hoc: the agent must belong to one of these units."
    )
    criteria: Criteria | None = Field(
        default=None, description="When the discount applies (auto apply) or may be offered (ad hoc)."
    )

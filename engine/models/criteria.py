"""Criteria sections of a discount definition (seed 002), as analysts write them.

Semantics (SPEC 3.3): every section present must hold; inside a section, at least one entry must
hold; the `products` section is the exception: every entry must hold. Sections and a `when:`
expression compile to the same typed AST.
"""

# No `from __future__ import annotations` in the rule-file models: pydantic would evaluate every
# annotation string at import (typing.ForwardRef compiles each one), 3 ms of `billrules validate`.

from datetime import time
from enum import StrEnum

from pydantic import Field

from engine.models.catalog import BillingFrequency, ProductType
from engine.models.common import (
    MAX_COUNT,
    Code,
    DateField,
    DateTimeField,
    DecimalField,
    DurationField,
    Percentage,
    Strict,
    Text,
    TimeField,
    UnitField,
)


class Threshold(Strict):
    more_than: DecimalField | None = Field(default=None, description="Holds when the value is greater than this.")
    less_than: DecimalField | None = Field(default=None, description="Holds when the value is less than this.")


class PercentThreshold(Strict):
    more_than: Percentage | None = Field(
        default=None, description="Holds when the rate is greater than this percentage."
    )
    less_than: Percentage | None = Field(default=None, description="Holds when the rate is less than this percentage.")


class Effectiveness(Strict):
    """Conditions on when something became effective, relative to the billing date."""

    effective_for_at_least: DurationField | None = Field(
        default=None, description="Effective for at least this long at billing time."
    )
    effective_for_at_most: DurationField | None = Field(
        default=None, description="Effective for at most this long at billing time."
    )
    effective_from: DateField | None = Field(default=None, description="Became effective on or after this date.")
    effective_until: DateField | None = Field(default=None, description="Became effective on or before this date.")


class BillingTermCriteria(Strict):
    schemes: list[Code] = Field(
        default_factory=list,
        description="Billing term scheme codes (ad hoc discounts: only schemes with flexible pricing).",
    )
    billing_frequencies: list[BillingFrequency] = Field(default_factory=list, description="Billing frequencies.")
    binding_periods: list[DurationField] = Field(default_factory=list, description="Binding periods, e.g. `12 months`.")
    concurrent_usage: Threshold | None = Field(default=None, description="Concurrent usage more than / less than.")
    concurrent_usage_rate: PercentThreshold | None = Field(
        default=None, description="Concurrent usage rate (%) more than / less than."
    )
    effectiveness: Effectiveness | None = Field(default=None, description="When the billing term became effective.")


class Maturity(Strict):
    at_least: DurationField = Field(
        description="The subscription must have been uninterrupted (not rested or deactivated) for this long."
    )
    max_interruption_days: int = Field(
        default=0, ge=0, le=MAX_COUNT, description="Interruptions up to this many days do not break maturity."
    )


class SubscriptionCriteria(Strict):
    types: list[Text] = Field(default_factory=list, description="Subscription types.")
    maturity: Maturity | None = Field(default=None, description="Uninterrupted-for condition.")
    effectiveness: Effectiveness | None = Field(default=None, description="When the subscription became effective.")


class Due(Strict):
    due_in_days: int | None = Field(
        default=None, ge=0, le=MAX_COUNT, description="The bill is due in at most this many days."
    )
    due_days_ago: int | None = Field(
        default=None, ge=0, le=MAX_COUNT, description="The bill was due at least this many days ago."
    )


class AccountsReceivableCriteria(Strict):
    classifications: list[Text] = Field(default_factory=list, description="Account classifications, e.g. Residential.")
    payment_preferences: list[Text] = Field(default_factory=list, description="Payment preferences, e.g. direct_debit.")
    presentment_preferences: list[Text] = Field(
        default_factory=list, description="Presentment preferences, e.g. email."
    )
    due: Due | None = Field(default=None, description="Due date condition: due in X days or due X days ago.")


class SegmentCriteria(Strict):
    include: list[Code] = Field(
        default_factory=list, description="The account must be in at least one of these segments."
    )
    exclude: list[Code] = Field(default_factory=list, description="The account must be in none of these segments.")


class ProductCriterion(Strict):
    """A product or a product type that must be present (optionally inside a flexible bundle)."""

    product: Code | None = Field(default=None, description="Product code.")
    product_type: ProductType | None = Field(default=None, description="Product type.")
    bundle: Code | None = Field(default=None, description="Only when part of this flexible bundle.")


class DurationRange(Strict):
    from_: int = Field(alias="from", ge=0, le=MAX_COUNT, description="Shortest buy-in-advance duration.")
    to: int = Field(ge=0, le=MAX_COUNT, description="Longest buy-in-advance duration.")
    unit: UnitField


class UsageServiceCriteria(Strict):
    catalogs: list[Text] = Field(default_factory=list, description="Usage service catalogs.")
    service_types: list[Text] = Field(default_factory=list, description="Usage service types, e.g. VOD, PPV.")
    termed_services: list[Code] = Field(default_factory=list, description="Termed product codes the usage relates to.")


class UsageCriteria(Strict):
    methods: list[Text] = Field(default_factory=list, description="Usage methods.")
    devices: list[Text] = Field(default_factory=list, description="Devices.")
    source_categories: list[Text] = Field(default_factory=list, description="Source categories.")
    destination_categories: list[Text] = Field(default_factory=list, description="Destination categories.")


class Weekday(StrEnum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


class DateTimeRange(Strict):
    from_: DateTimeField = Field(alias="from", description="Start (inclusive).")
    to: DateTimeField | None = Field(default=None, description="End (inclusive); never expires when omitted.")


class DayWindow(Strict):
    day: Weekday = Field(description="Day of the week.")
    from_: TimeField = Field(default=time(0, 0), alias="from", description="Start time of day.")
    to: TimeField = Field(default=time(23, 59, 59), description="End time of day; earlier than `from` spans midnight.")


class QuantityRange(Strict):
    min: DecimalField | None = Field(default=None, description="Smallest total (inclusive).")
    max: DecimalField | None = Field(default=None, description="Largest total (inclusive).")
    per: DurationField | None = Field(
        default=None, description="Window counted back from billing time; unlimited when omitted."
    )


class QuantitativeCriteria(Strict):
    execution_dates: DateTimeRange | None = Field(
        default=None, description="Usage must happen in this date-time range."
    )
    execution_days: list[DayWindow] = Field(
        default_factory=list, description="Usage must happen on these weekdays and times."
    )
    total_quantity: QuantityRange | None = Field(
        default=None, description="Total number of rated usages in the window."
    )
    total_usage: QuantityRange | None = Field(default=None, description="Total usage quantity in the window.")


class Criteria(Strict):
    """Sections (each a mapping) and `when:`; every one must hold, and one entry of each (products: all)."""

    billing_term: BillingTermCriteria | None = Field(
        default=None, description="Non-usage: billing term scheme, frequency, binding, concurrent usage."
    )
    subscription: SubscriptionCriteria | None = Field(
        default=None, description="Non-usage: subscription type, maturity, effectiveness."
    )
    accounts_receivable: AccountsReceivableCriteria | None = Field(
        default=None, description="Non-usage: the billed account."
    )
    segments: SegmentCriteria | None = Field(default=None, description="Non-usage: include / exclude segments.")
    price_plans: list[Code] = Field(
        default_factory=list, description="Non-usage: plans the subscription is billed from."
    )
    products: list[ProductCriterion] = Field(
        default_factory=list, description="Non-usage: every listed product/type must be present."
    )
    buy_in_advance: list[DurationRange] = Field(
        default_factory=list, description="Non-usage: eligible buy-in-advance duration ranges."
    )
    usage_service: UsageServiceCriteria | None = Field(
        default=None, description="Usage: catalogs, service types, termed services."
    )
    usage: UsageCriteria | None = Field(
        default=None, description="Usage: methods, devices, source and destination categories."
    )
    quantitative: QuantitativeCriteria | None = Field(
        default=None, description="Usage: execution dates/days, totals per unit of time."
    )
    when: str | None = Field(
        default=None,
        description="An expression in the criteria language.",
        examples=['account.classification in {"Residential", "SME"}'],
    )


NON_USAGE_SECTIONS = (
    "billing_term",
    "subscription",
    "accounts_receivable",
    "segments",
    "price_plans",
    "products",
    "buy_in_advance",
)
USAGE_SECTIONS = ("usage_service", "usage", "quantitative")


class QuantityBounds(Strict):
    min: DecimalField | None = Field(default=None, description="Smallest quantity (inclusive).")
    max: DecimalField | None = Field(default=None, description="Largest quantity (inclusive).")


class CreditCriteria(Strict):
    """Which consumptions may draw on a credit (of a type): every section present must hold.

    Typed against the consumption (`consumption.*`), the consumer (`consumer.*`) and `as_of`;
    inside a section at least one entry must hold, as in discount criteria (README "Credit criteria").
    """

    services: list[Text] = Field(default_factory=list, description="The consumption is of one of these services.")
    products: list[Code] = Field(default_factory=list, description="The consumption is of one of these products.")
    organisations: list[Code] = Field(
        default_factory=list,
        description="The consuming organisation is one of these or below one of them.",
    )
    execution_days: list[DayWindow] = Field(
        default_factory=list, description="The consumption happens on one of these weekdays and times."
    )
    execution_dates: DateTimeRange | None = Field(
        default=None, description="The consumption happens in this date-time range."
    )
    quantity: QuantityBounds | None = Field(default=None, description="The consumption's quantity lies in this range.")
    when: str | None = Field(
        default=None,
        description="An expression in the criteria language over `consumption`, `consumer` and `as_of`.",
        examples=["consumption.at.weekday not in {saturday, sunday}"],
    )


CREDIT_SECTIONS = ("services", "products", "organisations", "execution_days", "execution_dates", "quantity")

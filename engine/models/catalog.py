"""Catalog documents (seed 003): products, bundles, plans, billing term schemes, terms, coupons."""

# No `from __future__ import annotations` in the rule-file models: pydantic would evaluate every
# annotation string at import (typing.ForwardRef compiles each one), 3 ms of `billrules validate`.

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from engine.models.common import (
    MAX_COUNT,
    Code,
    DurationField,
    MoneyField,
    Name,
    Percentage,
    RuleDocument,
    Strict,
    Text,
    UnitField,
    Validity,
    number_as_written,
)
from engine.values import TimeUnit


class ProductType(StrEnum):
    TERMED = "termed"
    USAGE = "usage"
    EXPENSE = "expense"
    ONE_TIME = "one_time"


#: the product types a discount may reduce (SPEC 3.2: termed, usage and expense products)
DISCOUNTABLE = (ProductType.TERMED, ProductType.USAGE, ProductType.EXPENSE)


class BillingFrequency(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    BIMONTHLY = "bimonthly"
    QUARTERLY = "quarterly"
    SEMI_ANNUAL = "semi_annual"
    YEARLY = "yearly"


#: Length of one billing cycle in months (weekly is handled in days by the term logic).
CYCLE_MONTHS: dict[BillingFrequency, int] = {
    BillingFrequency.MONTHLY: 1,
    BillingFrequency.BIMONTHLY: 2,
    BillingFrequency.QUARTERLY: 3,
    BillingFrequency.SEMI_ANNUAL: 6,
    BillingFrequency.YEARLY: 12,
}


class Product(RuleDocument):
    """Something the operator sells."""

    name: Name = Field(description="Human-readable name shown to analysts and on reports.")

    kind: Literal["product"] = Field(description="Document kind.")
    type: ProductType = Field(description="termed (recurring), usage (rated), expense, or one_time.")
    price: MoneyField | None = Field(default=None, description="List price, e.g. `19.99 EUR`.")
    billing_frequency: BillingFrequency | None = Field(
        default=None, description="How often a termed product is billed (required for termed products)."
    )
    main_service: bool = Field(
        default=False,
        description=(
            "A main service (seed 002's \"customer's main service\"): its line on a bill is the main service "
            "when no line of that bill is marked `main` itself."
        ),
    )


class BundleProduct(Strict):
    product: Code = Field(description="Code of a product in the catalog.")
    required: bool = Field(
        default=True,
        description="A required product is always bought with the bundle; an optional one at the customer's choice.",
    )


class Bundle(RuleDocument):
    """A group of products and discounts bought as one item of a subscription."""

    name: Name = Field(description="Human-readable name shown to analysts and on reports.")

    kind: Literal["bundle"] = Field(description="Document kind.")
    validity: Validity = Field(description="When the bundle is available for purchase.")
    products: list[BundleProduct] = Field(
        default_factory=list, description="Component products, each required or optional."
    )
    discounts: list[Code] = Field(default_factory=list, description="Codes of discount definitions the bundle grants.")
    term: Code | None = Field(default=None, description="Code of the term (commitment) that comes with the bundle.")
    flexible: bool = Field(default=False, description="Flexible: the customer chooses the components; fixed otherwise.")


class Plan(RuleDocument):
    """What a customer subscribes to during onboarding: bundles plus optional add-ons."""

    name: Name = Field(description="Human-readable name shown to analysts and on reports.")

    kind: Literal["plan"] = Field(description="Document kind.")
    bundles: list[Code] = Field(min_length=1, description="Codes of the bundles the plan consists of.")
    validity: Validity = Field(description="When the plan is available for purchase.")
    term: Code | None = Field(default=None, description="Code of the term (commitment) of the plan.")
    compatible_bundles: list[Code] = Field(
        default_factory=list, description="Bundles that may be bought as add-ons to this plan."
    )
    compatible_bundles_only: bool = Field(
        default=False,
        description="When true, only `compatible_bundles` may be bought as add-ons (the list must not be empty).",
    )
    payment_methods: list[Text] = Field(
        default_factory=list,
        description="Supported payment methods; any when empty.",
        examples=[["card", "direct_debit"]],
    )


class BillingTermScheme(RuleDocument):
    """How a subscription is billed: frequency, binding period, discount options."""

    kind: Literal["billing_term_scheme"] = Field(description="Document kind.")
    billing_frequency: BillingFrequency = Field(description="Billing frequency of subscriptions on this scheme.")
    binding_period: DurationField | None = Field(default=None, description="Binding period, e.g. `12 months`.")
    flexible_pricing: bool = Field(
        default=False,
        description="Offers the Flexible Pricing discount option; ad hoc discounts may only name schemes that do.",
    )


class EarlyCancellation(StrEnum):
    ALLOWED = "allowed"
    PENALTY = "penalty"
    NOT_ALLOWED = "not_allowed"


class CommitmentBasis(StrEnum):
    BILLING_CYCLES = "billing_cycles"
    CALENDAR = "calendar"


class Tax(Strict):
    rate: Percentage | None = Field(default=None, description="Tax rate in percent applied to the penalty fee.")
    code: Text | None = Field(default=None, description="Tax code, for the tax provider.")


class Penalty(Strict):
    """Early-cancellation penalty settings: with `early_cancellation: penalty`, or for the penalties
    a term's exceptions impose (`outcome: penalty`), whose fee defaults to this one."""

    grace_period: int = Field(
        default=0,
        ge=0,
        le=MAX_COUNT,
        description="Time after the cancellation date within which the customer may renew instead of paying.",
    )
    grace_period_unit: UnitField = TimeUnit.DAYS
    fee: MoneyField = Field(description="Maximum penalty fee, e.g. `150.00 EUR`.")
    pro_rata: bool = Field(default=False, description="Scale the fee by the share of the commitment still remaining.")
    ledger_account: Text | None = Field(default=None, description="Ledger account the penalty is booked to.")
    invoice_line_type: Text | None = Field(default=None, description="How the penalty appears on the invoice.")
    tax: Tax | None = Field(default=None, description="Tax on the penalty.")
    tax_provider: Text | None = Field(default=None, description="Tax provider that computes the tax.")


class ExceptionOutcome(StrEnum):
    ALLOWED = "allowed"
    NOT_ALLOWED = "not_allowed"
    PENALTY = "penalty"


class TermException(Strict):
    """An exception to a term's early-cancellation rule: when `when` holds, `outcome` decides.

    `when` is a criteria expression typed against the scenario (account, subscription, and the
    `cancellation` request with its `reason` and `date`). A `penalty` outcome may set its own
    `fee` and `pro_rata`; everything else (grace period, tax, ledger account, invoice line type)
    comes from the term's `penalty:` section.
    """

    when: str = Field(
        min_length=1,
        description="Criteria expression (the criteria language) over the scenario, e.g. "
        '`cancellation.reason == "moved_abroad"`.',
    )
    outcome: ExceptionOutcome = Field(description="allowed (no penalty), not_allowed, or penalty.")
    fee: MoneyField | None = Field(
        default=None, description="With `outcome: penalty`: the maximum fee (the term's fee when omitted)."
    )
    pro_rata: bool | None = Field(
        default=None, description="With `outcome: penalty`: scale the fee (the term's setting when omitted)."
    )


class Term(RuleDocument):
    """A commitment attached to a plan or bundle, with its early-cancellation rule and renewal."""

    name: Name = Field(description="Human-readable name shown to analysts and on reports.")

    kind: Literal["term"] = Field(description="Document kind.")
    # (the model takes 0 for engine.semantics to refuse it with the renewal loop it may make, BR410;
    # the schema says `minimum: 1`, and engine.schema words a 0 as BR410: until 2026-12-04 `minimum: 0`)
    period: int = Field(
        ge=0,
        le=MAX_COUNT,
        description="Length of the commitment (must be greater than zero).",
        json_schema_extra={"minimum": 1},
    )
    unit: UnitField
    basis: CommitmentBasis = Field(
        description="billing_cycles: counted in billing cycles; calendar: actual time since purchase."
    )
    early_cancellation: EarlyCancellation = Field(
        description="allowed, penalty or not_allowed before the commitment ends."
    )
    penalty: Penalty | None = Field(
        default=None,
        description="Penalty settings; required with `early_cancellation: penalty`; with `allowed` or "
        "`not_allowed`, the settings of the penalties its exceptions impose (only then).",
    )
    renewal_term: Code | None = Field(
        default=None, description="Term that follows automatically when this one ends (may be itself)."
    )
    exceptions: list[TermException] = Field(
        default_factory=list,
        description="Ordered exceptions to the early-cancellation rule; the first whose `when` holds decides.",
    )


class Charset(StrEnum):
    NUMERIC = "numeric"
    ALPHANUMERIC = "alphanumeric"


class Coupon(RuleDocument):
    """Generated codes granting a bundle (with its discounts) during a purchase."""

    name: Name = Field(description="Human-readable name shown to analysts and on reports.")

    kind: Literal["coupon"] = Field(description="Document kind.")
    provider: str = Field(min_length=1, description="Who issues the coupon (information only; required, seed 003).")
    charset: Charset = Field(description="numeric (0-9) or alphanumeric (0-9, A-Z, counted in base 36).")
    template: str = Field(
        min_length=1, description="Code template; each `#` is one generated character.", examples=["coupon_##"]
    )
    quantity: int = Field(ge=1, le=MAX_COUNT, description="How many codes to generate.")
    redemption_quantity: int = Field(ge=1, le=MAX_COUNT, description="How many times each code may be redeemed.")
    range_start: Annotated[int | str, BeforeValidator(number_as_written)] = Field(
        description="First value of the generated sequence (base 36 text for alphanumeric)."
    )
    bundle: Code = Field(description="Code of the bundle (with its discounts) the coupon grants.")
    validity: Validity = Field(description="When the coupon may be redeemed.")


CATALOG_KINDS = (Product, Bundle, Plan, BillingTermScheme, Term, Coupon)

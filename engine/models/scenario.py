"""The scenario model: the facts a billing run hands to `RuleSet.decide`.

A scenario asks one or more questions (discounts, credits, balance, cancellation, purchase); the
decision answers exactly those. The criteria language is type-checked against these models.
"""

# No `from __future__ import annotations`, as in the rule-file models: pydantic would evaluate every
# annotation string at import (typing.ForwardRef compiles each one). Classes come before the ones
# that name them, so no model needs a `model_rebuild()` (a full schema build at import).

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, NoReturn

from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic import Strict as StrictMode

from engine.models.catalog import BillingFrequency, ProductType
from engine.models.common import (
    DIGITS,
    MAX_COUNT,
    ChargeField,
    Code,
    DateField,
    DecimalField,
    DurationField,
    MoneyField,
    OwnCode,
    Percentage,
    Strict,
    TimestampField,
    whole_number_as_text,
)
from engine.models.credits import Allocation as CreditAllocation
from engine.models.credits import CreditScope
from engine.models.credits import UsagePeriod as CreditPeriod
from engine.values import MAX_INTEGER_DIGITS


def _whole_text(least: int | None) -> str:
    """The pattern of a whole number written as text, as `whole_number_text` reads it: digits,
    perhaps a point and digits, perhaps an exponent (`"12"`, `"12.0"`, `"1e1"`, `"2.5e1"`,
    `"100e-2"`), whose value is whole and has at most 15 digits; `least` 1: more than zero, 0: not
    below zero (`"-0"` is 0), None: any sign. A pattern cannot compare a fraction's length with an
    exponent in general: it lists the exponents from -15 to 14, past which only numbers written
    with idle zeros are whole and short enough (`"0.1e15"`, read, is refused here)."""
    most = MAX_INTEGER_DIGITS
    forms = [rf"0*[0-9]{{1,{most}}}(\.0+)?([eE][-+]?0+)?"]  # no exponent, or one of 0
    for e in range(1, most):  # the first `e` digits of the fraction are whole ones
        forms.append(rf"0*[0-9]{{1,{most - e}}}(\.(?=[0-9])[0-9]{{0,{e}}}0*)?[eE]\+?0*{e}")
    for k in range(1, most + 1):  # the integer digits end with `k` zeros
        forms.append(rf"0*[0-9]{{1,{most}}}0{{{k}}}(\.0+)?[eE]-0*{k}")
    number = "|".join(forms)
    zero = r"0+(\.0+)?([eE][-+]?[0-9]+)?"
    if least == 1:
        return rf"^(?=[0-9.]*[1-9])({number})$"
    sign = "-?" if least is None else r"(-(?=[0.]+([eE]|$)))?"
    return rf"^{sign}({number}|{zero})$"


def _percentage_text() -> str:
    """The pattern of a percentage written as text, as a scenario's `Percentage` reads it: from 0 to
    100, digits, a point and digits, perhaps an exponent (`"15"`, `"12.5"`, `"1.5e1"`), exponents
    from -15 to 15 (`"-0"` is 0; the 9 decimals every number has at most are not said here, as for
    every number of the schema)."""
    most = MAX_INTEGER_DIGITS
    frac, zeros = r"(\.[0-9]+)?", r"(\.0+)?"
    forms = [rf"0*(100{zeros}|[0-9]{{1,2}}{frac})([eE][-+]?0+)?"]
    forms.append(rf"0*(10{zeros}|[0-9]{frac})[eE]\+?0*1")
    forms.append(rf"0*(1{zeros}|0{frac})[eE]\+?0*2")
    for x in range(3, most + 1):  # at most 0.0…01 (x - 3 zeros)
        forms.append(rf"0*(0\.0{{{x - 2}}}[0-9]*|0\.0{{{x - 3}}}10*)[eE]\+?0*{x}")
    for k in range(1, most + 1):  # at most 1 and 2 + k zeros
        forms.append(rf"0*(10{{{2 + k}}}{zeros}|[0-9]{{1,{2 + k}}}{frac})[eE]-0*{k}")
    zero = r"0+(\.0+)?([eE][-+]?[0-9]+)?"
    return rf"^(-(?=[0.]+([eE]|$)))?({'|'.join(forms)}|{zero})$"


#: The JSON Schema of a whole number a scenario may write as text (`concurrent_usage: "1e1"`,
#: `priority: "2e0"`), and of a percentage it may so write (`concurrent_usage_rate: "15"`): until
#: 2026-12-04 the schema said `type: integer` (`number`), and an editor marked what `decide` reads.
def _whole_schema(least: int | None) -> dict[str, Any]:
    return {"type": ["integer", "string"], "pattern": _whole_text(least)}


_PERCENTAGE: dict[str, Any] = {"type": ["number", "string"], "pattern": _percentage_text()}


class Account(Strict):
    code: OwnCode = Field(description="Account code.")
    classification: str | None = Field(
        default=None, description="Accounts receivable classification, e.g. Residential."
    )
    payment_preference: str | None = Field(default=None, description="Payment preference, e.g. direct_debit.")
    presentment_preference: str | None = Field(default=None, description="Presentment preference, e.g. email.")
    segments: list[Code] = Field(default_factory=list, description="Segments the account belongs to.")
    due_date: DateField | None = Field(default=None, description="Due date of the open bill.")
    start: DateField | None = Field(
        default=None,
        description="Date the customer became a customer (tenure: `as_of.date - account.start >= 2 years`).",
    )


class ProductLine(Strict):
    """A product on a subscription or job, with the price billed for the period."""

    product: Code = Field(description="Product code from the catalog.")
    price: MoneyField | None = Field(
        default=None, description="Gross charge for the period; the catalog price when omitted."
    )
    quantity: Annotated[int, Field(ge=1, le=MAX_COUNT), DIGITS] = Field(
        default=1, description="Quantity billed.", json_schema_extra=_whole_schema(1)
    )
    bundle: Code | None = Field(default=None, description="Bundle the product was bought in.")
    # strict: `main: "no"` is refused, as the scenario schema refuses it (`validate --scenarios`),
    # not read as YAML 1.1's false
    main: Annotated[bool, StrictMode()] = Field(default=False, description="The customer's main service.")
    type: ProductType | None = Field(default=None, description="Product type; taken from the catalog when omitted.")


class Status(StrEnum):
    ACTIVE = "active"
    RESTED = "rested"
    DEACTIVATED = "deactivated"


class StatusPeriod(Strict):
    status: Status = Field(description="active, rested or deactivated.")
    from_: DateField = Field(alias="from", description="First day in this status.")
    to: DateField | None = Field(
        default=None,
        description="Last day in this status; when omitted, until a later period starts (ongoing if none does).",
    )

    @model_validator(mode="after")
    def _in_order(self) -> "StatusPeriod":
        last = self.to  # (tested here: every scenario's periods pass through, one call fewer)
        if last is not None and last < self.from_:
            _out_of_order(self.from_, last)
        return self


class Period(Strict):
    from_: DateField = Field(alias="from", description="First day (inclusive).")
    to: DateField = Field(description="Last day (inclusive).")

    @model_validator(mode="after")
    def _in_order(self) -> "Period":
        last = self.to  # (tested here: every scenario's periods pass through, one call fewer)
        if last is not None and last < self.from_:
            _out_of_order(self.from_, last)
        return self


def _out_of_order(first: date, last: date) -> NoReturn:
    raise ValueError(f"the period ends on {last}, before it starts on {first}")


class Subscription(Strict):
    code: OwnCode = Field(description="Subscription code.")
    type: str | None = Field(default=None, description="Subscription type.")
    plan: Code | None = Field(default=None, description="Price plan the subscription is billed from.")
    add_ons: list[Code] = Field(default_factory=list, description="Add-on bundles bought with the plan.")
    add_on_starts: dict[Code, DateField] = Field(
        default_factory=dict,
        description="Date each add-on bundle was bought, when later than the subscription's start "
        "(its term counts from then).",
    )
    billing_term_scheme: Code | None = Field(default=None, description="Billing term scheme code.")
    billing_frequency: BillingFrequency | None = Field(default=None, description="Billing frequency.")
    binding_period: DurationField | None = Field(default=None, description="Binding period.")
    concurrent_usage: Annotated[int, Field(ge=0, le=MAX_COUNT), DIGITS] | None = Field(
        default=None, description="Concurrent usage allowed on the subscription.", json_schema_extra=_whole_schema(0)
    )
    concurrent_usage_rate: Percentage | None = Field(
        default=None, description="Concurrent usage rate in percent.", json_schema_extra=_PERCENTAGE
    )
    start: DateField = Field(description="Date the subscription became effective.")
    billing_term_start: DateField | None = Field(default=None, description="Date the billing term became effective.")
    status_history: list[StatusPeriod] = Field(default_factory=list, description="Status periods, oldest first.")
    products: list[ProductLine] = Field(default_factory=list, description="Products on the subscription.")
    billing_period: Period | None = Field(default=None, description="The billing period being billed.")
    buy_in_advance: DurationField | None = Field(default=None, description="Requested buy-in-advance duration.")


class Job(Strict):
    code: OwnCode = Field(description="Job code.")
    type: str | None = Field(default=None, description="Job type, e.g. installation.")
    segments: list[Code] = Field(default_factory=list, description="Segments the job belongs to.")
    products: list[ProductLine] = Field(default_factory=list, description="Products billed by the job.")


#: The JSON Schema of a scenario's numbers as the engine reads them (`parse_number_text`: digits, a
#: point and digits, perhaps an exponent, `"1e1"`; until 2026-12-04 the schema refused an exponent
#: the engine reads): signed, of 0 or more (`quantity: -3` flagged by editors as by the engine, until
#: 2026-12-03 only the engine), and more than zero (text "0", "0.00" or "0e5" is no quantity; until
#: 2026-12-04 a purchase's quantity or an event's amount of 0 or below passed the schema).
_EXPONENT = r"([eE][-+]?[0-9]+)?"
_SIGNED: dict[str, Any] = {"pattern": rf"^-?[0-9]+(\.[0-9]+)?{_EXPONENT}$"}
_NOT_NEGATIVE: dict[str, Any] = {"minimum": 0, "pattern": rf"^[0-9]+(\.[0-9]+)?{_EXPONENT}$"}
_POSITIVE: dict[str, Any] = {
    "exclusiveMinimum": 0,
    "pattern": rf"^(?=[0-9.]*[1-9])[0-9]+(\.[0-9]+)?{_EXPONENT}$",
}


class UsageRecord(Strict):
    at: TimestampField = Field(description="When the usage happened (with its time zone).")
    quantity: DecimalField = Field(
        default=Decimal(1), ge=0, description="Quantity used (0 or more).", json_schema_extra=_NOT_NEGATIVE
    )
    service: str | None = Field(default=None, description="Usage service.")
    catalog: str | None = Field(default=None, description="Usage service catalog.")
    service_type: str | None = Field(default=None, description="Usage service type.")
    termed_service: Code | None = Field(default=None, description="Termed product the usage relates to.")
    method: str | None = Field(default=None, description="Usage method.")
    device: str | None = Field(default=None, description="Device.")
    source_category: str | None = Field(default=None, description="Source category.")
    destination_category: str | None = Field(default=None, description="Destination category.")
    product: Code | None = Field(default=None, description="Usage product rated.")
    amount: ChargeField | None = Field(default=None, description="Rated charge (0 or more).")


class Agent(Strict):
    user: Code = Field(description="The agent's user code.")
    units: list[Code] = Field(default_factory=list, description="Organisational units the agent belongs to.")


class DiscountRequest(Strict):
    discount: Code = Field(description="Ad hoc discount definition requested.")
    value: str | DecimalField | None = Field(
        default=None,
        description=(
            "Requested value inside the definition's range: a percentage as a number (`20`, or `20%`), "
            "a money amount with its currency (`7.50 EUR`), a free period as a number of its units."
        ),
    )
    start: DateField | None = Field(default=None, description="Flexible start date.")
    end: DateField | None = Field(default=None, description="Flexible end date.")
    added_on: DateField | None = Field(default=None, description="Date the discount was added to the subscription.")


class ApprovalRecord(Strict):
    discount: Code = Field(description="Discount approved.")
    by: Code = Field(description="User who approved.")
    units: list[Code] = Field(default_factory=list, description="Units of the approving user.")


class AppliedDiscount(Strict):
    discount: Code = Field(description="Discount applied earlier.")
    on: DateField = Field(description="Date it was applied.")


class Consumption(Strict):
    id: OwnCode = Field(description="Request id.")
    organisation: Code | None = Field(default=None, description="Consuming organisation.")
    user: Code | None = Field(default=None, description="Consuming user (credit owners apply).")
    credit_type: Code | None = Field(
        default=None, description="Credit type consumed (or give `service`: credits of every type for it)."
    )
    quantity: DecimalField = Field(gt=0, description="Quantity consumed (more than zero).", json_schema_extra=_POSITIVE)
    at: TimestampField = Field(description="When.")
    service: str | None = Field(
        default=None, description="Service consumed: without `credit_type`, every credit type paying for it."
    )
    product: Code | None = Field(default=None, description="Product consumed (for scoped credits).")
    unit: str | None = Field(default=None, description="Unit of the quantity; must be the credit type's unit.")
    method: str | None = Field(default=None, description="Usage attribute: how the service was used (credit criteria).")
    device: str | None = Field(default=None, description="Usage attribute: the device used (credit criteria).")
    source_category: str | None = Field(default=None, description="Usage attribute: the source category.")
    destination_category: str | None = Field(default=None, description="Usage attribute: the destination category.")

    @model_validator(mode="after")
    def _asks_something(self) -> "Consumption":
        if self.credit_type is None and self.service is None:
            raise ValueError("a consumption names a `credit_type` or a `service`")
        if self.organisation is None and self.user is None:
            raise ValueError("a consumption names the consuming `organisation` or `user`")
        return self


class ScenarioCredit(Strict):
    """A credit the customer holds now, with the quantity left of it; checked like a rule-file credit."""

    # issued on a day or at an instant, not both (the engine: BR413 at `issued_at`)
    model_config = ConfigDict(json_schema_extra={"not": {"required": ["issued", "issued_at"]}})

    code: Code = Field(description="Credit id (replaces a rule-file credit of the same code).")
    name: str | None = Field(default=None, description="Display name.")
    type: Code = Field(description="Code of the credit type.")
    quantity: DecimalField = Field(
        description="Quantity left to use: 0 for a credit used up, below zero for one overdrawn (only where its "
        "type's `overdraft_policy` allows overdraft).",
        json_schema_extra=_SIGNED,
    )
    usage_period: CreditPeriod | None = Field(default=None, description="When the credit may be used.")
    holder: Code = Field(description="Organisation holding the credit, or a user (a credit owner).")
    allocation: CreditAllocation = Field(
        default=CreditAllocation.THIS_ORGANISATION, description="all_organisations or this_organisation."
    )
    issued: DateField | None = Field(
        default=None,
        description="Issue date (a tie-breaker in precedence); omitted: when its usage period starts (or at "
        "`issued_at`).",
    )
    issued_at: TimestampField | None = Field(
        default=None,
        description="Instant of issue, instead of `issued`: a credit bought by a purchase (`credit_purchases`) and "
        "carried into a later scenario, with its purchase's `at`; it then ranks by that instant and is usable from "
        "it, as the purchase's credit was.",
    )
    priority: Annotated[int, Field(ge=-MAX_COUNT, le=MAX_COUNT), DIGITS] | None = Field(
        default=None, description="Explicit priority (lower first).", json_schema_extra=_whole_schema(None)
    )
    scope: CreditScope | None = Field(default=None, description="Restrict the credit to some services or products.")


class CreditPurchase(Strict):
    """Credits bought by a user: assigned to their credit owner, billed to the user (seed 001)."""

    id: OwnCode = Field(description="Purchase id; the credit it creates gets this code.")
    user: Code = Field(description="Purchasing user (billing information stays theirs).")
    credit_type: Code = Field(description="Credit type bought.")
    quantity: DecimalField = Field(gt=0, description="Quantity bought (more than zero).", json_schema_extra=_POSITIVE)
    at: TimestampField = Field(description="When; the credit can be used from this moment.")
    usage_period: CreditPeriod | None = Field(default=None, description="Usage period (from the purchase day).")


class BalanceEventType(StrEnum):
    GRANT = "grant"
    WITHDRAW = "withdraw"
    DEBIT = "debit"
    REFUND = "refund"


class RefundReason(StrEnum):
    CANCELLED = "cancelled"
    FAILED = "failed"
    REJECTED = "rejected"


class BalanceEvent(Strict):
    id: OwnCode = Field(description="Event id.")
    type: BalanceEventType = Field(description="grant, withdraw, debit or refund.")
    amount: DecimalField | None = Field(
        default=None,
        description="Credits, more than zero (a refund returns the debited amount and needs none).",
        json_schema_extra=_POSITIVE,
    )
    request: OwnCode | None = Field(default=None, description="Service request a debit or refund belongs to.")
    reason: RefundReason | None = Field(
        default=None, description="Why a refund returns the credits: the request was cancelled, failed or rejected."
    )
    at: TimestampField = Field(description="When; events apply in time order (ties: the order written).")


class BalanceDebit(Strict):
    """A request debited before this scenario (its debit already counted in `opening`), which a
    refund here may return, once: the state one scenario's decision carries into the next."""

    request: OwnCode = Field(description="Service request debited.")
    amount: DecimalField = Field(
        description="Credits debited for it, more than zero (what its refund returns).", json_schema_extra=_POSITIVE
    )
    refunded: Annotated[bool, StrictMode()] = Field(
        default=False, description="True when its debit was already returned by a refund."
    )


class Balance(Strict):
    policy: Code = Field(description="Balance policy code.")
    opening: DecimalField = Field(
        default=Decimal(0), description="Opening balance in credits.", json_schema_extra=_SIGNED
    )
    debits: list[BalanceDebit] = Field(
        default_factory=list,
        description="Requests debited before this scenario, already counted in `opening` (a refund here returns "
        "their amount once); the decision's `balance.debits` of the scenario before.",
    )
    events: list[BalanceEvent] = Field(
        default_factory=list, description="Grants, withdrawals, debits and refunds; applied in time order."
    )


class Cancellation(Strict):
    date: DateField = Field(description="Requested cancellation date (the first day without the service).")
    reason: str | None = Field(
        default=None, description="Why the customer cancels, e.g. moved_abroad (term exceptions may use it)."
    )
    add_ons: list[Code] | None = Field(
        default=None,
        description="Cancel only these add-on bundles (the plan stays); the whole subscription when omitted.",
    )
    renewed_on: DateField | None = Field(
        default=None, description="Date the customer renewed, if they did (within the grace period: no penalty)."
    )


class ChosenProduct(Strict):
    """One component a purchase chooses: a product of a bought bundle."""

    product: Code = Field(description="Product code.")
    bundle: Code = Field(description="The bought bundle (plan bundle, add-on or coupon bundle) it is chosen in.")


class Purchase(Strict):
    """A purchase request (SPEC 3.1, 3.5): a plan and/or add-ons, coupon codes, the payment method."""

    plan: Code | None = Field(
        default=None, description="Plan bought; when omitted, add-ons are bought for the subscription's plan."
    )
    add_ons: list[Code] = Field(default_factory=list, description="Add-on bundles bought.")
    products: list[ChosenProduct] | None = Field(
        default=None,
        description="The components chosen, per bundle; a bought bundle not named here comes with its required products.",
    )
    coupons: list[str] = Field(default_factory=list, description="Coupon codes redeemed, in order.")
    payment_method: str | None = Field(default=None, description="Payment method.")
    user: Code | None = Field(default=None, description="Purchasing user (assigned to their credit owner).")
    coupon_redemptions: dict[
        str, Annotated[int, Field(ge=0, le=MAX_COUNT, json_schema_extra=_whole_schema(0)), DIGITS]
    ] = Field(default_factory=dict, description="Earlier redemptions per coupon code.")


class Scenario(Strict):
    """One billing question set: an id, a point in time, and the facts."""

    id: Annotated[
        str, BeforeValidator(whole_number_as_text), WithJsonSchema({"type": ["string", "integer"], "minLength": 1})
    ] = Field(min_length=1, description="Scenario id, echoed in the decision (a whole number is read as its digits).")
    as_of: TimestampField = Field(description="Billing date-time; windows are counted back from it.")
    account: Account | None = Field(default=None, description="The billed account.")
    subscription: Subscription | None = Field(default=None, description="The subscription being billed.")
    job: Job | None = Field(default=None, description="The job being billed.")
    usage: list[UsageRecord] = Field(default_factory=list, description="Rated usage records.")
    agent: Agent | None = Field(default=None, description="Agent asking which ad hoc discounts to offer.")
    requested_discounts: list[DiscountRequest] = Field(
        default_factory=list, description="Ad hoc discounts requested by the agent."
    )
    approvals: list[ApprovalRecord] = Field(default_factory=list, description="Approvals given.")
    discount_history: list[AppliedDiscount] = Field(
        default_factory=list, description="Earlier applications (for limits)."
    )
    consumptions: list[Consumption] = Field(default_factory=list, description="Credit consumptions to allocate.")
    balance: Balance | None = Field(default=None, description="Credit balance events.")
    cancellation: Cancellation | None = Field(default=None, description="Cancellation request.")
    purchase: Purchase | None = Field(default=None, description="Purchase request.")
    credits: list[ScenarioCredit] = Field(
        default_factory=list, description="The customer's current credits (checked like rule-file credits)."
    )
    credit_purchases: list[CreditPurchase] = Field(
        default_factory=list, description="Credits bought by users (assigned to their credit owner)."
    )

"""Stage 6 — semantic checks: the business rules of SPEC 3 that a JSON Schema cannot express.

Each check is a generator over the typed models of the whole rule set and has its own stable
code. Checks assume references already resolved where they look things up, and skip silently
when a looked-up document is missing (stage 5 reported that).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from engine.criteria.runtime import as_utc
from engine.diagnostics import Diagnostic, Severity
from engine.load import Document, JsonPath
from engine.models.catalog import DISCOUNTABLE, Bundle, EarlyCancellation, ExceptionOutcome, ProductType
from engine.models.credits import Allocation, CreditMeasure, CreditType, User
from engine.models.criteria import NON_USAGE_SECTIONS, USAGE_SECTIONS
from engine.models.discounts import AmountType, AppliedServiceType, Discount, DiscountType
from engine.values import Money, TimeUnit, nearest_currency, parse_number, parse_number_text


@dataclass(frozen=True)
class Entry:
    model: Any
    document: Document


Catalog = dict[str, dict[str, Entry]]
Check = Callable[[Catalog], Iterator[Diagnostic]]


def _each(catalog: Catalog, kind: str) -> Iterator[tuple[Any, Document]]:
    for code in sorted(catalog.get(kind, {})):
        entry = catalog[kind][code]
        yield entry.model, entry.document


def check_validity_ranges(catalog: Catalog) -> Iterator[Diagnostic]:
    """BR413: a range whose end lies before its start can never hold."""
    for kind in ("bundle", "plan", "coupon"):
        for model, doc in _each(catalog, kind):
            if model.validity.to and model.validity.to < model.validity.from_:
                yield doc.diagnostic(
                    ("validity", "to"),
                    "BR413",
                    f"validity ends ({model.validity.to}) before it starts ({model.validity.from_})",
                    "swap the dates or fix the year",
                )
    for model, doc in _each(catalog, "discount"):
        v = model.validity
        if v.expiration and v.expiration < v.effective:
            yield doc.diagnostic(
                ("validity", "expiration"),
                "BR413",
                f"validity ends ({v.expiration}) before it starts ({v.effective})",
                "swap the dates or fix the year",
            )
    for model, doc in _each(catalog, "credit"):
        p = model.usage_period
        if p and p.to and p.to < p.from_:
            yield doc.diagnostic(
                ("usage_period", "to"),
                "BR413",
                f"usage period ends ({p.to}) before it starts ({p.from_})",
                "swap the dates or fix the year",
            )
        if p and p.to and model.issued and model.issued > p.to:
            yield doc.diagnostic(("issued",), "BR413", *issued_after_period(model.issued, p.to))


def check_products(catalog: Catalog) -> Iterator[Diagnostic]:
    """BR414: a termed product is billed at a frequency, so it must name one. BR434 (a warning): a
    one-time product names one (SPEC 3.1: "billing frequency for termed products"); nothing reads
    it — a one-time box on a yearly bill is charged once, and no discount reduces it — so a product
    typed wrongly would pass unseen (until 2026-12-03 accepted in silence). A usage or expense
    product's frequency is read: it is the period its line charges (a free period's share of it)."""
    for model, doc in _each(catalog, "product"):
        if model.type is ProductType.TERMED and model.billing_frequency is None:
            yield doc.diagnostic(
                ("type",),
                "BR414",
                f"termed product `{model.code}` has no `billing_frequency`",
                "add `billing_frequency: monthly` (or another frequency)",
            )
        elif model.type is ProductType.ONE_TIME and model.billing_frequency is not None:
            yield dataclasses.replace(
                doc.diagnostic(
                    ("billing_frequency",),
                    "BR434",
                    f"product `{model.code}` is `{model.type.value}` but names `billing_frequency: "
                    f"{model.billing_frequency.value}`: only termed products are billed at a frequency, "
                    "and no discount reduces a one-time product, so it is never used",
                    "remove `billing_frequency`, or make the product `type: termed` if it is billed every period",
                    key=True,
                ),
                severity=Severity.WARNING,
            )


def check_bundles(catalog: Catalog) -> Iterator[Diagnostic]:
    """BR424: a bundle brings a product or a discount (seed 003: "ein einzelnes Produkt oder Rabatt
    ... sind erforderlich"); one with neither sells nothing."""
    for model, doc in _each(catalog, "bundle"):
        if not model.products and not model.discounts:
            yield doc.diagnostic(
                ("code",),
                "BR424",
                f"bundle `{model.code}` has neither a product nor a discount",
                "list what it sells under `products:` (or the discounts it grants under `discounts:`)",
            )


def check_plans(catalog: Catalog) -> Iterator[Diagnostic]:
    """BR407: `compatible_bundles_only` with no compatible bundle would forbid every add-on, and so
    would one whose compatible bundles are all the plan's own (a holder of the plan holds them:
    bought again, each is refused, `add_on_already_held`; until 2026-12-03 accepted)."""
    for model, doc in _each(catalog, "plan"):
        if model.compatible_bundles_only and not model.compatible_bundles:
            yield doc.diagnostic(
                ("compatible_bundles_only",),
                "BR407",
                "`compatible_bundles_only` is true but `compatible_bundles` is empty",
                "list the bundles that may be bought as add-ons, or set `compatible_bundles_only: false`",
            )
        elif model.compatible_bundles_only and set(model.compatible_bundles) <= set(model.bundles):
            own = ", ".join(f"`{code}`" for code in dict.fromkeys(model.compatible_bundles))
            yield doc.diagnostic(
                ("compatible_bundles_only",),
                "BR407",
                f"`compatible_bundles_only` is true but `compatible_bundles` lists only the plan's own bundles ({own}), "
                "which come with the plan and are never bought as add-ons",
                "list the bundles that may be bought as add-ons, or set `compatible_bundles_only: false`",
            )


#: a renewal loop of up to this many terms is named in full at each of its zero-period terms (BR410);
#: a longer one at the first of them only, and at each other by its own link (as BR303's cycles)
LOOP_LISTED = 10


def check_terms(catalog: Catalog) -> Iterator[Diagnostic]:
    """BR410, BR411, BR415: every commitment must spend time (renewal loops rely on it);
    penalties and penalty exceptions need their settings; one currency per term; BR206 a tax
    written empty."""
    terms = catalog.get("term", {})
    loops: _RenewalLoops | None = None
    for model, doc in _each(catalog, "term"):
        if model.period == 0:
            if loops is None:
                loops = _RenewalLoops(terms)
            yield loops.zero_period(model, doc)
        if model.early_cancellation is EarlyCancellation.PENALTY and model.penalty is None:
            yield doc.diagnostic(
                ("early_cancellation",),
                "BR411",
                "`early_cancellation: penalty` needs a `penalty:` section with at least `fee`",
                "add `penalty: {fee: 100.00 EUR}` or choose `allowed` / `not_allowed`",
            )
        tax = model.penalty.tax if model.penalty is not None else None
        if tax is not None and tax.rate is None and tax.code is None:  # (`tax: {}`, accepted until 2026-12-03)
            yield doc.diagnostic(
                ("penalty", "tax"),
                "BR206",
                "`penalty.tax` is an empty section: it names neither a rate nor a code, so no tax would be charged",
                "give the tax's `rate` (or its `code`, for the tax provider), or remove the key",
            )
        if model.early_cancellation is not EarlyCancellation.PENALTY and model.penalty is not None:
            yield from _penalty_section_unused(model, doc)
        yield from _term_exceptions(model, doc)


def _penalty_section_unused(model: Any, doc: Document) -> Iterator[Diagnostic]:
    """BR411 on an `allowed` / `not_allowed` term's `penalty:` section. The section gives the
    penalties its exceptions impose their grace period, tax, tax provider, ledger account and
    invoice line type, and its fee to those that name none (until 2026-12-03 the section was an
    error on such a term, so an exception's penalty was never taxed nor booked). It has no effect
    only when no exception imposes a penalty (an error); a fee every such exception overrides is
    charged by none of them (a warning)."""
    rule = model.early_cancellation.value
    penalties = [e for e in model.exceptions if e.outcome is ExceptionOutcome.PENALTY]
    if not penalties:
        yield doc.diagnostic(
            ("penalty",),
            "BR411",
            f"a `penalty:` section has no effect with `early_cancellation: {rule}` when no exception has "
            "`outcome: penalty`",
            "remove the section, set `early_cancellation: penalty`, or add an exception with `outcome: penalty`",
        )
    elif all(e.fee is not None for e in penalties):
        fees = ", ".join(dict.fromkeys(str(e.fee) for e in penalties))
        yield dataclasses.replace(
            doc.diagnostic(
                ("penalty", "fee"),
                "BR411",
                f"`penalty.fee` ({model.penalty.fee}) is charged by nothing: with `early_cancellation: {rule}` "
                f"only the term's exceptions impose a penalty, and each names its own fee ({fees})",
                "write one exception's fee as the section's and leave it out of that exception (an "
                "exception's penalty without a `fee` charges the section's)",
            ),
            severity=Severity.WARNING,
        )


def _term_exceptions(model: Any, doc: Document) -> Iterator[Diagnostic]:
    term_fee = model.penalty.fee if model.penalty is not None else None
    for i, exception in enumerate(model.exceptions):
        where = ("exceptions", i)
        if exception.outcome is ExceptionOutcome.PENALTY:
            if exception.fee is None and term_fee is None:
                yield doc.diagnostic(
                    (*where, "outcome"),
                    "BR411",
                    f"exception {i + 1} of term `{model.code}` charges a penalty, but neither it nor the term "
                    "names a fee",
                    "add `fee: 50.00 EUR` to the exception",
                )
            elif exception.fee is not None and term_fee is not None and exception.fee.currency != term_fee.currency:
                yield doc.diagnostic(
                    (*where, "fee"),
                    "BR415",
                    f"exception fee {exception.fee} is in another currency than the term's fee {term_fee}",
                    f"write the exception's fee in {term_fee.currency}",
                )
        else:
            for name in ("fee", "pro_rata"):
                if getattr(exception, name) is not None:
                    yield doc.diagnostic(
                        (*where, name),
                        "BR411",
                        f"`{name}` has no effect with `outcome: {exception.outcome.value}`",
                        f"remove `{name}` or set `outcome: penalty`",
                    )


class _RenewalLoops:
    """The renewal loops of the terms, each found once (in time linear in the terms: until
    2026-12-04 each zero-period term walked its chain, and a loop of 10,000 such terms took 100
    million steps), and BR410 at a term of zero period.

    A loop of up to `LOOP_LISTED` terms is named in full at each of its zero-period terms; a longer
    one in full at the first of them (the smallest code), and at each other by that term's own
    link, the loop's length and where it is named in full (until 2026-12-04 each named all N
    links: a loop of 1,000 zero-period terms wrote 14 MB)."""

    def __init__(self, terms: dict[str, Entry]) -> None:
        self.terms = terms
        self.place: dict[str, tuple[list[str], int]] = {}  # a term of a loop: the loop, its place in it
        done: set[str] = set()
        for start in terms:
            path: list[str] = []
            on_path: dict[str, int] = {}
            current: str | None = start
            while current is not None and current in terms and current not in done and current not in on_path:
                on_path[current] = len(path)
                path.append(current)
                current = terms[current].model.renewal_term
            if current is not None and current in on_path:  # a loop, met for the first time
                loop = path[on_path[current] :]
                for offset, member in enumerate(loop):
                    self.place[member] = (loop, offset)
            done.update(path)
        self._named: dict[str, str] = {}  # each long loop (by its first term), with its first zero-period term

    def zero_period(self, model: Any, doc: Document) -> Diagnostic:
        """BR410 at the `period` of `model`, a term of zero period."""
        code = model.code
        hint = "give the commitment a length greater than zero; "
        if code not in self.place:
            if model.renewal_term is not None:  # (until 2026-12-03 the loop's words, here and below)
                why = (
                    f"one of zero length ends the day it starts and passes straight into `{model.renewal_term}` "
                    f"(to commit to `{model.renewal_term}` alone, make it the plan's or bundle's `term`)"
                )
            else:
                why = (
                    "one of zero length ends the day it starts and binds the customer to nothing "
                    "(for no commitment, leave `term` out of the plan or bundle)"
                )
            return doc.diagnostic(("period",), "BR410", f"term `{code}` has a zero commitment period", hint + why)
        hint += "a renewal would otherwise never end"
        loop, offset = self.place[code]
        first = self._first(loop)
        if len(loop) <= LOOP_LISTED or code == first:
            names = [*loop[offset:], *loop[:offset], code]
            return doc.diagnostic(
                ("period",),
                "BR410",
                f"term `{code}` has a zero commitment period and it renews in a loop ({' → '.join(names)})",
                hint,
            )
        named = self.terms[first].document
        where = named.locate(("period",))
        following = loop[(offset + 1) % len(loop)]
        return doc.diagnostic(
            ("period",),
            "BR410",
            f"term `{code}` has a zero commitment period and it renews in a loop: `{code}` → `{following}` is one "
            f"of the {len(loop):,} links of the loop through `{first}` (named in full at "
            f"{named.file}:{where.line}:{where.column})",
            hint,
        )

    def _first(self, loop: list[str]) -> str:
        """The smallest code among the zero-period terms of `loop` (a long one: else its first term)."""
        if len(loop) <= LOOP_LISTED:
            return loop[0]
        first = self._named.get(loop[0])
        if first is None:
            first = self._named[loop[0]] = min(c for c in loop if self.terms[c].model.period == 0)
        return first


def check_coupons(catalog: Catalog) -> Iterator[Diagnostic]:
    """BR409: the template's `#` positions must hold every generated code (engine.coupons)."""
    from engine.coupons import template_problem

    for model, doc in _each(catalog, "coupon"):
        problem = template_problem(model)
        if problem is not None:
            yield doc.diagnostic((problem.field,), "BR409", problem.message, problem.hint)


def check_coupon_bundles(catalog: Catalog) -> Iterator[Diagnostic]:
    """BR433 (a warning): a coupon grants a bundle "with its discounts" (SPEC 3.5; seed 003: coupons
    offer bundles that give the customer a discount); one whose bundle lists no discount only sells
    the bundle's products at full price, and spends a use of its code doing so (until 2026-12-03
    accepted in silence). A bundle that is not defined is BR302's."""
    bundles = catalog.get("bundle", {})
    for model, doc in _each(catalog, "coupon"):
        bundle = bundles.get(model.bundle)
        if bundle is not None and not bundle.model.discounts:
            yield dataclasses.replace(
                doc.diagnostic(
                    ("bundle",),
                    "BR433",
                    f"coupon `{model.code}` grants bundle `{model.bundle}`, which has no discounts: a redeemed "
                    "code sells the bundle's products at full price",
                    f"list the discounts the coupon gives under `discounts:` of bundle `{model.bundle}`, "
                    "or grant a bundle that has them",
                ),
                severity=Severity.WARNING,
            )


def check_coupon_overlaps(catalog: Catalog) -> Iterator[Diagnostic]:
    """BR440: two coupons that can generate the same code; the code would decode to either.

    Decided exactly without enumerating codes (`engine.coupons.overlap`); only coupons whose
    templates have the same length are compared, and of those only templates that can spell one
    code, and of one template and charset only ranges that meet (`engine.coupons.overlapping`:
    until 2026-12-04 every pair, 10,000 coupons in 83 s). Reported at both coupons, each naming
    the other and where it is, each coupon after the ones before it.
    """
    from engine.coupons import CodeSpace, overlapping

    spaces = [(CodeSpace.of(model), model, doc) for model, doc in _each(catalog, "coupon")]
    by_length: dict[int, list[tuple[Any, Any, Document]]] = {}
    for space, model, doc in spaces:
        if space is not None:
            by_length.setdefault(len(space.template), []).append((space, model, doc))
    for group in by_length.values():
        for i, j, shared in overlapping([space for space, _, _ in group]):
            (_, model, doc), (_, other_model, other_doc) = group[i], group[j]
            hint = "change the fixed text of one template, or move one range start so the ranges do not meet"
            for here, there, there_model in ((doc, other_doc, other_model), (other_doc, doc, model)):
                where = there.locate(("template",))  # at both places (each a CI annotation of its own)
                yield here.diagnostic(
                    ("template",),
                    "BR440",
                    f"coupons `{other_model.code}` and `{model.code}` can both generate the code `{shared}` "
                    f"(`{there_model.code}` is at {there.file}:{where.line}:{where.column})",
                    hint,
                )


def check_discounts(catalog: Catalog) -> Iterator[Diagnostic]:
    products = _product_types(catalog)  # (once, not once per discount)
    for model, doc in _each(catalog, "discount"):
        yield from _amount(model, doc)
        yield from _sections(model, doc)
        yield from _product_lists(model, doc, catalog, products)
        yield from _ad_hoc_only(model, doc, catalog)
        yield from _duration(model, doc)


def _amount(model: Discount, doc: Document) -> Iterator[Diagnostic]:
    """BR404 value vs range, BR405 values of the wrong sort, BR406 level/unit, BR415 currencies."""
    amount = model.amount
    path = ("amount",)
    ad_hoc = model.type is DiscountType.AD_HOC
    if ad_hoc and amount.range is None:  # (SPEC 3.2: "for ad hoc a `range: [min, max]` instead of a value")
        yield doc.diagnostic(
            path,
            "BR404",
            "an ad hoc discount needs `amount.range: [min, max]` for the agent to choose from",
            "replace `value:` by `range: [min, max]` (`[50, 50]` for one value: a request then need not name it)",
            key=True,
        )
    if not ad_hoc and amount.value is None:
        yield doc.diagnostic(
            path,
            "BR404",
            "an auto apply discount needs `amount.value`",
            "add `value:` (a `range:` is for ad hoc discounts only)",
            key=True,
        )
    if amount.value is not None and amount.range is not None:
        yield doc.diagnostic(
            (*path, "range"),
            "BR404",
            "give either `value` or `range`, not both",
            "ad hoc discounts use `range`, auto apply discounts use `value`",
            key=True,
        )
    values: list[tuple[tuple[Any, ...], Any]] = []
    if amount.value is not None:
        values.append(((*path, "value"), amount.value))
    for i, item in enumerate(amount.range or []):
        values.append(((*path, "range", i), item))
    parsed = [(p, _amount_value(amount.type, v, minimum=p[-2:] == ("range", 0))) for p, v in values]
    for p, (_value, problem) in parsed:
        if problem:
            yield doc.diagnostic(p, "BR405", problem[0], problem[1])
    good = [v for _, (v, problem) in parsed if not problem]
    if amount.range is not None and len(good) == 2 and len(parsed) >= 2:
        low, high = good[-2], good[-1]
        if isinstance(low, Money) and isinstance(high, Money) and low.currency != high.currency:
            yield doc.diagnostic(
                (*path, "range"),
                "BR415",
                f"range mixes currencies ({low.currency} and {high.currency})",
                "use one currency for both ends",
            )
        elif _key(low) > _key(high):
            yield doc.diagnostic(
                (*path, "range"),
                "BR405",
                f"range minimum {low} is above its maximum {high}",
                "write the range as [min, max]",
            )
    if model.cap is not None:
        for value in good:
            if isinstance(value, Money) and value.currency != model.cap.currency:
                yield doc.diagnostic(
                    ("cap",),
                    "BR415",
                    f"cap is in {model.cap.currency} but the amount is in {value.currency}",
                    "use the same currency for the cap and the amount",
                )
                break
    if amount.level is not None and amount.type is not AmountType.PERCENTAGE:
        yield doc.diagnostic(
            (*path, "level"),
            "BR406",
            f"`level` applies to percentage discounts only, not `{amount.type.value}`",
            "remove `level`",
            key=True,
        )
    if amount.type is AmountType.FREE_PERIOD and model.classification.value == "job":
        yield doc.diagnostic(
            (*path, "type"),
            "BR405",
            "a free period on a job: a job is billed once, with no periods to free",
            "take the whole fee off with a percentage of 100, or classify the discount `subscription`",
        )
    if amount.type is AmountType.FREE_PERIOD and amount.unit is None:
        yield doc.diagnostic(
            path, "BR406", "a free period needs a `unit` (days, weeks, months or years)", "add `unit: months`", key=True
        )
    if amount.unit is not None and amount.type is not AmountType.FREE_PERIOD:
        yield doc.diagnostic(
            (*path, "unit"),
            "BR406",
            f"`unit` applies to free periods only, not `{amount.type.value}`",
            "remove `unit`",
            key=True,
        )


def _key(value: Any) -> Decimal:
    return value.amount if isinstance(value, Money) else Decimal(value)


def _amount_value(kind: AmountType, value: Any, minimum: bool = False) -> tuple[Any, tuple[str, str] | None]:
    """The value parsed, or why it is wrong. An ad hoc range's `minimum` may be zero ("from 0 to
    20 EUR": the agent may also grant nothing); every other value must be greater than zero."""
    floor = "at least zero" if minimum else "greater than zero"
    if kind is AmountType.AMOUNT:
        try:
            money = Money.parse(str(value))
        except ValueError as exc:
            if "is not money" in str(exc):
                return None, (f"`{value}` is not money; an `amount` discount takes money", "write e.g. `20.00 EUR`")
            if "ISO 4217" in str(exc):
                return None, (str(exc), "write an ISO 4217 currency code, e.g. `EUR`")
            return None, (str(exc), "amounts have at most 15 digits before the decimal point and 9 after it")
        if money.amount < 0 or (money.amount == 0 and not minimum):
            return None, (f"discount amount `{value}` must be {floor}", "write a positive amount")
        return money, None
    try:  # text is ASCII digits, as in scenarios (until 2026-12-02 `"2_0"` gave 20 free months, `"٢"` 2)
        number = parse_number_text(value) if isinstance(value, str) else parse_number(str(value))
    except ValueError as exc:
        hint = (
            "write the number of units (`value: 2`) and the unit apart (`unit: months`)"
            if kind is AmountType.FREE_PERIOD
            else "write e.g. `15`"
        )
        return None, (f"{exc}; a `{kind.value}` discount takes a number", hint)
    if kind is AmountType.PERCENTAGE and not ((number >= 0 if minimum else number > 0) and number <= 100):
        lowest = "at least 0" if minimum else "greater than 0"
        return None, (f"percentage `{value}` must be {lowest} and at most 100", "write e.g. `15` for 15 %")
    if kind is AmountType.FREE_PERIOD and (
        number < 0 or (number == 0 and not minimum) or number != number.to_integral_value()
    ):
        return None, (
            f"free period `{value}` must be a whole number {floor}",
            "write e.g. `2` with `unit: months`",
        )
    return number, None


def _sections(model: Discount, doc: Document) -> Iterator[Diagnostic]:
    """BR403 sections vs applied service type; BR435 a due date given both ways; BR401 a segment
    both included and excluded."""
    criteria = model.criteria
    if criteria is None:
        return
    service = model.applied_service_type
    forbidden = (
        USAGE_SECTIONS
        if service is AppliedServiceType.NON_USAGE
        else NON_USAGE_SECTIONS
        if service is AppliedServiceType.USAGE
        else ()
    )
    for section in forbidden:
        if section in doc.data.get("criteria", {}):
            kind = "usage" if section in USAGE_SECTIONS else "non-usage"
            yield doc.diagnostic(
                ("criteria", section),
                "BR403",
                f"`{section}` is a {kind} criteria section, not allowed with `applied_service_type: {service.value}`",
                "remove the section or set `applied_service_type: both`",
                key=True,
            )
    receivable = criteria.accounts_receivable
    if receivable and receivable.due and None not in (receivable.due.due_in_days, receivable.due.due_days_ago):
        due = receivable.due
        yield doc.diagnostic(
            ("criteria", "accounts_receivable", "due"),
            "BR435",
            "give one of `due_in_days` and `due_days_ago` (seed 002: the due date is given in one of the two ways)",
            "keep one; for either of the two write `when: account.due_in_days between 0 and "
            f"{due.due_in_days} or account.due_days_ago >= {due.due_days_ago}`",
            key=True,
        )
    if criteria.segments:
        both = sorted(set(criteria.segments.include) & set(criteria.segments.exclude))
        for segment in both:
            index = criteria.segments.exclude.index(segment)
            yield doc.diagnostic(
                ("criteria", "segments", "exclude", index),
                "BR401",
                f"segment `{segment}` is both included and excluded",
                "keep it in one of the two lists",
            )


def _product_types(catalog: Catalog) -> dict[str, ProductType]:
    """Each product's type, by its code."""
    return {code: entry.model.type for code, entry in catalog.get("product", {}).items()}


def _product_lists(
    model: Discount, doc: Document, catalog: Catalog, products: dict[str, ProductType] | None = None
) -> Iterator[Diagnostic]:
    """BR419 one of product/product_type; BR402 only termed/usage/expense (only termed among
    `termed_services`); BR417 flexible bundles that hold the product, or one of the type.
    `products`: `_product_types(catalog)`, if the caller has it."""
    if products is None:
        products = _product_types(catalog)
    lists = [("discounted_products", model.discounted_products)]
    if model.criteria:
        lists.append(("criteria", model.criteria.products))  # type: ignore[arg-type]
    for name, items in lists:
        base: tuple[str, ...] = (name,) if name == "discounted_products" else ("criteria", "products")
        for i, item in enumerate(items):
            path: JsonPath = (*base, i)
            main_only = getattr(item, "main_service", False) and item.product is None and item.product_type is None
            if (item.product is None) == (item.product_type is None) and not main_only:
                yield doc.diagnostic(
                    path,
                    "BR419",
                    "give exactly one of `product` and `product_type`"
                    + (" (or `main_service: true` alone)" if name == "discounted_products" else ""),
                    "write `product: CODE` or `product_type: termed`",
                )
                continue
            product_type = item.product_type
            product_entry = catalog.get("product", {}).get(item.product or "")
            if item.product and product_entry:
                product_type = product_entry.model.type
            field = "product" if item.product else "product_type"
            if product_type is not None and product_type not in DISCOUNTABLE:
                yield doc.diagnostic(
                    (*path, field),
                    "BR402",
                    f"{'product `' + item.product + '` is of type' if item.product else 'product type'} `{product_type.value}`; only termed, usage and expense products may be listed",
                    "list a termed, usage or expense product",
                )
            elif (
                name == "discounted_products"
                and product_type is not None
                and not model.applied_service_type.serves(product_type.value)
            ):
                service = model.applied_service_type.value
                yield doc.diagnostic(
                    (*path, field),
                    "BR403",
                    f"a `{service}` discount reduces {'usage' if service == 'usage' else 'non-usage'} services only; "
                    f"{'product `' + item.product + '` is of type' if item.product else 'product type'} `{product_type.value}`",
                    "set `applied_service_type: both`, or list a product it may reduce",
                )
            bundle_entry = catalog.get("bundle", {}).get(item.bundle or "")
            if item.bundle and bundle_entry:
                bundle: Bundle = bundle_entry.model
                if not bundle.flexible:
                    yield doc.diagnostic(
                        (*path, "bundle"),
                        "BR417",
                        f"bundle `{bundle.code}` is not flexible; only flexible bundles may restrict a product",
                        "name a flexible bundle or remove `bundle`",
                    )
                elif item.product and item.product not in {p.product for p in bundle.products}:
                    yield doc.diagnostic(
                        (*path, "bundle"),
                        "BR417",
                        f"product `{item.product}` is not a component of bundle `{bundle.code}`",
                        "add the product to the bundle or name the bundle that contains it",
                    )
                elif item.product is None and item.product_type is not None:
                    # a type within a bundle: one of its components must be of that type (until
                    # 2026-12-03 accepted, and the entry never met a line)
                    types = [products.get(p.product) for p in bundle.products]
                    if all(t is not None for t in types) and item.product_type not in types:
                        yield doc.diagnostic(
                            (*path, "bundle"),
                            "BR417",
                            f"bundle `{bundle.code}` has no component of type `{item.product_type.value}`",
                            "add a product of that type to the bundle or name the bundle that contains one",
                        )
    termed = model.criteria.usage_service.termed_services if model.criteria and model.criteria.usage_service else []
    for i, code in enumerate(termed):
        # the termed services a usage relates to (seed 002): a product of another type is never one
        # (until 2026-12-03 accepted)
        product_type = products.get(code)
        if product_type is not None and product_type is not ProductType.TERMED:
            yield doc.diagnostic(
                ("criteria", "usage_service", "termed_services", i),
                "BR402",
                f"product `{code}` is of type `{product_type.value}`; only termed products may be listed as termed services",
                "list a termed product",
            )


def _ad_hoc_only(model: Discount, doc: Document, catalog: Catalog) -> Iterator[Diagnostic]:
    """BR416 agent-only settings on auto apply; BR408 ad hoc schemes need flexible pricing (those of
    the `billing_term` section; a `when:` is checked on its typed condition)."""
    if model.type is DiscountType.AUTO_APPLY:
        if model.allowed_units:
            yield doc.diagnostic(
                ("allowed_units",),
                "BR416",
                "`allowed_units` applies to ad hoc discounts only",
                "remove it or set `type: ad_hoc`",
                key=True,
            )
        if model.approval is not None and model.approval.required:
            yield doc.diagnostic(
                ("approval",),
                "BR416",
                "`approval` applies to ad hoc discounts only; auto apply discounts are applied by billing",
                "remove it or set `type: ad_hoc`",
                key=True,
            )
        return
    if model.criteria and model.criteria.billing_term:
        for i, code in enumerate(model.criteria.billing_term.schemes):
            entry = catalog.get("billing_term_scheme", {}).get(code)
            if entry and not entry.model.flexible_pricing:
                yield doc.diagnostic(
                    ("criteria", "billing_term", "schemes", i),
                    "BR408",
                    f"billing term scheme `{code}` does not offer flexible pricing; an ad hoc discount may only name schemes that do",
                    f"set `flexible_pricing: true` on `{code}` or remove it from the list",
                )
    # (a scheme a `when:` names: `pipeline._inflexible_schemes`, on the typed condition)
    if model.approval and model.approval.required and not (model.approval.users or model.approval.units):
        yield doc.diagnostic(
            ("approval",),
            "BR416",
            "approval is required but no approver is named",
            "list approving `users` or `units`",
            key=True,
        )


def _duration(model: Discount, doc: Document) -> Iterator[Diagnostic]:
    """BR418: exactly one way of ending; flexible dates only on ad hoc discounts."""
    duration = model.duration
    if duration is None:
        return
    chosen = [
        n
        for n, v in (
            ("billing_periods", duration.billing_periods),
            ("until", duration.until),
            ("indefinite", duration.indefinite or None),
        )
        if v is not None
    ]
    if len(chosen) != 1:
        yield doc.diagnostic(
            ("duration",),
            "BR418",
            f"duration needs exactly one of `billing_periods`, `until`, `indefinite` (found {', '.join(chosen) or 'none'})",
            "keep one of them",
            key=True,
        )
    if model.type is DiscountType.AUTO_APPLY and (duration.flexible_start or duration.flexible_end):
        yield doc.diagnostic(
            ("duration",),
            "BR418",
            "flexible start/end dates are chosen by agents: ad hoc discounts only",
            "remove `flexible_start` / `flexible_end`",
            key=True,
        )
    # seed 002: the restrictions apply "if the Flexible Effective Date or Flexible Expiration Date
    # options are enabled"; without their option they restrict nothing
    for restriction, option in (("latest_start", "flexible_start"), ("max_length", "flexible_end")):
        if getattr(duration, restriction) is not None and not getattr(duration, option):
            yield doc.diagnostic(
                ("duration", restriction),
                "BR418",
                f"`{restriction}` restricts the date an agent chooses, but `{option}` is off: it restricts nothing",
                f"remove `{restriction}`"
                + ("" if model.type is DiscountType.AUTO_APPLY else f", or set `{option}: true`"),
                key=True,
            )


def check_credits(catalog: Catalog) -> Iterator[Diagnostic]:
    """BR420: credits of a type shared on issue belong to all organisations; non-expiring types have no end."""
    for model, doc in _each(catalog, "credit"):
        entry = catalog.get("credit_type", {}).get(model.type)
        if entry is None:
            continue
        for field, message, hint in credit_type_conflicts(model, entry.model):
            yield doc.diagnostic(tuple(field.split(".")), "BR420", message, hint)


def credit_type_conflicts(credit: Any, credit_type: CreditType) -> Iterator[tuple[str, str, str]]:
    """BR420 findings of one credit against its type, as (field, message, hint).

    Shared by rule-file credits (above) and the credits a scenario carries (`engine/decide/credits`)."""
    if credit_type.measure == CreditMeasure.OFFERS and credit.quantity != credit.quantity.to_integral_value():
        yield (
            "quantity",
            f"credits of type `{credit_type.code}` count offers: {credit.quantity} is not a whole number",
            "write a whole number of offers (or give the type `measure: amount`)",
        )
    written = "allocation" in credit.model_fields_set  # none written: the type's (seed 000: "need no allocation")
    if credit_type.shared_on_issue and written and credit.allocation != Allocation.ALL_ORGANISATIONS:
        yield (
            "allocation",
            f"credits of type `{credit_type.code}` are shared with all organisations on issue",
            "remove `allocation:` (or set it to `all_organisations`)",
        )
    if not credit_type.expires and credit.usage_period and credit.usage_period.to:
        yield (
            "usage_period.to",
            f"credits of type `{credit_type.code}` never expire; remove the end of the usage period",
            "remove `to:`",
        )


def issued_after_period(issued: date, to: date) -> tuple[str, str]:
    """BR413's message and hint for a credit issued after its usage period ends (never drawable)."""
    return (
        f"the credit is issued on {issued}, after its usage period ends ({to}): it could never be drawn",
        "fix the issue date or the usage period",
    )


def credit_holder_conflict(credit: Any, users: Mapping[str, Any]) -> tuple[str, str] | None:
    """BR412 for a credit held by a credit user, as (message, hint): seed 001, "everything you
    purchase will be assigned to your Credit Owner"; such a user draws on the owner's credits
    only, so a credit of their own would never be used. `users`: code → User model."""
    holder = users.get(credit.holder)
    if holder is None or holder.credit_owner in (None, holder.code):
        return None
    owner = holder.credit_owner
    hint = f"set `holder: {owner}`"
    if any(u.credit_owner == holder.code for u in users.values() if u.code != holder.code):
        # an owner of credit users who was given an owner of their own: that link is the likelier
        # slip (BR412 there), and removing it keeps this credit where it is
        hint += f", or remove `{holder.code}`'s `credit_owner:` (a credit owner holds credits)"
    return (
        f"user `{holder.code}` is a credit user of `{owner}` and holds no credits: theirs are `{owner}`'s",
        hint,
    )


def check_credit_services_units(catalog: Catalog) -> Iterator[Diagnostic]:
    """BR425: the credit types paying for one service count in one unit, since a consumption of
    the service draws on all of them as one list (2 offers and 148 e-mails are not 150 of anything)."""
    first: dict[str, CreditType] = {}
    for model, doc in _each(catalog, "credit_type"):
        if model.service is None:
            continue
        seen = first.setdefault(model.service, model)
        if credit_unit(seen) != credit_unit(model):
            yield doc.diagnostic(
                ("unit",) if "unit" in model.model_fields_set else ("service",),
                "BR425",
                f"credit type `{model.code}` counts `{credit_unit(model)}`, but `{seen.code}` pays for the same "
                f"service `{model.service}` in `{credit_unit(seen)}`",
                "give the types of one service one unit, or let them pay for different services",
            )


def credit_unit(credit_type: CreditType) -> str:
    """The unit a credit type's quantities count: its `unit`, or its measure's name."""
    return str(credit_type.unit or credit_type.measure.value)


def check_credit_owners(catalog: Catalog) -> Iterator[Diagnostic]:
    """BR412: an owner must own their own credits, so owners cannot have owners (cycles: BR303);
    nor can a credit user hold a credit."""
    users = catalog.get("user", {})
    models = {code: entry.model for code, entry in users.items()}
    organisations = catalog.get("organisation", {})
    for model, doc in _each(catalog, "credit"):
        if model.holder in organisations:  # an organisation's code too: BR304 says which is unclear
            continue
        found = credit_holder_conflict(model, models)
        if found is not None:
            yield doc.diagnostic(("holder",), "BR412", *found)
    credit_users: dict[str, list[str]] = {}
    for code, entry in sorted(users.items()):
        if entry.model.credit_owner not in (None, code):
            credit_users.setdefault(entry.model.credit_owner, []).append(code)
    chains = _OwnerChains(users)
    for model, doc in _each(catalog, "user"):
        owner_code = model.credit_owner
        if owner_code is None or owner_code == model.code or owner_code not in users:
            continue
        if chains.loops(model.code):  # a cycle: BR303 at each of its links, no advice that keeps it
            continue
        owner: User = users[owner_code].model
        end = chains.end(model.code)  # the one owner who owns their own credits
        links = chains.links(model.code)
        if model.code in credit_users:  # the link a change usually adds: at its own line too (until 2026-12-02 not)
            names = ", ".join(f"`{u}`" for u in credit_users[model.code])
            yield doc.diagnostic(
                ("credit_owner",),
                "BR412",
                f"`{model.code}` is the credit owner of {names}, so owns their credits: an owner cannot "
                f"use the credits of `{owner_code}` as well",
                f"remove `credit_owner:` here, or name `{end}` as the owner of {names}",
                detail=links,
            )
        elif owner.credit_owner not in (None, owner.code):
            yield doc.diagnostic(
                ("credit_owner",),
                "BR412",
                f"credit owner `{owner_code}` uses the credits of `{owner.credit_owner}`; an owner must own their own credits",
                # (until 2026-12-02 only the second fix, which re-points every credit user of the
                # owner when the owner's own link is the slip)
                f"remove `{owner_code}`'s `credit_owner:`, or set this one to `{end}` directly",
                detail=links,
            )


class _OwnerChains:
    """The chains of credit owners of a rule set's users, each followed once (until 2026-12-04 each
    user's was followed to its end, three times, from every user of it: a chain or cycle of 10,000
    users took minutes), and each BR412's notes: the links from its user to the chain's end, up to
    `SHOWN`; of a longer chain the first `SHOWN - 1`, how many are left out and the last (until
    2026-12-04 every link, at every user of the chain: 1,000 users in one chain wrote 42 MB)."""

    SHOWN = 10

    def __init__(self, users: dict[str, Entry]) -> None:
        self.users = users
        #: per user: whether the chain comes back to a user it passed (`loops`), or the number of
        #: links to its end, the chain's end and the user whose link is the last
        self.known: dict[str, tuple[bool, int, str, str]] = {}
        for start in users:
            self._follow(start)

    def _owner(self, code: str) -> str | None:
        owner = self.users[code].model.credit_owner
        return None if owner == code else owner

    def _follow(self, start: str) -> None:
        path: list[str] = []
        on_path: set[str] = set()
        code: str | None = start
        result: tuple[bool, int, str, str] | None = None
        while code is not None and code in self.users and code not in self.known:
            if code in on_path:  # a cycle: it and every user leading into it loop
                result = (True, 0, code, code)
                break
            on_path.add(code)
            path.append(code)
            code = self._owner(code)
        else:
            if code is not None and code in self.known:
                result = self.known[code]
        for member in reversed(path):
            owner = self._owner(member)
            if result is not None and result[0]:
                self.known[member] = result
            elif owner is None:  # owns their own credits: the end of the chain, no link
                result = self.known[member] = (False, 0, member, member)
            elif owner not in self.users:  # an unknown owner (BR302): one link, ending there
                result = self.known[member] = (False, 1, owner, member)
            else:
                assert result is not None  # (the owner's, found just before)
                count, end, last = result[1], result[2], result[3]
                result = self.known[member] = (False, count + 1, end, last if count else member)

    def loops(self, code: str) -> bool:
        """Does the chain of credit owners from `code` come back to a user it passed?"""
        return self.known[code][0]

    def end(self, code: str) -> str:
        """The last user of a (loop-free) chain of credit owners: the one who names no other owner."""
        return self.known[code][2]

    def links(self, code: str) -> tuple[str, ...]:
        """The notes of the links of a loop-free chain from `code`, each with its location."""
        _, count, _, last = self.known[code]
        shown: list[str] = []
        current = code
        while len(shown) < min(count, self.SHOWN - 1 if count > self.SHOWN else self.SHOWN):
            shown.append(self._link(current))
            current = self._owner(current) or current
        if count > self.SHOWN:
            left = count - len(shown) - 1
            shown.append(f"… {left:,} more link{'' if left == 1 else 's'} …")
            shown.append(self._link(last))
        return tuple(shown)

    def _link(self, code: str) -> str:
        entry = self.users[code]
        span = entry.document.locate(("credit_owner",))
        return f"link: `{code}` → `{self._owner(code)}` at {entry.document.file}:{span.line}:{span.column}"


def check_balance_policies(catalog: Catalog) -> Iterator[Diagnostic]:
    """BR430: enabled alerts need a threshold; BR431: a threshold that could never add an alert."""
    for model, doc in _each(catalog, "balance_policy"):
        alerts = model.alerts
        if not alerts.enabled:
            continue
        if alerts.threshold is None:
            yield doc.diagnostic(
                ("alerts", "enabled"),
                "BR430",
                "threshold alerts are enabled but no `threshold` says below which balance to alert",
                "add `threshold: 20` (credits) under `alerts:`, or set `enabled: false`",
            )
        elif alerts.threshold == 0:
            yield doc.diagnostic(
                ("alerts", "threshold"),
                "BR431",
                "a threshold of 0 repeats the below-zero alert, which is always raised",
                "set the threshold above zero (alert before the balance runs out), or disable threshold alerts",
            )
        elif alerts.threshold < 0 and not model.overdraft:
            yield doc.diagnostic(
                ("alerts", "threshold"),
                "BR431",
                f"the balance never falls below zero (`overdraft: false`), so a threshold of {alerts.threshold} never alerts",
                "set the threshold above zero, or allow overdraft",
            )


def check_credit_precedence(settings: Any, doc: Document) -> Iterator[Diagnostic]:
    """BR421: a declared credit order must be total: every key once, `id` last (ties impossible).

    Runs on the rule set's settings (not in the catalog), called by the semantics stage."""
    if settings is not None:
        order = [key.value for key in settings.credit_precedence]
        seen: set[str] = set()
        for i, key in enumerate(order):
            if key in seen:
                yield doc.diagnostic(
                    ("credit_precedence", i),
                    "BR421",
                    f"credit precedence names `{key}` twice",
                    "list each key once",
                )
            seen.add(key)
        if not order or order[-1] != "id":
            where: tuple[Any, ...] = ("credit_precedence", len(order) - 1) if order else ("credit_precedence",)
            yield doc.diagnostic(
                where,
                "BR421",
                "credit precedence does not end with `id`: two credits could tie, and the order would not be total",
                f"end the list with `id`: [{', '.join([*dict.fromkeys(k for k in order if k != 'id'), 'id'])}]",
            )


def check_criteria_ranges(catalog: Catalog) -> Iterator[Diagnostic]:
    """BR413 for a criteria range no scenario can meet (SPEC 6: every bad input yields a
    diagnostic; such a discount would never apply, in silence): a buy-in-advance range from
    more to less, concurrent usage more than N and less than N or fewer, a total's `min` above its
    `max`, execution dates or an effectiveness that end before they start; and in the criteria of
    credits and credit types, a quantity's `min` above its `max` and execution dates that end
    before they start."""
    for model, doc in _each(catalog, "discount"):
        criteria = model.criteria
        if criteria is None:
            continue
        base: JsonPath = ("criteria",)
        found: list[tuple[JsonPath, str]] = []
        for i, r in enumerate(criteria.buy_in_advance):
            if r.from_ > r.to:
                found.append(((*base, "buy_in_advance", i, "to"), f"buy-in-advance range from {r.from_} to {r.to}"))
        term = criteria.billing_term
        for name, threshold in (
            ("concurrent_usage", term.concurrent_usage if term else None),
            ("concurrent_usage_rate", term.concurrent_usage_rate if term else None),
        ):
            if threshold is None:
                continue
            low = threshold.more_than
            if name == "concurrent_usage_rate" and low is not None and low >= 100:  # (a rate is 0 to 100 %)
                found.append(((*base, "billing_term", name, "more_than"), f"`{name}` more than {low} %"))
                continue
            if threshold.less_than is None:
                continue
            if (low is not None and threshold.less_than <= low + (1 if name == "concurrent_usage" else 0)) or (
                threshold.less_than <= 0
            ):
                written = f"more than {low} and less than" if low is not None else "less than"
                found.append(((*base, "billing_term", name, "less_than"), f"`{name}` {written} {threshold.less_than}"))
        q = criteria.quantitative
        for name in ("total_quantity", "total_usage"):
            r = getattr(q, name) if q else None
            if r is not None and r.min is not None and r.max is not None and r.min > r.max:
                found.append(((*base, "quantitative", name, "max"), f"`{name}` from {r.min} to {r.max}"))
            elif name == "total_quantity" and r is not None and r.max is not None and _no_count(r.min, r.max):
                # a count of records is a whole number, never below 0 (until 2026-12-02 accepted)
                written = f"from {r.min} to {r.max}" if r.min is not None else f"at most {r.max}"
                found.append(((*base, "quantitative", name, "max"), f"`{name}` (a count of records) {written}"))
            elif name == "total_usage" and r is not None and r.max is not None and r.max < 0:
                # a usage quantity is 0 or more, so is their total (until 2026-12-04 accepted: an
                # auto-apply discount then never applied, and validation said nothing)
                written = f"from {r.min} to {r.max}" if r.min is not None else f"at most {r.max}"
                found.append(
                    ((*base, "quantitative", name, "max"), f"`{name}` (a total of usage, never below 0) {written}")
                )
        if q and q.execution_dates and _dates_never_met(q.execution_dates, doc, (*base, "quantitative")):
            found.append(
                ((*base, "quantitative", "execution_dates", "to"), "execution dates that end before they start")
            )
        for section, holder in (("billing_term", term), ("subscription", criteria.subscription)):
            e = getattr(holder, "effectiveness", None) if holder is not None else None
            if e and e.effective_from and e.effective_until and e.effective_until < e.effective_from:
                found.append(
                    (
                        (*base, section, "effectiveness", "effective_until"),
                        "an effectiveness that ends before it starts",
                    )
                )
            if e and _longer(e.effective_for_at_least, e.effective_for_at_most):
                found.append(
                    (
                        (*base, section, "effectiveness", "effective_for_at_most"),
                        f"effective for at least {e.effective_for_at_least} and at most {e.effective_for_at_most}",
                    )
                )
        for path, what in found:
            yield doc.diagnostic(
                path, "BR413", f"{what}: no scenario can meet it", "fix the bounds, or remove the entry"
            )
    yield from _credit_criteria_ranges(catalog)


def _credit_criteria_ranges(catalog: Catalog) -> Iterator[Diagnostic]:
    """BR413 for the criteria of a credit or a credit type that no consumption can meet: a
    `quantity` whose `min` is above its `max`, `execution_dates` that end before they start (as
    a discount's totals and dates; until 2026-12-03 accepted, and the credit never drawn), or
    whose `max` is 0 or below (a consumption's quantity is more than zero)."""
    base: JsonPath = ("criteria",)
    for kind in ("credit_type", "credit"):
        for model, doc in _each(catalog, kind):
            criteria = model.criteria
            if criteria is None:
                continue
            found: list[tuple[JsonPath, str]] = []
            q = criteria.quantity
            if q is not None and q.min is not None and q.max is not None and q.min > q.max:
                found.append(((*base, "quantity", "max"), f"`quantity` from {q.min} to {q.max}"))
            elif q is not None and q.max is not None and q.max <= 0:
                # a consumption's quantity is more than zero (until 2026-12-03 accepted: never drawn)
                found.append(((*base, "quantity", "max"), f"`quantity` at most {q.max} (a consumption is more than 0)"))
            if criteria.execution_dates and _dates_never_met(criteria.execution_dates, doc, base):
                found.append(((*base, "execution_dates", "to"), "execution dates that end before they start"))
            for path, what in found:
                yield doc.diagnostic(
                    path, "BR413", f"{what}: no consumption can meet it", "fix the bounds, or remove the entry"
                )


def _no_count(low: Decimal | None, high: Decimal) -> bool:
    """Does no whole number of 0 or more lie between `low` and `high` (both included)?"""
    return high < 0 or (low is not None and math.ceil(low) > math.floor(high))


def _longer(first: Any, second: Any) -> bool:
    """Is duration `first` longer than `second`, both in days (or weeks) or both in months (or
    years)? False when they cannot be compared (a month has no fixed number of days)."""
    if first is None or second is None:
        return False
    if first.days is not None and second.days is not None:
        return bool(first.days > second.days)
    months = {TimeUnit.MONTHS: 1, TimeUnit.YEARS: 12}
    if first.unit in months and second.unit in months:
        return bool(first.count * months[first.unit] > second.count * months[second.unit])
    return False


def check_never_met(catalog: Catalog) -> Iterator[Diagnostic]:
    """BR413 for dates that exclude each other: a discount's duration that ends (`until`) before
    the definition becomes effective, a coupon redeemable only while its bundle is not available;
    BR403 for a job discount with sections about a subscription (a job has none: they never hold)."""
    for model, doc in _each(catalog, "discount"):
        duration = model.duration
        if (
            duration is not None
            and duration.until is not None
            and duration.until < model.validity.effective
            and not duration.flexible_end  # (an agent's own end replaces it)
        ):
            yield doc.diagnostic(
                ("duration", "until"),
                "BR413",
                f"the duration ends on {duration.until}, before the definition is effective "
                f"({model.validity.effective}): no bill can have it",
                "fix the end date, or the definition's validity",
            )
        if model.classification.value == "job" and model.criteria is not None:
            for section in _SUBSCRIPTION_SECTIONS:
                if getattr(model.criteria, section, None):
                    yield doc.diagnostic(
                        ("criteria", section),
                        "BR403",
                        f"a job discount's `{section}` section reads a subscription, which a job has not: "
                        "it never holds",
                        "remove the section, or make the discount `classification: subscription`",
                        key=True,
                    )
    bundles = catalog.get("bundle", {})
    for model, doc in _each(catalog, "coupon"):
        bundle = bundles.get(model.bundle)
        if bundle is None:
            continue
        own, offered = model.validity, bundle.model.validity
        if (offered.to is not None and own.from_ > offered.to) or (own.to is not None and own.to < offered.from_):
            yield doc.diagnostic(
                ("validity",),
                "BR413",
                f"the coupon may be redeemed only while its bundle `{model.bundle}` is not available "
                f"({offered.from_} to {offered.to or 'open'}): every code would be rejected",
                "align the coupon's validity with its bundle's",
            )


#: criteria sections about a subscription (a job discount's never hold)
_SUBSCRIPTION_SECTIONS = ("billing_term", "subscription", "price_plans", "buy_in_advance")


def _dates_never_met(dates: Any, doc: Document, base: JsonPath) -> bool:
    """Does an `execution_dates` range end before it starts, for every record? Date-times are
    instants (zone-less as UTC); a bound written as a date covers its whole day, compared with a
    record's local date as written (`engine.criteria.sections._dates_text`), so against an instant
    it is met by records at offsets up to a day either way: `from: 2015-12-31T18:00:00+01:00, to:
    2015-12-31` is met by a record at 2015-12-31T20:00+01:00."""
    from engine.criteria.sections import _raw, _written_as_date

    if dates.to is None:
        return False
    raw = _raw(doc, (*base, "execution_dates"))
    written = raw if isinstance(raw, dict) else {}
    first_day, last_day = _written_as_date(written.get("from")), _written_as_date(written.get("to"))
    if first_day and last_day:
        return bool(dates.to.date() < dates.from_.date())
    if last_day:  # the latest instant of a local date: its next day's end at an offset of almost -24 hours
        return bool(as_utc(dates.from_) >= datetime.combine(dates.to.date(), time(), UTC) + timedelta(days=2))
    if first_day:  # the earliest: its day's start at an offset of almost +24 hours
        return bool(as_utc(dates.to) < datetime.combine(dates.from_.date(), time(), UTC) - timedelta(days=1))
    return bool(as_utc(dates.to) < as_utc(dates.from_))


def check_empty_entries(catalog: Catalog) -> Iterator[Diagnostic]:
    """BR206 for a criteria list or section written empty (`price_plans: []`, `segments: {}`), an
    ad hoc discount's `allowed_units: []` and a window of no time (`limit: {per: 0 days}`): a
    section holds when one of its entries does, so an empty one states no condition and the rule
    applied to every plan, segment or agent, in silence; a limit over no time was never reached
    (an `exclude` list excludes nothing: allowed empty); and a total with a window but no bounds
    (`total_quantity: {per: 1 month}`), which states no condition either."""
    for kind in ("discount", "credit", "credit_type"):
        for _model, doc in _each(catalog, kind):
            data = doc.data if isinstance(doc.data, dict) else {}
            if data.get("allowed_units") == []:
                yield doc.diagnostic(
                    ("allowed_units",),
                    "BR206",
                    "`allowed_units` is empty: it restricts no agent, so every agent could offer the discount",
                    "list the units whose agents may offer it, or remove the key (any agent may)",
                )
            for path, window in _windows(_model):
                if window.count == 0:
                    yield doc.diagnostic(
                        path,
                        "BR206",
                        f"a window of `{window}` counts nothing: "
                        + ("the limit would never be reached" if path[0] == "limit" else "no record is in it"),
                        "write a window of at least one day, e.g. `1 year` or `30 days`",
                    )
            duration = getattr(_model, "duration", None)
            longest = getattr(duration, "max_length", None)
            if longest is not None and longest.count == 0:  # (accepted until 2026-12-02)
                yield doc.diagnostic(
                    ("duration", "max_length"),
                    "BR206",
                    f"a maximum length of `{longest}` allows no end an agent could choose: every request "
                    "with an end would be rejected",
                    "write the longest duration allowed, e.g. `3 months`, or remove it",
                )
            for path, what in _empty_in(data.get("criteria"), ("criteria",)):
                yield doc.diagnostic(
                    path,
                    "BR206",
                    f"`{'.'.join(str(p) for p in path)}` is an empty {what}: it states no condition, so it would "
                    "restrict nothing",
                    "list at least one entry, or remove the key",
                )
            for path, per in _unbounded_totals(_model):  # (accepted until 2026-12-03, and dropped)
                yield doc.diagnostic(
                    path,
                    "BR206",
                    f"`{'.'.join(str(p) for p in path)}` has a window (`per: {per}`) but neither `min` nor `max`: "
                    "it states no condition, so it would restrict nothing",
                    f"write `min` or `max`, e.g. `{path[-1]}: {{min: 2, per: {per}}}`, or remove the key",
                )


def check_day_windows(catalog: Catalog) -> Iterator[Diagnostic]:
    """BR207 for a day window's time with a fraction of a second: the windows are compiled to the
    criteria language's times, which are whole seconds (`10:00:00.5` was cut to `10:00:00`, and a
    window let in usage half a second early); BR206 for a window whose `from` equals its `to`, a
    window of no time (until 2026-12-03 accepted: it held the records of that one second)."""
    for kind, base in (
        ("discount", ("criteria", "quantitative", "execution_days")),
        ("credit_type", ("criteria", "execution_days")),
        ("credit", ("criteria", "execution_days")),
    ):
        for model, doc in _each(catalog, kind):
            windows: Any = model
            for name in base:
                windows = getattr(windows, name, None)
            for i, window in enumerate(windows or ()):
                for field, value in (("from", window.from_), ("to", window.to)):
                    if value.microsecond:
                        yield doc.diagnostic(
                            (*base, i, field),
                            "BR207",
                            f"a day window's times are whole seconds, not {value.isoformat()}",
                            "leave out `to`: the window then runs to the end of its day"
                            if field == "to" and value >= time(23, 59, 59)
                            else f"write `{value.replace(microsecond=0).isoformat()}` or the next second",
                        )
                # both written (a bound left out is the day's start or end: `{from: "23:59:59"}`
                # is the day's last second, to its end)
                if window.from_ == window.to and {"from_", "to"} <= window.model_fields_set:
                    yield doc.diagnostic(
                        (*base, i, "to"),
                        "BR206",
                        f"the {window.day.value} window from `{window.from_.isoformat()}` to "
                        f"`{window.to.isoformat()}` is a window of no time: only a record at that very second is in it",
                        "write a later `to`, or leave `from` and `to` out for the whole day",
                    )


def check_credit_service_names(catalog: Catalog) -> Iterator[Diagnostic]:
    """BR302 for a service a credit's `scope` or criteria (or a credit type's criteria) names that
    no credit type pays for: a consumption of it is refused (BR605), so the credit could never be
    drawn for it (`services: [network-ofer]` was accepted)."""
    from engine.diagnostics import did_you_mean

    types = [m for m, _ in _each(catalog, "credit_type")]
    services = sorted({m.service for m in types if m.service})
    open_services = any(m.service is None for m in types)  # a type naming none may be asked for any service
    for kind in ("credit", "credit_type"):
        for model, doc in _each(catalog, kind):
            lists: list[tuple[JsonPath, list[str]]] = []
            scope = getattr(model, "scope", None)
            if scope is not None:
                lists.append((("scope", "services"), scope.services))
            if model.criteria is not None:
                lists.append((("criteria", "services"), model.criteria.services))
            paid = None
            if kind == "credit":
                own_type = catalog.get("credit_type", {}).get(model.type)
                paid = own_type.model.service if own_type is not None else None
            for base, named in lists:
                if paid is not None and named and paid not in named and all(s in services for s in named):
                    yield doc.diagnostic(
                        base,
                        "BR413",
                        f"the credit's type `{model.type}` pays for `{paid}`, which these services leave out: "
                        "no consumption can meet it",
                        f"list `{paid}`, or give the credit a type that pays for the service",
                    )
                for i, service in enumerate(named):
                    if service not in services and not open_services:
                        yield doc.diagnostic(
                            (*base, i),
                            "BR302",
                            f"unknown service `{service}`: no credit type pays for it",
                            did_you_mean(service, services) or "name a service a credit type pays for (`service:`)",
                        )


def _windows(model: Any) -> Iterator[tuple[JsonPath, Any]]:
    """A discount's windows: its limit's `per` and its totals' `per`, at their places."""
    limit = getattr(model, "limit", None)
    if limit is not None:
        yield ("limit", "per"), limit.per
    quantitative = getattr(getattr(model, "criteria", None), "quantitative", None)
    for name in ("total_quantity", "total_usage"):
        total = getattr(quantitative, name, None) if quantitative is not None else None
        if total is not None and total.per is not None:
            yield ("criteria", "quantitative", name, "per"), total.per


def _unbounded_totals(model: Any) -> Iterator[tuple[JsonPath, Any]]:
    """A discount's totals written with a window alone (`total_quantity: {per: 1 month}`): a total
    holds between its `min` and its `max`, so one with neither states no condition (written `{}`,
    it is an empty section)."""
    quantitative = getattr(getattr(model, "criteria", None), "quantitative", None)
    for name in ("total_quantity", "total_usage"):
        total = getattr(quantitative, name, None) if quantitative is not None else None
        if total is not None and total.per is not None and total.min is None and total.max is None:
            yield ("criteria", "quantitative", name), total.per


def _empty_in(value: Any, path: JsonPath) -> list[tuple[JsonPath, str]]:
    """The empty lists and mappings within a criteria mapping (but `exclude` lists), in the order
    of a walk of it (a mapping or list before what it holds)."""
    found: list[tuple[JsonPath, str]] = []
    _collect_empty(value, path, found)
    return found


def _collect_empty(value: Any, path: JsonPath, found: list[tuple[JsonPath, str]]) -> None:
    """`_empty_in`, into `found`: a call per mapping or list (none per scalar, which holds nothing)."""
    if isinstance(value, dict):
        if not value and len(path) > 1:
            found.append((path, "section"))
        for key, item in value.items():
            if isinstance(item, _CONTAINERS):
                _collect_empty(item, (*path, key), found)
    elif isinstance(value, list):
        if not value and path[-1] != "exclude":
            found.append((path, "list"))
        for i, item in enumerate(value):
            if isinstance(item, _CONTAINERS):
                _collect_empty(item, (*path, i), found)


_CONTAINERS = (dict, list)


#: The checks in the order they run, each with its reason (all run; order only sets output ties).
CHECKS: tuple[tuple[str, Check], ...] = (
    ("validity ranges end after they start", check_validity_ranges),
    ("criteria ranges can be met", check_criteria_ranges),
    ("dates and sections that exclude each other", check_never_met),
    ("termed products have a billing frequency", check_products),
    ("bundles bring a product or a discount", check_bundles),
    ("compatible-bundles-only plans list bundles", check_plans),
    ("terms spend time and carry their penalty settings", check_terms),
    ("coupon templates hold their code range", check_coupons),
    ("coupons grant a bundle with discounts", check_coupon_bundles),
    ("day windows are whole seconds", check_day_windows),
    ("no code belongs to two coupons", check_coupon_overlaps),
    ("discount definitions are coherent", check_discounts),
    ("criteria lists, sections and windows state a condition", check_empty_entries),
    ("credits respect their type", check_credits),
    ("credit owners own their credits", check_credit_owners),
    ("credit types of a service share a unit", check_credit_services_units),
    ("credits name services a credit type pays for", check_credit_service_names),
    ("balance policies alert at a useful threshold", check_balance_policies),
)


def run_checks(catalog: Catalog) -> Iterator[Diagnostic]:
    for _reason, check in CHECKS:
        yield from check(catalog)


def check_currencies(settings: Any, doc: Document) -> Iterator[Diagnostic]:
    """BR207: `default_currency` and the keys of `minor_units` are ISO 4217 codes. An override of
    an unknown code (`eur`, `EUX`) would silently change nothing."""
    from engine.currencies import MINOR_UNITS
    from engine.diagnostics import did_you_mean

    if settings is None:
        return
    written: list[tuple[JsonPath, str]] = [(("default_currency",), settings.default_currency)]
    written += [(("minor_units", code), code) for code in settings.minor_units]
    for path, code in written:
        if code not in MINOR_UNITS:
            # the money values' own suggestion (`EUX` is `EUR`, not the historic `XEU` spelling alone
            # suggested: until 2026-12-02 a settings file got `XEU`, which then validated)
            near = nearest_currency(code.upper(), list(MINOR_UNITS))
            hint = (f"did you mean `{code.upper()}`?" if code.upper() in MINOR_UNITS else None) or (
                f"did you mean `{near}`?" if near else did_you_mean(code, MINOR_UNITS)
            )
            yield doc.diagnostic(
                path,
                "BR207",
                f"`{code}` is not an ISO 4217 currency code",
                hint or "write an ISO 4217 currency code, e.g. `EUR`",
                key=path[0] == "minor_units",
            )

"""Semantic checks for mistakes that change money (issue 13): each passes every other check.

- **BR415** a discount's cap or amount, or a term's penalty fee, in another currency than the
  products it applies to (a plan or bundle carrying a term whose fee is in another currency than
  all its products, too) (a 5.00 USD cap on a EUR product never caps anything; the evaluator
  would refuse the line at billing time instead);
- **BR422** money finer than its currency's minor unit where it is charged or taken as written
  (`20.001 EUR` as a cap, a fee, a discount amount, or the price of a product billed per period;
  a usage product's rate, `0.015 EUR` a minute, is exempt);
- **BR405** money that is negative where it is a maximum or a charge: a cap (at most `-20.00
  EUR` a month made the discount a surcharge), a penalty fee, a product's price (a cap must be
  more than zero; a fee or a price may be zero);
- **BR423** (warning) a percentage that is almost certainly a fraction: `value: 0.15` reads as
  0.15 %, and 15 % was probably meant. A warning does not fail `validate` unless `--strict`.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from engine.diagnostics import Diagnostic, Severity
from engine.load import Document, JsonPath
from engine.values import MINOR_UNITS, Money, parse_number_text, plain


def check_money(catalog: dict[str, dict[str, Any]], settings: Any) -> Iterator[Diagnostic]:
    minor = {**MINOR_UNITS, **(getattr(settings, "minor_units", None) or {})}
    prices = _product_currencies(catalog)
    targets = _Targets(catalog)
    for code in sorted(catalog.get("discount", {})):
        entry = catalog["discount"][code]
        reached = targets.reached(entry.model)
        # a product it reaches with no list price (rated elsewhere, priced per line) may be billed
        # in any currency: no currency of its can be said to differ
        reached_prices = {} if any(p not in prices for p in reached) else {p: prices[p] for p in reached}
        yield from _discount(entry.model, entry.document, reached_prices, minor)
        yield from _main_services(entry.model, entry.document, prices, targets)
    for code in sorted(catalog.get("term", {})):
        entry = catalog["term"][code]
        yield from _term(entry.model, entry.document, _term_currencies(catalog, code, prices), minor)
    yield from _carriers(catalog, prices)
    for code in sorted(catalog.get("product", {})):
        entry = catalog["product"][code]
        model = entry.model
        if model.price is not None:
            yield from _negative(model.price, ("price",), entry.document, "a price", zero=True)
        if model.price is not None and model.type.value != "usage":
            yield from _precision(model.price, ("price",), entry.document, minor)


def _negative(money: Money, path: JsonPath, doc: Document, what: str, zero: bool) -> Iterator[Diagnostic]:
    """BR405 for money below zero (or at zero, unless `zero` allows it) where it bounds or charges."""
    if money.amount < 0 or (money.amount == 0 and not zero):
        floor = "zero or more" if zero else "more than zero"
        yield doc.diagnostic(path, "BR405", f"{what} of {money} must be {floor}", "write a positive amount")


class _Targets:
    """The catalog products a discount's targets may reduce (what `discounts._matches` lets a line
    of them through): those it names, those of a type it names, and, for `main_service` alone,
    any discountable product (a bill may mark any line main) — or, `usual`, only the products the
    catalog marks `main_service` (the lines of a bill that marks none); within the bundle a target
    names, and of the kind its `applied_service_type` serves. Tables made once per rule set."""

    def __init__(self, catalog: dict[str, dict[str, Any]]) -> None:
        from engine.models.catalog import DISCOUNTABLE

        self.products = {code: entry.model for code, entry in catalog.get("product", {}).items()}
        self.bundles = {code: entry.model for code, entry in catalog.get("bundle", {}).items()}
        self.discountable = {c for c, p in self.products.items() if p.type in DISCOUNTABLE}
        self.mains = {c for c in self.discountable if self.products[c].main_service}

    def reached(self, model: Any, usual: bool = False) -> set[str]:
        products = self.products
        reached: set[str] = set()
        for target in model.discounted_products:
            if target.product is not None:
                codes = {target.product}
            elif target.product_type is not None:
                codes = {c for c, p in products.items() if p.type == target.product_type}
            else:
                codes = (self.mains or self.discountable) if usual else self.discountable
            if target.bundle is not None and target.bundle in self.bundles:
                codes = codes & {item.product for item in self.bundles[target.bundle].products}
            reached |= {
                c for c in codes if c not in products or model.applied_service_type.serves(products[c].type.value)
            }
        return reached


def _main_services(model: Any, doc: Document, prices: dict[str, str], targets: _Targets) -> Iterator[Diagnostic]:
    """BR415, a warning: a cap or amount that no product a `main_service` target usually reduces
    (the catalog's main services) is priced in, though some line a bill marks main could be: a
    USD cap on EUR main services fails every bill that marks none (BR603), but not one marking a
    USD line main, so it does not stop the rule set."""
    if not any(t.main_service and t.product is None and t.product_type is None for t in model.discounted_products):
        return
    reached = targets.reached(model, usual=True)
    if any(p not in prices for p in reached):  # one without a list price may be billed in any currency
        return
    anywhere = {prices[p] for p in targets.reached(model) if p in prices}
    usual = sorted((p, prices[p]) for p in reached)
    for path, money in _discount_money(model):
        if money.currency in anywhere and usual and all(currency != money.currency for _, currency in usual):
            product, currency = usual[0]
            what = "cap" if path == ("cap",) else "amount"
            yield _warning(
                doc,
                path,
                "BR415",
                f"the {what} {money} is in {money.currency}, but the main service `{product}` it usually applies to "
                f"is priced in {currency} (only a line a bill marks main in {money.currency} can take it)",
                f"write the {what} in {currency}",
            )


def _product_currencies(catalog: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {
        code: entry.model.price.currency
        for code, entry in catalog.get("product", {}).items()
        if entry.model.price is not None
    }


def _precision(money: Money, path: JsonPath, doc: Document, minor: dict[str, int]) -> Iterator[Diagnostic]:
    digits = minor.get(money.currency, 2)
    exponent = money.amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > digits:
        rounded = money.amount.quantize(Decimal(1).scaleb(-digits))
        yield doc.diagnostic(
            path,
            "BR422",
            f"{money} is finer than the {money.currency} minor unit ({digits} decimal place(s))",
            f"write it to the {money.currency} minor unit, e.g. `{plain(rounded)} {money.currency}`, "
            "or set the rule set's `minor_units` if your billing really uses more",
        )


def _discount_money(model: Any) -> list[tuple[JsonPath, Money]]:
    """A discount's money, at its place: its cap, and an amount discount's value or range."""
    amounts: list[tuple[JsonPath, Money]] = []
    if model.cap is not None:
        amounts.append((("cap",), model.cap))
    amount = model.amount
    if amount.type.value == "amount":
        if amount.value is not None:
            amounts += [(("amount", "value"), m) for m in _money(amount.value)]
        for i, item in enumerate(amount.range or []):
            amounts += [(("amount", "range", i), m) for m in _money(item)]
    return amounts


def _discount(model: Any, doc: Document, prices: dict[str, str], minor: dict[str, int]) -> Iterator[Diagnostic]:
    amounts = _discount_money(model)
    amount = model.amount
    targets = set(prices.items())  # (product, currency) of each priced product the discount may reduce
    if model.cap is not None:
        yield from _negative(model.cap, ("cap",), doc, "a cap", zero=False)
    for path, money in amounts:
        yield from _precision(money, path, doc, minor)
        other = sorted((product, currency) for product, currency in targets if currency != money.currency)
        if other and not any(currency == money.currency for _, currency in targets):
            product, currency = other[0]
            what = "cap" if path == ("cap",) else "amount"
            yield doc.diagnostic(
                path,
                "BR415",
                f"the {what} {money} is in {money.currency}, but product `{product}` it applies to is priced "
                f"in {currency}",
                f"write the {what} in {currency}",
            )
    if amount.type.value == "percentage":
        values: list[tuple[JsonPath, Any]] = [(("amount", "value"), amount.value)] if amount.value is not None else []
        values += [(("amount", "range", i), v) for i, v in enumerate(amount.range or [])]
        yield from _fractions(values, doc, "percentage")


def _warning(doc: Document, path: JsonPath, code: str, message: str, hint: str) -> Diagnostic:
    """A warning at `path` of `doc` (it fails `validate` only with `--strict`)."""
    span = doc.locate(path)
    return Diagnostic(
        doc.file, span.line, span.column, code, message, hint, end_column=span.end_column, severity=Severity.WARNING
    )


def _money(value: Any) -> list[Money]:
    if isinstance(value, Money):
        return [value]
    if isinstance(value, str):
        try:
            return [Money.parse(value)]
        except ValueError:
            return []  # reported by the amount checks (BR405)
    return []


def _fractions(values: list[tuple[JsonPath, Any]], doc: Document, what: str) -> Iterator[Diagnostic]:
    for path, value in values:
        try:  # text as the amount checks read it (`".5"`, `"+0.5"`: refused there, BR405, not read here)
            number = parse_number_text(value) if isinstance(value, str) else Decimal(str(value))
        except (ArithmeticError, ValueError):
            continue
        if Decimal(0) < number < Decimal(1):
            shown = plain(number)
            percent = plain((number * 100).normalize())
            yield _warning(
                doc,
                path,
                "BR423",
                f"{what} {shown} reads as {shown} %; if {percent} % was meant, write {percent}",
                f"percentages are written as numbers of percent (15 means 15 %); keep {shown} if {shown} % is right",
            )


def _carriers(catalog: dict[str, dict[str, Any]], prices: dict[str, str]) -> Iterator[Diagnostic]:
    """BR415 at a plan or bundle whose products are all priced in other currencies than the
    penalty fee of the term it carries, when other carriers of the term are in the fee's currency
    (else the term itself is reported): a USD add-on carrying an EUR term was charged an EUR
    penalty on cancellation."""
    bundles, terms = catalog.get("bundle", {}), catalog.get("term", {})
    for kind in ("plan", "bundle"):
        for code in sorted(catalog.get(kind, {})):
            entry = catalog[kind][code]
            term = terms.get(entry.model.term) if entry.model.term else None
            if term is None or term.model.penalty is None:
                continue
            fee = term.model.penalty.fee
            carried = entry.model.bundles if kind == "plan" else [code]
            currencies = {
                prices[item.product]
                for bundle in carried
                if (found := bundles.get(bundle)) is not None
                for item in found.model.products
                if item.product in prices
            }
            if currencies and fee.currency not in currencies:
                if fee.currency not in _term_currencies(catalog, entry.model.term, prices).values():
                    continue  # no carrier is in the fee's currency: reported at the term
                yield entry.document.diagnostic(
                    ("term",),
                    "BR415",
                    f"{kind} `{code}` is priced in {', '.join(sorted(currencies))}, but its term "
                    f"`{entry.model.term}` charges {fee}",
                    "give it a term whose fee is in its currency",
                )


def _term_currencies(catalog: dict[str, dict[str, Any]], term: str, prices: dict[str, str]) -> dict[str, str]:
    """Products of the plans and bundles that carry `term`, with their price currency."""
    bundles = catalog.get("bundle", {})
    found: dict[str, str] = {}
    holders = [
        (entry.model.bundles, f"plan `{code}`")
        for code, entry in catalog.get("plan", {}).items()
        if entry.model.term == term
    ]
    holders += [([code], f"bundle `{code}`") for code, entry in bundles.items() if entry.model.term == term]
    for bundle_codes, _ in holders:
        for bundle in bundle_codes:
            entry = bundles.get(bundle)
            for item in entry.model.products if entry is not None else ():
                if item.product in prices:
                    found[item.product] = prices[item.product]
    return found


def _term(model: Any, doc: Document, products: dict[str, str], minor: dict[str, int]) -> Iterator[Diagnostic]:
    fees: list[tuple[JsonPath, Money]] = []
    if model.penalty is not None:
        fees.append((("penalty", "fee"), model.penalty.fee))
        if model.penalty.tax is not None and model.penalty.tax.rate is not None:
            yield from _fractions([(("penalty", "tax", "rate"), model.penalty.tax.rate)], doc, "tax rate")
    fees += [(("exceptions", i, "fee"), e.fee) for i, e in enumerate(model.exceptions) if e.fee is not None]
    own = model.penalty.fee.currency if model.penalty is not None else None
    for path, fee in fees:
        yield from _negative(fee, path, doc, "a fee", zero=True)
        yield from _precision(fee, path, doc, minor)
        if path[0] == "exceptions" and own is not None and fee.currency != own:
            continue  # told once, against the term's own fee (until 2026-12-02 twice at one place)
        if products and fee.currency not in products.values():
            currency = sorted(products.items())[0][1]
            named = sorted(product for product, priced in products.items() if priced == currency)
            shown = ", ".join(f"`{p}`" for p in named[:3]) + (f" and {len(named) - 3} more" if len(named) > 3 else "")
            yield doc.diagnostic(
                path,
                "BR415",
                f"the fee {fee} is in {fee.currency}, but the products under this term are priced in "
                f"{currency} ({shown})",
                f"write the fee in {currency}",
            )

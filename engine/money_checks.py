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
from itertools import islice
from typing import TYPE_CHECKING, Any

from engine.diagnostics import Diagnostic, Severity
from engine.load import Document, JsonPath
from engine.values import MINOR_UNITS, Money, parse_number_text, plain

if TYPE_CHECKING:
    from engine.decide.money import Rounder


def check_money(catalog: dict[str, dict[str, Any]], settings: Any) -> Iterator[Diagnostic]:
    mode = getattr(settings, "rounding", None)
    minor = _MinorUnits(str(getattr(mode, "value", mode) or "half_up"), getattr(settings, "minor_units", None))
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
    renewals = _Renewals(catalog.get("term", {}))
    under = _term_currencies(catalog, prices, renewals)
    for code in sorted(catalog.get("term", {})):
        entry = catalog["term"][code]
        yield from _term(entry.model, entry.document, under.get(code, {}), minor)
    yield from _carriers(catalog, prices, renewals, under)
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
        #: `reached` by what it reads of a discount: most discounts of a rule set name the same targets
        self._reached: dict[tuple[Any, ...], set[str]] = {}

    def reached(self, model: Any, usual: bool = False) -> set[str]:
        """The products (the same set for the same targets: read it, never change it)."""
        targets = tuple((t.product, t.product_type, t.bundle) for t in model.discounted_products)
        key = (usual, model.applied_service_type, targets)
        found = self._reached.get(key)
        if found is None:
            found = self._reached[key] = self._reach(model, usual)
        return found

    def _reach(self, model: Any, usual: bool) -> set[str]:
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


class _MinorUnits:
    """The minor unit of each currency (the rule set's `minor_units` over ISO 4217's), and the
    rule set's rounding to it: a BR422 hint shows the amount as billing would round it
    (`50.005 EUR`: `50.01 EUR` half up; until 2026-12-03 always half even, `50.00 EUR`), with
    billing's own `Rounder`, made at the first amount finer than its unit (validate imports no
    decide before; until 2026-12-03 this class rounded by a copy of `Rounder`'s code)."""

    def __init__(self, mode: str, overrides: dict[str, int] | None) -> None:
        self.mode = mode
        self.overrides = overrides or {}
        self._rounder: Rounder | None = None

    def digits(self, currency: str) -> int:
        """The decimal places of `currency`'s minor unit."""
        return self.overrides.get(currency, MINOR_UNITS.get(currency, 2))

    def round(self, amount: Decimal, currency: str) -> Decimal:
        if self._rounder is None:
            from engine.decide.money import Rounder  # (a diagnostic's hint only: validate imports no decide)

            self._rounder = Rounder(self.mode, self.overrides)
        return self._rounder.round(amount, currency)


def _precision(money: Money, path: JsonPath, doc: Document, minor: _MinorUnits) -> Iterator[Diagnostic]:
    digits = minor.digits(money.currency)
    exponent = money.amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > digits:
        rounded = minor.round(money.amount, money.currency)
        yield doc.diagnostic(
            path,
            "BR422",
            f"{money} is finer than the {money.currency} minor unit ({digits} decimal place{'' if digits == 1 else 's'})",
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


def _discount(model: Any, doc: Document, prices: dict[str, str], minor: _MinorUnits) -> Iterator[Diagnostic]:
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
    yield from _above_cap(model, doc, amounts)
    if amount.type.value == "percentage":
        values: list[tuple[JsonPath, Any]] = [(("amount", "value"), amount.value)] if amount.value is not None else []
        values += [(("amount", "range", i), v) for i, v in enumerate(amount.range or [])]
        yield from _fractions(values, doc, "percentage")


def _above_cap(model: Any, doc: Document, amounts: list[tuple[JsonPath, Money]]) -> Iterator[Diagnostic]:
    """BR429, a warning: an amount discount's value, or its range's top, above its own cap in the
    same currency. The cap is per billing period across the lines, so even one line never takes
    the amount (or an agent's request above the cap): the amount says something the bill never
    does (until 2026-12-03 accepted in silence)."""
    cap = model.cap
    if cap is None or cap.amount <= 0:  # (a cap at or below zero is BR405 alone: until 2026-12-04 also this)
        return
    for path, money in amounts:
        if path == ("cap",) or money.currency != cap.currency or money.amount <= cap.amount:
            continue
        if path == ("amount", "value"):
            message = f"the amount {money} is above the discount's cap {cap}: no bill ever takes the amount"
        elif path == ("amount", "range", 1):
            message = f"the range reaches {money}, above the discount's cap {cap}: a request above the cap takes {cap}"
        else:
            continue  # (the range's top is above too, and told)
        yield _warning(
            doc,
            path,
            "BR429",
            message,
            "lower the amount to the cap, or raise the cap (it limits a billing period, across the lines)",
        )


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


#: a carrier's path of up to this many renewals is named in full in each of its BR415; a longer one in
#: full only where it reaches its farthest term, and elsewhere by the renewal into each term
PATH_LISTED = 10


def _carriers(
    catalog: dict[str, dict[str, Any]],
    prices: dict[str, str],
    renewals: _Renewals,
    under: dict[str, dict[str, tuple[str, str]]],
) -> Iterator[Diagnostic]:
    """BR415 at a plan or bundle whose products are all priced in other currencies than the
    penalty fee of the term it carries, or of a term that one renews into, when other carriers of
    that term are in the fee's currency (else the term itself is reported): a USD add-on carrying
    an EUR term was charged an EUR penalty on cancellation.

    A carrier visits only the terms of its chain that charge such a fee in a currency it is not
    priced in (`_Renewals.charging`), not every term of the chain (until 2026-12-04 each walked its
    whole chain: 10,000 plans, each carrying a term of one renewal loop of 10,000 terms, took 100
    million steps, 47 s of the 167 s that rule set took to validate).

    A carrier's path of up to `PATH_LISTED` renewals (to the farthest term it is reported for) is
    named in each of its BR415 up to the term each reports; a longer one in full at the farthest
    term only, and at each other term by the renewal into it, its number and the path's length
    (until 2026-12-04 each named its whole path: a loop of 3,000 terms, a third of them charging in
    another currency, wrote 45 MB of text for the 1,000 diagnostics shown)."""
    bundles, terms = catalog.get("bundle", {}), catalog.get("term", {})
    # each fee currency, with the terms charging a fee in it that some carrier in it comes under
    # (when none does, the term is reported, not its carriers)
    charging: dict[str, set[str]] = {}
    for term, definition in terms.items():
        penalty = definition.model.penalty
        if penalty is not None and any(
            currency == penalty.fee.currency for currency, _ in under.get(term, {}).values()
        ):
            charging.setdefault(penalty.fee.currency, set()).add(term)
    for kind in ("plan", "bundle"):
        for code in sorted(catalog.get(kind, {})):
            entry = catalog[kind][code]
            carried_term = entry.model.term
            if not carried_term or carried_term not in terms:
                continue
            carried = entry.model.bundles if kind == "plan" else [code]
            currencies = {
                prices[item.product]
                for bundle in carried
                if (found := bundles.get(bundle)) is not None
                for item in found.model.products
                if item.product in prices
            }
            if not currencies:
                continue
            reached = sorted(
                place
                for currency in charging
                if currency not in currencies  # (a fee in its own currency is right for it)
                for place in renewals.charging(carried_term, currency, charging[currency])
            )
            if not reached:
                continue
            farthest = reached[-1][0]
            chain = renewals.chain(carried_term, farthest + 1)
            for i, term in reached:
                fee = terms[term].model.penalty.fee
                if i == 0:
                    which = f"its term `{carried_term}` charges {fee}"
                elif farthest <= PATH_LISTED or i == farthest:
                    path = ", then ".join(f"`{t}`" for t in chain[1 : i + 1])
                    which = f"its term `{carried_term}` renews into {path}, which charges {fee}"
                else:  # (a long path: named in full once, at its farthest term)
                    which = (
                        f"its term `{carried_term}` renews into `{term}`, which charges {fee} (`{chain[i - 1]}` → "
                        f"`{term}` is renewal {i:,} of the {farthest:,} named in full in this {kind}'s BR415 for "
                        f"`{chain[farthest]}`)"
                    )
                yield entry.document.diagnostic(
                    ("term",),
                    "BR415",
                    f"{kind} `{code}` is priced in {', '.join(sorted(currencies))}, but {which}",
                    "give it a term whose fee is in its currency"
                    + ("" if i == 0 else ", renewing into terms whose fees are too"),
                )


class _Renewals:
    """The terms' renewals laid out once, in time and room linear in the terms: a term's chain
    (`walk`) runs along the terms it renews into to one that does not renew, or into a loop
    and once round it. A term of a loop knows its loop (one list for all its terms) and its place
    in it; another term its distance to the loop, or to the last term of its chain (`depth`), and
    the loop's term its chain enters at (`entry`). So the place of a term in another's chain is
    known without walking it, and a walk may go from one term of interest to the next."""

    def __init__(self, terms: dict[str, Any]) -> None:
        self.next: dict[str, str | None] = {}
        for code, entry in terms.items():
            renewal = entry.model.renewal_term
            self.next[code] = renewal if renewal is not None and renewal in terms else None
        self.depth: dict[str, int] = {}
        self.entry: dict[str, str | None] = {}
        self.loops: list[list[str]] = []
        self.place: dict[str, tuple[list[str], int]] = {}  # a term of a loop: the loop, its place in it
        self.order: list[str] = []  # the terms of no loop, each after the term it renews into
        for start in terms:
            if start in self.depth:
                continue
            path: list[str] = []
            on_path: dict[str, int] = {}
            current: str | None = start
            while current is not None and current not in self.depth and current not in on_path:
                on_path[current] = len(path)
                path.append(current)
                current = self.next[current]
            if current is not None and current in on_path:  # a loop, met for the first time
                loop = path[on_path[current] :]
                del path[on_path[current] :]
                self.loops.append(loop)
                for offset, member in enumerate(loop):
                    self.depth[member], self.entry[member], self.place[member] = 0, member, (loop, offset)
            for member in reversed(path):
                renewal = self.next[member]
                if renewal is None:
                    self.depth[member], self.entry[member] = 0, None
                else:
                    self.depth[member], self.entry[member] = self.depth[renewal] + 1, self.entry[renewal]
                self.order.append(member)
        self._nearest: dict[str, dict[str, str]] = {}

    def position(self, start: str, term: str) -> int:
        """The place of `term` in the chain of `start` (it is in it)."""
        if term not in self.place:
            return self.depth[start] - self.depth[term]
        loop, offset = self.place[term]
        entry = self.entry[start]  # (a term of a loop in its chain: its chain enters the loop)
        first = self.place[entry][1] if entry is not None else offset
        return self.depth[start] + (offset - first) % len(loop)

    def charging(self, start: str, key: str, marked: set[str]) -> Iterator[tuple[int, str]]:
        """The terms of `marked` in the chain of `start`, with their places, in chain order (`key`
        names the set: the nearest of its terms from each term is worked out once per key)."""
        nearest = self.nearest(key, marked)
        last = -1
        term = nearest.get(start)
        while term is not None:
            at = self.position(start, term)
            if at <= last:  # round the loop: its terms were all met
                return
            yield at, term
            last = at
            renewal = self.next[term]
            term = nearest.get(renewal) if renewal is not None else None

    def nearest(self, key: str, marked: set[str]) -> dict[str, str]:
        """Each term with the first term of `marked` its renewals reach (itself included), if any."""
        found = self._nearest.get(key)
        if found is not None:
            return found
        found = self._nearest[key] = {}
        for loop in self.loops:
            following = None
            for member in reversed(loop):  # the first marked term of the loop: the one after its last
                if member in marked:
                    following = member
            for member in reversed(loop):
                if member in marked:
                    following = member
                if following is not None:
                    found[member] = following
        for member in self.order:
            if member in marked:
                found[member] = member
            else:
                renewal = self.next[member]
                if renewal is not None and renewal in found:
                    found[member] = found[renewal]
        return found

    def walk(self, start: str) -> Iterator[str]:
        """The chain of `start`: itself, the terms it becomes as it renews, in order (its
        `renewal_term`, that term's, …), up to a term that does not renew or one met already
        (renewals may loop); a code of no term is a chain of one. Walked when asked, never stored:
        until 2026-12-04 each term's whole chain was, a loop of N terms N lists of N codes (a loop
        of 10,000 terms took 27 s and 912 MiB to validate)."""
        if start not in self.depth:
            yield start
            return
        entry = self.entry[start]
        # its length: the distance to the loop, then the loop; or to the last term, and that term
        length = self.depth[start] + (len(self.place[entry][0]) if entry is not None else 1)
        current: str | None = start
        while current is not None and length > 0:
            yield current
            current = self.next[current]
            length -= 1

    def chain(self, start: str, length: int) -> list[str]:
        """The first `length` terms of the chain of `start`."""
        return list(islice(self.walk(start), length))


def _term_currencies(
    catalog: dict[str, dict[str, Any]], prices: dict[str, str], renewals: _Renewals
) -> dict[str, dict[str, tuple[str, str]]]:
    """Per term, the products a cancellation under it may bill: those of the plans and bundles that
    carry it, or carry a term that renews into it (until 2026-12-03 only the first: a USD fee on the
    term a EUR plan's term renews into passed, and was charged on EUR subscriptions), each with its
    price currency and the term its carriers carry (the term itself when its own carriers have the
    product, else the first carried term, in code order, that renews into it).

    Each product walks the renewals once: a carried term's walk stops, for a product, at a term
    that product reached already (the rest of the chain it reached too, from an earlier term),
    so terms sharing a chain, or a loop, do not walk it again (until 2026-12-04 each carried term
    walked its whole chain for every product)."""
    bundles = catalog.get("bundle", {})
    direct: dict[str, dict[str, str]] = {}
    holders = [(entry.model.term, entry.model.bundles) for entry in catalog.get("plan", {}).values()]
    holders += [(entry.model.term, [code]) for code, entry in bundles.items()]
    for term, bundle_codes in holders:
        if not term:
            continue
        for bundle in bundle_codes:
            entry = bundles.get(bundle)
            for item in entry.model.products if entry is not None else ():
                if item.product in prices:
                    direct.setdefault(term, {})[item.product] = prices[item.product]
    found: dict[str, dict[str, tuple[str, str]]] = {
        term: {product: (currency, term) for product, currency in products.items()}  # (its own carriers first)
        for term, products in direct.items()
    }
    reached_by: dict[str, set[str]] = {}  # each product, with the terms its walks reached
    for term in sorted(direct):
        walking = dict(direct[term])  # the products still walking, with their currency
        for reached in renewals.walk(term):
            products = found.setdefault(reached, {})
            for product, currency in list(walking.items()):
                already = reached_by.setdefault(product, set())
                if reached in already:
                    del walking[product]
                    continue
                already.add(reached)
                products.setdefault(product, (currency, term))
            if not walking:
                break
    return found


def _term(model: Any, doc: Document, products: dict[str, tuple[str, str]], minor: _MinorUnits) -> Iterator[Diagnostic]:
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
        if products and all(currency != fee.currency for currency, _ in products.values()):
            currency = sorted(products.items())[0][1][0]
            named = sorted(product for product, (priced, _) in products.items() if priced == currency)
            shown = ", ".join(f"`{p}`" for p in named[:3]) + (f" and {len(named) - 3} more" if len(named) > 3 else "")
            via = sorted({products[p][1] for p in named})
            under = (
                "under this term"
                if model.code in via
                else f"that come under this term when {', '.join(f'`{t}`' for t in via)} renew{'s' if len(via) == 1 else ''} into it"
            )
            yield doc.diagnostic(
                path,
                "BR415",
                f"the fee {fee} is in {fee.currency}, but the products {under} are priced in {currency} ({shown})",
                f"write the fee in {currency}",
            )

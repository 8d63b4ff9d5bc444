"""Desugar the seed's criteria sections into criteria-language conditions (the same typed AST).

Each entry becomes the expression an analyst could have written in `when:` (shown in
explanations), parsed by the same parser and located at the YAML entry it came from. Semantics
(SPEC 3.3): every section must hold; inside a section at least one entry must hold; `products`:
every entry must hold; `segments`: in an included segment (if any are listed) and in no excluded
one. The usage service and usage sections describe one usage record: a record must satisfy both;
each entry of `quantitative` (execution dates, each day window, each total) is over such records,
and one of them holding is enough.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from engine.criteria import ast
from engine.criteria.check import Placed, check_placed
from engine.criteria.environment import Environment
from engine.criteria.locate import text_locator
from engine.criteria.parse import Parsed, parse_located
from engine.load import Document, JsonPath
from engine.models.criteria import CreditCriteria, Criteria, DayWindow, Effectiveness, QuantityBounds, QuantityRange
from engine.values import Duration, plain

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Condition:
    """One section (or the `when:` expression) of a definition: its entries, parsed (syntax errors
    are raised while desugaring), combined with `combine` when there are several."""

    section: str
    parts: tuple[Parsed, ...]
    combine: str = "or"
    span: ast.Span | None = None  # of the section, when it combines several entries

    @property
    def node(self) -> ast.Node:
        """The untyped AST, located in the rule file."""
        nodes = tuple(part.node() for part in self.parts)
        if len(nodes) == 1:
            return nodes[0]
        assert self.span is not None
        return ast.BoolOp(self.span, self.combine, nodes)

    def typed(self, env: Environment) -> Placed:
        """The typed AST, as `check_condition(self.node, env)` gives it (each distinct entry is
        type-checked once per environment), placed in the rule file when first asked for
        (`Placed.node`); raises CriteriaError."""
        if len(self.parts) == 1:
            return check_placed(self.parts[0], env)
        assert self.span is not None
        within = f"`{self.combine}`"
        return Placed.combined(self.span, self.combine, [check_placed(part, env, within) for part in self.parts])


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _set(values: list[Any]) -> str:
    return "{" + ", ".join(quote(str(v)) for v in values) + "}"


#: the parts of an entry written under keys of its own (`concurrent_usage: {more_than: 1,
#: less_than: 5}`): each part's text and the key it comes from
Keyed = tuple[tuple[str, str], ...]

#: an entry of a section: where it is written, its condition, and its keyed parts (if any)
Entry = tuple[JsonPath, str] | tuple[JsonPath, str, Keyed]


def _parse_at(document: Document, path: JsonPath, text: str, keyed: Keyed = ()) -> Parsed:
    """The entry's condition, located at the entry; a part written under a key of its own (the
    `less_than` of a threshold) at that key (until 2026-12-02 every part was located at the
    entry's first key: a failing `less_than: 5` pointed at the `more_than` line)."""
    ranges: list[tuple[int, int, JsonPath]] = []
    start = 0
    for key, part in keyed:
        found = text.find(part, start)
        if found < 0:
            continue
        start = found + len(part)
        ranges.append((found, start, (*path, key)))
    # the spans are looked up when first asked for (a diagnostic, an explanation: a clean
    # `validate` asks for none), each once; the document's spans do not change once loaded
    made: dict[JsonPath | None, ast.Span] = {}

    def locate(begin: int, end: int) -> ast.Span:
        for first, after, where in ranges:
            if first <= begin and end <= after:
                span = made.get(where)
                if span is None:
                    written = document.locate(where, key=True)
                    span = made[where] = ast.Span(document.file, written.line, written.column, written.end_column)
                return span
        span = made.get(None)
        if span is None:
            entry = document.locate(path)
            span = made[None] = ast.Span(document.file, entry.line, entry.column, entry.end_column)
        return span

    return parse_located(text, locate)


def _keyed(path: JsonPath, parts: list[tuple[str, str]]) -> Entry:
    """An entry made of parts each written under its own key (`more_than`, `min`, …), all to hold."""
    return path, _all_of([text for _, text in parts]), tuple(parts)


def _any_of(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else " or ".join(f"({p})" for p in parts)


def _all_of(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else " and ".join(f"({p})" for p in parts)


def _any_membership(prefix: str, fields: tuple[tuple[str, list[Any]], ...]) -> str | None:
    """`x.a in {…} or x.b in {…}` for the lists that are not empty (a section's entries)."""
    parts = [f"{prefix}{field} in {_set(values)}" for field, values in fields if values]
    return _any_of(parts) if parts else None


def _effectiveness(e: Effectiveness, field: str) -> list[tuple[str, str]]:
    parts = []
    if e.effective_for_at_least:
        parts.append(("effective_for_at_least", f"as_of.date - {field} >= {e.effective_for_at_least}"))
    if e.effective_for_at_most:  # effective (started by the billing date) for at most that long
        at_most = f"{field} <= as_of.date and as_of.date - {field} <= {e.effective_for_at_most}"
        parts.append(("effective_for_at_most", at_most))
    if e.effective_from:
        parts.append(("effective_from", f"{field} >= {e.effective_from.isoformat()}"))
    if e.effective_until:
        parts.append(("effective_until", f"{field} <= {e.effective_until.isoformat()}"))
    return parts


def _number(value: Any) -> str:
    """A number as the criteria language writes it: `0.0000001`, never `1E-7`."""
    return plain(value) if isinstance(value, Decimal) else str(value)


def _threshold(field: str, more: Any, less: Any, suffix: str = "") -> list[tuple[str, str]]:
    parts = []
    if more is not None:
        parts.append(("more_than", f"{field} > {_number(more)}{suffix}"))
    if less is not None:
        parts.append(("less_than", f"{field} < {_number(less)}{suffix}"))
    return parts


def _range(value: str, r: QuantityRange | QuantityBounds) -> list[tuple[str, str]]:
    parts = []
    if r.min is not None:
        parts.append(("min", f"{value} >= {_number(r.min)}"))
    if r.max is not None:
        parts.append(("max", f"{value} <= {_number(r.max)}"))
    return parts


def _raw(document: Document, path: JsonPath) -> Any:
    """The value as written in the rule file at `path` (None where there is none)."""
    value: Any = document.data
    for step in path:
        if not isinstance(value, dict) or step not in value:
            return None
        value = value[step]
    return value


def _written_as_date(value: Any) -> bool:
    """A bound written as a date alone (`2015-06-30`), not a date-time."""
    if isinstance(value, datetime):
        return False
    return isinstance(value, date) or (isinstance(value, str) and len(value.strip()) == 10)


def _dates_text(at: str, dates: Any, raw: Any) -> str:
    """`execution_dates` as a condition on `at`. A bound written as a date covers its whole day, as
    the date is written where the record's is (its local date, as every date test): `to:
    2015-06-30` keeps a record at 2015-06-30T18:00+02:00, which the midnight it parses to (read as
    UTC) left out, and `from: 2015-06-01` one at 2015-06-01T01:00+02:00. Date-times stay exact,
    to the microsecond (`10:00:00.500` was cut to `10:00:00` until 2026-12-01)."""
    written = raw if isinstance(raw, dict) else {}
    parts = []
    if _written_as_date(written.get("from")):
        parts.append(f"{at}.date >= {dates.from_.date().isoformat()}")
    else:
        parts.append(f"{at} >= {_moment(dates.from_)}")
    if dates.to is not None:
        if _written_as_date(written.get("to")):
            parts.append(f"{at}.date <= {dates.to.date().isoformat()}")
        else:
            parts.append(f"{at} <= {_moment(dates.to)}")
    if len(parts) == 2 and " <= " in parts[1] and ".date" not in parts[0] + parts[1]:
        return f"{at} between {_moment(dates.from_)} and {_moment(dates.to)}"
    return " and ".join(parts)


def _moment(moment: Any) -> str:
    """A date-time literal of the criteria language: whole seconds, or microseconds when it has them."""
    return str(moment.isoformat(timespec="seconds" if not moment.microsecond else "microseconds"))


#: a window's `to` when it runs to the end of its day (the default): the day's last second, whole
_END_OF_DAY = time(23, 59, 59)


def _day_window(w: DayWindow, at: str) -> str:
    day = w.day.value
    start, end = w.from_.strftime("%H:%M:%S"), w.to.strftime("%H:%M:%S")
    if w.to == _END_OF_DAY:  # to the end of the day (the default): 23:59:59.5 is still that day
        if w.from_ == time(0, 0):
            return f"{at}.weekday == {day}"
        return f"{at}.weekday == {day} and {at}.time >= {start}"
    if w.from_ <= w.to:
        return f"{at}.weekday == {day} and {at}.time between {start} and {end}"
    following = _DAYS[(_DAYS.index(day) + 1) % 7]  # a window spanning midnight ends the next day
    return f"({at}.weekday == {day} and {at}.time >= {start}) or ({at}.weekday == {following} and {at}.time <= {end})"


def desugar(criteria: Criteria, document: Document, subject: str) -> Iterator[Condition]:
    """Conditions for every section present; `subject` is `subscription` or `job`."""
    base: JsonPath = ("criteria",)
    yield from _non_usage(criteria, document, subject, base)
    yield from _usage(criteria, document, base)
    if criteria.when is not None:
        path = (*base, "when")
        yield Condition("when", (parse_located(criteria.when, text_locator(document, path, criteria.when)),))


def _section(
    document: Document,
    name: str,
    entries: Sequence[Entry],
    combine: str = "or",
    base: JsonPath = ("criteria",),
) -> Condition | None:
    parts = tuple(_parse_at(document, *entry) for entry in entries)
    if not parts:
        return None
    if len(parts) == 1:
        return Condition(name, parts)
    span = document.locate((*base, name))
    key = document.key_spans.get((*base, name))
    if key is not None and key.line != span.line:
        # a section written as a block (`products:` with its entries below): its key's line, as a
        # reason about a block list names it (until 2026-12-03 its first entry, which may hold:
        # a brief `section_not_met` pointed at `- product: tv-essentials`, on the bill)
        span = key
    return Condition(name, parts, combine, ast.Span(document.file, span.line, span.column, span.end_column))


def _non_usage(c: Criteria, doc: Document, subject: str, base: JsonPath) -> Iterator[Condition]:
    sections: list[Condition | None] = []
    if c.billing_term:
        bt, p = c.billing_term, (*base, "billing_term")
        entries: list[Entry] = []
        if bt.schemes:
            entries.append(((*p, "schemes"), f"subscription.billing_term_scheme in {_set(bt.schemes)}"))
        if bt.billing_frequencies:
            entries.append(
                (
                    (*p, "billing_frequencies"),
                    f"subscription.billing_frequency in {_set([f.value for f in bt.billing_frequencies])}",
                )
            )
        for i, period in enumerate(bt.binding_periods):
            entries.append(((*p, "binding_periods", i), f"subscription.binding_period == {period}"))
        if bt.concurrent_usage and (
            keyed := _threshold(
                "subscription.concurrent_usage", bt.concurrent_usage.more_than, bt.concurrent_usage.less_than
            )
        ):
            entries.append(_keyed((*p, "concurrent_usage"), keyed))
        if bt.concurrent_usage_rate and (
            keyed := _threshold(
                "subscription.concurrent_usage_rate",
                bt.concurrent_usage_rate.more_than,
                bt.concurrent_usage_rate.less_than,
                "%",
            )
        ):
            entries.append(_keyed((*p, "concurrent_usage_rate"), keyed))
        if bt.effectiveness and (keyed := _effectiveness(bt.effectiveness, "subscription.billing_term_start")):
            entries.append(_keyed((*p, "effectiveness"), keyed))
        sections.append(_section(doc, "billing_term", entries))
    if c.subscription:
        sc, p = c.subscription, (*base, "subscription")
        entries = []
        if sc.types:
            entries.append(((*p, "types"), f"subscription.type in {_set(sc.types)}"))
        if sc.maturity:
            entries.append(
                (
                    (*p, "maturity"),
                    f"uninterrupted(subscription, {sc.maturity.max_interruption_days} days) >= {sc.maturity.at_least}",
                )
            )
        if sc.effectiveness and (keyed := _effectiveness(sc.effectiveness, "subscription.start")):
            entries.append(_keyed((*p, "effectiveness"), keyed))
        sections.append(_section(doc, "subscription", entries))
    if c.accounts_receivable:
        ar, p = c.accounts_receivable, (*base, "accounts_receivable")
        entries = []
        for attr, field in (
            ("classifications", "classification"),
            ("payment_preferences", "payment_preference"),
            ("presentment_preferences", "presentment_preference"),
        ):
            values = getattr(ar, attr)
            if values:
                entries.append(((*p, attr), f"account.{field} in {_set(values)}"))
        if ar.due and ar.due.due_in_days is not None:
            entries.append(((*p, "due", "due_in_days"), f"account.due_in_days between 0 and {ar.due.due_in_days}"))
        if ar.due and ar.due.due_days_ago is not None:
            entries.append(((*p, "due", "due_days_ago"), f"account.due_days_ago >= {ar.due.due_days_ago}"))
        sections.append(_section(doc, "accounts_receivable", entries))
    if c.segments:
        sg, p = c.segments, (*base, "segments")
        # a job: its own segments and its account's, the account's only when the scenario gives one
        holders = ["job.segments_with_account"] if subject == "job" else ["account.segments"]
        entries = []
        if sg.include:
            entries.append(((*p, "include"), _any_of([f"{h} overlaps {_set(sg.include)}" for h in holders])))
        if sg.exclude:
            entries.append(((*p, "exclude"), _all_of([f"not {h} overlaps {_set(sg.exclude)}" for h in holders])))
        sections.append(_section(doc, "segments", entries, combine="and"))
    if c.price_plans:
        sections.append(
            _section(doc, "price_plans", [((*base, "price_plans"), f"subscription.plan in {_set(c.price_plans)}")])
        )
    if c.products:
        entries = []
        for i, item in enumerate(c.products):
            tests = [
                f"p.product == {quote(item.product)}"
                if item.product
                else f"p.type == {quote(item.product_type.value if item.product_type else '')}"
            ]
            if item.bundle:
                tests.append(f"p.bundle == {quote(item.bundle)}")
            entries.append(((*base, "products", i), f"any p in {subject}.products where {' and '.join(tests)}"))
        sections.append(_section(doc, "products", entries, combine="and"))
    if c.buy_in_advance:
        entries = [
            (
                (*base, "buy_in_advance", i),
                f"subscription.buy_in_advance between {Duration(r.from_, r.unit)} and {Duration(r.to, r.unit)}",
            )
            for i, r in enumerate(c.buy_in_advance)
        ]
        sections.append(_section(doc, "buy_in_advance", entries))
    yield from (s for s in sections if s is not None)


def _usage(c: Criteria, doc: Document, base: JsonPath) -> Iterator[Condition]:
    """The usage sections. `usage_service` and `usage` describe one usage record: some record must
    meet both (`usage` is `any u in usage where <service> and <usage>`: where a record meets the
    service section but none both, `usage` fails, at its own entries). `quantitative` holds when
    at least one of its entries does (SPEC 3.3), each over the records meeting those two: a record
    in the execution dates, a record in one of the day windows, a total in its range (until
    2026-12-02 they all had to hold, and the section's conditions were placed at its first one)."""
    service = c.usage_service and _any_membership(
        "u.",
        (
            ("catalog", c.usage_service.catalogs),
            ("service_type", c.usage_service.service_types),
            ("termed_service", c.usage_service.termed_services),
        ),
    )
    usage = c.usage and _any_membership(
        "u.",
        (
            ("method", c.usage.methods),
            ("device", c.usage.devices),
            ("source_category", c.usage.source_categories),
            ("destination_category", c.usage.destination_categories),
        ),
    )
    record = [text for text in (service, usage) if text]
    if service:
        yield Condition("usage_service", (_parse_at(doc, (*base, "usage_service"), f"any u in usage where {service}"),))
    if usage:
        yield Condition("usage", (_parse_at(doc, (*base, "usage"), f"any u in usage where {_all_of(record)}"),))
    q = c.quantitative
    if not q:
        return
    where = _all_of(record) if record else None
    place = (*base, "quantitative")
    entries: list[Entry] = []
    if q.execution_dates:
        dates = _dates_text("u.at", q.execution_dates, _raw(doc, (*place, "execution_dates")))
        entries.append(((*place, "execution_dates"), f"any u in usage where {_all_of([*record, dates])}"))
    for i, day_window in enumerate(q.execution_days):
        day = _day_window(day_window, "u.at")
        entries.append(((*place, "execution_days", i), f"any u in usage where {_all_of([*record, day])}"))
    for name, total in (
        ("total_quantity", "count(u in usage{f}{w})"),
        ("total_usage", "sum(u in usage.quantity{f}{w})"),
    ):
        r: QuantityRange | None = getattr(q, name)
        if r is None or (r.per is not None and r.per.count == 0):  # (a window of no time: BR206 at `per`)
            continue
        window = f" within {r.per}" if r.per else ""
        counted = f" where {where}" if where else ""
        if not r.per:  # unlimited: every record up to the billing time, never one after it
            counted = f" where ({where}) and u.at <= as_of" if where else " where u.at <= as_of"
        if keyed := _range(total.format(f=counted, w=window), r):
            entries.append(_keyed((*place, name), keyed))
    section = _section(doc, "quantitative", entries, base=base)
    if section is not None:
        yield section


def desugar_credit(criteria: CreditCriteria, document: Document, base: JsonPath = ("criteria",)) -> Iterator[Condition]:
    """Conditions of a credit's (or credit type's) criteria, over `consumption` and `consumer`.

    Every section present must hold; inside one, at least one entry (`scope` says the same as the
    `services` and `products` sections and stays as it is, with its own verdict `outside_scope`).
    """
    c = criteria
    sections: list[Condition | None] = []
    for name, field in (("services", "consumption.service"), ("products", "consumption.product")):
        values = getattr(c, name)
        if values:
            sections.append(_section(document, name, [((*base, name), f"{field} in {_set(values)}")], base=base))
    if c.organisations:
        text = f"consumer.organisations overlaps {_set(c.organisations)}"
        sections.append(_section(document, "organisations", [((*base, "organisations"), text)], base=base))
    if c.execution_days:
        entries = [
            ((*base, "execution_days", i), _day_window(w, "consumption.at")) for i, w in enumerate(c.execution_days)
        ]
        sections.append(_section(document, "execution_days", entries, base=base))
    if c.execution_dates:
        text = _dates_text("consumption.at", c.execution_dates, _raw(document, (*base, "execution_dates")))
        sections.append(_section(document, "execution_dates", [((*base, "execution_dates"), text)], base=base))
    if c.quantity and (bounds := _range("consumption.quantity", c.quantity)):
        sections.append(_section(document, "quantity", [_keyed((*base, "quantity"), bounds)], base=base))
    yield from (s for s in sections if s is not None)
    if c.when is not None:
        path = (*base, "when")
        yield Condition("when", (parse_located(c.when, text_locator(document, path, c.when)),))

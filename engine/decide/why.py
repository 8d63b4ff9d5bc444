"""Why a definition's criteria do not hold, in business words: one reason record per failing condition.

A criteria entry (a section, or `when:`) that does not hold is walked once more, on the slow
path (`engine.criteria.explain`), only for a definition that is not eligible: the conditions
that hold are left out, and each one that fails becomes a `Reason` whose facts are the section,
the condition as written (a section's entry as the expression it stands for), the scenario's
actual value, what the rule expects (in the rule's own unit: a maturity in months when the rule
says months, with the date it counts from) and the verdict (`does not hold`, or `unknown` when a
value is missing); its source is where the condition is written. Words come from the templates
registered here, at the output boundary.

Which conditions are reported: an `and` that fails reports its operands that fail; an `or` that
fails, every operand (none holds); a condition under `not` that is not a plain comparison is one
condition. So an `or` section lists every entry and `products` every missing product.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, time
from decimal import Decimal
from enum import Enum
from typing import Any

from engine.criteria import ast
from engine.criteria.environment import scenario_environment
from engine.criteria.explain import VERDICTS, Explainer, Step, computed_parts, value_getter
from engine.criteria.runtime import Span
from engine.decide.reasons import Reason, Source, listed, register
from engine.values import Duration, Money

_OP_NEEDS = {"==": "", "!=": "other than ", "<": "less than ", "<=": "at most ", ">": "more than ", ">=": "at least "}


_AGGREGATE = re.compile(r"(count|sum|min|max|avg)\((\w+) in ([\w.]+)\b")
_WITHIN = " within "
_WHERE = " where "


def _mixed_currencies(node: ast.Node, explainer: Explainer) -> list[str]:
    """The currencies of the money the condition's `sum`, `min` or `max` reads (`_money_aggregates`,
    the first that reads several), when there are several: why it has no value, amounts in two
    currencies are never added up; else []. Until 2026-12-02 such a sum was told "not known" alone,
    though every price was written."""
    for item in _money_aggregates(node):
        currencies = _currencies_read(item, explainer)
        if len(currencies) > 1:
            return list(currencies)
    return []


def _currencies_read(node: ast.Aggregate, explainer: Explainer) -> tuple[str, ...]:
    """The currencies of the money `node` reads, in order; none inside a quantifier (a name bound
    there), where it cannot be read alone. The reason (`_mixed_currencies`) and its memo key
    (`_currencies_reader`) read them alike."""
    try:
        kept = explainer.kept(node, {}) or []
    except Exception:
        return ()
    return tuple(sorted({v.currency for v in kept if getattr(v, "currency", None)}))


def _money_aggregates(node: ast.Node) -> list[ast.Aggregate]:
    """The money `sum`, `min` and `max` a comparing condition's operands hold (`not (…)` too, and
    within arithmetic, `sum(…) + 1 EUR`); none for a condition that is not keyed by its operands
    (a quantifier's), whose reason therefore names no currencies (its memo key could not hold them)."""
    atom = node.operand if isinstance(node, ast.Not) else node
    operands = _operands(atom)
    if operands is None:
        return []
    return [
        item
        for operand in operands
        for item in ast.walk(operand)
        if isinstance(item, ast.Aggregate) and item.func != "count" and getattr(item.type, "name", None) == "money"
    ]


def _closes_at_end(text: str, start: int) -> bool:
    """Whether the parenthesis opened before `start` closes at the end of `text` (quoted text
    aside): `count(u in usage) + count(…)` is arithmetic over two aggregates, not one."""
    depth, quote, i = 1, "", start
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1  # an escaped character
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i == len(text) - 1
        i += 1
    return False


def _name(text: str) -> str:
    """A field as an analyst reads it (`account.segments` → account segments); an aggregate by
    what it counts (`count(u in usage where … within 1 month)` → count of usage within 1 month);
    any other expression as written, arithmetic over aggregates too (until 2026-12-03
    `count(u in usage) + count(u in usage where …)` was named as its second aggregate, with the
    total for its value). (The window is found by `rfind`, not by the pattern: a lazy match up to
    an optional ` within …)` took time quadratic in the condition's length.)"""
    if text and all(part.isidentifier() for part in text.split(".")):
        return text.replace(".", " ").replace("_", " ")
    aggregate = _AGGREGATE.match(text)
    if aggregate is not None and text.endswith(")") and _closes_at_end(text, text.index("(") + 1):
        func, _, collection = aggregate.groups()
        inside = text[aggregate.end() : -1]
        window = inside[inside.rfind(_WITHIN) + len(_WITHIN) :] if _WITHIN in inside else ""
        within = f" within {window}" if window and "(" not in window and ")" not in window else ""
        # what it keeps, said (until 2026-12-02 "count of usage: 2" where the scenario had 3 records)
        kept = inside[: inside.rfind(_WITHIN)] if within else inside
        where = kept[kept.find(_WHERE) + len(_WHERE) :].strip() if _WHERE in kept else ""
        if where:
            # (up to 160 characters: until 2026-12-04 60, which hid two usage sections' conditions)
            where = f" where `{where}`" if len(where) <= 160 else " (the records its `where` keeps)"
        return f"{func} of {_name(collection)}{where}{within}"
    return f"`{text}`"


def _measure(subject: str) -> str:
    if subject.startswith("uninterrupted(") or subject.endswith(".maturity"):
        return "subscription uninterrupted"
    if subject.endswith(".age"):
        return "subscription running"
    since = subject.removeprefix("as_of.date - ")
    if since != subject and all(part.isidentifier() for part in since.split(".")):
        return f"time since {_name(since)}"  # (until 2026-12-02 the expression as written, in backticks)
    return _name(subject)


def _shown(value: Any) -> str:
    return listed(value) if isinstance(value, list | tuple) else f"`{value}`"


def _actual(f: Mapping[str, Any]) -> str:
    return _shown(f["actual"])


def _line(f: Mapping[str, Any]) -> str:
    what = f"`{f['product']}`" if "product" in f else f"a {f.get('product_type', '')} product"
    bundle = f" in bundle `{f['bundle']}`" if "bundle" in f else ""
    lines = ", ".join("`" + "` in `".join(str(line).split(" in ", 1)) + "`" for line in f["actual"])
    held = f"the lines are {lines}" if lines else "there is no line"
    return f"products: no line of {what}{bundle} ({held})"


def _due_turned(f: Mapping[str, Any]) -> str:
    """ " (due in 19 days)" beside `account.due_days_ago: -19` (and the other way round): a negative
    count of days said the way an analyst reads it (until 2026-12-02 the bare -19)."""
    subject, actual = f.get("subject"), f.get("actual")
    if subject not in ("account.due_days_ago", "account.due_in_days") or not isinstance(actual, int | str):
        return ""
    try:
        days = int(actual)
    except ValueError:
        return ""
    if days >= 0:
        return ""
    plural = "s" if -days != 1 else ""
    return f" (due in {-days} day{plural})" if subject == "account.due_days_ago" else f" (due {-days} day{plural} ago)"


def _listed_or_as_is(value: Any) -> Any:
    """A list of values written out (`a`, `b`), anything else as it is (a comparison's side)."""
    return listed(value) if isinstance(value, list | tuple) else value


def _after_interruption(f: Mapping[str, Any]) -> str:
    """`, after N days interrupted from A to B`: what reset a span of uninterrupted time."""
    gap = f.get("after_interruption")
    if gap is None:
        return ""
    return f", after {_days(gap['days'])} interrupted from {gap['from']} to {gap['to']}"


def _days(count: Any) -> str:
    """ "1 day", "40 days" (until 2026-12-03 "1 days")."""
    return f"{count} day" if count == 1 else f"{count} days"


def _span_from(f: Mapping[str, Any]) -> str:
    """ "(since A, after …)" beside a span: the day it counts from and what reset it; "(it starts
    on A)" for one not begun, and "(account due date A is N days ahead)" for a time since a date
    that is no start (`_ahead`; until 2026-12-03 a due date "started" too); "(interrupted since A:
    N days so far)" for one an interruption still going on keeps at nothing (until 2026-12-03
    "since" the billing day, as if it counted from it)."""
    if "starts" in f and "ahead" in f:
        return f"({_name(f['subject'].removeprefix('as_of.date - '))} {f['starts']} is {f['ahead']} ahead)"
    if "starts" in f:
        return f"(it starts on {f['starts']})"
    gap = f.get("after_interruption")
    if gap is not None and gap.get("ongoing"):
        return f"(interrupted since {gap['from']}: {_days(gap['days'])} so far)"
    return f"(since {f['since']}{_after_interruption(f)})"


def _listed_expected(f: Mapping[str, Any]) -> str:
    return _shown(f["expected"])


def _needed_among(f: Mapping[str, Any], negated: bool) -> str:
    """What a `contains` needs: "all of `a`, `b`", or of one value (`"vip" in account.segments`,
    `account.segments contains "vip"`) "`vip` among them" ("not among them" negated)."""
    expected = f["expected"]
    one = expected[0] if isinstance(expected, list | tuple) and len(expected) == 1 else None
    if one is None and not isinstance(expected, list | tuple):
        one = expected
    if one is None:
        return f"the rule {'excludes having' if negated else 'needs'} all of {_listed_expected(f)}"
    if isinstance(one, str) and len(one) > 1 and one[0] == one[-1] == '"':
        one = one[1:-1]  # text as the rule writes it, told as a code
    return f"the rule needs `{one}` {'not ' if negated else ''}among them"


def _other(f: Mapping[str, Any], measure: Any = None) -> str:
    """The other side of a comparison: a field or computed value the scenario gives, named with
    its value ("account start (2014-06-01)"), or the rule's constant as it is written (until
    2026-12-03 a field's value was told as if the rule stated it)."""
    expected = _listed_or_as_is(f["expected"])
    other = f.get("other")
    if not other:
        return str(expected)
    named = (measure or _name)(other)
    return f"{named}: {expected}" if "(" in str(expected) else f"{named} ({expected})"


def _bound(f: Mapping[str, Any], which: str) -> str:
    """A `between`'s bound: the rule's constant, or the field it names with its value."""
    other = f.get(f"{which}_other")
    return str(f[which]) if not other else f"{_name(other)} ({f[which]})"


def _out_of_range(f: Mapping[str, Any]) -> str:
    outside = "a value outside" if f.get("negated") else "between"
    if "value" in f:  # a constant written first (`10 between account.due_days_ago and 20`)
        given = [
            f"{_name(f[k + '_other'])}: {f[k]}{_due_turned({'subject': f[k + '_other'], 'actual': f[k]})}"
            for k in ("low", "high")
            if f.get(k + "_other")
        ]
        bounds = [_name(f[k + "_other"]) if f.get(k + "_other") else str(f[k]) for k in ("low", "high")]
        where = "outside" if f.get("negated") else "between"
        return f"{', '.join(given)}; the rule needs {f['value']} {where} {bounds[0]} and {bounds[1]}"
    if "since" in f:  # a span, in the rule's unit (until 2026-12-03 in days, the interruption untold)
        head = f"{_measure(f['subject'])} for {f['actual']} {_span_from(f)}"
    else:
        head = f"{_name(f['subject'])}: {f['actual']}{_due_turned(f)}"
    return f"{head}; the rule needs {outside} {_bound(f, 'low')} and {_bound(f, 'high')}"


_DAYS_UNITS = re.compile(r"\b\d+ (day|week)s?\b")
_MONTHS_UNITS = re.compile(r"\b\d+ (month|year)s?\b")
_CURRENCIES = re.compile(r"\d ([A-Z]{3})\b")


def _not_comparable_kinds(f: Mapping[str, Any]) -> str:
    """The words after `not_comparable`'s sentence: which values do not compare, read off the
    condition and the value it met ("(days with months)" for `183 days` against a range in
    months, "(money in USD with money in EUR)"); both kinds only where neither shows (until
    2026-12-03 always both, "(days with months, money in another currency)", the money part
    beside durations too)."""
    actual = f.get("actual")
    met = " ".join(map(str, actual)) if isinstance(actual, list) else str(actual or "")
    text = f"{met} {f.get('condition', '')}"  # (the value met first: "money in USD with money in EUR")
    days = list(dict.fromkeys(m.group(1) + "s" for m in _DAYS_UNITS.finditer(text)))
    months = list(dict.fromkeys(m.group(1) + "s" for m in _MONTHS_UNITS.finditer(text)))
    currencies = list(dict.fromkeys(m.group(1) for m in _CURRENCIES.finditer(text)))
    kinds = []
    if days and months:
        kinds.append(f"{' or '.join(days)} with {' or '.join(months)}")
    if len(currencies) > 1:
        kinds.append(" with ".join(f"money in {c}" for c in currencies))
    elif currencies:
        kinds.append("money in another currency")
    return f" ({', '.join(kinds) if kinds else 'days with months, money in another currency'})"


register(
    {
        "duration_not_met": lambda f: (
            f"{_measure(f['subject'])} for {f['actual']} {_span_from(f)}; "
            + f"the rule needs {_OP_NEEDS[f['op']]}{_other(f, _measure)}"
        ),
        "threshold_not_met": lambda f: (
            f"{_name(f['subject'])}: {_listed_or_as_is(f['actual'])}{_due_turned(f)}; "
            f"the rule needs {_OP_NEEDS[f['op']]}{_other(f, _measure)}"
        ),
        "value_not_listed": lambda f: (
            f"{_name(f['subject'])}: {_actual(f)}; the rule needs one of {_listed_expected(f)}"
        ),
        "value_excluded": lambda f: f"{_name(f['subject'])}: {_actual(f)}; the rule excludes {_listed_expected(f)}",
        "no_overlap": lambda f: f"{_name(f['subject'])}: {_actual(f)}; the rule needs one of {_listed_expected(f)}",
        "overlap_excluded": lambda f: f"{_name(f['subject'])}: {_actual(f)}; the rule excludes {_listed_expected(f)}",
        "not_contained": lambda f: f"{_name(f['subject'])}: {_actual(f)}; {_needed_among(f, False)}",
        "not_within": lambda f: (
            f"{_name(f['subject'])}: {_actual(f)}; the rule needs "
            f"{'each to be ' if isinstance(f.get('actual'), list) else ''}one of {_listed_expected(f)}"
        ),
        "within_excluded": lambda f: (
            f"{_name(f['subject'])}: {_actual(f)}; the rule needs "
            + ("one of them outside " if isinstance(f.get("actual"), list) else "a value other than ")
            + _listed_expected(f)
        ),
        "contained_excluded": lambda f: f"{_name(f['subject'])}: {_actual(f)}; {_needed_among(f, True)}",
        "out_of_range": _out_of_range,
        "value_false": lambda f: f"{_name(f['subject'])}: {f['actual']}; the rule needs {f['wanted']}",
        "product_missing": _line,
        "none_match": lambda f: (
            f"{_name(f['collection'])}: none of {f['count']} matches `{f['where']}`"
            + "".join(f"; {m['item']} fails `{m['fails']}`" for m in f.get("misses", ()))
            + ("; …" if 0 < len(f.get("misses", ())) < f["count"] else "")
            if f["count"]
            else f"{_name(f['collection'])}: none; the rule needs one where `{f['where']}`"
        ),
        "not_all_match": lambda f: (
            f"{_name(f['collection'])}: {f['count'] - f['matched'] - f.get('unknown', 0)} of {f['count']} "
            f"do{'es' if f['count'] - f['matched'] - f.get('unknown', 0) == 1 else ''} not match `{f['where']}`"
            + (f" ({f['unknown']} unknown)" if f.get("unknown") else "")
        ),
        "some_match": lambda f: (
            f"{_name(f['collection'])}: {f['matched']} of {f['count']} match `{f['where']}`; the rule needs none"
        ),
        "all_match": lambda f: (
            f"{_name(f['collection'])}: all {f['count']} match `{f['where']}`; the rule needs one that does not"
            if f["count"]
            else f"{_name(f['collection'])}: none; the rule needs one that does not match `{f['where']}`"
        ),
        "value_missing": lambda f: (
            f"{_name(f['missing'])} is not known, so `{f['condition']}` cannot hold"
            if "currencies" not in f
            else f"{_name(f['missing'])} is not known: it reads money in "
            + " and ".join(f["currencies"])
            + f", which is never added up or compared across currencies, so `{f['condition']}` cannot hold"
            ' (keep one currency with `where …currency == "EUR"`)'
        ),
        "not_comparable": lambda f: (
            f"`{f['condition']}` cannot hold: "
            + (
                f"{_name(f['subject'])} `{f['actual']}` does not compare with what the rule names"
                if "subject" in f and f.get("actual") is not None
                else "some values do not compare with what the rule names"
            )
            + _not_comparable_kinds(f)
        ),
        "condition_not_met": lambda f: (
            f"`{f['condition']}` does not hold" + (f" ({'; '.join(f['values'])})" if f.get("values") else "")
        ),
        "section_not_met": "criteria section `{section}` does not hold",
        "when_not_met": "criteria `when` does not hold",
    }
)

#: the codes of the reasons this module gives (a failing condition of a criteria section)
CONDITION_CODES = frozenset(
    (
        "duration_not_met",
        "threshold_not_met",
        "value_not_listed",
        "value_excluded",
        "no_overlap",
        "overlap_excluded",
        "not_contained",
        "contained_excluded",
        "not_within",
        "within_excluded",
        "out_of_range",
        "value_false",
        "product_missing",
        "none_match",
        "not_all_match",
        "some_match",
        "all_match",
        "value_missing",
        "not_comparable",
        "condition_not_met",
    )
)


#: (condition, the values it compares) → its outcome and reason; at most this many are kept
_MEMO = 16384


class Reading:
    """What one decision has read and explained of its scenario: each operand's value and each
    condition's explanation, by their keys (`WhyNot._read_key`, `WhyNot._explained`). Made per
    decision, so nothing read of a scenario outlives its decision, whatever the caller changes
    in it afterwards, and threads never share one."""

    __slots__ = ("scenario", "values")

    def __init__(self, scenario: Any) -> None:
        self.scenario = scenario
        self.values: dict[Any, Any] = {}


class WhyNot:
    """The failing conditions of a rule set's criteria entries, as reason records (slow path).

    A condition that compares values (`x in {…}`, `x >= 6 months`, `x overlaps {…}`, a between, a
    flag) says the same for the same values: its outcome and record are kept, keyed by the
    condition and what its operands are in this scenario (read, not explained), so a billing run
    explains each distinct failure once; the records are shared (never changed; each writes fresh
    copies of its data). A test of a line of a product is keyed by the lines' products. Other
    quantifiers (a usage record) are explained for each scenario, without a step per item, and
    their records are kept by what the explanation says (none of 3 records match). Within one
    decision (a `Reading` of its scenario), each operand is read once and each condition's text
    explained once, however many definitions state it.
    """

    def __init__(self, program: Any) -> None:
        self.program = program
        self.env = scenario_environment()
        self._memo: dict[tuple[Any, ...], tuple[bool | None, Reason | None]] = {}
        self._readers: dict[int, tuple[str, list[Any]]] = {}  # id(condition) → how its key is read
        self._brief: dict[int, list[Reason]] = {}
        self._entries: dict[tuple[Any, ...], tuple[Reason, ...]] = {}  # `reasons` by `_entry_key`
        self._entry_readers: dict[int, list[tuple[Any, Any]]] = {}  # entry index → `_readers_of`
        self._aggregates: dict[int, dict[str, ast.Aggregate]] = {}  # entry index → its `within` aggregates
        self._windows: dict[tuple[str, str], Any] = {}  # (as_of as written, aggregate text) → its window
        #: id(condition) → `_line_present`'s test: (its key, the attributes, their values, the lines' reader)
        self._line_tests: dict[int, tuple[tuple[Any, ...], tuple[str, ...], tuple[str, ...], Any] | None] = {}

    def section_reasons(self, index: int, scenario: Any) -> list[Reason]:
        """Brief reasons: entry `index` (a section, or `when:`) does not hold, without the values.

        The same record for every scenario, made once per entry (its JSON is then worked out once)."""
        found = self._brief.get(index)
        if found is None:
            entry = self.program.entries[index]
            span = entry.node.span
            code = "when_not_met" if entry.section == "when" else "section_not_met"
            found = [Reason(code, {"section": entry.section}, Source(span.file, span.line, span.column))]
            self._brief[index] = found
        return found

    def reasons(self, index: int, scenario: Any) -> list[Reason]:
        """Why entry `index` of the program does not hold for `scenario`: one record per failing
        condition, in a new list. `scenario` may be a `Reading` of it, which one decision passes
        for all its entries so that each operand is read once; the records of an entry whose
        conditions are all keyed by their operands are kept by the values of all of them."""
        reading = scenario if type(scenario) is Reading else Reading(scenario)
        entry = self.program.entries[index]
        key = self._entry_key(index, entry.node, reading)
        if key is not None:
            kept = self._entries.get(key)
            if kept is not None:
                again = self._rewindowed(index, kept, reading.scenario)
                if again is not None:
                    return again
        found: list[Reason] = []
        self._walk(entry.node, entry.section, reading, found)
        if not found:  # it holds here (the caller asked anyway): say so rather than nothing
            span = entry.node.span
            found.append(
                Reason(
                    "condition_not_met",
                    {"section": entry.section, "condition": span.text, "verdict": VERDICTS[False]},
                    Source(span.file, span.line, span.column),
                )
            )
        if key is not None:
            if len(self._entries) >= _MEMO:
                self._entries.clear()
            self._entries[key] = tuple(found)
        return found

    def _rewindowed(self, index: int, kept: tuple[Reason, ...], scenario: Any) -> list[Reason] | None:
        """The kept reasons of entry `index`, each naming this scenario's window where it names one
        (a reason is kept by the values read, and an aggregate's window is the scenario's own, its
        `as_of`: until 2026-12-03 a section of two `within` counts told the window of the first
        scenario that failed it for every later one); None where one must be made again."""
        if not any("window" in reason.facts for reason in kept):
            return list(kept)
        aggregates = self._aggregates.get(index)
        if aggregates is None:
            node = self.program.entries[index].node
            aggregates = self._aggregates[index] = {
                n.span.text: n for n in ast.walk(node) if isinstance(n, ast.Aggregate) and n.within is not None
            }
        found: list[Reason] = []
        for reason in kept:
            if "window" in reason.facts:
                aggregate = aggregates.get(str(reason.facts.get("subject")))
                again = None if aggregate is None else _with_window(reason, self._window(aggregate, scenario))
                if again is None:
                    return None
                reason = again
            found.append(reason)
        return found

    def _rewindowed_atom(
        self, kept: tuple[bool | None, Reason | None], node: ast.Node, scenario: Any
    ) -> tuple[bool | None, Reason | None] | None:
        """A condition's kept outcome and reason, the reason naming this scenario's window (a
        reason is kept by the values it compares, shared by scenarios billed on other days: keyed
        by `as_of` too, the "why not" of 400 definitions took 1.8 times as long); None where the
        reason must be made again."""
        outcome, reason = kept
        assert reason is not None
        atom = node.operand if isinstance(node, ast.Not) else node
        subject = reason.facts.get("subject")
        for operand in _operands(atom) or ():
            if isinstance(operand, ast.Aggregate) and operand.within is not None and operand.span.text == subject:
                again = _with_window(reason, self._window(operand, scenario))
                return None if again is None else (outcome, again)
        return None

    def _window(self, aggregate: ast.Aggregate, scenario: Any) -> Any:
        """The window `aggregate` reads in `scenario`: its `as_of` and the aggregate's text decide it
        (worked out once for the many definitions that state one condition)."""
        key = (scenario.as_of.isoformat(), aggregate.span.text)  # (one instant at two offsets: two windows' words)
        found = self._windows.get(key, _UNREAD)
        if found is _UNREAD:
            if len(self._windows) >= _MEMO:
                self._windows.clear()
            found = self._windows[key] = Explainer(self.env, scenario).window(aggregate, {})
        return found

    def _entry_key(self, index: int, node: ast.Node, reading: Reading) -> tuple[Any, ...] | None:
        """The entry and the values of all its conditions' operands; None when one of its
        conditions is not keyed by its operands, or when it has a single condition (whose own key
        is as quick)."""
        readers = self._entry_readers.get(index)
        if readers is None:
            readers = self._entry_readers[index] = self._readers_of(node)
        return self._read_key(index, readers, reading) if readers else None

    @staticmethod
    def _read_key(first: Any, readers: list[tuple[Any, Any]], reading: Reading) -> tuple[Any, ...] | None:
        """`first` and the values the readers give (each operand read once per reading), or None
        when one cannot be keyed."""
        values = reading.values
        key: list[Any] = [first]
        for operand, reader in readers:
            frozen = values.get(operand, _UNREAD)
            if frozen is _UNREAD:
                frozen = values[operand] = reader(reading.scenario)
            if frozen is _UNKEYED:
                return None
            key.append(frozen)
        return tuple(key)

    def _readers_of(self, node: ast.Node) -> list[tuple[Any, Any]]:
        """Every operand reader of the entry's conditions in order, or [] (see `_entry_key`)."""
        leaves = _conditions(node)
        if len(leaves) < 2:
            return []
        readers: list[tuple[Any, Any]] = []
        seen: set[Any] = set()
        for leaf in leaves:
            kind, of_leaf = self._leaf_readers(leaf)
            if kind == "none":
                return []
            # each operand once: one read gives every condition reading it the same value (the N
            # product tests of a `products` section read the same lines: a key of N copies of
            # them cost N x L to hash, until 2026-12-04)
            for operand, reader in of_leaf:
                if operand not in seen:
                    seen.add(operand)
                    readers.append((operand, reader))
        return readers

    def _leaf_readers(self, node: ast.Node) -> tuple[str, list[Any]]:
        """`_readers` of a condition, made once per condition."""
        found = self._readers.get(id(node))
        if found is None:
            found = self._readers[id(node)] = _readers(node, self.env)
        return found

    def _walk(self, node: ast.Node, section: str, reading: Reading, found: list[Reason]) -> bool | None:
        """`node`'s outcome; when it does not hold, its failing conditions are added to `found`."""
        if isinstance(node, ast.BoolOp):
            outcomes = []
            mark = len(found)
            for operand in node.operands:
                outcomes.append(self._walk(operand, section, reading, found))
            if node.op == "and":
                outcome = False if False in outcomes else (None if None in outcomes else True)
            else:
                outcome = True if True in outcomes else (None if None in outcomes else False)
            if outcome is True:
                del found[mark:]  # an `or` that holds: its failing operands are not failures
            return outcome
        if isinstance(node, ast.Quantifier) and self._line_present(node, reading):
            return True  # a line of the product is on the bill: nothing to say
        key = self._key(node, reading)
        kept = self._memo.get(key) if key is not None else None
        if kept is not None and kept[1] is not None and "window" in kept[1].facts:
            kept = self._rewindowed_atom(kept, node, reading.scenario)  # None: its reason made again
        if kept is None:
            outcome, step, explainer = self._explained(node, reading)
            step = _negated_quantifier(node, step, explainer)
            missing = None
            if key is None and outcome is not True and step is not None and step.text == node.span.text:
                # not keyed by its operands (a quantifier over usage): explained afresh, but the same
                # explanation (none of 3 records match) gives the record made before; unknown for a
                # value missing among its items, also the value (which its last step does not name:
                # one scenario's missing `u.source_category` was another's reason)
                if outcome is None and "missing" not in step.facts:
                    missing = self._missing_among_items(node, reading, explainer)
                misses = _item_misses(node, explainer) if outcome is False else ()
                key = _said(node, section, outcome, step, missing)
                key = None if key is None else (*key, misses)
                kept = self._memo.get(key) if key is not None else None
                if kept is not None and kept[1] is not None and "window" in kept[1].facts:
                    kept = self._rewindowed_atom(kept, node, reading.scenario)
            else:
                misses = ()
            if kept is None:
                reason = None if outcome is True else self._reason(node, step, outcome, section, explainer, missing)
                if misses and reason is not None and reason.code == "none_match":
                    reason = Reason(reason.code, {**reason.facts, "misses": [dict(m) for m in misses]}, reason.source)
                kept = outcome, reason
                if key is not None:
                    if len(self._memo) >= _MEMO:
                        self._memo.clear()
                    self._memo[key] = kept
        if kept[1] is not None:
            found.append(kept[1])
        return kept[0]

    def _line_present(self, node: ast.Quantifier, reading: Reading) -> bool:
        """Whether `node` is a product test (`any p in ….products where p.product == "x" [and
        p.bundle == "y"]`, `_product_test`) that a line meets: looked up in the set of the lines'
        values, made once per decision, collection and attributes tested. False for anything
        else, or when no line meets it (then it is explained, and its reason names the lines).
        Until 2026-12-04 each test of a `products` section of N products walked the bill's L
        lines, N x L for the "why not" (1,000 products and lines: 3.6 s)."""
        if id(node) in self._line_tests:
            test = self._line_tests[id(node)]
        else:
            found = _product_test(node) if node.kind == "any" else None
            test = None
            if found is not None:  # (the key, the line's attributes tested, their values wanted, the lines' reader)
                attributes = tuple("type" if k == "product_type" else k for k in found)
                key = ("present", node.collection.span.text, attributes)
                test = (key, attributes, tuple(found.values()), _reader(node.collection, self.env))
            self._line_tests[id(node)] = test
        if test is None:
            return False
        key, attributes, wanted, lines = test
        present = reading.values.get(key)
        if present is None:  # (the lines as `_key` reads them; none, no subscription: explained)
            items = lines(reading.scenario) or ()
            present = reading.values[key] = frozenset(tuple(getattr(x, a, None) for a in attributes) for x in items)
        return wanted in present

    def _explained(self, node: ast.Node, reading: Reading) -> tuple[bool | None, Step | None, Explainer]:
        """The condition's outcome and its last step, worked out once per reading and condition
        text (several definitions state the same condition; one not keyed, such as a quantifier
        over usage, is otherwise explained again for each). A condition's text decides its typing
        (a money threshold names its currency), so one text is one condition."""
        values = reading.values
        text = node.span.text
        found = values.get(("explained", text)) if text else None
        if found is None:
            explainer = Explainer(self.env, reading.scenario, quiet_items=True)
            outcome = explainer.explain(node)
            found = outcome, explainer.steps[-1] if explainer.steps else None, explainer
            if text:
                values[("explained", text)] = found
        return found

    def _missing_among_items(self, node: ast.Node, reading: Reading, explainer: Explainer) -> str | None:
        """The value an unknown condition found missing (`_missing`), walking a quantifier's items
        when the quiet explainer recorded no step for them: once per decision and condition text."""
        found = _missing(explainer.steps) or explainer.noted_missing
        if found is None and explainer.quiet_items:
            text = node.span.text
            kept = reading.values.get(("missing", text)) if text else None
            if kept is None:
                full = Explainer(explainer.env, explainer.scenario)
                full.explain(node)
                kept = (_missing(full.steps),)
                if text:
                    reading.values[("missing", text)] = kept
            found = kept[0]
        return found

    def _reason(
        self,
        node: ast.Node,
        step: Step | None,
        outcome: bool | None,
        section: str,
        explainer: Explainer,
        missing: str | None = None,
    ) -> Reason:
        span = node.span
        facts: dict[str, Any] = {"section": section, "condition": span.text}
        code = "condition_not_met"
        if step is not None and step.text == span.text and step.facts.get("kind") == "not" and "values" in step.facts:
            facts["values"] = list(step.facts["values"])  # `not (a or b)`: the values that made `a or b` hold
        if step is not None and step.text == span.text and step.facts.get("kind") != "not":
            f = step.facts
            kind, negated = f.get("kind"), bool(f.get("negated"))
            facts.update((k, v) for k, v in f.items() if k != "kind")
            if outcome is None and "missing" in f:
                code = "value_missing"
            elif kind == "compare":
                code = "threshold_not_met"
                if "in_unit" in f and not negated:
                    code = "duration_not_met"
                    facts["actual"] = facts.pop("in_unit")
                elif negated:
                    code = "condition_not_met"
                    facts["values"] = [step.detail]  # (`not x == y`: what x is)
            elif kind in ("in", "overlaps", "contains", "within"):
                code = {
                    ("in", False): "value_not_listed",
                    ("in", True): "value_excluded",
                    ("overlaps", False): "no_overlap",
                    ("overlaps", True): "overlap_excluded",
                    ("contains", False): "not_contained",
                    ("contains", True): "contained_excluded",
                    ("within", False): "not_within",
                    ("within", True): "within_excluded",
                }[(kind, negated)]
            elif kind == "between":
                code = "out_of_range"
                if "in_unit" in f:  # a span: in the rule's own unit, as `duration_not_met` tells it
                    facts["actual"] = facts.pop("in_unit")
            elif kind == "value":
                code = "value_false"
                facts["wanted"] = "false" if negated else "true"
            elif kind == "any" and not negated:
                code = "none_match"
                line = _product_test(node)
                if line is not None and f["collection"].endswith(".products"):
                    code = "product_missing"
                    for key in ("subject", "matched", "count", "where", "collection"):
                        facts.pop(key, None)
                    facts.update(line)
                    assert isinstance(node, ast.Quantifier)
                    items = explainer.value(node.collection, {}) or []
                    facts["actual"] = [  # the lines, with their bundles when the rule names one
                        f"{item.product} in {item.bundle}" if "bundle" in line and item.bundle else item.product
                        for item in items
                    ]
            elif kind == "all" and not negated:
                code = "not_all_match"
            elif kind == "any":
                code = "some_match"
            elif kind == "all":  # `not all …` where every record matches (until 2026-12-03 no values named)
                code = "all_match"
        if outcome is None and code != "value_missing":  # unknown, and not for a value the step says is missing
            if missing is None:
                missing = _missing(explainer.steps) or _missing_element(explainer, node)
            if missing is None and explainer.quiet_items:  # a quantifier's items record no step: walk them
                full = Explainer(explainer.env, explainer.scenario)
                full.explain(node)
                missing = _missing(full.steps)
            if missing is not None:  # `not x overlaps {…}` with x missing: say so
                code, facts["missing"] = "value_missing", missing
            else:  # nothing missing: values that do not compare (`14 days not in {1 month}`, `not (x == …)`)
                code = "not_comparable"
        if code == "value_missing" and (currencies := _mixed_currencies(node, explainer)):
            facts["currencies"] = currencies
        if "starts" in facts:
            _ahead(facts, explainer.scenario)
        facts["verdict"] = VERDICTS[outcome]
        return Reason(code, facts, Source(span.file, span.line, span.column))

    def _key(self, node: ast.Node, reading: Reading) -> tuple[Any, ...] | None:
        """The condition and the values of its operands (each with its type and text, so that
        values equal but written differently, `1.0` and `1`, are not taken for one another), or
        None. The operands are read by closures made once per condition (`value_getter`), or by
        the explainer where there is none."""
        kind, readers = self._leaf_readers(node)
        if kind == "none":
            return None
        return self._read_key(id(node), readers, reading)


def _ahead(facts: dict[str, Any], scenario: Any) -> None:
    """Fact `ahead` ("3 days") for the time since a date still ahead of the billing date that is no
    start (`as_of.date - account.due_date` with the bill due in 3 days): it has not begun, but a
    due date does not "start" (`_span_from`). A start (`subscription.start`, `billing_term_start`)
    keeps "it starts on"."""
    subject = str(facts.get("subject", ""))
    field = subject.removeprefix("as_of.date - ")
    if field == subject or not all(part.isidentifier() for part in field.split(".")) or field.endswith("start"):
        return
    try:  # (the span ends on `as_of.date`, its local date)
        days = (date.fromisoformat(str(facts["starts"])) - scenario.as_of.date()).days
    except (AttributeError, TypeError, ValueError):
        return
    if days > 0:
        facts["ahead"] = f"{days} day{'s' if days != 1 else ''}"


def _missing_element(explainer: Any, node: ast.Node) -> str | None:
    """The first missing element of the list or set a membership reads (`usage[1].device`, or
    `subscription.concurrent_usage` written in a set), or None: where `x not in S` has no answer."""
    while isinstance(node, ast.Not):
        node = node.operand
    sides = (
        (node.collection,)
        if isinstance(node, ast.Membership)
        else (node.left, node.right)
        if isinstance(node, ast.SetRelation)
        else ()
    )
    for side in sides:
        if isinstance(side, ast.SetLiteral):
            for item in side.items:
                if not isinstance(item, ast.Literal) and explainer.value(item, {}) is None:
                    return item.span.text
        elif isinstance(side, ast.Attribute):
            outer = getattr(side.obj, "type", None)
            if outer is not None and outer.name == "list":
                records = explainer.value(side.obj, {}) or []
                for i, record in enumerate(records):
                    if getattr(record, side.name, None) is None:
                        return f"{side.obj.span.text}[{i}].{side.name}"
    return None


def _missing(steps: list[Step]) -> str | None:
    """The value the last step that found one missing names (`usage[0].service_type`), or None."""
    return next((s.facts["missing"] for s in reversed(steps) if "missing" in s.facts), None)


def _operands(node: ast.Node) -> tuple[ast.Node, ...] | None:
    """The values a comparing condition reads, or None for one whose outcome needs more."""
    if isinstance(node, ast.Compare | ast.SetRelation):
        return node.left, node.right
    if isinstance(node, ast.Membership):
        return node.item, node.collection
    if isinstance(node, ast.Between):
        return node.value, node.low, node.high
    if isinstance(node, ast.Name | ast.Attribute):
        return (node,)
    return None


def _readers(node: ast.Node, env: Any) -> tuple[str, list[tuple[Any, Any]]]:
    """How `WhyNot._key` reads a condition's operands: ("operands", [(the operand's key, a
    function of the scenario giving its value frozen)]) for each operand that is not a literal
    (a test of a line of a product: its lines' product, type and bundle), or ("none", []) for a
    condition whose outcome needs more than its operands' values. An operand's key is its text and
    its type: all criteria are typed against one environment, but an operand's type may come from
    what it is compared with (`sum(usage.amount)` is money in the currency of the threshold, and
    of no usage its value is zero in that currency)."""
    atom = node.operand if isinstance(node, ast.Not) else node
    if isinstance(atom, ast.Quantifier) and _product_test(atom) is not None:
        lines = _reader(atom.collection, env)
        return "operands", [(("lines", atom.collection.span.text), lambda s: _lines_key(lines(s)))]
    operands = _operands(atom)
    if operands is None:
        return "none", []
    readers: list[tuple[Any, Any]] = [
        ((type(o), o.span.text, repr(getattr(o, "type", None))), _frozen(_reader(o, env), o, env))  # text: hashed once
        for o in operands
        if not ast.written_constant(o)
    ]
    if any((o.span.text or "").startswith(_TOLD_WITH_HISTORY) for o in operands):
        readers.append((("subscription history",), _history_key))
    for o in _money_aggregates(node):  # a money sum's reason names the currencies it read (`_mixed_currencies`)
        readers.append((("currencies", o.span.text), _currencies_reader(o, env)))
    return "operands", readers


def _currencies_reader(node: ast.Aggregate, env: Any) -> Any:
    """The currencies of the money `node` reads in a scenario (a key part: one scenario's
    currencies were another's reason until keyed so, 2026-12-02)."""

    value = _reader(node, env)

    def read(scenario: Any) -> Any:
        try:
            if value(scenario) is not None:  # a sum in one currency (the usual case): nothing to tell
                return ()
        except Exception:  # inside a quantifier (a name bound there): skipped, as `_mixed_currencies` skips it
            return ()
        return _currencies_read(node, Explainer(env, scenario))

    return read


def _with_window(reason: Reason, window: Any) -> Reason | None:
    """`reason` with `window` for its own; None when another window is also in its words (a
    negated count names the records it read among its `values`: until 2026-12-03 only its
    `window` fact was set right, and its words told another scenario's days)."""
    if window == reason.facts["window"]:
        return reason
    if window is None or "values" in reason.facts:
        return None
    return Reason(reason.code, {**reason.facts, "window": window}, reason.source)


#: operands whose reason reads the subscription's start and status history beyond their value (a
#: span's `starts`, `after_interruption`): keyed by them too, or one scenario's interruption is told
#: for another with the same span (until 2026-12-02); only these: `subscription.type` and the
#: like stay keyed by their value alone
_TOLD_WITH_HISTORY = ("subscription.maturity", "subscription.age", "uninterrupted(subscription")


def _history_key(scenario: Any) -> Any:
    subscription = getattr(scenario, "subscription", None)
    if subscription is None:
        return None
    history = tuple((str(p.status), str(p.from_), str(p.to)) for p in subscription.status_history)
    return str(subscription.start), history


def _negated_quantifier(node: ast.Node, step: Step | None, explainer: Explainer) -> Step | None:
    """`not any u in usage where …`: the quantifier's own step, marked negated, in place of the
    explainer's "not" step (which names no record): its reason says how many records match
    (`some_match`: "1 of 6 match …; the rule needs none"), and is kept by those counts."""
    if not (isinstance(node, ast.Not) and isinstance(node.operand, ast.Quantifier)):
        return step
    if step is None or step.facts.get("kind") != "not":
        return step
    inner = next((s for s in reversed(explainer.steps) if s.text == node.operand.span.text), None)
    if inner is None or inner.facts.get("kind") not in ("any", "all"):
        return step
    return Step(node.span.text, step.outcome, step.detail, step.location, {**inner.facts, "negated": True})


def _conditions(node: ast.Node) -> list[ast.Node]:
    """The conditions `WhyNot._walk` keys one by one: those below `and` and `or`."""
    if isinstance(node, ast.BoolOp):
        return [leaf for operand in node.operands for leaf in _conditions(operand)]
    return [node]


#: how many of a quantifier's items `_item_misses` names (a usage list may be long)
_MISSES_SHOWN = 5


def _item_misses(node: ast.Node, explainer: Explainer) -> tuple[tuple[tuple[str, str], ...], ...]:
    """For `any x in C where A and B …` that holds for no item: per item (the first few), the
    first part of the `where` it fails (`usage[1]` fails `u.device in {"stb"}`), so that a reason
    says what each record lacks, not only the whole condition again. Nothing for a `where` of one
    part (the reason names it already) or a list not read here."""
    if not isinstance(node, ast.Quantifier) or node.kind != "any":
        return ()
    condition = node.condition
    if not (isinstance(condition, ast.BoolOp) and condition.op == "and"):
        return ()
    items = explainer.value(node.collection, {})
    if not isinstance(items, list | tuple) or not items:
        return ()
    judge = Explainer(explainer.env, explainer.scenario, quiet=True)
    name = node.collection.span.text or "item"
    found = []
    for k, item in enumerate(items[:_MISSES_SHOWN]):
        scope = {node.var: item}
        for part in condition.operands:
            # the first part it fails, not one it merely has no value for: the `any` is false, so
            # each item is, and an `and` is false only by a false part (one unknown item would
            # have made the whole unknown: `value_missing`, not this)
            if judge.condition(part, scope) is False:
                found.append((("item", f"{name}[{k}]"), ("fails", part.span.text or "")))
                break
    return tuple(found)


def _said(
    node: ast.Node, section: str, outcome: bool | None, step: Step, missing: str | None = None
) -> tuple[Any, ...] | None:
    """The memo key of a condition's reason made from its explanation alone (the step's facts,
    which `WhyNot._reason` copies, and the value found missing among a quantifier's items; a
    product test's reason reads the lines too: never keyed here), or None."""
    if _product_test(node.operand if isinstance(node, ast.Not) else node) is not None:
        return None
    facts = [_freeze(v) for v in step.facts.values()]
    if _UNKEYED in facts:
        return None
    return ("said", id(node), section, outcome, missing, *step.facts, *facts)


def _lines_key(lines: Any) -> Any:
    return _UNKEYED if lines is None else tuple((p.product, p.type, p.bundle) for p in lines)


def _frozen(read: Any, node: ast.Node | None = None, env: Any = None) -> Any:
    """A key part of an operand's value; for a computed value without one (`node` given), what it
    lacks (`Explainer.lacking`): the same quotient is missing for a usage left out and for a usage
    of 0, and a reason names which (one scenario's was another's until keyed so, 2026-12-02)."""
    if node is None or not computed_parts(node):
        return lambda scenario: _freeze(read(scenario))

    def read_or_lacking(scenario: Any) -> Any:
        value = read(scenario)
        return _freeze(value) if value is not None else ("lacking", Explainer(env, scenario).lacking(node, {}))

    return read_or_lacking


def _reader(node: ast.Node, env: Any) -> Any:
    """A function of the scenario giving `Explainer.value(node, {})`: a closure, or the explainer."""
    getter = value_getter(node, env)
    if getter is not None:
        return getter
    return lambda scenario: Explainer(env, scenario).value(node, {})


_UNKEYED = object()
_UNREAD = object()
_SCALARS = (str, int, Decimal, date, time, Enum, Money, Duration, Span)


def _freeze(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, _SCALARS):
        return type(value).__name__, str(value)
    if isinstance(value, list | tuple | set | frozenset):
        items = [_freeze(v) for v in value]
        if any(item is _UNKEYED for item in items):
            return _UNKEYED
        return type(value).__name__, tuple(items if isinstance(value, list | tuple) else sorted(items, key=repr))
    return _UNKEYED


def _product_test(node: ast.Node) -> dict[str, str] | None:
    """`any p in ….products where p.product == "x" [and p.bundle == "y"]`: {product, bundle}, else None.
    Only over product lines: a usage record has a `product` too, but no type or bundle."""
    if not isinstance(node, ast.Quantifier):
        return None
    elem = getattr(getattr(node.collection, "type", None), "elem", None)
    if elem is None or elem.record != "ProductLine":
        return None
    tests: list[ast.Node] = [node.condition]
    found: dict[str, str] = {}
    while tests:
        test = tests.pop(0)
        if isinstance(test, ast.BoolOp) and test.op == "and":
            tests[:0] = list(test.operands)
            continue
        if not (
            isinstance(test, ast.Compare)
            and test.op == "=="
            and isinstance(test.left, ast.Attribute)
            and isinstance(test.left.obj, ast.Name)
            and test.left.obj.id == node.var
            and test.left.name in ("product", "type", "bundle")
            and isinstance(test.right, ast.Literal)
            and isinstance(test.right.value, str)
        ):
            return None
        found["product_type" if test.left.name == "type" else test.left.name] = test.right.value
    if "product" not in found and "product_type" not in found:
        return None
    return {k: found[k] for k in ("product", "product_type", "bundle") if k in found}

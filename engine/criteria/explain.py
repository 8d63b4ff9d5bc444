"""Explanations: evaluate typed criteria step by step and record why each condition came out.

This is the slow path, used only when an explanation is requested (`decide --explain`), so the
compiled evaluators pay nothing for it. It follows the language's semantics directly
(three-valued logic: a condition over missing data is *unknown*, and an unknown criterion does
not hold), which the compiled code reaches through negation normal form.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from engine.criteria import ast, runtime
from engine.criteria import types as T
from engine.criteria.environment import FUNCTIONS, Environment
from engine.load import rule_file
from engine.values import Duration, Money, plain

_OP_WORDS = {
    "==": "equal to",
    "!=": "different from",
    "<": "less than",
    "<=": "at most",
    ">": "more than",
    ">=": "at least",
}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Step:
    """One condition's outcome, the values that decided it and where it is written."""

    text: str
    outcome: bool | None
    detail: str
    location: str
    #: the same as data: `kind` (compare, in, overlaps, contains, between, value, any, all),
    #: `subject` (as written), `actual` (its value, shown), `op`, `expected` (the other side as
    #: written, or its value when it is not a literal), `negated`; a quantifier's `collection`,
    #: `matched`, `count`, `where`; `missing` names what has no value
    facts: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def render(self) -> str:
        mark = {True: "✓", False: "✗", None: "?"}[self.outcome]
        return f"{mark} {self.detail} ({self.location})"

    @property
    def place(self) -> tuple[str, int, int]:
        """Where the condition is written: (file, line, column), read back from `location`."""
        return _place(self.location)

    def to_json(self) -> dict[str, Any]:
        """The step as data: the condition as written, its verdict, the facts, and its location."""
        file, line, column = _place(self.location)
        data: dict[str, Any] = {"condition": self.text, "verdict": VERDICTS[self.outcome]}
        facts = self.facts
        for k, v in facts.items():
            if k != "kind":
                data[k] = _jsonable(v) if isinstance(v, tuple | list) else v
        data["kind"] = facts.get("kind", "value")
        data["source"] = {"file": file, "line": line, "column": column}
        return data


@functools.lru_cache(maxsize=4096)
def _place(location: str) -> tuple[str, int, int]:
    """`Step.place`: read once per location (a trace's steps of one condition share it: a section
    of N products over L lines has N x L steps, at N places)."""
    file, line, column = location.rsplit(":", 2)
    return file, int(line), int(column)


#: a condition's outcome in words, as the trace and the reasons write it
VERDICTS = {True: "holds", False: "does not hold", None: "unknown"}


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


def show(value: Any, t: T.Type | None = None) -> str:
    """A value as an analyst would write it in a criterion."""
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if t is not None and t.name == "weekday" and isinstance(value, int):
        return _WEEKDAYS[value]
    if t is not None and t.name == "percent":
        return f"{_number(value)}%"
    if isinstance(value, frozenset | set):  # a set has no order of its own: sorted
        return "{" + ", ".join(sorted(show(v, t.elem if t else None) for v in value)) + "}"
    if isinstance(value, list | tuple):  # a list in its own order (`consumer.organisations`: nearest first)
        return "[" + ", ".join(show(v, t.elem if t else None) for v in value) + "]"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, runtime.Span) and isinstance(value.start, datetime):
        return _instant_span(value)
    if isinstance(value, Money | Duration | runtime.Span):
        return str(value)
    if isinstance(value, int | Decimal):
        return _number(value)
    return str(value)


def _instant_span(span: runtime.Span) -> str:
    """A span between two date-times (`as_of - u.at`) as it is compared, to the microsecond: `1 day
    30 minutes (since 2015-06-01 09:30:00+00:00)`; one not begun, `none yet (… is 1 hour later)`
    (until 2026-12-04 in whole days, "1 day" for 1 day and 30 minutes, beside "`<= 1 day` does
    not hold")."""
    if span.start > span.end:
        return f"none yet ({span.start} is {_elapsed(span.start - span.end)} later)"
    return f"{_elapsed(span.end - span.start)} (since {span.start})"


def _elapsed(delta: timedelta) -> str:
    """`1 day 2 hours 30 minutes`, `1 day 0.5 seconds`, `0 seconds`: the units that are not 0."""
    hours, rest = divmod(delta.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [
        f"{n} {unit}{'s' if n != 1 else ''}"
        for n, unit in ((delta.days, "day"), (hours, "hour"), (minutes, "minute"))
        if n
    ]
    if seconds or delta.microseconds or not parts:
        fraction = f".{delta.microseconds:06d}".rstrip("0") if delta.microseconds else ""
        parts.append(f"{seconds}{fraction} second{'' if (seconds, fraction) == (1, '') else 's'}")
    return " ".join(parts)


def _number(value: Any) -> str:
    """A number written out in full (no exponent form, and no limit on the digits of an int)."""
    if isinstance(value, int | Decimal):
        return plain(Decimal(value))
    return str(value)


@dataclass
class Explainer:
    env: Environment
    scenario: Any
    steps: list[Step] = field(default_factory=list)
    #: record no step, only outcomes (a filter's, or a quantifier's items when `quiet_items`)
    quiet: bool = False
    #: a quantifier records its own step but none for each item (the "why not" reads only the
    #: last step; a trace shows every item's)
    quiet_items: bool = False
    #: the value a quiet evaluation last found missing (as a full walk's last step naming one would
    #: name it): the "why not" of a quantifier unknown for its items, without walking them again
    noted_missing: str | None = None
    #: whether a quiet evaluation notes what it finds missing: a quantifier's items (whose steps a
    #: full walk records), not an aggregate's filter (quiet in a full walk too)
    noting: bool = False
    #: explain every operand of `and` and `or` (a trace), not only up to the one that decides
    every_operand: bool = False

    def explain(self, node: ast.Node) -> bool | None:
        return self.condition(node, {})

    # conditions: three-valued -------------------------------------------------------------------

    def condition(self, node: ast.Node, scope: dict[str, Any]) -> bool | None:
        if isinstance(node, ast.Not):
            before = len(self.steps)
            inner = self.condition(node.operand, scope)
            if (
                not self.quiet
                and not isinstance(node.operand, ast.BoolOp | ast.Not | ast.Quantifier)
                and len(self.steps) > before
            ):
                # the mark tells whether the written condition (`not …`) holds; the detail stays
                # factual; unknown, it is the written condition that is unknown (until 2026-12-03
                # the trace named the condition without its `not`)
                last = self.steps[-1]
                facts = dict(last.facts)
                if facts.pop("negated", False) is False:
                    facts["negated"] = True
                detail = last.detail
                if inner is None and node.operand.span.text and node.span.text:
                    detail = detail.replace(f"`{node.operand.span.text}` is unknown", f"`{node.span.text}` is unknown")
                self.steps[-1] = Step(
                    node.span.text, None if inner is None else not inner, detail, last.location, facts
                )
            elif not self.quiet and inner is not None:
                # a group, a quantifier or another `not`: its own steps stay as they are, and one more
                # says that the written condition is their negation
                written = node.operand.span.text
                detail = f"`{written}` {VERDICTS[inner]}, so `{node.span.text}` {VERDICTS[not inner]}"
                facts = {"kind": "not", "operand": written, "operand_verdict": VERDICTS[inner]}
                # the values that made the group so (SPEC 3.3: "the values that made it so"; until
                # 2026-12-02 a reason for `not (a or b)` named none)
                decided = [s.detail for s in self.steps[before:] if s.outcome is inner]
                if decided:
                    facts["values"] = decided
                self.steps.append(Step(node.span.text, not inner, detail, _where(node), facts))
            return None if inner is None else not inner
        if isinstance(node, ast.BoolOp):
            # a trace explains every operand (it names each failing criterion, not the first only:
            # SPEC 3.3 "for each criterion, its value"); a "why not" stops at the one that decides,
            # as the compiled code does, so the value it names missing is one that decided
            decisive = node.op == "or"  # True decides an `or`, False an `and`
            results = []
            for operand in node.operands:
                result = self.condition(operand, scope)
                if result is decisive and not self.every_operand:
                    return result
                results.append(result)
            if decisive in results:
                return decisive
            return None if None in results else not decisive
        if isinstance(node, ast.Quantifier):
            return self._quantifier(node, scope)
        if self.quiet:
            outcome, values = self._judge(node, scope)
            if outcome is None and self.noting:
                self.noted_missing = _missing_operand(self, node, values, scope) or self.noted_missing
            return outcome
        outcome, detail, facts = self._atom(node, scope)
        if outcome is None and node.span.text and node.span.text not in detail:
            detail = f"{detail}, so `{node.span.text}` is unknown"
        self.steps.append(
            Step(
                node.span.text,
                outcome,
                detail,
                f"{rule_file(node.span.file)}:{node.span.line}:{node.span.column}",
                facts,
            )
        )
        return outcome

    def _quantifier(self, node: ast.Quantifier, scope: dict[str, Any]) -> bool | None:
        items = self.value(node.collection, scope)
        quiet = self.quiet
        if items is None:
            if quiet:
                if self.noting:
                    self.noted_missing = node.collection.span.text
                return None
            absent = {"kind": node.kind, "collection": node.collection.span.text, "missing": node.collection.span.text}
            self.steps.append(
                Step(node.span.text, None, f"{node.collection.span.text} is missing", _where(node), absent)
            )
            return None
        judge = functools.partial(_quiet, self, noting=True) if self.quiet_items and not quiet else self.condition
        outcomes: list[bool | None] = []
        named = scope.get(_ITEMS, {})
        whole = self.lacking(node.collection, scope) if node.collection.span.text else ""
        if _PATH.fullmatch(whole) is None:  # (a set literal's item has no place as written: not named)
            whole = ""
        first: str | None = None  # what the first item without an answer lacks
        compared = self._text_compare(node) if judge == self.condition and not quiet else None
        for index, item in enumerate(items):
            if compared is not None:  # (an item's step made at once: see `_text_compare`)
                outcome = compared(item)
                if outcome is not None:
                    outcomes.append(outcome)
                    continue
            noted = self.noted_missing
            # the item's name (`usage[1]`), for a value it lacks (`lacking`)
            inner = (
                {**scope, node.var: item, _ITEMS: {**named, node.var: f"{whole}[{index}]"}}
                if whole
                else {**scope, node.var: item}
            )
            outcome = judge(node.condition, inner)
            if outcome is not None:  # a value an item lacks but that did not decide it explains nothing
                self.noted_missing = noted  # (until 2026-12-02 a Tuesday rental's device was named)
            elif first is None:
                first = self.noted_missing if self.noted_missing is not noted else None
            else:  # the first item's, named by its place
                self.noted_missing = first
            outcomes.append(outcome)
        if node.kind == "any":
            result = True if True in outcomes else (None if None in outcomes else False)
        else:
            result = False if False in outcomes else (None if None in outcomes else True)
        if quiet:
            return result
        matched, unknown = outcomes.count(True), outcomes.count(None)
        facts: dict[str, Any] = {
            "kind": node.kind,
            "collection": node.collection.span.text,
            "matched": matched,
            "count": len(outcomes),
            "where": node.condition.span.text,
        }
        if unknown:  # items the condition has no answer for: neither matching nor not (until 2026-12-02 not told)
            facts["unknown"] = unknown
        detail = f"{node.kind}: {matched} of {len(outcomes)} in {node.collection.span.text} match"
        self.steps.append(
            Step(node.span.text, result, detail + (f", {unknown} unknown" if unknown else ""), _where(node), facts)
        )
        return result

    def _text_compare(self, node: ast.Quantifier) -> Callable[[Any], bool | None] | None:
        """For a quantifier whose `where` compares a text field of the item with a text literal
        (`p.product == "x"`, each entry of a `products` section): a function that records an
        item's step, the one `condition` records, and gives its outcome; None (nothing recorded)
        for an item whose field is not a text, which `condition` then explains. None for any other
        `where`.

        A trace shows each item's step, so a section of N products over a bill of L lines has N x L
        steps; made this way, each costs a field read, a comparison and its words (until 2026-12-04
        the generic walk: 1,000 products over 1,000 lines took twice as long)."""
        where = node.condition
        if not (
            FAST_TEXT_ITEMS
            and type(where) is ast.Compare
            and where.op in ("==", "!=")
            and type(where.left) is ast.Attribute
            and type(where.left.obj) is ast.Name
            and where.left.obj.id == node.var
            and type(where.right) is ast.Literal
            and type(where.right.value) is str
        ):
            return None
        record = _type(where.left.obj)
        if record.name != "record":
            return None
        info = self.env.fields(record.record or "").get(where.left.name)
        if info is None or info.derived is not None or _type(where.left).name in ("money", "duration", "datetime"):
            return None
        attribute, wanted, equal = info.attribute, where.right.value, where.op == "=="
        text, subject, expected = where.span.text, where.left.span.text, where.right.span.text
        location = f"{rule_file(where.span.file)}:{where.span.line}:{where.span.column}"
        rest = f"{_OP_WORDS[where.op]} {expected}"
        steps = self.steps

        def compared(item: Any) -> bool | None:
            # what `condition` records for `where` (`_atom`, `_facts`, `_sentence`) when the item's
            # field is a text: no window, no span, nothing missing
            value = None if item is None else getattr(item, attribute)
            if type(value) is not str:
                return None
            outcome = (value == wanted) is equal
            facts = {"kind": "compare", "subject": subject, "actual": value, "op": where.op, "expected": expected}
            detail = f'{subject} = "{value}" {"is" if outcome else "is not"} {rest}'
            steps.append(Step(text, outcome, detail, location, facts))
            return outcome

        return compared

    def _judge(self, node: ast.Node, scope: dict[str, Any]) -> tuple[bool | None, tuple[Any, ...]]:
        """An atom's outcome and the values of its operands (`_atom` words them; a quiet
        explainer reads only the outcome)."""
        if isinstance(node, ast.Compare):
            left, right = self.value(node.left, scope), self.value(node.right, scope)
            return _compare(node.op, left, right, _type(node.left)), (left, right)
        if isinstance(node, ast.Membership):
            item, collection = self.value(node.item, scope), self.value(node.collection, scope)
            sign = runtime.SIGNS.get(_type(node.item).name)
            if sign is None and runtime.holds_missing(collection):  # a missing element equals nothing, known
                sign = runtime.plain_sign
            if item is None or collection is None:
                outcome = None
            elif sign is not None:  # equal as `==` says
                found = runtime.member(item, collection, sign)
                outcome = None if found is None else found != node.negated
            else:
                outcome = (item in collection) != node.negated
            return outcome, (item, collection)
        if isinstance(node, ast.SetRelation):
            left, right = self.value(node.left, scope), self.value(node.right, scope)
            sign = runtime.SIGNS.get(T.compared_elements(_type(node.left), _type(node.right)).name)
            if sign is None and (
                runtime.holds_missing(left) or (T.is_collection(_type(node.right)) and runtime.holds_missing(right))
            ):
                sign = runtime.plain_sign
            if left is None or right is None:
                outcome = None
            elif sign is not None:  # elements equal as `==` says
                if node.op == "overlaps":
                    outcome = runtime.overlap(left, right, sign)
                elif T.is_collection(_type(node.right)):
                    outcome = runtime.subset(right, left, sign)
                else:
                    outcome = runtime.member(right, left, sign)
            elif node.op == "overlaps":
                outcome = not frozenset(left).isdisjoint(right)
            elif T.is_collection(_type(node.right)):
                outcome = frozenset(right) <= frozenset(left)
            else:
                outcome = right in left
            return outcome, (left, right)
        if isinstance(node, ast.Between):
            v, lo, hi = (self.value(n, scope) for n in (node.value, node.low, node.high))
            t = _type(node.value)
            if v is None or lo is None or hi is None:
                outcome = None
            elif t.name == "time":
                outcome = runtime.time_between(v, lo, hi)
            else:
                a, b = _compare(">=", v, lo, t), _compare("<=", v, hi, t)
                outcome = None if a is None or b is None else a and b
            return outcome, (v, lo, hi)
        value = self.value(node, scope)
        return (None if value is None else bool(value)), (value,)

    def _atom(self, node: ast.Node, scope: dict[str, Any]) -> tuple[bool | None, str, dict[str, Any]]:
        """An atom's outcome, in words and as facts."""
        outcome, values = self._judge(node, scope)

        def lacking(side: ast.Node) -> str:
            return self.lacking(side, scope)

        if isinstance(node, ast.Compare):
            left, right = values
            subject, other, op = node.left, node.right, node.op
            if _literal(subject) and not _literal(other):
                # `6 months <= subscription.maturity` is told from the scenario's side, as it is
                # meant: maturity at least 6 months (until 2026-12-02 the constant was the subject)
                subject, other, left, right, op = other, subject, right, left, _FLIPPED[op]
            facts = _facts("compare", subject, left, other, right, lacking, op=op)
            window = self.window(subject, scope)
            if window is None and isinstance(subject, ast.Arith):
                # arithmetic over aggregates, one of them with `within` (on either side): its window
                # (until 2026-12-03 told only when the first aggregate had it)
                windowed = [n for n in ast.walk(subject) if isinstance(n, ast.Aggregate) and n.within is not None]
                if len(windowed) == 1:
                    window = self.window(windowed[0], scope)
            if window is not None:  # the records a `within` counts: told, not left to be worked out
                facts["window"] = window
            if isinstance(left, runtime.Span) and isinstance(right, Duration) and not isinstance(left.start, datetime):
                self._span_facts(facts, subject, left, right.unit, as_none=op in (">=", ">"))
            sentence = _sentence(subject, left, f"{_OP_WORDS[op]} {other.span.text}", outcome, right, other)
            if window is not None:
                sentence += f" ({window_words(window)})"
            return outcome, sentence, facts
        if isinstance(node, ast.Membership):
            item, collection = values
            if _literal(node.item) and not _literal(node.collection):
                # `"vip" in account.segments` told from the scenario's side, as `contains` is: the
                # account's segments, and the value the rule needs among them (until 2026-12-03 the
                # constant was the subject, and the account's segments what "the rule needs")
                facts = _facts("contains", node.collection, collection, node.item, item, lacking, negated=node.negated)
                if item is not None:
                    facts["expected"] = _items((item,), _type(node.item))
                verbs = ("does not contain", "contains") if node.negated else ("contains", "does not contain")
                sentence = _sentence(
                    node.collection, collection, node.item.span.text, outcome, item, node.item, verbs=verbs
                )
                return outcome, sentence, facts
            facts = _facts("in", node.item, item, node.collection, collection, lacking, negated=node.negated)
            return (
                outcome,
                _sentence(
                    node.item,
                    item,
                    f"in {node.collection.span.text}",
                    outcome,
                    collection,
                    node.collection,
                    verbs=("is not", "is") if node.negated else ("is", "is not"),
                ),
                facts,
            )
        if isinstance(node, ast.SetRelation):
            left, right = values
            if node.op == "contains" and _literal(node.left) and not _literal(node.right):
                # `{"vip"} contains account.segments` told from the scenario's side, as it is meant:
                # each segment within the set (until 2026-12-02 the set was the subject, and the
                # account's segments what "the rule needs")
                facts = _facts("within", node.right, right, node.left, left, lacking)
                verbs = ("is within", "is not within")
                sentence = _sentence(node.right, right, node.left.span.text, outcome, left, node.left, verbs=verbs)
                return outcome, sentence, facts
            verbs = {"overlaps": ("overlaps", "does not overlap"), "contains": ("contains", "does not contain")}[
                node.op
            ]
            first, second = node.left, node.right
            if node.op == "overlaps" and _literal(first) and not _literal(second):
                # `{"vip"} overlaps account.segments` told from the scenario's side, as its mirror
                # image (until 2026-12-03 the written set was the subject)
                first, second, left, right = second, first, right, left
            facts = _facts(node.op, first, left, second, right, lacking)
            return (
                outcome,
                _sentence(first, left, f"{second.span.text}", outcome, right, second, verbs=verbs),
                facts,
            )
        if isinstance(node, ast.Between):
            v, lo, hi = values
            facts = _facts("between", node.value, v, node.low, lo, lacking)
            facts["low"] = facts.pop("expected")
            facts["high"] = node.high.span.text if _literal(node.high) else show(hi, _type(node.high))
            if hi is None and "missing" not in facts:
                facts["missing"] = lacking(node.high)
            for bound, side in (("low", node.low), ("high", node.high)):
                if not _literal(side):  # a bound the scenario gives: named, as a comparison's `other`
                    facts[f"{bound}_other"] = side.span.text
            if _literal(node.value) and not (_literal(node.low) and _literal(node.high)):
                # `10 between account.due_days_ago and 20`: told from the scenario's side, the
                # bounds it gives and their values, and the constant the rule needs between them
                # (until 2026-12-03 the constant was the subject and the bounds "the rule needs")
                field, value = (node.low, lo) if not _literal(node.low) else (node.high, hi)
                facts = {
                    "kind": "between",
                    "subject": field.span.text,
                    "actual": _plain(value, _type(field)),
                    "value": node.value.span.text,
                    **{k: facts[k] for k in ("low", "high", "low_other", "high_other", "missing") if k in facts},
                }
            elif isinstance(v, runtime.Span) and isinstance(lo, Duration) and not isinstance(v.start, datetime):
                # a maturity between two durations: in the rule's unit, with what reset it (until
                # 2026-12-03 in days alone, and an interruption untold)
                self._span_facts(facts, node.value, v, lo.unit, as_none=True)
            return (
                outcome,
                _sentence(
                    node.value, v, f"between {node.low.span.text} and {node.high.span.text}", outcome, None, None
                ),
                facts,
            )
        (value,) = values
        read: dict[str, Any] = {"kind": "value", "subject": node.span.text, "actual": _plain(value, None)}
        if value is None:
            read["missing"] = lacking(node)
        return outcome, f"{node.span.text} = {show(value)}", read

    def _span_facts(
        self, facts: dict[str, Any], subject: ast.Node, span: runtime.Span, unit: Any, as_none: bool
    ) -> None:
        """A span's facts beside its value: `since`, the span in the rule's own unit (`in_unit`),
        the day it starts when it has not begun, and the interruption that reset it."""
        facts["since"] = span.start.isoformat()  # the span in the rule's own unit
        facts["in_unit"] = _in_unit(span, unit, as_none=as_none)
        subscription = getattr(self.scenario, "subscription", None)
        about_it = subject.span.text.startswith(("subscription.", "uninterrupted(subscription"))
        if span.days == 0 and about_it and subscription is not None and subscription.start > span.end:
            # no time yet: it starts later (until 2026-12-02 "since" named the billing date)
            facts["starts"] = subscription.start.isoformat()
        elif span.start > span.end:  # `as_of.date - subscription.billing_term_start` of a later start
            facts["starts"] = span.start.isoformat()  # (it said "0 months (since" that later day)
        elif about_it and subscription is not None and span.start > subscription.start:
            broken = _interruption_before(subscription, span.start, span.end)
            if broken is not None:  # what reset it (until 2026-12-02 left for the analyst to find)
                facts["after_interruption"] = broken

    # values ----------------------------------------------------------------------------------------

    def value(self, node: ast.Node, scope: dict[str, Any]) -> Any:
        if isinstance(node, ast.Literal):
            return node.value
        if isinstance(node, ast.SetLiteral):
            return frozenset(self.value(i, scope) for i in node.items)
        if isinstance(node, ast.Name):
            if node.id in scope:
                return scope[node.id]
            if "\x00element" in scope:
                element, record = scope["\x00element"]
                fields = self.env.fields(record)
                if node.id in fields:
                    return self._field(element, fields[node.id])
            return getattr(self.scenario, self.env.roots[node.id].attribute)
        if isinstance(node, ast.Attribute):
            return self._attribute(node, scope)
        if isinstance(node, ast.Arith):
            a, b = self.value(node.left, scope), self.value(node.right, scope)
            if node.op in "+-":
                return runtime.add(a, b, node.op == "-")
            if node.op == "*":
                return runtime.multiply(a, b, _type(node.left).name == "percent", _type(node.right).name == "percent")
            return runtime.divide(a, b)
        if isinstance(node, ast.Negate):
            return runtime.negate(self.value(node.operand, scope))
        if isinstance(node, ast.Call):
            args = [self.value(a, scope) for a in node.args]
            return FUNCTIONS[node.func][2](*args, self.scenario)
        if isinstance(node, ast.Aggregate):
            return self._aggregate(node, scope)
        raise AssertionError(f"cannot evaluate {type(node).__name__}")  # pragma: no cover

    def lacking(self, node: ast.Node, scope: dict[str, Any]) -> str:
        """What a value found missing lacks, as written: the innermost part of `node` without a
        value whose own operands have one. `as_of.date - subscription.billing_term_start` lacks the
        billing term's start; `10 / subscription.concurrent_usage` with a usage of 0 lacks nothing
        the scenario could give, so it is named whole (until 2026-12-02 the field was named, as if
        the scenario had left it out). A path (`subscription.binding_period.days`) is named whole."""
        for part in computed_parts(node):
            if not isinstance(part, ast.Literal | ast.SetLiteral) and self.value(part, scope) is None:
                return self.lacking(part, scope)
        text = node.span.text or ""
        named = scope.get(_ITEMS)
        if named:  # read through a quantifier's variable: named by the item (until 2026-12-03 `u.device`)
            root = _ROOT.match(text)
            if root is not None and root.group() in named:
                return str(named[root.group()]) + text[root.end() :]
        return text

    def _field(self, obj: Any, info: Any) -> Any:
        if info.derived is not None:
            return info.derived(obj, self.scenario)
        return getattr(obj, info.attribute)

    def _attribute(self, node: ast.Attribute, scope: dict[str, Any]) -> Any:
        obj = self.value(node.obj, scope)
        if obj is None:
            return None
        t = _type(node.obj)
        if t.name == "list" and t.elem is not None:  # a missing element's field is missing too
            return [None if item is None else self._step(item, t.elem, node.name) for item in obj]
        return self._step(obj, t, node.name)

    def _step(self, obj: Any, t: T.Type, name: str) -> Any:
        if t.name == "record":
            return self._field(obj, self.env.fields(t.record or "")[name])
        if name == "weekday":
            return obj.weekday()
        if name in ("date", "time") and isinstance(obj, datetime):
            return obj.date() if name == "date" else obj.time()
        return getattr(obj, name)

    def _aggregate(self, node: ast.Aggregate, scope: dict[str, Any]) -> Any:
        kept = self.kept(node, scope)
        if kept is None:
            return None
        if node.func == "count":
            return len(kept)
        from engine.criteria.compile import _aggregate, empty_sum

        return _aggregate(node.func, kept, empty_sum(_type(node)))

    def window(self, node: ast.Node, scope: dict[str, Any]) -> dict[str, str] | None:
        """For an aggregate with `within`: the instants its window runs between (records after
        `after`, up to and including `until`, as `runtime.in_window` keeps them); else None. Until
        2026-12-02 the trace said "sum(…) = 4" and an analyst worked out which records counted."""
        if not isinstance(node, ast.Aggregate) or node.within is None:
            return None
        window = self.value(node.within, scope)
        as_of = getattr(self.scenario, "as_of", None)
        if window is None or as_of is None:
            return None
        start, end, _ = runtime.window_bounds(as_of, window)
        if start is None:  # reaching back past 0001-01-01: every record up to `until`
            return {"until": end.isoformat()}
        return {"after": start.isoformat(), "until": end.isoformat()}

    def kept(self, node: ast.Aggregate, scope: dict[str, Any]) -> list[Any] | None:
        """What an aggregate reads: the records its `where` and window keep (their values, for an
        aggregate of a field), or None when its list is missing."""
        source_node, value_field = node.collection, None
        if isinstance(node.collection, ast.Attribute) and _type(node.collection.obj).name == "list":
            elem_of = _type(node.collection.obj).elem
            if elem_of is not None and elem_of.name == "record":  # a field of each record (as compiled)
                source_node, value_field = node.collection.obj, node.collection.name
        items = self.value(source_node, scope)
        if items is None:
            return None
        if source_node is node.collection and isinstance(source_node, ast.Attribute):
            items = [item for item in items if item is not None]  # a projection's values present
        elem = _type(source_node).elem
        assert elem is not None
        window = self.value(node.within, scope) if node.within is not None else None
        stamp = self.env.time_fields.get(elem.record or "")
        kept = []
        for item in items:
            inner = {**scope, node.var: item} if node.var else {**scope, "\x00element": (item, elem.record)}
            if node.where is not None and _quiet(self, node.where, inner) is not True:
                continue
            if window is not None and not runtime.in_window(getattr(item, stamp or ""), self.scenario.as_of, window):
                continue
            kept.append(self._step(item, elem, value_field) if value_field else item)
        return kept


#: Whether a trace records the steps of a quantifier's items compared as texts at once
#: (`Explainer._text_compare`); tests switch it off to compare.
FAST_TEXT_ITEMS = True

#: In a quantifier's scope: its variables' items by name (`u` → `usage[1]`), for `lacking`.
_ITEMS = "\x00items"
_ROOT = re.compile(r"[A-Za-z_]\w*")
_PATH = re.compile(r"[A-Za-z_]\w*(?:\[\d+\])?(?:\.[A-Za-z_]\w*(?:\[\d+\])?)*")


def _missing_operand(
    explainer: Explainer, node: ast.Node, values: tuple[Any, ...], scope: dict[str, Any]
) -> str | None:
    """What an atom found without a value lacks, as `_facts` names it (the first side missing)."""
    if isinstance(node, ast.Compare | ast.SetRelation):
        sides: tuple[ast.Node, ...] = (node.left, node.right)
    elif isinstance(node, ast.Membership):
        sides = (node.item, node.collection)
    elif isinstance(node, ast.Between):
        sides = (node.value, node.low, node.high)
    else:
        sides = (node,)
    side = next((side for side, value in zip(sides, values, strict=False) if value is None), None)
    return None if side is None else explainer.lacking(side, scope)


def computed_parts(node: ast.Node) -> tuple[ast.Node, ...]:
    """The values a computed value is made of (`lacking` looks into them); none for a name or a
    path, which is what a scenario gives or leaves out."""
    if isinstance(node, ast.Arith):
        return (node.left, node.right)
    if isinstance(node, ast.Negate):
        return (node.operand,)
    if isinstance(node, ast.Call):
        return tuple(node.args)
    if isinstance(node, ast.Attribute) and not isinstance(node.obj, ast.Name | ast.Attribute):
        return (node.obj,)  # a part of a computed value (`(as_of - subscription.start).days`)
    if isinstance(node, ast.Aggregate):
        return (node.collection,)  # `count(subscription.products)` of a job's bill lacks the list
    return ()


def _quiet(explainer: Explainer, node: ast.Node, scope: dict[str, Any], noting: bool = False) -> bool | None:
    """Evaluate a filter (or, `noting`, a quantifier's item) without recording its steps (one line
    per record would drown the trace)."""
    was_quiet, was_noting = explainer.quiet, explainer.noting
    explainer.quiet, explainer.noting = True, noting and (was_noting or not was_quiet)
    try:
        return explainer.condition(node, scope)
    finally:
        explainer.quiet, explainer.noting = was_quiet, was_noting


def _type(node: ast.Node) -> T.Type:
    t = getattr(node, "type", None)
    assert t is not None
    return t  # type: ignore[no-any-return]


def _where(node: ast.Node) -> str:
    return f"{rule_file(node.span.file)}:{node.span.line}:{node.span.column}"


def _compare(op: str, left: Any, right: Any, t: T.Type) -> bool | None:
    if left is None or right is None:
        return None
    if t.name == "money":
        sign = runtime.money_sign(left, right)
    elif t.name == "duration":
        sign = runtime.duration_sign(left, right)
    elif t.name == "datetime":
        sign = runtime.datetime_sign(left, right)
    elif op in ("==", "!="):  # equality as the compiled code tests it: sets, lists, text and numbers
        return (left == right) is (op == "==")
    else:
        try:
            sign = (left > right) - (left < right)
        except TypeError:  # values that cannot be ordered (the checker allows only == on them)
            return None
    if sign is None:
        return None
    return {"==": sign == 0, "!=": sign != 0, "<": sign < 0, "<=": sign <= 0, ">": sign > 0, ">=": sign >= 0}[op]


def _sentence(
    subject: ast.Node,
    value: Any,
    rest: str,
    outcome: bool | None,
    other: Any,
    other_node: ast.Node | None,
    verbs: tuple[str, str] = ("is", "is not"),
) -> str:
    if outcome is None:
        if value is None:
            return f"{subject.span.text} is missing"
        if other is None and other_node is not None:
            return f"{other_node.span.text} is missing"
        target = other_node.span.text if other_node is not None else "it"
        return f"{_head(subject, value)} cannot be compared with {target}"
    return f"{_head(subject, value)} {verbs[0] if outcome else verbs[1]} {rest}"


def window_words(window: Mapping[str, str]) -> str:
    """ "records after A up to B", or "records up to B" for a window with no start."""
    after = f" after {window['after']}" if "after" in window else ""
    return f"records{after} up to {window['until']}"


def _head(subject: ast.Node, value: Any) -> str:
    """`x = 14 days`, or a literal as written."""
    return (
        subject.span.text
        if isinstance(subject, ast.Literal)
        else f"{subject.span.text} = {show(value, _type(subject))}"
    )


#: a comparison read the other way round (`a < b` is `b > a`)
_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _literal(node: ast.Node) -> bool:
    return isinstance(node, ast.Literal | ast.SetLiteral)


def _facts(
    kind: str,
    subject: ast.Node,
    value: Any,
    other: ast.Node,
    other_value: Any,
    lacking: Callable[[ast.Node], str],
    **more: Any,
) -> dict[str, Any]:
    """An atom's facts: what it reads (as written and its value) and what it is compared with (as
    written when the rule states it, else the value); `missing` names what a side without a value
    lacks (`lacking`: `Explainer.lacking` in the atom's scope)."""
    facts: dict[str, Any] = {"kind": kind, "subject": subject.span.text, "actual": _plain(value, _type(subject))}
    facts.update((k, v) for k, v in more.items() if v is not False)
    facts["expected"] = _plain(other_value, _type(other))
    if _literal(other) and not isinstance(other_value, frozenset | set | list | tuple):
        facts["expected"] = other.span.text  # as the rule writes it (`6 months`, `20.00 EUR`)
    elif kind == "compare":  # a field or a computed value on the other side: named, as the subject is
        facts["other"] = other.span.text
    if value is None:
        facts["missing"] = lacking(subject)
    elif other_value is None:
        facts["missing"] = lacking(other)
    return facts


def _plain(value: Any, t: T.Type | None) -> Any:
    """A value as data: text as it is (a code, `Business`), a collection as a list of such texts
    (a set's sorted), nothing as None, anything else as the language shows it (`20.00 EUR`, `6 months`)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, frozenset | set | list | tuple):
        return _items(value, t.elem if t is not None else None)
    return show(value, t)


def _items(values: Any, elem: T.Type | None = None) -> list[str]:
    """A collection's elements as plain text: codes as they are, other values shown as their
    type shows them (a weekday by its name); a set's sorted, a list's in its own order."""
    items = [v if isinstance(v, str) else show(v, elem) for v in values]
    return sorted(items) if isinstance(values, frozenset | set) else items


def _in_unit(span: runtime.Span, unit: Any, as_none: bool = False) -> str:
    """The span in `unit`, and the days past the last whole one: `3 months and 21 days` (the whole
    months alone read as if `<= 3 months` held; a span of 5 months was "0 years"). `as_none`: a
    span not begun (a billing term that starts later) is no time yet, "0 days", told with the day
    it starts, where the rule asks for at least some (until 2026-12-03 "-31 days"); compared
    otherwise (`== 0 days`), it is its days as they are compared."""
    from engine.values import TimeUnit

    if span.start > span.end and as_none:
        return str(Duration(0, unit))
    count = _whole(span, unit)
    if unit is TimeUnit.DAYS:
        rest = 0
    elif unit is TimeUnit.WEEKS:
        rest = span.days - 7 * count
    else:
        rest = (span.end - Duration(count, unit).add_clamped(span.start)).days
    shown = str(Duration(count, unit))
    return shown if rest <= 0 else f"{shown} and {rest} day{'s' if rest != 1 else ''}"


def _whole(span: runtime.Span, unit: Any) -> int:
    """Whole `unit`s (days, weeks, months, years) in `span`, counted as the calendar does."""
    from engine.values import TimeUnit

    if unit in (TimeUnit.DAYS, TimeUnit.WEEKS):
        return span.days // (7 if unit is TimeUnit.WEEKS else 1)
    start, end = span.start, span.end
    per = 12 if unit is TimeUnit.YEARS else 1
    count = max((end.year - start.year) * 12 + end.month - start.month, 0) // per
    while count > 0 and Duration(count * per, TimeUnit.MONTHS).add_to(start) > end:  # as the rule counts
        count -= 1
    return count


#: `value_getter` of a node it cannot make a closure for: the caller asks `Explainer.value`
Getter = Any


def value_getter(node: ast.Node, env: Environment) -> Getter | None:
    """`Explainer(env, s).value(node, {})` as a closure over the scenario, made once per node.

    For the operands the "why not" keys its memo by (`engine.decide.why`): a name, and a chain of
    fields over records and lists, read exactly as `Explainer.value` reads them (derived fields
    by the same function, `weekday`, `date` and `time` the same way). Anything else (a call,
    arithmetic, an aggregate, a quantifier's variable) is None: its value is the explainer's."""
    if isinstance(node, ast.Literal):
        constant = node.value
        return lambda s: constant
    if isinstance(node, ast.Name):
        root = env.roots.get(node.id)
        if root is None:
            return None
        attribute = root.attribute
        return lambda s: getattr(s, attribute)
    if not isinstance(node, ast.Attribute):
        return None
    inner = value_getter(node.obj, env)
    t = _type(node.obj)
    each = t.name == "list" and t.elem is not None
    step = _stepper(env, t.elem if each and t.elem is not None else t, node.name)
    if inner is None or step is None:
        return None

    def one(s: Any) -> Any:
        obj = inner(s)
        return None if obj is None else step(obj, s)

    def every(s: Any) -> Any:
        obj = inner(s)
        return None if obj is None else [None if item is None else step(item, s) for item in obj]

    return every if each else one


def _stepper(env: Environment, t: T.Type, name: str) -> Any:
    """`Explainer._step` for one field of a value of type `t`, as a function of (value, scenario)."""
    if t.name == "record":
        info = env.fields(t.record or "").get(name)
        if info is None:
            return None
        derived, attribute = info.derived, info.attribute
        if derived is not None:
            return derived
        return lambda obj, s: getattr(obj, attribute)
    if name == "weekday":
        return lambda obj, s: obj.weekday()
    if name in ("date", "time"):
        return lambda obj, s: (
            (obj.date() if name == "date" else obj.time()) if isinstance(obj, datetime) else getattr(obj, name)
        )
    return lambda obj, s: getattr(obj, name)


def _interruption_before(subscription: Any, start: date, end: date) -> dict[str, Any] | None:
    """The interruption (rested or deactivated, joined as `environment.interruptions` joins them)
    that ends the day before `start`: the one a span of uninterrupted time starts after."""
    from engine.criteria.environment import interruptions

    for first, stop in interruptions(subscription.status_history, end, subscription.start):
        if stop.toordinal() + 1 == start.toordinal():
            return {"from": first.isoformat(), "to": stop.isoformat(), "days": (stop - first).days + 1}
        if stop == end == start:  # still going on at `as_of` (cut there): no time uninterrupted yet
            return {"from": first.isoformat(), "to": stop.isoformat(), "days": (stop - first).days + 1, "ongoing": True}
    return None

"""`between` ranges written upside down in criteria expressions.

A section's range whose `from` is above its `to` is BR413 (`engine.semantics`); the same range
written in a `when:` (`x between 3 and 1`, `subscription.start between 2016-01-01 and 2015-01-01`)
never holds either, and was accepted. After type checking, every `between` whose two bounds are
written as values that surely order is checked; times are left alone (`u.at.time between 22:00 and
06:00` is a window across midnight).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from engine.criteria import ast
from engine.criteria.runtime import as_utc
from engine.diagnostics import Diagnostic
from engine.values import Duration, Money, TimeUnit


def inverted_between(tree: ast.Node) -> Iterator[Diagnostic]:
    """BR413 for each `between` of `tree` whose written lower bound is above its written upper one."""
    written = tree.span.text
    if written and "between" not in written:
        return  # (a node's span covers its children's: no `between` to look at)
    for node in ast.walk(tree):
        if isinstance(node, ast.Between) and _above(_bound(node.low), _bound(node.high)):
            span = node.span
            yield Diagnostic(
                span.file,
                span.line,
                span.column,
                "BR413",
                f"`{span.text}` never holds: its lower bound is above its upper bound",
                "write the smaller bound first",
                end_column=span.end_column,
            )


def _bound(node: ast.Node) -> Any:
    """A bound written as a value (a literal, a negated number or amount), else None."""
    if isinstance(node, ast.Negate) and isinstance(node.operand, ast.Literal):
        value = node.operand.value
        if isinstance(value, Money):
            return Money(-value.amount, value.currency)
        return -value if isinstance(value, int | Decimal) and not isinstance(value, bool) else None
    return node.value if isinstance(node, ast.Literal) else None


#: a duration's unit → (its family, how many of the family's smallest unit it is)
_UNITS = {
    TimeUnit.DAYS: ("days", 1),
    TimeUnit.WEEKS: ("days", 7),
    TimeUnit.MONTHS: ("months", 1),
    TimeUnit.YEARS: ("months", 12),
}


def _above(low: Any, high: Any) -> bool:
    """Is `low` above `high`, where the two surely order: numbers, money of one currency, dates,
    date-times (zone-less ones as UTC, as the language compares them), durations of one family
    (days and weeks, months and years); not times of day, whose window may span midnight."""
    if low is None or high is None or isinstance(low, time) or isinstance(high, time):
        return False
    if isinstance(low, Money) and isinstance(high, Money):
        return low.currency == high.currency and low.amount > high.amount
    if isinstance(low, Duration) and isinstance(high, Duration):
        (family, size), (other, other_size) = _UNITS[low.unit], _UNITS[high.unit]
        return family == other and low.count * size > high.count * other_size
    if isinstance(low, datetime) and isinstance(high, datetime):
        return as_utc(low) > as_utc(high)
    numbers = isinstance(low, int | Decimal) and isinstance(high, int | Decimal)
    if type(low) is not type(high) and not numbers:
        return False
    try:
        return bool(low > high)
    except TypeError:
        return False

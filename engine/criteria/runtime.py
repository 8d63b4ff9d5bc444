"""Run-time values and helpers shared by the compiled evaluators and the explaining interpreter.

A missing value is `None`. Helpers return `None` when an operand is missing or when money of two
currencies meet, and comparisons with `None` never hold: a criterion over missing data does not
hold, whichever way it is written (the compiler puts conditions in negation normal form).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.values import Duration, Money, TimeUnit


@dataclass(frozen=True, order=True)
class Span:
    """A span of calendar time from `start` to `end` (e.g. a subscription's maturity)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def __str__(self) -> str:
        return f"{self.days} days (since {self.start})"


def duration_sign(left: Any, right: Any) -> int | None:
    """-1, 0, 1 comparing two durations (spans or literal durations); None when incomparable."""
    if left is None or right is None:
        return None
    if isinstance(left, Span) and isinstance(right, Duration):
        target = right.add_to(left.start)
        return (left.end > target) - (left.end < target)
    if isinstance(left, Duration) and isinstance(right, Span):
        sign = duration_sign(right, left)
        return None if sign is None else -sign
    if isinstance(left, Span) and isinstance(right, Span):
        return (left.days > right.days) - (left.days < right.days)
    a, b = _family(left), _family(right)
    if a is None or b is None or a[0] != b[0]:
        return None
    return (a[1] > b[1]) - (a[1] < b[1])


def _family(d: Duration) -> tuple[str, int] | None:
    if d.unit in (TimeUnit.DAYS, TimeUnit.WEEKS):
        return ("days", d.count * (7 if d.unit is TimeUnit.WEEKS else 1))
    return ("months", d.count * (12 if d.unit is TimeUnit.YEARS else 1))


def money_sign(left: Money | None, right: Money | None) -> int | None:
    if left is None or right is None or left.currency != right.currency:
        return None
    return (left.amount > right.amount) - (left.amount < right.amount)


def add(left: Any, right: Any, subtract: bool = False) -> Any:
    """`+`/`-` over numbers, percentages, money, dates, date-times and durations."""
    if left is None or right is None:
        return None
    if isinstance(left, Money):
        if not isinstance(right, Money) or right.currency != left.currency:
            return None
        return Money(left.amount - right.amount if subtract else left.amount + right.amount, left.currency)
    if isinstance(right, Duration):
        times = -1 if subtract else 1
        if isinstance(left, datetime):
            shifted = right.add_to(left.date(), times)
            return left + timedelta(days=(shifted - left.date()).days)
        if isinstance(left, date):
            return right.add_to(left, times)
        return None
    if isinstance(left, datetime) and isinstance(right, datetime) and subtract:
        return Span(right.date(), left.date())
    if isinstance(left, date) and isinstance(right, date) and subtract:
        return Span(right, left)
    return left - right if subtract else left + right


def multiply(left: Any, right: Any, left_percent: bool = False, right_percent: bool = False) -> Any:
    if left is None or right is None:
        return None
    if left_percent:
        left = Decimal(left) / 100
    if right_percent:
        right = Decimal(right) / 100
    if isinstance(left, Money):
        return Money(left.amount * Decimal(right), left.currency)
    if isinstance(right, Money):
        return Money(right.amount * Decimal(left), right.currency)
    return left * right


def divide(left: Any, right: Any) -> Any:
    if left is None or right is None or right == 0:
        return None
    if isinstance(left, Money):
        if isinstance(right, Money):
            return None if right.currency != left.currency else left.amount / right.amount
        return Money(left.amount / Decimal(right), left.currency)
    return Decimal(left) / Decimal(right)


def negate(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Money):
        return Money(-value.amount, value.currency)
    return -value


def in_window(stamp: Any, as_of: datetime, window: Duration) -> bool:
    """Is `stamp` in the window of length `window` ending at `as_of` (start exclusive, end inclusive)?"""
    if stamp is None:
        return False
    if isinstance(stamp, datetime):
        start_day = window.add_to(as_of.date(), -1)
        start = as_of.replace(year=start_day.year, month=start_day.month, day=start_day.day)
        if (stamp.tzinfo is None) != (as_of.tzinfo is None):
            stamp, start, end = stamp.replace(tzinfo=None), start.replace(tzinfo=None), as_of.replace(tzinfo=None)
        else:
            end = as_of
        inside: bool = start < stamp <= end
        return inside
    day = as_of.date()
    within: bool = window.add_to(day, -1) < stamp <= day
    return within


def time_between(value: Any, low: Any, high: Any) -> bool:
    """Inclusive; a range whose start is later than its end spans midnight (22:00 … 06:00)."""
    if value is None or low is None or high is None:
        return False
    inside: bool = low <= value <= high if low <= high else (value >= low or value <= high)
    return inside

"""Run-time values and helpers shared by the compiled evaluators and the explaining interpreter.

A missing value is `None`. Helpers return `None` when an operand is missing, when money of two
currencies meet, or when date arithmetic leaves the calendar (0001-01-01 to 9999-12-31), and
comparisons with `None` never hold: a criterion over missing data does not hold, whichever way it
is written (the compiler puts conditions in negation normal form). Comparing a span of time with
a duration is exact even near the calendar's ends (a span that ends on 9999-12-31 is shorter than
any duration reaching past it); a `within` window that would start before 0001-01-01 has no start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.values import Duration, Money, OutOfCalendar, TimeUnit


@dataclass(frozen=True, order=True)
class Span:
    """A span of calendar time from `start` to `end` (e.g. a subscription's maturity): days, or two
    instants (`as_of - u.at`: aware date-times, compared with a duration to the second)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def __str__(self) -> str:
        """`150 days (since 2015-01-01)`; a span that has not begun says when it begins (until
        2026-12-02 "-31 days", and a record an hour after `as_of` "-1 days": floored)."""
        if self.start > self.end:
            ahead = (self.start - self.end).days  # whole days, toward zero
            later = f"{ahead} day{'s' if ahead != 1 else ''} later" if ahead else "less than a day later"
            return f"none yet ({self.start} is {later})"
        return f"{self.days} day{'s' if self.days != 1 else ''} (since {self.start})"


def duration_sign(left: Any, right: Any) -> int | None:
    """-1, 0, 1 comparing two durations (spans or literal durations); None when incomparable."""
    if left is None or right is None:
        return None
    if isinstance(left, Span) and isinstance(right, Duration):
        start = left.start
        try:
            target = right.add_to(start)
        except OutOfCalendar:
            return -1  # the target is after 9999-12-31, so after the span's end
        if isinstance(start, datetime):  # a span between instants: the same time of day, later
            target = datetime.combine(target, start.timetz())
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


#: Each unit's family and its length in the family's unit (one lookup: reading `TimeUnit.WEEKS`
#: and its kin off the enum class costs more than the rest of `duration_family`)
_FAMILIES: dict[TimeUnit, tuple[str, int]] = {
    TimeUnit.DAYS: ("days", 1),
    TimeUnit.WEEKS: ("days", 7),
    TimeUnit.MONTHS: ("months", 1),
    TimeUnit.YEARS: ("months", 12),
}


def _family(d: Duration) -> tuple[str, int] | None:
    family, scale = _FAMILIES[d.unit]
    return (family, d.count * scale)


def duration_family(d: Any) -> tuple[str, int] | None:
    """A duration as ("days", n) or ("months", n) (weeks and years scaled); None when missing.
    Two durations compare only within one family (months have no fixed number of days). The
    compiled evaluator calls it once per scenario and duration field: `_family` written out."""
    if d is None:
        return None
    family, scale = _FAMILIES[d.unit]
    return (family, d.count * scale)


def money_sign(left: Money | None, right: Money | None) -> int | None:
    if left is None or right is None or left.currency != right.currency:
        return None
    return (left.amount > right.amount) - (left.amount < right.amount)


def as_utc(moment: datetime) -> datetime:
    """A date-time without a zone is taken as UTC (when compared with others)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def datetime_sign(left: datetime | None, right: datetime | None) -> int | None:
    """Compare date-times; a date-time without a zone is taken as UTC."""
    if left is None or right is None:
        return None
    left, right = as_utc(left), as_utc(right)
    return (left > right) - (left < right)


def plain_sign(left: Any, right: Any) -> int | None:
    """Python's `==` as a sign for `member`, with a missing value (None) equal to nothing and
    unequal to nothing: for collections that may hold missing elements (`usage.device`)."""
    if left is None or right is None:
        return None
    return 0 if left == right else 1


def holds_missing(collection: Any) -> bool:
    """Does this list or set hold a missing element (None)? (`x in S` then has no answer unless some
    known element matches.)"""
    return collection is not None and any(element is None for element in collection)


#: The comparison `==` uses for the types whose equality is not Python's: money (of one
#: currency), durations (`2 weeks == 14 days`, a span of time against a duration on the calendar)
#: and date-times (without a zone: UTC). None where `==` has no answer.
SIGNS: dict[str, Callable[[Any, Any], int | None]] = {
    "money": money_sign,
    "duration": duration_sign,
    "datetime": datetime_sign,
}


def member(item: Any, collection: Any, sign: Callable[[Any, Any], int | None]) -> bool | None:
    """`item in collection` by the equality of `==` (`sign` 0), three-valued as `==` is.

    True when some element equals the item; None when none does but some comparison has no
    answer (another currency, months against days, a missing element), or the item or the
    collection is missing; else False. So `x in S` holds exactly when `x == s` holds for some `s`,
    and `x not in S` exactly when `x != s` holds for every `s`.
    """
    if item is None or collection is None:
        return None
    unknown = False
    for element in collection:
        compared = sign(item, element)
        if compared == 0:
            return True
        unknown = unknown or compared is None
    return None if unknown else False


def overlap(left: Any, right: Any, sign: Callable[[Any, Any], int | None]) -> bool | None:
    """`left overlaps right`: some element of `left` is in `right` (three-valued, see `member`)."""
    if left is None or right is None:
        return None
    unknown = False
    for element in left:
        found = member(element, right, sign)
        if found:
            return True
        unknown = unknown or found is None
    return None if unknown else False


def subset(small: Any, big: Any, sign: Callable[[Any, Any], int | None]) -> bool | None:
    """`big contains small` for a collection `small`: every element of it is in `big` (three-valued)."""
    if small is None or big is None:
        return None
    unknown = False
    for element in small:
        found = member(element, big, sign)
        if found is False:
            return False
        unknown = unknown or found is None
    return None if unknown else True


def add(left: Any, right: Any, subtract: bool = False) -> Any:
    """`+`/`-` over numbers, percentages, money, dates, date-times and durations."""
    if left is None or right is None:
        return None
    if isinstance(left, Money):
        if not isinstance(right, Money) or right.currency != left.currency:
            return None
        return Money(left.amount - right.amount if subtract else left.amount + right.amount, left.currency)
    if isinstance(right, Duration):
        return _shift(left, right, -1 if subtract else 1)
    if isinstance(left, datetime) and isinstance(right, datetime) and subtract:
        # the instants themselves (zone-less as UTC): two local dates would lose the time and the
        # zones (a record 30 minutes before `as_of` across midnight was a day before it)
        return Span(as_utc(right), as_utc(left))
    if isinstance(left, date) and isinstance(right, date) and subtract:
        return Span(right, left)
    return left - right if subtract else left + right


def _shift(moment: Any, duration: Duration, times: int) -> Any:
    """A date or date-time moved by a duration; None when that leaves the calendar."""
    try:
        if isinstance(moment, datetime):
            shifted = duration.add_to(moment.date(), times)
            return moment + timedelta(days=(shifted - moment.date()).days)
        if isinstance(moment, date):
            return duration.add_to(moment, times)
    except (OutOfCalendar, OverflowError):
        return None
    return None


def multiply(left: Any, right: Any, left_percent: bool = False, right_percent: bool = False) -> Any:
    """`*`; a percentage counts as its fraction (`20 EUR * 10%` is 2 EUR), and a percentage times a
    percentage is a percentage (`10% * 50%` is 5%)."""
    if left is None or right is None:
        return None
    if left_percent and right_percent:
        return Decimal(left) * Decimal(right) / 100
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
    try:
        start_day: date | None = window.add_to(as_of.date(), -1)
    except OutOfCalendar:
        start_day = None  # the window reaches back past 0001-01-01: it has no start
    if isinstance(stamp, datetime):
        start = as_of.replace(year=start_day.year, month=start_day.month, day=start_day.day) if start_day else None
        end = as_of
        if (stamp.tzinfo is None) != (as_of.tzinfo is None):  # the one without a zone is UTC (`as_utc`)
            stamp, end = as_utc(stamp), as_utc(as_of)
            start = as_utc(start) if start is not None else None
        inside: bool = (start is None or start < stamp) and stamp <= end
        return inside
    day = as_of.date()
    within: bool = (start_day is None or start_day < stamp) and stamp <= day
    return within


def time_between(value: Any, low: Any, high: Any) -> bool:
    """Inclusive; a range whose start is later than its end spans midnight (22:00 … 06:00)."""
    if value is None or low is None or high is None:
        return False
    inside: bool = low <= value <= high if low <= high else (value >= low or value <= high)
    return inside


# --- precomputed forms (the compiled evaluator's fast paths) -------------------------------------


def latest_start(end: date, duration: Duration) -> int:
    """The day number of the latest `start` with `start + duration <= end` (0 when none is).

    `start + duration` is non-decreasing in `start` (a month end is clamped: Jan 29, 30 and 31 + 1
    month are all Feb 28 or 29), and past 9999-12-31 counts as later than any `end`, so for every
    start: `duration_sign(Span(start, end), duration) >= 0` exactly when `start <= latest_start`.
    """
    days = duration.days
    if days is not None:
        return max(end.toordinal() - days, 0)
    try:
        start = duration.add_to(end, -1)  # clamped: start + duration <= end
    except OutOfCalendar:
        return 0  # every start + duration is in a later month than `end`
    # a later day may reach the same clamped date: at most three (the 28th to the 31st)
    while start < date.max:
        following = start + timedelta(days=1)
        try:
            if duration.add_to(following) > end:
                break
        except OutOfCalendar:
            break
        start = following
    return start.toordinal()


class Thresholds(dict[int, tuple[int, ...]]):
    """Per `as_of` day number: for each registered duration d, the latest span start that reaches
    d by `as_of` (`latest_start`), then the latest that passes it (reaches it the day before).

    A span `(start, as_of.date)` compares with d as: `>=` ⇔ start <= T[2i]; `>` ⇔ start <= T[2i+1];
    `<` ⇔ start > T[2i]; `<=` ⇔ start > T[2i+1]; `==` ⇔ T[2i+1] < start <= T[2i]. So the calendar
    arithmetic runs once per rule set and billing date, not once per scenario and condition.
    """

    def __init__(self) -> None:
        super().__init__()
        self.durations: list[Duration] = []
        self._positions: dict[Duration, int] = {}  # durations are equal as their fields are

    def index(self, duration: Duration) -> int:
        """Register `duration` (before the first lookup); its `>=` slot (`>`: the next one)."""
        position = self._positions.get(duration)
        if position is None:
            position = self._positions[duration] = len(self.durations)
            self.durations.append(duration)
        return 2 * position

    def __missing__(self, ordinal: int) -> tuple[int, ...]:
        end = date.fromordinal(ordinal)
        before = date.fromordinal(ordinal - 1) if ordinal > 1 else None
        row: list[int] = []
        for d in self.durations:
            row += [latest_start(end, d), latest_start(before, d) if before is not None else 0]
        if len(self) > 4096:  # billing runs have a few dates; keep memory bounded anyway
            self.clear()
        self[ordinal] = result = tuple(row)
        return result


def ordinal(day: date | None) -> int | None:
    return None if day is None else day.toordinal()


def window_bounds(as_of: datetime, window: Duration) -> tuple[Any, datetime, bool | None]:
    """`(start, end, naive)` of a `within` window (see `in_window`): a stamp is inside when
    `start < stamp <= end` and its zone-awareness is `naive`; `naive` None sends every stamp
    to `in_window` (the window has no start)."""
    try:
        day = window.add_to(as_of.date(), -1)
    except OutOfCalendar:
        return (None, as_of, None)
    return (as_of.replace(year=day.year, month=day.month, day=day.day), as_of, as_of.tzinfo is None)


class WindowStarts(dict[int, Any]):
    """How far back from `as_of` the day before a `within` window's first day is (a `timedelta` of
    whole days), per `as_of` day (ordinal): computed once per window and billing date
    (`Duration.add_to` is calendar arithmetic), None when the window reaches past 0001-01-01."""

    def __init__(self, window: Duration) -> None:
        super().__init__()
        self.window = window

    def __missing__(self, ordinal: int) -> Any:
        try:
            back = timedelta(days=ordinal - self.window.add_to(date.fromordinal(ordinal), -1).toordinal())
        except OutOfCalendar:
            back = None
        if len(self) > 4096:  # a few dates a billing run; bounded anyway
            self.clear()
        self[ordinal] = back
        return back


def cached_window_bounds(as_of: datetime, starts: WindowStarts) -> tuple[Any, datetime, bool | None]:
    """`window_bounds(as_of, starts.window)`, the window's calendar arithmetic cached per day.

    The start is `as_of` moved back by whole days: the same date-time as `as_of` with the start's
    date put in (`replace`, four times slower), the zone and the time of day kept; only the `fold`
    of an ambiguous local time would be lost, so such an `as_of` goes the long way."""
    back = starts[as_of.toordinal()]
    if back is None:
        return (None, as_of, None)
    if as_of.fold:
        return window_bounds(as_of, starts.window)
    return (as_of - back, as_of, as_of.tzinfo is None)


class _Unset:
    """The value of a lazily computed fact before its first use."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()

"""The types of scenario fields, derived from the pydantic scenario model (one source of truth).

Also the *derived facts* the language offers beyond the raw fields (e.g.
`subscription.maturity`), each with its type and the function that computes it.

Fields read as a mapping: `uninterrupted_ordinals`, which the compiled evaluator calls on every
scenario with a status history, reads each period's fields from its `__dict__`, for the reason
`engine.decide.decision`'s module docstring gives (pydantic's hook on every attribute read).
"""

from __future__ import annotations

import types as pytypes
import typing
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from functools import cache, lru_cache
from typing import Any

from pydantic import BaseModel

from engine.criteria import types as T
from engine.values import Duration, Money, OutOfCalendar


@dataclass(frozen=True)
class FieldInfo:
    """A field of a record: its type, the Python attribute that holds it, or a derived fact."""

    type: T.Type
    attribute: str
    derived: Any = None  # callable(record, scenario) -> value, for derived facts
    description: str = ""


@dataclass
class Environment:
    records: dict[str, dict[str, FieldInfo]] = field(default_factory=dict)
    roots: dict[str, FieldInfo] = field(default_factory=dict)
    time_fields: dict[str, str] = field(default_factory=dict)  # record → its timestamp attribute (for `within`)
    #: names of another context (e.g. `subscription` in a credit criterion) → why they are not here
    foreign: dict[str, str] = field(default_factory=dict)
    #: the run-time records are the pydantic models the fields were typed from (each field is in
    #: the model's `__dict__`), not plain records of the same fields (a credit criterion's context)
    models: bool = False

    def fields(self, record: str) -> dict[str, FieldInfo]:
        return self.records.get(record, {})


def _marks_percentage(metadata: Any) -> bool:
    """`Percentage` fields carry a JSON Schema with maximum 100 (see engine.models.common)."""
    return any((getattr(m, "json_schema", None) or {}).get("maximum") == 100 for m in metadata)


def _is_percentage(info: Any) -> bool:
    return _marks_percentage(info.metadata)


def _type_of(annotation: Any, env: Environment, info: Any = None) -> T.Type:
    optional = False
    percent = info is not None and _is_percentage(info)
    if typing.get_origin(annotation) is typing.Annotated:
        percent = percent or _marks_percentage(typing.get_args(annotation)[1:])
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, pytypes.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        # `str | Decimal` (a requested discount value) is typed as text
        annotation = args[0] if len(args) == 1 else str
        if typing.get_origin(annotation) is typing.Annotated:
            percent = percent or _marks_percentage(typing.get_args(annotation)[1:])
            annotation = typing.get_args(annotation)[0]
        origin = typing.get_origin(annotation)
    if origin is list:
        (elem,) = typing.get_args(annotation)
        result = T.list_of(_type_of(elem, env))
    elif origin is dict:
        result = T.Type("map")
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        _register(annotation, env)
        result = T.record(annotation.__name__)
    elif annotation is bool:
        result = T.BOOL
    elif annotation in (int, float):
        result = T.NUMBER
    elif annotation is Decimal:
        result = T.PERCENT if percent else T.NUMBER
    elif annotation is Money:
        result = T.MONEY
    elif annotation is Duration:
        result = T.DURATION
    elif annotation is datetime:
        result = T.DATETIME
    elif annotation is date:
        result = T.DATE
    elif annotation is time:
        result = T.TIME
    elif isinstance(annotation, type) and issubclass(annotation, Enum | str):
        result = T.STRING
    else:  # pragma: no cover - every scenario field type is listed above
        raise TypeError(f"no criteria type for {annotation!r}")
    return result.maybe() if optional else result


def _register(model: type[BaseModel], env: Environment) -> None:
    name = model.__name__
    if name in env.records:
        return
    env.records[name] = {}
    fields: dict[str, FieldInfo] = {}
    for attribute, info in model.model_fields.items():
        public = info.alias or attribute
        fields[public] = FieldInfo(_type_of(info.annotation, env, info), attribute, description=info.description or "")
        if (fields[public].type.name == "datetime" and public == "at") or (
            public == "on" and fields[public].type.name == "date"
        ):
            env.time_fields[name] = attribute
    env.records[name] = fields


# --- derived facts ------------------------------------------------------------------------------


def _as_of_date(scenario: Any) -> date:
    return scenario.as_of.date()  # type: ignore[no-any-return]


def uninterrupted(subscription: Any, tolerance: Any, scenario: Any) -> Any:
    """How long the subscription has been uninterrupted at `as_of` (a span of time).

    A period in status `rested` or `deactivated` longer than `tolerance` (a duration in days or
    weeks; interruptions up to it are ignored) interrupts it: the span starts the day after the
    last such interruption ends, else at the start of the subscription.
    """
    from engine.criteria.runtime import Span

    if subscription is None:
        return None
    end = _as_of_date(scenario)
    return Span(uninterrupted_start(subscription, tolerance, end), end)


def uninterrupted_start(subscription: Any, tolerance: Any, end: date) -> date:
    """The first day of the uninterrupted time ending on `end` (see `uninterrupted`)."""
    start: date = subscription.start
    allowed = _tolerance_days(tolerance)
    for first, stop in interruptions(subscription.status_history, end, start):
        if (stop - first).days + 1 > allowed:
            # the day after the interruption; an interruption up to 9999-12-31 leaves nothing
            start = max(start, date.fromordinal(stop.toordinal() + 1) if stop < date.max else date.max)
    return min(start, end)


def open_end(history: Any, began: date) -> date | None:
    """The last day of a status period without `to` that began on `began`: the day before a later
    period starts, so a history written as transitions (`rested from 2015-03-01`, then `active
    from 2015-03-10`) rested nine days, where until 2026-12-03 the rest was ongoing whatever
    followed it; None (ongoing) when none starts later. Asked only of a history not oldest first
    or whose periods share days (`status_runs` reads an ordered one in one walk back), so a usual
    history costs nothing more. (Of open periods that begin the same day, all but the last listed
    last no day at all: `superseded`.)"""
    later = None
    for period in history:
        start = period.from_
        if start > began and (later is None or start < later):
            later = start
    return None if later is None else date.fromordinal(later.toordinal() - 1)


def superseded(history: Any, index: int) -> bool:
    """Whether the period without `to` at `index` of `history` lasts no day: a period listed after
    it starts the same day, and that one is in force from that day (the history is oldest first,
    so of transitions on one day the one listed last is the newest). `rested from 2015-02-01`
    then `active from 2015-02-01` is no interruption, and `deactivated from 2015-01-10` then
    `active from 2015-01-10` (a subscription created inactive and activated on its first day) is
    active from that day, as the purchase question reads it in effect; until 2026-12-03 such a
    rest never ended."""
    began = history[index].from_
    for later in history[index + 1 :]:  # noqa: SIM110 - a loop: `any()` of a generator costs more per call
        if later.from_ == began:
            return True
    return False


def status_runs(history: Any) -> list[tuple[int, int, Any]]:
    """The status in force day by day, as runs (first day, last day, the period in force) in day
    numbers, in order, the last day of a run without end `date.max`'s: on each day the period
    begun latest by then that has not ended (its `to`, else the day before a later period starts,
    `open_end`), of those begun the same day the one listed last (an open one a later-listed
    period starting the same day supersedes lasts no day, `superseded`); a day no period covers is
    in no run. The one reading of "the status in force that day": the interruptions
    (`interruptions`, `uninterrupted_ordinals`) and the purchase's subscription in effect
    (`status_in_force`) read it alike, so deactivated 2015-03-01 to 2015-03-20 then active
    2015-03-10 to 2015-12-31 is deactivated nine days and active from 03-10 for both (until
    2026-12-04 the interruptions counted every day of a rested or deactivated period, whatever
    began later, while the purchase read the subscription in effect from 03-10).

    The usual history (each period starts after the one before ends, an open one the day before
    the next starts) is its runs as written, made in one walk forward; any other (out of order,
    sharing days, an open period superseded) is read back (`_runs_in_order`)."""
    runs: list[tuple[int, int, Any]] = []
    boundary = _FIRST_DAY  # the period before's last day, or first when open (0001-01-01 is read back)
    stop = boundary  # the period before's `to`
    for period in history:
        began = period.from_
        if began <= boundary:  # not oldest first, sharing a day, or the same day as an open one
            return _runs_in_order(history)
        if stop is None:  # the open one before ends the day before (`open_end`)
            runs[-1] = (runs[-1][0], began.toordinal() - 1, runs[-1][2])
        stop = period.to
        boundary = began if stop is None else stop
        runs.append((began.toordinal(), _END if stop is None else stop.toordinal(), period))
    return runs


def _runs_in_order(history: Any) -> list[tuple[int, int, Any]]:
    """`status_runs` of a history other than the usual: walked back when it is oldest first with
    no two periods sharing a day (an open period ends the day before the next start), else day
    by day (`_runs_of_overlapping`)."""
    runs: list[tuple[int, int, Any]] = []
    later = _END + 1  # the next start later than the period's own (`open_end`), walking back
    following = None  # the start of the period listed next
    taken = _END + 1  # the first day of the run after this one
    for index in range(len(history) - 1, -1, -1):
        period = history[index]
        first = period.from_.toordinal()
        same_day = following == first
        if following is not None and not same_day:
            if following < first:
                break  # not oldest first (nothing checks it)
            later = following
        following = first
        if period.to is not None:
            last = period.to.toordinal()
        elif same_day:
            continue  # lasts no day (`superseded`)
        else:
            last = later - 1
        if last >= taken:
            break  # two periods share a day
        runs.append((first, last, period))
        taken = first
    else:  # the usual history: oldest first, no two periods sharing a day, each in force throughout
        runs.reverse()
        return runs
    return _runs_of_overlapping(history)


def _runs_of_overlapping(history: Any) -> list[tuple[int, int, Any]]:
    """`status_runs` of a history not oldest first, or whose periods share days: day by day (from
    each day a period starts or the day after one ends), the period in force."""
    spans = []
    for index, period in enumerate(history):
        if period.to is not None:
            last = period.to.toordinal()
        elif superseded(history, index):
            continue  # lasts no day
        else:
            stop = open_end(history, period.from_)
            last = _END if stop is None else stop.toordinal()
        spans.append((period.from_.toordinal(), index, last, period))
    spans.sort()  # (index tells any two apart: the periods are never compared)
    points = sorted({s[0] for s in spans} | {s[2] + 1 for s in spans if s[2] < _END})
    runs: list[tuple[int, int, Any]] = []
    for k, day in enumerate(points):
        best = None
        for span in spans:  # in order of (start, listing): the last covering `day` is in force
            if span[0] > day:
                break
            if span[2] >= day:
                best = span
        if best is None:
            continue
        last = min(points[k + 1] - 1 if k + 1 < len(points) else _END, best[2])
        if runs and runs[-1][2] is best[3] and runs[-1][1] + 1 == day:
            runs[-1] = (runs[-1][0], last, best[3])
        else:
            runs.append((day, last, best[3]))
    return runs


#: The day number of 9999-12-31: the last day of a status period that does not end.
_END = date.max.toordinal()


def status_in_force(history: Any, day: date) -> Any:
    """The status period in force on `day` (`status_runs`), or None when no period covers it."""
    number = day.toordinal()
    for first, last, period in status_runs(history):
        if first <= number <= last:
            return period
        if first > number:
            break
    return None


def _interrupts(history: Any, end: date) -> bool:
    """Whether a period other than `active` begins by `end` (else nothing interrupts by then, and
    the status history need not be read further: the usual history costs nothing more)."""
    for period in history:  # noqa: SIM110 - a loop: `any()` of a generator costs more per call
        if period.status != "active" and period.from_ <= end:  # a StrEnum: equal to its text
            return True
    return False


def interruptions(history: Any, end: date, start: date | None = None) -> list[tuple[date, date]]:
    """The interruptions up to `end`, as (first day, last day), in order: the days on which the
    status in force (`status_runs`) is other than `active`, cut at `end`, and joined when one
    starts by the day after another ends (rested 20 days, then deactivated 20 days, is one
    interruption of 40 days: the seed's "uninterrupted, i.e. not rested or deactivated"). With
    `start` (the subscription's), cut there too: days before the subscription began interrupt
    nothing (a rest from 2014-06-01 to 2014-07-10 of a subscription started 2014-07-01 is 10
    days; until 2026-12-03 it was 40). An open period that lasts no day (`superseded`) is none."""
    if not _interrupts(history, end):
        return []
    last_day = end.toordinal()
    begun = None if start is None else start.toordinal()
    joined: list[tuple[date, date]] = []
    for first, last, period in status_runs(history):
        if period.status == "active" or first > last_day:
            continue
        if begun is not None and first < begun:
            if last < begun:
                continue  # over before the subscription began
            first = begun
        span = (date.fromordinal(first), date.fromordinal(last if last < last_day else last_day))
        if joined and first <= joined[-1][1].toordinal() + 1:
            if span[1] > joined[-1][1]:
                joined[-1] = (joined[-1][0], span[1])
        else:
            joined.append(span)
    return joined


def span_start(kind: str, subscription: Any, tolerance: Any, scenario: Any) -> int | None:
    """The day number (ordinal) a derived span of the subscription starts on at `as_of`, or None
    without a subscription: `maturity`, `age` or `uninterrupted` (with `tolerance`). The compiled
    evaluator compares it with precomputed thresholds (see `runtime.Thresholds`)."""
    if subscription is None:
        return None
    end = _as_of_date(scenario)
    if kind == "age":
        return min(subscription.start, end).toordinal()  # type: ignore[no-any-return]
    return uninterrupted_start(subscription, tolerance if kind == "uninterrupted" else None, end).toordinal()


def uninterrupted_ordinal(subscription: Any, allowed: int, scenario: Any) -> int | None:
    """`span_start("uninterrupted", subscription, tolerance, scenario)` with the tolerance given
    as days (`tolerance_days`, worked out once when compiling; 0 for `maturity`): the compiled
    evaluator's form, one call and no enum lookups per scenario."""
    if subscription is None:
        return None
    end: date = scenario.as_of.date()
    start: date = subscription.start
    for first, stop in interruptions(subscription.status_history, end, start):
        if (stop - first).days + 1 > allowed:
            after = date.fromordinal(stop.toordinal() + 1) if stop < date.max else date.max
            if after > start:
                start = after
    return (start if start < end else end).toordinal()


#: The tolerance that stands for `age` among `uninterrupted_ordinals`' tolerances: longer than any
#: interruption in the calendar, so nothing interrupts and the span starts with the subscription.
AGE = 10**9


class Tolerances(list[int]):
    """The tolerances (days) a rule set's spans of one subscription use, `AGE` for `age`: filled
    while compiling (`position`), read by `uninterrupted_ordinals` once per scenario. A list, so
    the compiler's constants never share one by value (each rule set registers its own)."""

    def position(self, allowed: int) -> int:
        """Register `allowed` (before the first evaluation); its position in the result."""
        if allowed not in self:
            self.append(allowed)
        return self.index(allowed)


def uninterrupted_ordinals(subscription: Any, tolerances: Tolerances, scenario: Any) -> tuple[int | None, ...]:
    """`uninterrupted_ordinal(subscription, allowed, scenario)` for every `allowed` in
    `tolerances`, walking the status history once (`AGE` gives `age_ordinal`). The compiled
    evaluator calls it once per scenario, on the first span a rule reaches. In day numbers
    throughout (`interruptions`, joined here as there, without a date made per step): the day
    after an interruption up to 9999-12-31 is past `as_of`, which bounds every start.

    The usual history (each period starts after the one before ends, an open one the day before
    the next starts) is its own runs (`status_runs`): read in one walk forward, none made, its
    dates compared as dates and only an interruption's made day numbers. Any other is read by
    its runs (`_starts_of_runs`). (Forward: a history's periods lie in memory in order, and most
    of the cost is reading them.)"""
    if subscription is None:
        return (None,) * len(tolerances)
    last = scenario.as_of.toordinal()
    first = subscription.start.toordinal()
    if first >= last:  # nothing between: every span starts on `as_of`'s day
        return (last,) * len(tolerances)
    history = subscription.status_history
    if len(history) == 1 and history[0].status == "active":  # the most usual history (one period)
        return (first,) * len(tolerances)
    joined: list[tuple[int, int]] = []  # the interruptions before `opened`: (days, the day after)
    opened = closed = 0  # the first and last day of the interruption being joined (0: none yet)
    boundary = _FIRST_DAY  # the period before's last day, or first when open (0001-01-01: by its runs)
    pending = False  # the interruption ends with an open period: the day before the next start
    for period in history:
        fields = period.__dict__  # (read as a mapping: the module's docstring)
        began = fields["from_"]
        if began <= boundary:  # not oldest first, sharing a day, or the same day as an open one
            return _starts_of_runs(history, tolerances, first, last)
        if pending:
            pending = False
            before = began.toordinal() - 1
            if before < closed:
                closed = before
                if closed < opened:  # over before the subscription began (`interruptions`)
                    opened = 0
        stop = fields["to"]
        boundary = began if stop is None else stop
        if fields["status"] == "active":  # a StrEnum: equal to its text
            continue
        day = began.toordinal()
        if day > last:
            continue
        ends = last if stop is None else stop.toordinal()
        if day < first:  # cut at the subscription's start (`interruptions`)
            if ends < first:
                continue
            day = first
        if ends > last:
            ends = last
        pending = stop is None
        if opened and day == closed + 1:  # joined: it starts the day after the one before ends
            closed = ends
            continue
        if opened:  # (it ends before `as_of`'s day: another begins by then)
            joined.append((closed - opened + 1, closed + 1))
        opened, closed = day, ends
    if not opened:  # no rest or deactivation by `as_of` since the subscription began
        return (first,) * len(tolerances)
    length, after = closed - opened + 1, (closed + 1 if closed < last else last)
    if joined:
        return _starts_after(joined, length, after, tolerances, first)
    return tuple([after if length > allowed else first for allowed in tolerances])


def _starts_after(
    joined: list[tuple[int, int]], length: int, after: int, tolerances: Tolerances, first: int
) -> tuple[int, ...]:
    """`uninterrupted_ordinals`' starts with more than one interruption: for each tolerance, the
    day after the latest interruption longer (`length` days, then `after`; before it `joined`,
    in order), else `first`. Walked back, only an interruption longer than every later one can be
    the latest longer than some tolerance: those `steps`, latest first."""
    steps = [(length, after)]
    for step in reversed(joined):
        if step[0] > length:
            steps.append(step)
            length = step[0]
    if len(steps) == 1:
        return tuple([after if length > allowed else first for allowed in tolerances])
    if len(steps) == 2:  # (one call per tolerance costs more than the two tests written out)
        (shorter, latest), (longer, earlier) = steps
        return tuple(
            [latest if shorter > allowed else earlier if longer > allowed else first for allowed in tolerances]
        )
    return tuple([_start_after(steps, allowed, first) for allowed in tolerances])


def _start_after(steps: list[tuple[int, int]], allowed: int, first: int) -> int:
    """The day after the first interruption of `steps` (latest first) longer than `allowed`, else
    `first` (the subscription's start)."""
    for length, after in steps:
        if length > allowed:
            return after
    return first


def _starts_of_runs(history: Any, tolerances: Tolerances, first: int, last: int) -> tuple[int | None, ...]:
    """`uninterrupted_ordinals` of any history, from its runs (`status_runs`), `first` (the
    subscription's start) before `last` (`as_of`'s)."""
    spans: list[tuple[int, int]] = []
    for began, stop, period in status_runs(history):  # in order, no two sharing a day
        if period.status != "active" and began <= last:
            if began < first:  # cut at the subscription's start (`interruptions`)
                if stop < first:
                    continue
                began = first
            spans.append((began, stop if stop < last else last))
    if not spans:  # every rest or deactivation superseded, or over before the subscription began
        return (first,) * len(tolerances)
    starts = [first] * len(tolerances)
    begun, stop = spans[0]
    for following, ends in [*spans[1:], (_PAST, _PAST)]:  # joined while each starts by the day after
        if following <= stop + 1:
            if ends > stop:
                stop = ends
            continue
        length, after = stop - begun + 1, stop + 1
        for k, allowed in enumerate(tolerances):
            if length > allowed and after > starts[k]:
                starts[k] = after
        begun, stop = following, ends
    return tuple([start if start < last else last for start in starts])


#: A day number past every date's (closes the last joined interruption in `_starts_of_runs`).
_PAST = date.max.toordinal() + 2

#: The first date of the calendar (read once, not per period).
_FIRST_DAY = date.min


def age_ordinal(subscription: Any, scenario: Any) -> int | None:
    """`span_start("age", subscription, None, scenario)`, the compiled evaluator's form."""
    if subscription is None:
        return None
    start: date = subscription.start
    end: date = scenario.as_of.date()
    return (start if start < end else end).toordinal()


def tolerance_days(tolerance: Any) -> int:
    """Days of interruption `uninterrupted(…, tolerance)` ignores (0 without a tolerance)."""
    return _tolerance_days(tolerance)


def _tolerance_days(tolerance: Any) -> int:
    """Days of interruption ignored: a duration in days or weeks, and months and years at their
    longest (README: "a month of tolerance is its longest, a year 366 days"; two months are 62,
    July and August; until 2026-12-03 they were counted from 2000-01-01, January and February:
    60)."""
    if tolerance is None:
        return 0
    days: int | None = tolerance.days
    if days is not None:
        return days
    return _longest_days(tolerance.count, tolerance.unit)


@lru_cache(maxsize=256)
def _longest_days(count: int, unit: Any) -> int:
    """The most days `count` months or years span from a month's first day (where the longest
    spans start), over the 4,800 months of the calendar's 400-year cycle from year 1 (101 years
    are longest across a century year that is a leap year: 36,891 days); starts whose span
    leaves the calendar are skipped (9,998 years fit from 0001-01-01 only)."""
    from engine.values import Duration

    tolerance = Duration(count, unit)
    longest = 0
    for month in range(4800):
        start = date(1 + month // 12, month % 12 + 1, 1)
        try:
            longest = max(longest, (tolerance.add_to(start) - start).days)
        except OutOfCalendar:
            break  # (every later start leaves it too)
    return longest


def subscription_maturity(subscription: Any, scenario: Any) -> Any:
    """`uninterrupted(subscription, 0 days)`: any interruption counts."""
    return uninterrupted(subscription, None, scenario)


def subscription_age(subscription: Any, scenario: Any) -> Any:
    """Time since the subscription started, at `as_of`."""
    from engine.criteria.runtime import Span

    end = _as_of_date(scenario)
    return Span(min(subscription.start, end), end)


def account_due_in_days(account: Any, scenario: Any) -> Any:
    """Days from `as_of` until the due date (negative when it is past)."""
    if account.due_date is None:
        return None
    return (account.due_date - _as_of_date(scenario)).days


def account_due_days_ago(account: Any, scenario: Any) -> Any:
    """Days since the due date at `as_of` (negative while it is still ahead): `due_in_days` turned
    round, so that a rule "due 30 days ago" reads as it is written (`due_days_ago >= 30`)."""
    days = account_due_in_days(account, scenario)
    return None if days is None else -days


def job_segments_with_account(job: Any, scenario: Any) -> Any:
    """The job's segments and its account's, when the scenario gives an account: a job bill may come
    without one (seed 002's late installation names none), and a `segments` section of a job
    definition reads both (until 2026-12-02 its `exclude` read `account.segments` alone too, unknown
    without an account, so the automatic 20 EUR off a late installation was never applied to a job
    billed without its account)."""
    account = scenario.account
    return job.segments if account is None or not account.segments else [*account.segments, *job.segments]


#: the key of a line's `__dict__` where `engine.decide.decision.typed_lines` leaves its charge
LINE_CHARGE = "_billrules_charge"


def line_charge(line: Any, scenario: Any) -> Any:
    """What a product line charges before discounts (`p.charge`): the price written on it, else
    its catalog price times quantity (times the product's periods in a longer bill), as the discount
    evaluator takes it (its `gross`). The catalog is the rule set's: `typed_lines` works the
    charge out when the rule set's criteria read it, for each decision; a line no decision typed
    has the price written on it, or none (missing)."""
    return line.__dict__.get(LINE_CHARGE, line.price)


def reads_line_charge(node: Any) -> bool:
    """Whether a typed criterion may read `charge` of a product line: `p.charge`, over a list of
    lines `sum(subscription.products.charge)`, or bare in an aggregate's `where`
    (`count(subscription.products where charge >= 40.00 EUR)`, a name, not an attribute). Any
    name or field `charge` counts: no other record has one, and a rule set that reads none pays
    nothing (`typed_lines` then works no charge out)."""
    from engine.criteria import ast

    return any(
        (isinstance(found, ast.Attribute) and found.name == "charge")
        or (isinstance(found, ast.Name) and found.id == "charge")
        for found in ast.walk(node)
    )


def requested_value_text(request: Any, scenario: Any) -> Any:
    """A requested discount's value as text, the type the criteria give it: a number given in
    the scenario (`value: 20`) is its digits (`"20"`), so `r.value == "20"` holds for either."""
    from engine.values import plain

    value = request.value
    return value if value is None or type(value) is str else plain(value)


DERIVED: dict[tuple[str, str], tuple[T.Type, Any, str]] = {
    ("Subscription", "maturity"): (
        T.DURATION,
        subscription_maturity,
        "Uninterrupted time at as_of (rested/deactivated periods interrupt).",
    ),
    ("Subscription", "age"): (T.DURATION, subscription_age, "Time since the subscription started, at as_of."),
    ("Account", "due_in_days"): (
        T.NUMBER.maybe(),
        account_due_in_days,
        "Days from as_of to the due date (negative when past).",
    ),
    ("Account", "due_days_ago"): (
        T.NUMBER.maybe(),
        account_due_days_ago,
        "Days since the due date at as_of (negative while it is ahead).",
    ),
    ("Job", "segments_with_account"): (
        T.list_of(T.STRING),
        job_segments_with_account,
        "The job's segments and its account's (when the scenario gives an account).",
    ),
    ("ProductLine", "charge"): (
        T.MONEY.maybe(),
        line_charge,
        "What the line charges before discounts: its price, else the catalog price × quantity "
        "(× the product's periods in a longer bill).",
    ),
    ("DiscountRequest", "value"): (
        T.STRING.maybe(),
        requested_value_text,
        "Requested value inside the definition's range, as text (a number as its digits).",
    ),
}


#: Built-in functions: name → (argument types, result type, implementation(*args, scenario)).
FUNCTIONS: dict[str, tuple[tuple[T.Type, ...], T.Type, Any]] = {
    "uninterrupted": ((T.record("Subscription"), T.DURATION), T.DURATION.maybe(), uninterrupted),
}


@cache
def scenario_environment() -> Environment:
    from engine.models.scenario import Scenario

    env = Environment()
    _register(Scenario, env)
    env.roots = env.records.pop("Scenario")
    env.models = True
    for (record_name, name), (type_, function, description) in DERIVED.items():
        env.records[record_name][name] = FieldInfo(type_, name, function, description)
    return env


@cache
def credit_environment() -> Environment:
    """What credit criteria are typed against: `consumption`, `consumer` and `as_of` (a separate
    environment: the scenario's discount facts are unknown fields there, with a hint saying so)."""
    from engine.models.credit_context import CreditContext

    env = Environment()
    _register(CreditContext, env)
    env.roots = env.records.pop("CreditContext")
    here = ", ".join(f"`{name}`" for name in sorted(env.roots))
    for name in scenario_environment().roots:
        if name not in env.roots:
            env.foreign[name] = f"`{name}` is a fact of discount criteria; a credit criterion sees {here}"
    return env


def environment(context: str) -> Environment:
    """The environment of a criteria context: `scenario` (discounts) or `credit`."""
    return credit_environment() if context == "credit" else scenario_environment()

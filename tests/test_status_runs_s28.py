"""`uninterrupted_ordinals` and `status_runs` (read in one walk forward since s28) agree with
their versions before it, copied below as the oracle (docstrings left out), on random status
histories: the usual shape (each period after the one before, the last maybe open), and any
other (overlapping periods, open ends followed by later starts, periods starting the same day,
out of order, gaps), rested and deactivated, tolerances in days and weeks and `AGE`, the
subscription's start and `as_of` before, inside and after the periods, near both ends of the
calendar. `status_in_force` and `interruptions` (which read `status_runs`) are compared too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.criteria import environment
from engine.criteria.environment import AGE, Tolerances, tolerance_days
from engine.models.scenario import StatusPeriod
from engine.values import Duration, TimeUnit

# --- the oracle: engine/criteria/environment.py at 37f8336 ------------------------------------


def old_open_end(history: Any, began: date) -> date | None:
    later = None
    for period in history:
        start = period.from_
        if start > began and (later is None or start < later):
            later = start
    return None if later is None else date.fromordinal(later.toordinal() - 1)


def old_superseded(history: Any, index: int) -> bool:
    began = history[index].from_
    for later in history[index + 1 :]:  # noqa: SIM110 - a loop: `any()` of a generator costs more per call
        if later.from_ == began:
            return True
    return False


def old_status_runs(history: Any) -> list[tuple[int, int, Any]]:
    runs: list[tuple[int, int, Any]] = []
    later = OLD_END + 1  # the next start later than the period's own (`open_end`), walking back
    following = None  # the start of the period listed next
    taken = OLD_END + 1  # the first day of the run after this one
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
    return old_runs_of_overlapping(history)


def old_runs_of_overlapping(history: Any) -> list[tuple[int, int, Any]]:
    spans = []
    for index, period in enumerate(history):
        if period.to is not None:
            last = period.to.toordinal()
        elif old_superseded(history, index):
            continue  # lasts no day
        else:
            stop = old_open_end(history, period.from_)
            last = OLD_END if stop is None else stop.toordinal()
        spans.append((period.from_.toordinal(), index, last, period))
    spans.sort()  # (index tells any two apart: the periods are never compared)
    points = sorted({s[0] for s in spans} | {s[2] + 1 for s in spans if s[2] < OLD_END})
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
        last = min(points[k + 1] - 1 if k + 1 < len(points) else OLD_END, best[2])
        if runs and runs[-1][2] is best[3] and runs[-1][1] + 1 == day:
            runs[-1] = (runs[-1][0], last, best[3])
        else:
            runs.append((day, last, best[3]))
    return runs


OLD_END = date.max.toordinal()


def old_status_in_force(history: Any, day: date) -> Any:
    number = day.toordinal()
    for first, last, period in old_status_runs(history):
        if first <= number <= last:
            return period
        if first > number:
            break
    return None


def old_interrupts(history: Any, end: date) -> bool:
    for period in history:  # noqa: SIM110 - a loop: `any()` of a generator costs more per call
        if period.status != "active" and period.from_ <= end:  # a StrEnum: equal to its text
            return True
    return False


def old_interruptions(history: Any, end: date, start: date | None = None) -> list[tuple[date, date]]:
    if not old_interrupts(history, end):
        return []
    last_day = end.toordinal()
    begun = None if start is None else start.toordinal()
    joined: list[tuple[date, date]] = []
    for first, last, period in old_status_runs(history):
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


def old_uninterrupted_ordinals(subscription: Any, tolerances: list[int], scenario: Any) -> tuple[int | None, ...]:
    if subscription is None:
        return (None,) * len(tolerances)
    end = scenario.as_of.date()
    last = end.toordinal()
    first: int = subscription.start.toordinal()
    history = subscription.status_history
    if not old_interrupts(history, end):  # the common case: no history, or active periods only
        return (first if first < last else last,) * len(tolerances)
    spans: list[tuple[int, int]] = []
    for began, stop, period in old_status_runs(history):  # in order, no two sharing a day
        if period.status != "active" and began <= last:
            if began < first:  # cut at the subscription's start (`interruptions`)
                if stop < first:
                    continue
                began = first
            spans.append((began, stop if stop < last else last))
    if not spans:  # every rest or deactivation superseded, or over before the subscription began
        return (first if first < last else last,) * len(tolerances)
    starts = [first] * len(tolerances)
    begun, stop = spans[0]
    for following, ends in [*spans[1:], (OLD_PAST, OLD_PAST)]:  # joined while each starts by the day after
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


OLD_PAST = date.max.toordinal() + 2


# --- generated histories ----------------------------------------------------------------------

STATUSES = st.sampled_from(["active", "rested", "deactivated"])
BASES = (date(2015, 1, 1), date(1, 1, 1), date(9999, 9, 1))


def _day(base: date, offset: int) -> date:
    return date.fromordinal(min(max(base.toordinal() + offset, 1), date.max.toordinal()))


def _period(status: str, first: date, last: date | None) -> StatusPeriod:
    row = {"status": status, "from": first.isoformat()}
    if last is not None:
        row["to"] = last.isoformat()
    return StatusPeriod.model_validate(row)


@st.composite
def usual_histories(draw: Any, base: date) -> list[StatusPeriod]:
    """Each period starting after the one before ends (gaps maybe), any maybe open (written as a
    transition: it ends the day before the next starts)."""
    steps = draw(st.lists(st.tuples(STATUSES, st.integers(1, 12), st.integers(0, 25), st.booleans()), max_size=7))
    history, offset = [], draw(st.integers(0, 20))
    for status, gap, length, open_ended in steps:
        first = offset + gap
        history.append(_period(status, _day(base, first), None if open_ended else _day(base, first + length)))
        offset = first if open_ended else first + length
    return history


@st.composite
def any_histories(draw: Any, base: date) -> list[StatusPeriod]:
    """Periods anywhere in 80 days, open or not, sharing days, oldest first or not."""
    rows = draw(
        st.lists(
            st.tuples(STATUSES, st.integers(0, 80), st.one_of(st.none(), st.integers(0, 30))),
            max_size=7,
        )
    )
    if draw(st.booleans()):
        rows.sort(key=lambda row: row[1])
    return [
        _period(status, _day(base, first), None if length is None else _day(base, first + length))
        for status, first, length in rows
    ]


@st.composite
def cases(draw: Any) -> tuple[list[StatusPeriod], date, date, Tolerances]:
    base = draw(st.sampled_from(BASES))
    history = draw(st.one_of(usual_histories(base), any_histories(base)))
    start = _day(base, draw(st.integers(-10, 90)))
    as_of = _day(base, draw(st.integers(-20, 130)))
    tolerances = Tolerances()
    for count, unit in draw(
        st.lists(st.tuples(st.integers(0, 40), st.sampled_from([TimeUnit.DAYS, TimeUnit.WEEKS])), max_size=5)
    ):
        tolerances.position(tolerance_days(Duration(count, unit)))
    if draw(st.booleans()):
        tolerances.position(AGE)
    return history, start, as_of, tolerances


def _subscription(history: list[StatusPeriod], start: date) -> Any:
    return SimpleNamespace(start=start, status_history=history)


def _scenario(as_of: date) -> Any:
    return SimpleNamespace(as_of=datetime.combine(as_of, time(23, 30), tzinfo=UTC))


def _periods(*rows: tuple[str, str, str | None]) -> list[StatusPeriod]:
    return [_period(s, date.fromisoformat(f), None if t is None else date.fromisoformat(t)) for s, f, t in rows]


TRANSITIONS = _periods(("active", "2015-01-01", None), ("rested", "2015-02-01", None), ("active", "2015-02-20", None))
SUPERSEDED = _periods(("deactivated", "2015-01-10", None), ("active", "2015-01-10", None))
OVERLAPPING = _periods(("deactivated", "2015-03-01", "2015-03-20"), ("active", "2015-03-10", "2015-12-31"))
EDGE = _periods(("active", "0001-01-01", "0001-01-05"), ("rested", "0001-01-06", "0001-02-28"))
LAST_DAY = _periods(("active", "9999-12-01", "9999-12-20"), ("rested", "9999-12-21", "9999-12-31"))


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
@example((TRANSITIONS, date(2015, 1, 1), date(2015, 3, 1), Tolerances([0, 7, 30, AGE])))
@example((SUPERSEDED, date(2015, 1, 10), date(2015, 3, 1), Tolerances([0])))
@example((OVERLAPPING, date(2015, 1, 1), date(2015, 3, 12), Tolerances([0, 14])))
@example((EDGE, date(1, 1, 1), date(1, 3, 1), Tolerances([0, 53, 54])))
@example((LAST_DAY, date(9999, 12, 1), date(9999, 12, 31), Tolerances([0, 10, 11, AGE])))
def test_uninterrupted_ordinals_as_before(case: tuple[list[StatusPeriod], date, date, Tolerances]) -> None:
    history, start, as_of, tolerances = case
    subscription, scenario = _subscription(history, start), _scenario(as_of)
    expected = old_uninterrupted_ordinals(subscription, list(tolerances), scenario)
    assert environment.uninterrupted_ordinals(subscription, tolerances, scenario) == expected
    # one tolerance at a time, as the interpreted form reads it
    for k, allowed in enumerate(tolerances):
        assert environment.uninterrupted_ordinals(subscription, Tolerances([allowed]), scenario) == (expected[k],)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
@example((TRANSITIONS, date(2015, 1, 1), date(2015, 3, 1), Tolerances()))
@example((SUPERSEDED, date(2015, 1, 10), date(2015, 1, 10), Tolerances()))
@example((EDGE, date(1, 1, 1), date(1, 1, 6), Tolerances()))
@example((LAST_DAY, date(9999, 12, 1), date(9999, 12, 31), Tolerances()))
def test_status_runs_as_before(case: tuple[list[StatusPeriod], date, date, Tolerances]) -> None:
    history, start, as_of, _ = case
    runs = environment.status_runs(history)
    expected = old_status_runs(history)
    assert [(first, last) for first, last, _ in runs] == [(first, last) for first, last, _ in expected]
    assert all(new is old for (_, _, new), (_, _, old) in zip(runs, expected, strict=True))
    assert environment.interruptions(history, as_of, start) == old_interruptions(history, as_of, start)
    assert environment.interruptions(history, as_of) == old_interruptions(history, as_of)
    for day in {start, as_of, *(p.from_ for p in history), *(p.to for p in history if p.to is not None)}:
        assert environment.status_in_force(history, day) is old_status_in_force(history, day)


def test_no_subscription_and_no_history() -> None:
    tolerances = Tolerances([0, 7])
    scenario = _scenario(date(2015, 3, 1))
    assert environment.uninterrupted_ordinals(None, tolerances, scenario) == (None, None)
    subscription = _subscription([], date(2015, 1, 1))
    assert environment.uninterrupted_ordinals(subscription, tolerances, scenario) == (date(2015, 1, 1).toordinal(),) * 2
    assert environment.status_runs([]) == []

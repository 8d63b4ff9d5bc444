"""Building blocks of the rule-file models: annotated field types and the document base class.

The pydantic models are the single source of truth for the rule-file format; `schemas/` is
generated from them (`billrules schema --write schemas/`) and a test proves the committed schemas
equal the generated ones.
"""

# No `from __future__ import annotations` in the rule-file models: pydantic would evaluate every
# annotation string at import (typing.ForwardRef compiles each one), 3 ms of `billrules validate`.

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError, SchemaValidator, TzInfo, core_schema

from engine.values import (
    CODE_PATTERN,
    DURATION_PATTERN,
    MAX_INTEGER_DIGITS,
    MONEY_PATTERN,
    Duration,
    Money,
    TimeUnit,
    parse_number,
    parse_number_text,
    plain,
)

#: The largest whole number a count or quantity may hold (15 digits, as for every number).
MAX_COUNT = 10**MAX_INTEGER_DIGITS - 1


#: Parsed texts, kept: a billing run reads the same prices, durations and quantities over and over,
#: and the values are immutable (a text that does not parse raises, and is not kept).
_money_text = lru_cache(maxsize=4096)(Money.parse)
_duration_text = lru_cache(maxsize=1024)(Duration.parse)
_number_text = lru_cache(maxsize=4096)(parse_number_text)


def _parse_money(value: Any) -> Any:
    if type(value) is str:
        return _money_text(value)
    if isinstance(value, str):
        return Money.parse(value)
    if isinstance(value, Money):
        return value
    raise ValueError("money must be written as text, e.g. `20.00 EUR`")


def _parse_charge(value: Any) -> Any:
    """Money of 0 or more (a usage record's rated `amount`): below zero is no usage (error type
    `money_below_zero`, its `money` in the context)."""
    money = _parse_money(value)
    if money.amount < 0:
        raise PydanticCustomError("money_below_zero", "`{money}` is below zero", {"money": str(money)})
    return money


def _parse_duration(value: Any) -> Any:
    if type(value) is str:
        return _duration_text(value)
    if isinstance(value, str):
        return Duration.parse(value)
    if isinstance(value, Duration):
        return value
    raise ValueError("a duration must be written as text, e.g. `6 months`")


def _parse_decimal(value: Any) -> Any:
    """Numbers from YAML arrive as int/float; go through `str` so 0.1 stays exactly 0.1.

    Within the limits of engine.values (finite, 15 digits before the point, 9 after).
    """
    kind = type(value)
    if kind is int and -MAX_COUNT <= value <= MAX_COUNT:
        return Decimal(value)  # what `parse_number(str(value))` gives, without the text
    if kind is str:
        return _number_text(value)
    if isinstance(value, bool):
        raise ValueError("expected a number")
    if isinstance(value, str):  # a subclass (`numpy.str_`): as text is read (until 2026-12-03 as `Decimal` reads it)
        return parse_number_text(str(value))
    if isinstance(value, int | float | Decimal):
        return parse_number(str(value))
    raise ValueError("expected a number")


#: Each calendar before-validator's pattern: the validator passes an exact `str` it matches (at the
#: start) unchanged, for pydantic to parse (engine.models._scenario_direct makes the same check inline).
CALENDAR_TEXT: dict[Callable[[Any], Any], re.Pattern[str]] = {}


#: A date alone, which pydantic's lax mode reads as midnight where a date-time is wanted.
_DATE_ALONE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

#: A fraction of a second with a digit other than 0 past the sixth (`10:00:00.000000100Z`): finer
#: than the microsecond Python's `datetime` keeps, which pydantic would cut. Only text longer than
#: `TOO_FINE_FROM` characters can hold one (`2015-09-01T10:00:00.0000001` is 27).
TOO_FINE = re.compile(r"[.,][0-9]{6}[0-9]*[1-9]")
TOO_FINE_FROM = 26


def too_fine(value: str) -> bool:
    """Whether the date-time text `value` gives a time finer than a microsecond (digits past the
    sixth decimal of its second that are not all 0): billrules keeps time to the microsecond, and
    cutting the rest could reorder events (`.000000100Z` read as `.000000Z`, tied with `.0Z`)."""
    return len(value) > TOO_FINE_FROM and TOO_FINE.search(value, 19) is not None


#: A date-time in a form pydantic reads (with `-00:00` and `+0200`, a comma before a fraction).
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt _][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?(?:[Zz]|[+-][0-9]{2}:?[0-9]{2})?"
)

#: ... and its parts, its time of day and its zone written loosely (`T00`, ` +02`, `UTC`, `+00:00:30`)
_DATE_TIME_PARTS = re.compile(
    r"(?P<day>[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt _])"
    r"(?P<clock>[0-9]{2}(?::[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?)?)"
    r"(?P<space>[ \t]*)"
    r"(?:(?P<utc>(?i:utc|gmt|z))?(?P<offset>[+-][0-9]{1,2}(?::?[0-9]{2}(?::[0-9]{2})?)?)?|(?P<name>[A-Za-z][A-Za-z_/]*))"
)

_EXAMPLE = "2015-06-15T10:00:00+01:00"


def date_time_problem(written: str) -> str | None:
    """The words for a date-time whose time of day or zone is written in a form pydantic refuses
    ("valid datetime or date, unexpected extra characters", until 2026-12-04): an offset without
    its minutes (`+02`), a space before the zone (`10:00:00 +02:00`), a zone's name (`UTC`,
    `CET`), an offset with seconds (`+00:00:30`), an hour without its minutes (`T00Z`); with the
    text to write where it can tell (`+02` → `+02:00`). None for any other text (a date-time
    pydantic reads, or one it refuses for another reason, told by its own words)."""
    if _DATE_TIME.fullmatch(written):
        return None
    found = _DATE_TIME_PARTS.fullmatch(written)
    if found is None or _reads_as_date_time(written):  # (what pydantic reads stays read)
        return None
    day, clock, space, utc, offset, name = found.group("day", "clock", "space", "utc", "offset", "name")
    why: list[str] = []
    if len(clock) == 2:
        clock = f"{clock}:00"
        why.append(f"a time of day has its minutes, `{clock}`")
    zone: str | None = ""
    if offset is not None:
        zone, words = _offset_written(offset)
        why += words
        if utc is not None:
            why.append(f"an offset is written alone, without `{utc}`")
    elif utc is not None:
        zone = "Z"
        if utc not in ("Z", "z"):
            why.append("UTC is written `Z` or `+00:00`")
    elif name is not None:
        zone = None
        why.append(f"a time zone is written as its offset from UTC, such as `+01:00`, not by its name `{name}`")
    if space and zone == "":
        return None  # (white space after the time: the scenario's reader says so)
    if space:
        why.append("no space before the zone")
    if not why:
        return None
    example = _EXAMPLE
    if zone is not None:
        candidate = f"{day}{clock}{zone}"
        if _DATE_TIME.fullmatch(candidate) and _reads_as_date_time(candidate):
            example = candidate
    return f"`{written}` is not a date-time: write it like `{example}` ({'; '.join(why)})"


def _offset_written(offset: str) -> tuple[str | None, list[str]]:
    """An offset written loosely (`+02`, `+2:00`, `+00:00:30`): the offset to write (None when
    it cannot tell) and why."""
    sign, digits = offset[0], offset[1:].replace(":", "")
    hours, rest = (digits[:1], digits[1:]) if len(digits) % 2 else (digits[:2], digits[2:])
    minutes, seconds = rest[:2], rest[2:]
    zone = f"{sign}{int(hours):02d}:{minutes or '00'}"
    why = []
    if seconds:
        why.append("an offset is written in hours and minutes, `±HH:MM`, without seconds")
        if seconds != "00":
            return None, why
    elif len(hours) == 1:
        why.append(f"an offset is written `±HH:MM`, its hours in two digits: `{zone}`")
    elif not minutes:
        why.append(f"an offset is written with its minutes, `{zone}`")
    return zone, why


@lru_cache(maxsize=1)
def _date_time_reader() -> Callable[[Any], Any]:
    read: Callable[[Any], Any] = SchemaValidator(core_schema.datetime_schema()).validate_python
    return read


def _reads_as_date_time(text: str) -> bool:
    """Whether pydantic reads `text` as a date-time (`date_time_problem`'s text to write)."""
    try:
        _date_time_reader()(text)
    except ValueError:  # (pydantic_core.ValidationError)
        return False
    return True


_SECOND = timedelta(seconds=1)


def fixed_offset(value: datetime) -> datetime:
    """A typed date-time (a Python `datetime`, a `pandas.Timestamp`) as ISO text with its offset
    reads: a plain `datetime` of the same instant and the same local time, its zone the fixed offset
    it has at that instant (pydantic's `TzInfo`, as for text; `timezone` for an offset finer than a
    second). Python compares and subtracts two date-times that share one `tzinfo` object by their
    local time alone, whatever their offsets: two times of one named zone (`ZoneInfo`, a Parquet
    `timestamp[tz=Europe/Berlin]` column) on either side of a change of the clocks were ordered
    and measured by the local time (until 2026-12-04: a debit at 02:40+02:00 applied after a grant
    at 02:10+01:00, half an hour later; spans and windows an hour off). A date-time without a zone
    stays without one (read as UTC, as text without an offset is)."""
    zone = value.tzinfo
    if value.__class__ is datetime and (zone is None or zone.__class__ is TzInfo or zone.__class__ is timezone):
        return value  # (already so: text parsed, or a fixed offset)
    offset = value.utcoffset()
    if offset is None:
        fixed: Any = None
    elif offset % _SECOND:
        fixed = timezone(offset)
    else:
        fixed = TzInfo(offset // _SECOND)
    return datetime(
        value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond, fixed
    )


def _calendar_text(
    what: str, example: str, form: str, *, timed: bool = False, dated: bool = False, instant: bool = False
) -> Any:
    """A before-validator: a date, date-time or time is ISO text (or already a Python value).

    Pydantic's lax mode would read `0` or `"0"` as 1970-01-01 (a Unix timestamp) or as midnight;
    YAML and JSON give dates as text, and a number there is a mistake. `timed`: a date alone
    (`2015-08-01`, or a Python `date`) is refused too, where pydantic would read it as midnight
    (error type `date_time_date_alone`, its `date` in the context). `dated`: a date written with
    a time of day is refused at midnight too (error type `date_from_datetime_inexact`, pydantic's
    own for other times), where pydantic would read `2015-01-01T00:00:00+02:00` as its date (until
    2026-12-03 a scenario's `subscription.start` or `cancellation.date` so written was decided).
    """
    pattern = re.compile(form)
    match = pattern.match

    def check(value: Any) -> Any:
        if type(value) is str and match(value):
            if dated and len(value) > 10 and value[10] in "Tt _":
                raise PydanticCustomError("date_from_datetime_inexact", "a date, written with a time of day")
            if timed and len(value) > TOO_FINE_FROM and too_fine(value):  # (until 2026-12-03 cut: events reordered)
                raise _too_fine_error(value)
            if instant and not _DATE_TIME.fullmatch(value) and (problem := date_time_problem(value)):
                raise ValueError(problem)  # (until 2026-12-04 pydantic's "valid datetime or date")
            return value
        if isinstance(value, datetime):
            if value != value:  # `pandas.NaT`: a date-time with no value
                # (until 2026-12-03 taken: a decision crashed on it, or showed `"at": "NaT"`)
                raise ValueError(f"`{value}` is not {what}: write it like `{example}`")
            if timed and getattr(value, "nanosecond", 0) != 0:  # a `pandas.Timestamp` (Parquet's `timestamp[ns]`)
                # finer than a microsecond: refused as its text is (until 2026-12-03 kept to the nanosecond)
                raise _too_fine_error(value.isoformat())
            if instant:  # at its fixed offset, as text is read (until 2026-12-04 a named zone's: `fixed_offset`)
                return fixed_offset(value)
        if isinstance(value, bool):  # (until 2026-12-03 "not as a number")
            raise ValueError(f"{what} must be written as text, e.g. `{example}`, not as `{str(value).lower()}`")
        if isinstance(value, int | float | Decimal):
            raise ValueError(f"{what} must be written as text, e.g. `{example}`, not as a number")
        if value is None or isinstance(value, list | dict):  # (until 2026-12-03 pydantic's words)
            written = "null (no value)" if value is None else "a list" if isinstance(value, list) else "a mapping"
            raise ValueError(f"{what} must be written as text, e.g. `{example}`, not as {written}")
        if timed and (
            (isinstance(value, str) and _DATE_ALONE.fullmatch(value))
            or (isinstance(value, date) and not isinstance(value, datetime))
        ):
            raise PydanticCustomError(
                "date_time_date_alone",
                "`{date}` is a date alone: a date-time needs its time of day",
                {"date": str(value)},
            )
        if isinstance(value, str) and not pattern.match(value):
            raise ValueError(f"`{value[:40]}` is not {what}: write it like `{example}`")
        if timed and isinstance(value, str) and too_fine(str(value)):
            raise _too_fine_error(str(value))
        return value

    CALENDAR_TEXT[check] = pattern
    return BeforeValidator(check)


def _too_fine_error(value: str) -> PydanticCustomError:
    """The error of a date-time written finer than a microsecond (type `date_time_too_fine`, its
    text in the context)."""
    shown = value if len(value) <= 60 else f"{value[:40]}…{value[-19:]}"
    return PydanticCustomError(
        "date_time_too_fine",
        "`{written}` is finer than a microsecond: billrules keeps time to the microsecond "
        "(at most six decimals of the second)",
        {"written": shown},
    )


DateField = Annotated[date, _calendar_text("a date", "2015-12-31", r"[0-9]{4}-[0-9]{2}-[0-9]{2}", dated=True)]
DateTimeField = Annotated[
    datetime,
    _calendar_text("a date-time", "2015-06-15T10:00:00+01:00", r"[0-9]{4}-[0-9]{2}-[0-9]{2}", instant=True),
]
#: A scenario's date-time (`as_of`, a usage record's `at`, …): a date and its time of day, with or
#: without an offset (`2015-06-15T10:00:00+01:00`; zone-less text is read as UTC). A date alone is
#: refused (until 2026-12-03 it was read as midnight UTC); a rule file's `execution_dates` bound,
#: where a date covers its whole day, is a `DateTimeField`.
TimestampField = Annotated[
    datetime,
    _calendar_text(
        "a date-time", "2015-06-15T10:00:00+01:00", r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt _]", timed=True, instant=True
    ),
]
TimeField = Annotated[time, _calendar_text("a time of day", "22:00:00", r"[0-9]{2}:[0-9]{2}")]


MoneyField = Annotated[
    Money,
    BeforeValidator(_parse_money),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["20.00 EUR"]}),
]
#: Money of 0 or more (a usage record's rated charge; until 2026-12-03 `-4.99 EUR` was read).
ChargeField = Annotated[
    Money,
    BeforeValidator(_parse_charge),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)? [A-Z]{3}$", "examples": ["20.00 EUR"]}),
]
DurationField = Annotated[
    Duration,
    BeforeValidator(_parse_duration),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "examples": ["6 months"]}),
]
DecimalField = Annotated[
    Decimal,
    BeforeValidator(_parse_decimal),
    PlainSerializer(plain, return_type=str),
    WithJsonSchema({"type": ["number", "string"], "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}),
]
Percentage = Annotated[
    Decimal,
    Field(ge=0, le=100),  # (until 2026-12-02 only the JSON Schema said so: a scenario's rate of 101 was read)
    BeforeValidator(_parse_decimal),
    PlainSerializer(plain, return_type=str),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 100, "examples": [15]}),
]
Code = Annotated[str, Field(pattern=CODE_PATTERN, min_length=1, max_length=100)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
#: text that must say something where it is written (a ledger account, a tax code, a service, a
#: unit, a version, an item of a list of values): `""` is BR206 "is empty", as for a `name` (until
#: 2026-12-04 it was accepted, and a cancellation penalty was booked to the ledger account `""`)
Text = Annotated[str, Field(min_length=1)]


def whole_number_as_text(value: Any) -> Any:
    """A scenario's own id written as a whole number (`id: 49`, JSON's `"id": 1`) is its digits;
    anything else is left for the text check (a bool is not a number here). A YAML number not
    written as its digits (`0042`, `0x1F`) is refused: `0042` and `"0042"` must not become `42`."""
    if value.__class__ is int:
        if not -(10**100) < value < 10**100:  # (Python's own words, "Exceeds the limit (4300 digits)
            # for integer string conversion", until 2026-12-04)
            raise ValueError("a whole number of more than 100 digits is no id: an id has at most 100 characters")
        return str(value)
    written = getattr(value, "text", None)
    if isinstance(value, int) and isinstance(written, str):
        raise ValueError(f'`{written}` reads as the number {int(value)}; write the id in quotes: "{written}"')
    return value


_NUMBER_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


def whole_number_text(value: Any) -> Any:
    """A whole number given as text is written as a decimal field's number is — ASCII digits,
    perhaps a minus sign, a point and digits, an exponent (`"12"`, `"-3"`, `"12.0"`, as exports of
    floats write it, `"1e1"`) — and whole: `"1_000"`, `"+2"` and `" 7"`, which Python's `int`
    reads, are refused (a count written `1_000` is more likely a typo than a thousand), and so is
    `"12.5"`. A yes/no value is refused too: pydantic would read `true` as 1."""
    if isinstance(value, bool):
        raise ValueError(f"`{str(value).lower()}` is a yes/no value, not a number")
    if not isinstance(value, str):
        return value
    shown = value if len(value) <= 40 else f"{value[:18]}…{value[-18:]}"
    if not _NUMBER_TEXT.fullmatch(value):
        raise ValueError(f"`{shown}` is not a number written in digits")
    try:
        number = Decimal(value)
        whole = number == number.to_integral_value()
    except ArithmeticError:  # an exponent past what a decimal holds
        raise ValueError(f"`{shown}` is not a number billrules reads (its exponent is too large)") from None
    if not whole:
        raise ValueError(f"`{shown}` is not a whole number")
    if number and number.adjusted() >= MAX_INTEGER_DIGITS:  # (`0e15` is 0; this keeps `int` small)
        raise ValueError(f"`{shown}` has more than {MAX_INTEGER_DIGITS} digits")
    return int(number)


#: a whole number's check of text (`Annotated[int, Field(ge=…), DIGITS]`: the bounds first, so
#: the JSON Schema says `minimum`/`maximum`)
DIGITS = BeforeValidator(whole_number_text)


def number_as_written(value: Any) -> Any:
    """A YAML integer not written as Python writes it (`0x10`, `0042`, `1_000`) as the text it was
    written as, for a field that reads a number or text by its digits (a coupon's range start:
    `0x10` is the base-36 text `0X10` of an alphanumeric coupon, and no numeric value)."""
    written = getattr(value, "text", None)
    if isinstance(value, int) and isinstance(written, str):
        return written
    if isinstance(value, int) and not isinstance(value, bool) and value > MAX_COUNT:
        # at most 15 digits, as every whole number of the rule files (until 2026-12-04 any length)
        raise ValueError(f"{value} has more than {MAX_INTEGER_DIGITS} digits: write {MAX_COUNT} or less")
    if isinstance(value, float):  # `5E2` (YAML's 500.0): its text is lost, and `5E2` is base-36 text
        raise ValueError(
            f"reads as the number {value!r}; write the range start in quotes, as the first code's characters"
        )
    return value


#: the scenario's own ids and codes (the scenario's, its account's, a consumption's, an event's):
#: text, or a whole number read as its digits
OwnCode = Annotated[
    str,
    BeforeValidator(whole_number_as_text),
    Field(pattern=CODE_PATTERN, min_length=1, max_length=100),
    WithJsonSchema({"type": ["string", "integer"], "pattern": CODE_PATTERN, "minLength": 1, "maxLength": 100}),
]


class Strict(BaseModel):
    """Unknown keys are errors (a misspelt key must never be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


class RuleDocument(Strict):
    """Fields every rule document has."""

    code: Code = Field(description="Unique code of this document within its kind in the rule set.")
    name: Name | None = Field(  # required by the catalog's kinds (SPEC 3.1 lists it), optional elsewhere
        default=None, description="Human-readable name shown to analysts and on reports."
    )
    description: str | None = Field(default=None, description="Free text for reviewers.")


class Validity(Strict):
    """A date range; `to` is inclusive and may be left open."""

    from_: DateField = Field(alias="from", description="First day (inclusive).", examples=["2015-01-01"])
    to: DateField | None = Field(
        default=None, description="Last day (inclusive); open when omitted.", examples=["2015-12-31"]
    )

    def contains(self, day: date) -> bool:
        return self.from_ <= day and (self.to is None or day <= self.to)


UnitField = Annotated[TimeUnit, Field(description="Unit of time: days, weeks, months or years.")]

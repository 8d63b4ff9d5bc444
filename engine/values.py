"""Value types shared by rule files, scenarios and the criteria language.

Money is a `Decimal` with an ISO 4217 currency code; no float ever touches money. Durations keep
their calendar unit, because "1 month" is not a fixed number of days.

Limits (the same in rule files, criteria and scenarios), so that arithmetic stays exact in
`ARITHMETIC`, the decimal context every decision runs in, and every date stays in the calendar:

- a number or an amount has at most 15 digits before the decimal point and 9 after it, and is
  finite; written out in full, never in exponent form (`1E+2`, `1E-10`);
- a duration is at most as long as the calendar (9,998 years, 119,987 months, 521,722 weeks or
  3,652,058 days);
- dates run from 0001-01-01 to 9999-12-31: date arithmetic that leaves them raises
  `OutOfCalendar` (`add_to`), or is clamped to the first/last day (`add_clamped`).
"""

from __future__ import annotations

import calendar
import decimal
import re
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from engine.currencies import CURRENT as _CURRENT
from engine.currencies import MINOR_UNITS as _CLDR_MINOR_UNITS

MAX_INTEGER_DIGITS = 15
MAX_FRACTION_DIGITS = 9

#: The decimal arithmetic every decision runs in, whatever the calling thread has set
#: (`engine.decide.decision.decide` sets it and sets the caller's back; the command line and a
#: run's chunks run in it throughout). A service working with 6 digits got wrong balances, and
#: results kept per rule set depended on the context of the first call. 60 digits hold exactly
#: every product the limits allow (24-digit amounts times three levels of percentages, each 12
#: digits at most), so rounding once per line is exact; more digits cost every division a little
#: (100 digits measured about 5 % of a decision).
ARITHMETIC = decimal.Context(
    prec=60,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)

_THREAD = threading.local()


def engine_context() -> decimal.Context:
    """This thread's copy of `ARITHMETIC`, the one installed while billrules computes: a context
    is changeable, and one object shared by threads, or left installed for a caller to change,
    would carry one caller's precision into another's decisions."""
    found: decimal.Context | None = getattr(_THREAD, "context", None)
    if found is None:
        found = _THREAD.context = ARITHMETIC.copy()
    return found


@contextmanager
def in_engine_context() -> Iterator[None]:
    """Run the block in `engine_context()`, the caller's context set back after it."""
    caller = decimal.getcontext()
    ours = engine_context()
    if caller is ours:
        yield
        return
    decimal.setcontext(ours)
    try:
        yield
    finally:
        decimal.setcontext(caller)


#: a rule document's code (and a scenario's own ids)
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
MONEY_PATTERN = r"^-?[0-9]+(\.[0-9]+)? [A-Z]{3}$"
DURATION_PATTERN = r"^[0-9]+ (day|days|week|weeks|month|months|year|years)$"
_MONEY_RE = re.compile(MONEY_PATTERN)
_DURATION_RE = re.compile(DURATION_PATTERN)

#: Minor units of every ISO 4217 currency CLDR knows (engine/currencies.py, generated from babel);
#: a rule set may override them (`minor_units` in ruleset.yaml).
MINOR_UNITS: dict[str, int] = _CLDR_MINOR_UNITS


def currency_problem(code: str, extra: Collection[str] = ()) -> str | None:
    """Why `code` is not a currency (with the nearest real code), or None for a known one.

    Known: every code in CLDR, and the `extra` codes a rule set declares in its `minor_units`."""
    if code in MINOR_UNITS or code in extra:
        return None
    near = nearest_currency(code, [*MINOR_UNITS, *extra])
    suggestion = f"; did you mean `{near}`?" if near else ""
    return f"`{code}` is not an ISO 4217 currency{suggestion}"


def nearest_currency(code: str, known: list[str]) -> str | None:
    """The code a common name stands for (`YEN` is `JPY`, `SFR` is `CHF`), else the known code with
    two letters swapped (`GPB`), else one letter away, preferring a currency in use today (`SFR`
    is not the Soviet `SUR`), then a different last letter (the first two name the country: `EUX`
    is `EUR`, not the historic `XEU`); None when none is that close."""
    named = COMMON_NAMES.get(code.upper())
    if named is not None and named in known:  # (until 2026-12-02 `YEN` got the Yemeni rial, `YER`)
        return named
    swapped = [code[:i] + code[i + 1] + code[i] + code[i + 2 :] for i in range(len(code) - 1)]
    for candidate in swapped:  # `GPB` for `GBP`: two letters typed the wrong way round
        if candidate in known:
            return candidate
    close = [
        (max(i for i in range(3) if a[i] != code[i]), a)
        for a in known
        if len(a) == len(code) == 3 and sum(x != y for x, y in zip(a, code, strict=True)) == 1
    ]
    return max(close, key=lambda c: (c[1] in _CURRENT, c[0], c[1] in _MAJOR, c[1]))[1] if close else None


#: Names and abbreviations people write for a currency that are not its ISO 4217 code.
COMMON_NAMES: dict[str, str] = {
    "YEN": "JPY",
    "RMB": "CNY",
    "SFR": "CHF",
    "SFS": "CHF",
    "NTD": "TWD",
    "NIS": "ILS",
    "UKP": "GBP",
    "STG": "GBP",
    "EURO": "EUR",
    "YUAN": "CNY",
    "RUPEE": "INR",
    "DOLLAR": "USD",
    "POUND": "GBP",
}


#: Currencies preferred among equally close suggestions.
_MAJOR = frozenset({"EUR", "USD", "GBP", "JPY", "CHF", "CAD", "AUD", "CNY", "SEK", "NOK", "DKK", "PLN", "INR"})


def number_problem(value: Decimal) -> str | None:
    """Why `value` is outside the numbers billrules handles (see the module limits), or None."""
    if not value.is_finite():
        return "is not a finite number"
    # digits before the point: adjusted() + 1 for a non-zero value (its coefficient has no leading zero)
    if value.adjusted() >= MAX_INTEGER_DIGITS and value:
        return f"is too large: at most {MAX_INTEGER_DIGITS} digits before the decimal point"
    # digits after the point, as written (trailing zeros count): read from `str`, which writes
    # them all unless it chooses an exponent form; `as_tuple` is about six times slower
    text = str(value)
    if "E" in text:
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)
        fraction = -exponent
    else:
        point = text.find(".")
        fraction = len(text) - point - 1 if point >= 0 else 0
    if fraction > MAX_FRACTION_DIGITS:
        return f"is too precise: at most {MAX_FRACTION_DIGITS} digits after the decimal point"
    return None


def checked_number(value: Decimal, text: str) -> Decimal:
    """`value` (written as `text`) within the limits, else ValueError with an analyst-readable message."""
    problem = number_problem(value)
    if problem is not None:
        raise ValueError(f"`{_shorten(text)}` {problem}")
    return value


def parse_number(text: str) -> Decimal:
    """A number written as text (`15`, `12.5`), within the limits; ValueError with an analyst-readable message."""
    try:
        number = Decimal(text.strip()) if len(text) <= 100 else None
    except InvalidOperation:
        number = None
    if number is None:
        digits = _LONG_NUMBER.fullmatch(text)
        if digits is not None:  # a number, too long to be read (until 2026-12-04 "is not a number")
            whole = digits.group(1).lstrip("0")
            problem = (
                f"is too large: at most {MAX_INTEGER_DIGITS} digits before the decimal point"
                if len(whole) > MAX_INTEGER_DIGITS
                else f"is too precise: at most {MAX_FRACTION_DIGITS} digits after the decimal point"
            )
            raise ValueError(f"`{_shorten(text)}` {problem}")
        raise ValueError(f"`{_shorten(text)}` is not a number")
    return checked_number(number, text)


#: a number written in digits alone, whatever its length (`parse_number` reads 100 characters at most)
_LONG_NUMBER = re.compile(r"-?([0-9]+)(?:\.[0-9]+)?")


_NUMBER_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def parse_number_text(text: str) -> Decimal:
    """`parse_number` of a number written as text: ASCII digits, a point and digits, an exponent
    (`12.5`, `1e1`), and nothing around them. Python's `Decimal` also reads `1_000`, `+2`, `2.`,
    digits of other scripts (`٣`) and white space around the number (`" 10 "`, `"3\\n"`), which no
    schema allows (until 2026-12-03 white space was taken); the limits' own messages come first."""
    number = parse_number(text)
    if _NUMBER_TEXT.fullmatch(text) is None:
        bare = text.strip()
        if bare != text and _NUMBER_TEXT.fullmatch(bare) is not None:
            shown = _shorten(text.encode("unicode_escape").decode("ascii"))  # (`3\n`, `\t5`: seen)
            raise ValueError(f"`{shown}` is not a number: white space around the digits (write `{_shorten(bare)}`)")
        raise ValueError(f"`{_shorten(text)}` is not a number: write it with digits, like `12.5`")
    return number


def plain(value: Decimal) -> str:
    """A decimal written out in full (`100`, `0.0000001`), never in exponent form; no negative zero.

    `str` writes most amounts in full already (an exponent of at most 0, at most 6 zeros after the
    point) and is about three times quicker than `format(value, "f")`, which is kept for the rest:
    an exponent form (`1E+3`, `1E-9`) or a negative zero (`-0.00`)."""
    text = str(value)
    if "E" in text or (text[0] == "-" and not value):
        return format(value if value else abs(value), "f")
    return text


def _without_idle_zeros(amount: Decimal, digits: int) -> Decimal:
    """`amount`, written with more places than its currency's `digits`, without the zeros past them
    (`3333.0 JPY` is `3333 JPY`, `10.000 EUR` is `10.00 EUR`, `10.0000010 EUR` is `10.000001 EUR`):
    the same money written two ways is one decision, byte for byte (until 2026-12-04 a price `3333.0
    JPY` gave a net `2916.0 JPY` and a bill total with a decimal place the yen has not). Money finer
    than the minor unit (`29.965 EUR`) is kept."""
    bare = amount.normalize()
    exponent = bare.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > digits:
        return bare
    return amount.quantize(Decimal(1).scaleb(-digits))


def money_text(amount: Decimal, currency: str) -> str:
    """`str(Money(amount, currency))` without building the Money: `12.50 EUR`."""
    return f"{plain(amount)} {currency}"


def _shorten(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:18]}…{text[-18:]}"


class InexactNumber(Exception):
    """A decimal number written with more digits than a binary float holds (`1.0000000000000001`
    reads as 1.0): YAML and JSON readers give floats, so the number read would not be the one
    written (BR120, where rule files, scenario files and run lines are read)."""

    def __init__(self, text: str, read: str) -> None:
        super().__init__(text)
        self.text, self.read = text, read

    def words(self, shown: str | None = None) -> tuple[str, str]:
        """The diagnostic's message and hint (`shown`: the number as the reader should see it)."""
        return (
            f"number `{shown or self.text}` has more digits than can be read exactly (it would be read as {self.read})",
            "write it with at most 15 significant digits, or in quotes (as text) where the field takes text",
        )


def exact_float(text: str) -> float:
    """The float of a number's text, or `InexactNumber` when it is not the number written. A float
    written in full, with the 17 significant digits that `%.17g` gives (`100.09999999999999`, as C,
    older PostgreSQL and some exporters write 100.1), is that float: the writer meant it."""
    value = float(text)
    if value - value != 0:  # inf: refused where it is read, as a number that is not finite
        return value
    try:
        written = Decimal(text)
    except ArithmeticError:  # an exponent past what a decimal holds (`1e-99999999999999999999`): read as 0.0
        raise InexactNumber(text, repr(value)) from None
    if written != Decimal(repr(value)) and written != Decimal(f"{value:.17g}") and written != Decimal(value):
        raise InexactNumber(text, repr(value))  # another number than the float's
    return value


class OutOfCalendar(ValueError):
    """Date arithmetic that leaves the calendar (0001-01-01 to 9999-12-31)."""

    def __init__(self, what: str = "the date") -> None:
        super().__init__(f"{what} falls outside the calendar (0001-01-01 to 9999-12-31)")


class TimeUnit(StrEnum):
    """A calendar unit of time."""

    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"
    YEARS = "years"


@dataclass(frozen=True)
class Money:
    """An exact amount in one currency."""

    amount: Decimal
    currency: str

    @classmethod
    def parse(cls, text: str) -> Money:
        """Parse `19.99 EUR`; raises ValueError with an analyst-readable message: `written`, and
        the currency and the amount's bounds checked, as an input's."""
        money = cls.written(text)
        problem = currency_problem(money.currency)
        if problem is not None:
            raise ValueError(f"`{text}`: {problem}")
        written = text.split(" ")[0]
        amount = checked_number(money.amount, written)
        point, digits = written.find("."), MINOR_UNITS.get(money.currency, 2)
        if point >= 0 and len(written) - point - 1 > digits:  # (the text tells, without Decimal's tuple)
            amount = _without_idle_zeros(amount, digits)
        return cls(amount, money.currency)

    @classmethod
    def written(cls, text: str) -> Money:
        """Money as billrules writes it (a decision's `19.99 EUR`), read back for comparing
        (`diff`, reports, `test`): without the bounds of an input, which a bill's total may pass
        (15 digits a line, more summed: `diff` stopped on an internal error). ValueError if it is
        not money."""
        if not _MONEY_RE.match(text):
            raise ValueError(f"`{text}` is not money: write an amount and a currency, e.g. `20.00 EUR`")
        number, currency = text.split(" ")
        try:
            return cls(Decimal(number), currency)
        except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
            raise ValueError(f"`{text}` is not a valid amount") from exc

    def __str__(self) -> str:
        return money_text(self.amount, self.currency)

    def quantized(self, rounding: str = ROUND_HALF_UP, minor_units: int | None = None) -> Money:
        """Round to the currency's minor unit (2 decimals unless the currency says otherwise)."""
        digits = MINOR_UNITS.get(self.currency, 2) if minor_units is None else minor_units
        return Money(self.amount.quantize(Decimal(1).scaleb(-digits), rounding=rounding), self.currency)


@dataclass(frozen=True)
class Duration:
    """A count of calendar units: `14 days`, `6 months`, `1 year`."""

    count: int
    unit: TimeUnit

    @classmethod
    def parse(cls, text: str) -> Duration:
        if not _DURATION_RE.match(text):
            raise ValueError(f"`{text}` is not a duration: write a number and a unit, e.g. `6 months`")
        number, unit = text.split(" ")
        unit = unit if unit.endswith("s") else unit + "s"
        limit = MAX_DURATION[TimeUnit(unit)]
        if len(number) > len(str(limit)) or int(number) > limit:
            raise ValueError(
                f"`{_shorten(text)}` is longer than the calendar (0001-01-01 to 9999-12-31): at most {limit:,} {unit}"
            )
        return cls(int(number), TimeUnit(unit))

    def __str__(self) -> str:
        unit = self.unit.value if self.count != 1 else self.unit.value[:-1]
        return f"{self.count} {unit}"

    @property
    def days(self) -> int | None:
        """The number of days of a duration in days or weeks; None for months and years (no fixed length)."""
        if self.unit is TimeUnit.DAYS:
            return self.count
        if self.unit is TimeUnit.WEEKS:
            return 7 * self.count
        return None

    def add_to(self, day: date, times: int = 1) -> date:
        """Calendar-correct addition; a month end stays within the target month (Jan 31 + 1 month = Feb 28/29).

        Raises OutOfCalendar when the result is before 0001-01-01 or after 9999-12-31.
        """
        return add_units(day, self.count * times, self.unit)

    def add_clamped(self, day: date, times: int = 1) -> date:
        """`add_to`, but a result outside the calendar is its first or last day (for windows and ends)."""
        try:
            return self.add_to(day, times)
        except OutOfCalendar:
            return date.max if self.count * times > 0 else date.min


_LAST_ORDINAL = date.max.toordinal()

#: The longest duration per unit: the span of the calendar (0001-01-01 to 9999-12-31).
MAX_DURATION: dict[TimeUnit, int] = {
    TimeUnit.DAYS: _LAST_ORDINAL - 1,
    TimeUnit.WEEKS: (_LAST_ORDINAL - 1) // 7,
    TimeUnit.MONTHS: 119_987,
    TimeUnit.YEARS: 9998,
}


def add_units(day: date, n: int, unit: TimeUnit) -> date:
    """`Duration(n, unit).add_to(day)` without building the Duration (for a hot path)."""
    if unit in (TimeUnit.DAYS, TimeUnit.WEEKS):
        ordinal = day.toordinal() + n * (7 if unit is TimeUnit.WEEKS else 1)
        if not 1 <= ordinal <= _LAST_ORDINAL:
            raise OutOfCalendar()
        return date.fromordinal(ordinal)
    return add_months(day, n if unit is TimeUnit.MONTHS else 12 * n)


def add_months(day: date, months: int) -> date:
    """Add (or subtract) whole months, clamping the day to the target month's length.

    Raises OutOfCalendar when the result is before 0001-01-01 or after 9999-12-31.
    """
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise OutOfCalendar()
    days = day.day
    if days > 28:  # every month has 28 days: only a later day may need clamping
        days = min(days, month_length(year, month + 1))
    return date(year, month + 1, days)


#: days per month (January first) in a common year (each month's fewest); February has 29 in a leap year
MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months_keeping_month_end(day: date, months: int) -> date:
    """`add_months`, except that a month's last day gives the target month's last day (SPEC 3.4:
    "a month-end start keeps to the month's last day"): 2015-02-28 + 12 months → 2016-02-29,
    2015-04-30 + 1 month → 2015-05-31. Commitments and their billing cycles count this way; a
    day that is not its month's last is clamped as `add_months` clamps it."""
    moved = add_months(day, months)
    if day.day >= 28 and is_month_end(day):
        return moved.replace(day=month_length(moved.year, moved.month))
    return moved


def month_length(year: int, month: int) -> int:
    """Days in the month (1-12) of the year."""
    return 29 if month == 2 and calendar.isleap(year) else MONTH_DAYS[month - 1]


def is_month_end(day: date) -> bool:
    """Is `day` its month's last day?"""
    return day.day == month_length(day.year, day.month)

"""Value types shared by rule files, scenarios and the criteria language.

Money is a `Decimal` with an ISO 4217 currency code; no float ever touches money. Durations keep
their calendar unit, because "1 month" is not a fixed number of days.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

MONEY_PATTERN = r"^-?[0-9]+(\.[0-9]+)? [A-Z]{3}$"
DURATION_PATTERN = r"^[0-9]+ (day|days|week|weeks|month|months|year|years)$"
_MONEY_RE = re.compile(MONEY_PATTERN)
_DURATION_RE = re.compile(DURATION_PATTERN)

#: Minor units of common currencies (ISO 4217); others default to 2 and may be set per rule set.
MINOR_UNITS: dict[str, int] = {
    "BHD": 3,
    "CLP": 0,
    "ISK": 0,
    "JPY": 0,
    "JOD": 3,
    "KRW": 0,
    "KWD": 3,
    "OMR": 3,
    "TND": 3,
    "VND": 0,
}


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
        """Parse `19.99 EUR`; raises ValueError with an analyst-readable message."""
        if not _MONEY_RE.match(text):
            raise ValueError(f"`{text}` is not money: write an amount and a currency, e.g. `20.00 EUR`")
        number, currency = text.split(" ")
        try:
            return cls(Decimal(number), currency)
        except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
            raise ValueError(f"`{text}` is not a valid amount") from exc

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

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
        return cls(int(number), TimeUnit(unit))

    def __str__(self) -> str:
        unit = self.unit.value if self.count != 1 else self.unit.value[:-1]
        return f"{self.count} {unit}"

    def add_to(self, day: date, times: int = 1) -> date:
        """Calendar-correct addition; a month end stays within the target month (Jan 31 + 1 month = Feb 28/29)."""
        n = self.count * times
        if self.unit is TimeUnit.DAYS:
            return date.fromordinal(day.toordinal() + n)
        if self.unit is TimeUnit.WEEKS:
            return date.fromordinal(day.toordinal() + 7 * n)
        months = n if self.unit is TimeUnit.MONTHS else 12 * n
        return add_months(day, months)


def add_months(day: date, months: int) -> date:
    """Add (or subtract) whole months, clamping the day to the target month's length."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))

"""Money arithmetic for decisions: exact Decimals, rounded once per line (SPEC 3.2, step 5)."""

from __future__ import annotations

import decimal
from decimal import Decimal

from engine.values import ARITHMETIC, MINOR_UNITS, Money

ROUNDING_MODES = {
    "half_up": decimal.ROUND_HALF_UP,
    "half_even": decimal.ROUND_HALF_EVEN,
    "half_down": decimal.ROUND_HALF_DOWN,
    "up": decimal.ROUND_UP,
    "down": decimal.ROUND_DOWN,
    "ceiling": decimal.ROUND_CEILING,
    "floor": decimal.ROUND_FLOOR,
}


#: the places at which the remainders of a split are compared (`Rounder.split`)
_TIE_PLACES = Decimal("1e-40")
#: the context of that comparison: its own, whose flags nothing reads (not the engine's shared
#: `ARITHMETIC`, which new threads copy, flags and all)
_TIES = decimal.Context(prec=ARITHMETIC.prec, traps=[])


class Rounder:
    """Rounds to a currency's minor unit with the rule set's mode."""

    def __init__(self, mode: str = "half_up", minor_units: dict[str, int] | None = None) -> None:
        self.mode = ROUNDING_MODES[mode]
        self.minor_units = {**MINOR_UNITS, **(minor_units or {})}
        self._quanta: dict[str, Decimal] = {}

    def quantum(self, currency: str) -> Decimal:
        found = self._quanta.get(currency)
        if found is None:
            found = Decimal(1).scaleb(-self.minor_units.get(currency, 2))
            if len(self._quanta) < 1024:
                self._quanta[currency] = found
        return found

    def round(self, amount: Decimal, currency: str) -> Decimal:
        return amount.quantize(self._quanta.get(currency) or self.quantum(currency), rounding=self.mode)

    def money(self, amount: Decimal, currency: str) -> Money:
        return Money(self.round(amount, currency), currency)

    def split(self, total: Decimal, parts: list[Decimal], quantum: Decimal) -> list[Decimal]:
        """Round each part to `quantum` so that the parts add up exactly to `total`.

        `total` is at least the parts truncated to the quantum and at most one quantum a part
        above them (the callers round the parts' sum to the quantum, or take it exact). Parts are
        truncated and the remaining quanta go one each to the parts with the largest remainders
        (ties: earlier part first), so the parts add up to `total` exactly.
        """
        floors = [p.quantize(quantum, rounding=decimal.ROUND_DOWN) for p in parts]
        left = int((total - sum(floors, Decimal(0))) / quantum)
        if not 0 <= left <= len(parts):
            raise ValueError(f"{total} is not within {len(parts)} quanta of {quantum} above the parts {parts}")
        if left == 0:
            return floors
        # remainders compared to 40 places: parts worked out through a share that has no finite
        # decimal form (1/6) carry noise in their last digits, which must not break a true tie
        # (49.8333… and 4.9833…, both 1/300 above their floors: the earlier part gets the unit)
        order = sorted(
            range(len(parts)), key=lambda i: (-(parts[i] - floors[i]).quantize(_TIE_PLACES, context=_TIES), i)
        )
        for i in order[:left]:
            floors[i] += quantum
        return floors

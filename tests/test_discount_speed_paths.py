"""The discount evaluator's shortcuts give what the long way gives.

`_LineBook.close` hands a line's only take the line's rounded discount instead of calling
`Rounder.split`; `_lines` skips the size check for a catalog price billed once. These tests
check the claims those shortcuts rest on, value and written form (exponent, sign) alike.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.decide.money import ROUNDING_MODES, Rounder

amounts = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("1000000"), places=6)


@settings(max_examples=300, deadline=None)
@given(amount=amounts, mode=st.sampled_from(sorted(ROUNDING_MODES)), currency=st.sampled_from(["EUR", "JPY", "BHD"]))
def test_one_take_is_split_into_the_rounded_discount(amount: Decimal, mode: str, currency: str) -> None:
    rounder = Rounder(mode)
    discount = rounder.round(sum([amount], Decimal(0)), currency)
    split = rounder.split(discount, [amount], rounder.quantum(currency))
    assert [str(x) for x in split] == [str(discount)]


def test_one_take_on_exact_and_half_amounts() -> None:
    for mode in ROUNDING_MODES:
        rounder = Rounder(mode)
        for text in ("0.005", "0.01", "1.995", "2.5", "10", "0.0000001", "999999.999"):
            amount = Decimal(text)
            discount = rounder.round(amount, "EUR")
            assert [str(x) for x in rounder.split(discount, [amount], Decimal("0.01"))] == [str(discount)], (mode, text)


def test_catalog_price_times_one_keeps_its_digits() -> None:
    for text in ("19.99", "0.0000001", "123456789012.5", "100", "1E+2"):
        price = Decimal(text)
        assert str(price * 1) == str(price)


@settings(max_examples=500, deadline=None)
@given(
    amount=st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**20), max_value=10**20)
    | st.sampled_from([Decimal(t) for t in ("0", "-0", "-0.00", "1E+2", "1E-7", "0.0000001", "1.5E+3", "-2E-8")])
)
def test_money_text_is_what_money_writes(amount: Decimal) -> None:
    from engine.decide.decision import _money
    from engine.values import Money

    assert _money(amount, "EUR") == str(Money(amount, "EUR"))

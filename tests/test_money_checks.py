"""Mistakes that change money are caught by validation (issue 13, item 1)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.diagnostics import Diagnostic
from engine.validate import validate_paths

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(REPO / "rules", target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def found(rules: Path) -> list[Diagnostic]:
    return validate_paths([rules])


def test_an_ad_hoc_range_may_start_at_zero_but_a_value_may_not_be_zero(rules: Path) -> None:
    edit(rules / "discounts/customer_care.yaml", 'range: ["5.00 EUR", "15.00 EUR"]', 'range: ["0.00 EUR", "15.00 EUR"]')
    edit(rules / "discounts/customer_care.yaml", "range: [5, 50]", "range: [0, 50]")
    assert found(rules) == []
    edit(rules / "discounts/customer_care.yaml", 'range: ["0.00 EUR", "15.00 EUR"]', 'range: ["0.00 EUR", "0.00 EUR"]')
    assert [(d.code, d.message) for d in found(rules)] == [
        ("BR405", "discount amount `0.00 EUR` must be greater than zero")
    ]


def test_a_penalty_fee_in_another_currency_than_the_terms_products(rules: Path) -> None:
    edit(rules / "catalog/terms.yaml", "  fee: 240.00 EUR", "  fee: 240.00 USD")
    diagnostic, exception = found(rules)  # the term's exception (50.00 EUR) now disagrees with it too
    assert exception.code == "BR415" and "exception fee 50.00 EUR" in exception.message
    assert diagnostic.code == "BR415" and diagnostic.file.endswith("terms.yaml")
    assert diagnostic.message.startswith(
        "the fee 240.00 USD is in USD, but the products under this term are priced in EUR"
    )
    assert diagnostic.hint == "write the fee in EUR"


def test_an_exception_fee_finer_than_the_minor_unit(rules: Path) -> None:
    edit(rules / "catalog/terms.yaml", "    fee: 50.00 EUR", "    fee: 50.005 EUR")
    (diagnostic,) = found(rules)
    assert (diagnostic.code, diagnostic.message) == (
        "BR422",
        "50.005 EUR is finer than the EUR minor unit (2 decimal places)",
    )


def test_a_tax_rate_written_as_a_fraction_is_a_warning_naming_both_readings(rules: Path) -> None:
    edit(rules / "catalog/terms.yaml", "    rate: 19\n", "    rate: 0.19\n")
    (diagnostic,) = found(rules)
    assert (diagnostic.code, diagnostic.severity.value) == ("BR423", "warning")
    assert diagnostic.message == "tax rate 0.19 reads as 0.19 %; if 19 % was meant, write 19"


def test_an_unknown_currency_names_the_nearest(rules: Path) -> None:
    edit(rules / "catalog/terms.yaml", "  fee: 240.00 EUR", "  fee: 240.00 EUX")
    (diagnostic,) = found(rules)
    assert diagnostic.code == "BR207" and diagnostic.hint == "did you mean `EUR`?"  # (in the hint since 2026-12-02)


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            "discounts/customer_care.yaml",
            "cap: 20.00 EUR",
            "cap: -20.00 EUR",
            "a cap of -20.00 EUR must be more than zero",
        ),
        ("discounts/customer_care.yaml", "cap: 20.00 EUR", "cap: 0.00 EUR", "a cap of 0.00 EUR must be more than zero"),
        ("catalog/terms.yaml", "  fee: 240.00 EUR", "  fee: -240.00 EUR", "a fee of -240.00 EUR must be zero or more"),
        (
            "catalog/products.yaml",
            "price: 29.99 EUR",
            "price: -29.99 EUR",
            "a price of -29.99 EUR must be zero or more",
        ),
    ],
)
def test_negative_money_where_it_bounds_or_charges_is_refused(
    rules: Path, file: str, old: str, new: str, message: str
) -> None:
    # a negative cap made the complaint discount a surcharge (net above gross); a negative fee a
    # penalty paid to the customer; a negative price a purchase with a negative net
    edit(rules / file, old, new)
    assert [(d.code, d.message) for d in found(rules)] == [("BR405", message)]


def test_a_free_product_and_a_waived_fee_are_fine(rules: Path) -> None:
    edit(rules / "catalog/products.yaml", "price: 29.99 EUR", "price: 0.00 EUR")
    edit(rules / "catalog/terms.yaml", "  fee: 240.00 EUR", "  fee: 0.00 EUR")
    assert found(rules) == []

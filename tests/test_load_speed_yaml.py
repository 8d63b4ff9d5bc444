"""A plain scalar of decimal digits resolves without the YAML 1.2 regular expressions
(`engine.compose.resolve_plain`'s first test): the same tag and value as by the general rules,
for every length up to the fast path's and past it, leading zeros and non-ASCII digits included.
"""

from __future__ import annotations

import random

import pytest

from engine.compose import FLOAT, INT, STR, _is_float, _is_int, _to_float, _to_int, resolve_plain


def _by_the_rules(text: str) -> tuple[str, object]:
    """`resolve_plain` without its fast path, for texts of digits (no null or boolean word)."""
    if _is_int(text):
        return INT, _to_int(text)
    if _is_float(text):
        return FLOAT, _to_float(text)
    return STR, text


def _texts() -> list[str]:
    rng = random.Random(11)
    texts = ["0", "00", "007", "1", "18", "9" * 18, "1" + "0" * 17, "9" * 19, "1" + "0" * 18, "0" * 30]
    texts += ["".join(rng.choice("0123456789") for _ in range(n)) for n in range(1, 25) for _ in range(20)]
    return texts


@pytest.mark.parametrize("text", _texts())
def test_digits_resolve_as_by_the_rules(text: str) -> None:
    found = resolve_plain(text)
    assert found == _by_the_rules(text)
    # an int, or one not written as Python writes it (`007`) that keeps its text for ids
    assert type(found[1]) is int if str(int(text)) == text else getattr(found[1], "text", None) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("٣", (STR, "٣")),  # a digit, but not an ASCII one: text, as the rules say
        ("²", (STR, "²")),
        ("１２", (STR, "１２")),
        ("12a", (STR, "12a")),
        ("1_000", (INT, 1000)),
        ("+1", (INT, 1)),
        ("-1", (INT, -1)),
        ("0x1F", (INT, 31)),
        ("1.5", (FLOAT, 1.5)),
    ],
)
def test_other_texts_are_left_to_the_rules(text: str, expected: tuple[str, object]) -> None:
    assert resolve_plain(text) == expected

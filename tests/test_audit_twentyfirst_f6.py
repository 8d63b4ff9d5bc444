"""Findings of the twenty-first session's audits (2026-12-03), rule-set checks: a day window of
no time (BR206), the hint for `per: unlimited` (BR205) and a coupon's range start with non-ASCII
letters (BR409). (A `non_usage` discount's `when:` may read usage records, as README documents:
"5 % off the subscription after 3 rentals this month".)"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.coupons import range_start
from engine.validate import validate_paths
from tests.test_audit_twentieth_checks import rules, underlined
from tests.test_money_checks import edit, found

__all__ = ["rules"]  # the fixture, shared

# --- 2. a day window whose `from` equals its `to` is a window of no time: BR206 ---------------------


@pytest.mark.parametrize(
    ("path", "old", "new"),
    [
        (
            "discounts/usage.yaml",
            '{day: sunday, from: "13:00:00", to: "18:00:00"}',
            '{day: sunday, from: "13:00:00", to: "13:00:00"}',
        ),
        (
            "credits/credits.yaml",
            "  when: consumption.at.weekday in {monday, tuesday, wednesday, thursday, friday}\n",
            '  execution_days: [{day: sunday, from: "13:00:00", to: "13:00:00"}]\n',
        ),
    ],
)
def test_a_day_window_from_a_time_to_the_same_time_is_br206_at_to(
    rules: Path, path: str, old: str, new: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Accepted until 2026-12-03: the window held the records of that one second."""
    monkeypatch.chdir(rules)
    edit(rules / path, old, new)
    diagnostics = validate_paths([Path(".")])
    assert [d.code for d in diagnostics] == ["BR206"], diagnostics
    [diagnostic] = diagnostics
    assert underlined(diagnostic, rules) == '"13:00:00"'
    assert diagnostic.column > new.index("to:")  # (at `to`, not `from`)
    assert diagnostic.message == (
        "the sunday window from `13:00:00` to `13:00:00` is a window of no time: only a record at "
        "that very second is in it"
    )
    assert diagnostic.hint == "write a later `to`, or leave `from` and `to` out for the whole day"


def test_a_window_of_one_second_more_is_fine(rules: Path) -> None:
    edit(
        rules / "discounts/usage.yaml",
        '{day: sunday, from: "13:00:00", to: "18:00:00"}',
        '{day: sunday, from: "13:00:00", to: "13:00:01"}',
    )
    assert found(rules) == []


# --- 3. `per: unlimited`: the hint says to leave `per` out ------------------------------------------


@pytest.mark.parametrize("word", ["unlimited", "Unlimited", "UNLIMITED"])
def test_per_unlimited_on_a_total_hints_to_leave_per_out(rules: Path, word: str) -> None:
    edit(rules / "discounts/usage.yaml", "      max: 4\n      per: 1 month\n", f"      max: 4\n      per: {word}\n")
    [diagnostic] = found(rules)
    assert (diagnostic.code, diagnostic.message) == (
        "BR205",
        f"`{word}` is not a duration (in `criteria.quantitative.total_usage.per`)",
    )
    assert diagnostic.hint == "leave `per` out for no window (unlimited)"


def test_per_unlimited_on_a_limit_hints_to_write_a_window(rules: Path) -> None:
    edit(rules / "discounts/customer_care.yaml", "  per: 1 year", "  per: unlimited")
    [diagnostic] = found(rules)
    assert diagnostic.code == "BR205"
    # (a first wording said "leave `limit` out", which drops the cap the analyst wrote)
    assert diagnostic.hint == (
        "a limit counts the applications within a window: write one, e.g. `1 year` (leave `limit` out for none)"
    )


def test_another_word_for_a_duration_keeps_its_hint(rules: Path) -> None:
    edit(rules / "discounts/usage.yaml", "      per: 1 month\n", "      per: forever\n")
    [diagnostic] = found(rules)
    assert diagnostic.hint == "write a number and a unit, e.g. `6 months` or `14 days`"


# --- 4. a coupon's range start with letters outside 0-9, A-Z, a-z: BR409 ----------------------------


@pytest.mark.parametrize("start", ["ß00", "ı00", "ﬁ00", "ſ00", "Ａ00", "A0é"])
def test_a_range_start_with_a_letter_outside_ascii_is_br409(rules: Path, start: str) -> None:
    """`ß0` was read as `SS0`, a dotless i as `I`, `ﬁ0` as `FI0` (Python's upper-casing), and accepted:
    the codes were `…SS0…`, not what the rule wrote (until 2026-12-03)."""
    edit(rules / "catalog/coupons.yaml", "range_start: A000", f'range_start: "{start}"')
    [diagnostic] = found(rules)
    assert (diagnostic.code, diagnostic.message) == ("BR409", f"range start `{start}` is not an alphanumeric value")


def test_an_ascii_range_start_in_lower_case_is_read_as_upper_case() -> None:
    assert range_start("a0", 36) == range_start("A0", 36) == 360
    kelvin = "\u212a0"  # (the Kelvin sign, upper-cased as itself, lower-cased as `k`)
    assert [range_start(text, 36) for text in ("ß0", "ı0", "ﬁ0", kelvin)] == [None, None, None, None]

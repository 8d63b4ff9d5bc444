"""Leaves the direct scenario builder reads without pydantic-core agree with pydantic.

`engine.models._scenario_direct` reads some leaves in plain Python where that is quicker: a date
by `date.fromisoformat` when its text is `YYYY-MM-DD`. Each must give what `Scenario.model_validate`
gives (value, type, repr) or give up, so that pydantic decides and words the error. These tests
put near misses of every such form in every place it is read and compare (`_compare` of
test_scenario_speed_direct), then mutate valid texts at random.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.test_scenario_speed_direct import _compare
from tests.test_scenario_speed_keys import _put  # a deep copy with a value put at a path

#: Dates and near misses: week and ordinal dates and the basic form (`date.fromisoformat` reads
#: them, pydantic does not), invalid days, a date-time where a date goes, other digits, spaces.
DATE_TEXTS: tuple[Any, ...] = (
    "2020-01-15",  # valid in every place (after-validators: a period ends on or after its start)
    "2024-02-29",
    "2023-02-29",
    "2024-02-30",
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "2024-13-01",
    "2024-00-10",
    "2024-01-00",
    "2024-W01-1",
    "2024-W011",
    "2024W011",
    "2024-001",
    "2024001",
    "20240101",
    "2024-01",
    "2024-1-01",
    "2024-01-1",
    "2024-01-011",
    "2024-01-01 ",
    " 2024-01-01",
    "2024-01-01T00:00:00",
    "2024-01-01T10:00:00",
    "2024-01-01T00:00:00Z",
    "2024-01-01Z",
    "+024-01-01",
    "２０２４-01-01",
    "2024-01-0٣",
    "2024/01/01",
    "2024-01-0a",
    "x",
    "",
    20240101,
    None,
)

#: A scenario with a date in every kind of place: a field, an optional field, a list's records, a
#: dict's values, an after-validator's inputs.
_DATED: dict[str, Any] = {
    "id": "s",
    "as_of": "2024-03-01T00:00:00Z",
    "account": {"code": "A1", "due_date": "2024-03-10", "start": "2010-01-01"},
    "subscription": {
        "code": "S1",
        "start": "2020-01-01",
        "add_ons": ["X"],
        "add_on_starts": {"X": "2021-01-01"},
        "status_history": [{"status": "active", "from": "2020-01-01", "to": "2020-02-01"}],
        "billing_period": {"from": "2019-12-01", "to": "2024-03-31"},
    },
}

_DATE_PLACES: tuple[tuple[Any, ...], ...] = (
    ("account", "due_date"),
    ("account", "start"),
    ("subscription", "start"),
    ("subscription", "add_on_starts", "X"),
    ("subscription", "status_history", 0, "from"),
    ("subscription", "status_history", 0, "to"),
    ("subscription", "billing_period", "from"),
    ("subscription", "billing_period", "to"),
)


def test_the_dated_scenario_is_built_directly() -> None:
    assert _compare(_DATED) == "direct"


@pytest.mark.parametrize("path", _DATE_PLACES, ids=lambda path: ".".join(map(str, path)))
def test_date_texts_agree_with_pydantic(path: tuple[Any, ...]) -> None:
    outcomes = {text: _compare(_put(_DATED, path, text)) for text in DATE_TEXTS}
    assert outcomes["2020-01-15"] == "direct"
    assert outcomes["2024-W01-1"] == "refused"


def _mutated(text: str, rng: random.Random) -> str:
    alphabet = "0123456789-WT :Z+./a٣２"
    chars = list(text)
    for _ in range(rng.randint(1, 3)):
        where = rng.randrange(len(chars) + 1)
        roll = rng.random()
        if roll < 0.6 and where < len(chars):
            chars[where] = rng.choice(alphabet)
        elif roll < 0.8 and where < len(chars):
            del chars[where]
        else:
            chars.insert(where, rng.choice(alphabet))
    return "".join(chars)


def test_mutated_date_texts_agree_with_pydantic() -> None:
    rng = random.Random(1)
    outcomes = set()
    for _ in range(1500):
        text = _mutated(rng.choice(("2024-02-29", "2023-12-31", "2024-W01-1", "2024-01-01T10:00:00Z")), rng)
        outcomes.add(_compare(_put(_DATED, rng.choice(_DATE_PLACES), text)))
    assert outcomes == {"direct", "refused"}


#: Codes and near misses: letters and digits alone (checked in Python), lengths at the bounds,
#: letters and digits of other scripts, a code's other characters, what the pattern refuses.
CODE_TEXTS: tuple[Any, ...] = (
    "A1",
    "a",
    "7",
    "A" * 100,
    "A" * 101,
    "Z9" * 50,
    "",
    "é",
    "Ａ1",
    "A²",
    "A٣",
    "ǅ",
    "bb-500",
    "a.b_c",
    "-a",
    "_a",
    ".a",
    "a b",
    "a\n",
    "a\ud800",
    "A1\x00",
    1,
    None,
)

_CODE_PLACES: tuple[tuple[Any, ...], ...] = (
    ("account", "code"),
    ("account", "segments", 0),
    ("subscription", "code"),
    ("subscription", "plan"),
    ("subscription", "add_ons", 0),
    ("subscription", "add_on_starts", "X"),
)


@pytest.mark.parametrize("path", _CODE_PLACES, ids=lambda path: ".".join(map(str, path)))
def test_code_texts_agree_with_pydantic(path: tuple[Any, ...]) -> None:
    data = _put(_DATED, ("account", "segments"), ["VIP"])
    for _ in range(2):  # checked, then (for other text than letters and digits) kept
        for text in CODE_TEXTS:
            if path[-1] == "X":  # a key: the code names the add-on bought
                changed = _put(data, ("subscription", "add_ons"), [text])
                changed["subscription"]["add_on_starts"] = {text: "2021-01-01"} if isinstance(text, str) else {}
            else:
                changed = _put(data, path, text)
            outcome = _compare(changed)
            assert outcome == ("direct" if text in ("A1", "A" * 100, "bb-500", "a.b_c") else outcome)


#: Date-times and near misses: zones written every way, fractions of 1 to 10 digits, a leap second,
#: 24:00, lowercase separators, a space, dates alone, week and ordinal dates, numbers pydantic-core
#: reads as timestamps (one with `-` at 4), other digits.
DATE_TIME_TEXTS: tuple[Any, ...] = (
    "2024-02-01T21:17:00Z",
    "2024-02-01T21:17:00+00:00",
    "2024-02-01T21:17:00-00:00",
    "2024-02-01T21:17:00+01:00",
    "2024-02-01T21:17:00-05:30",
    "2024-02-01T21:17:00+0100",
    "2024-02-01T21:17:00+01",
    "2024-02-01T21:17:00+24:00",
    "2024-02-01T21:17:00.5Z",
    "2024-02-01T21:17:00.123456Z",
    "2024-02-01T21:17:00.1234567Z",
    "2024-02-01T21:17:00.123456789Z",
    "2024-02-01T21:17:00.1234567891Z",
    "2024-02-01T21:17:00,5Z",
    "2024-02-01T21:17Z",
    "2024-02-01T21Z",
    "2024-02-01T21:17:00",
    "2024-02-01t21:17:00z",
    "2024-02-01 21:17:00Z",
    "2024-02-01_21:17:00Z",
    "2024-02-01",
    "2024-02-01T24:00:00Z",
    "2024-02-01T23:59:60Z",
    "2024-02-30T10:00:00Z",
    "2024-W05-4T21:17:00Z",
    "2024-032T21:17:00Z",
    "20240201T211700Z",
    "2024-02-01T21:17:00Z ",
    " 2024-02-01T21:17:00Z",
    "２０２４-02-01T21:17:00Z",
    "1700000000",
    "12.E-5678",
    "1234-56-78",
    "x",
    "",
    1700000000,
    None,
)


def test_date_times_in_lists_agree_with_pydantic() -> None:
    base = {"id": "s", "as_of": "2024-03-01T00:00:00Z", "usage": [{"at": "2024-02-01T21:17:00Z", "quantity": 2}]}
    outcomes = {text: _compare(_put(base, ("usage", 0, "at"), text)) for text in DATE_TIME_TEXTS}
    assert outcomes["2024-02-01T21:17:00+01:00"] == "direct"
    assert outcomes["2024-02-01T21:17:00.123456789Z"] == "refused"  # finer than a microsecond (2026-12-03)
    assert outcomes["12.E-5678"] == outcomes["2024-W05-4T21:17:00Z"] == "refused"
    rng = random.Random(2)
    for _ in range(1500):
        text = _mutated(rng.choice(DATE_TIME_TEXTS[:12]), rng)
        outcomes[text] = _compare(_put(base, ("usage", 0, "at"), text))
    assert set(outcomes.values()) == {"direct", "refused"}


def test_enum_texts_agree_with_pydantic() -> None:
    """An enum member is looked up by its exact text; anything else goes to pydantic."""
    for text in ("monthly", "Monthly", "MONTHLY", " monthly", "", "yearly", 1, None, ["monthly"], {"a": 1}):
        _compare(_put(_DATED, ("subscription", "billing_frequency"), text))
        _compare(_put(_DATED, ("subscription", "status_history", 0, "status"), text))
    assert _compare(_put(_DATED, ("subscription", "billing_frequency"), "monthly")) == "direct"

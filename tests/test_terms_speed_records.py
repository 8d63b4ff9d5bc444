"""Records the credit allocator and the balances make through their helpers are the dataclasses'
own records.

`engine/decide/credits.py` makes its per-consumption records (`Request`, `Draw`, `LedgerEntry`,
`Outcome`, `CreditsResult`) through their constructors or helpers (`_draw`, `_entry`, `_outcome`, `Book.lent`;
`balances` its `LedgerEntry` and `BalanceResult`): the objects must be those the dataclass
constructor makes (every field, equal, same hash, still frozen), and a field added to one of them
later must not be silently left out. (Until 2026-12-05 the helpers set a record's `__dict__` at
once, quicker in CPython; the decision modules are compiled now, where a record has no `__dict__`
and its constructor is the quick way, so the helpers call it.)
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import load_rules
from engine.decide import balances, credits
from engine.decide.reasons import Reason

AT = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
RULES = load_rules(Path(__file__).resolve().parent.parent / "rules")


def _request(quantity: Decimal) -> credits.Request:
    return credits.Request("r1", "org", None, frozenset({"t"}), quantity, AT, AT.date(), "svc", None, None, None, "w")


def _fields(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def _same(made: Any, expected: Any) -> None:
    assert type(made) is type(expected)
    assert _fields(made) == _fields(expected)  # every field set (compiled, a record has no `__dict__`)
    assert made == expected and repr(made) == repr(expected)
    try:
        hashed = hash(expected)
    except TypeError:  # a record holding a reason (its facts are a dict) has no hash either way
        with pytest.raises(TypeError):
            hash(made)
    else:
        assert hash(made) == hashed
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.quantity = Decimal(0) if hasattr(made, "quantity") else None


@given(quantity=st.decimals(-1000, 1000, places=3), rank=st.integers(1, 50))
def test_draws_entries_and_outcomes_are_the_dataclasses_records(quantity: Decimal, rank: int) -> None:
    _same(credits._draw("c", quantity, rank), credits.Draw("c", quantity, rank))
    _same(credits._entry(AT, "c", "r", quantity, -quantity), credits.LedgerEntry(AT, "c", "r", quantity, -quantity))
    request = _request(quantity)
    draws = (credits.Draw("c", quantity, rank),)
    note = Reason("overdraft", {"shortfall": "1"})
    for made, expected in (
        (credits._outcome(request, draws, None, None, (), ()), credits.Outcome(request, draws)),
        (credits._outcome(request, draws, None, note, (), ()), credits.Outcome(request, draws, None, note, (), ())),
    ):
        _same(made, expected)


def _consumption(**fields: Any) -> Any:
    values = {
        "id": "c1",
        "credit_type": None,
        "service": None,
        "product": None,
        "unit": None,
        "organisation": None,
        "user": None,
        "quantity": Decimal(2),
        "at": datetime(2026, 1, 2, 3, 4),
        "method": None,
        "device": None,
        "source_category": None,
        "destination_category": None,
    }
    return type("Consumption", (), {**values, **fields})()


def test_a_resolved_consumption_is_the_request_the_constructor_makes() -> None:
    s = credits.setting(RULES)
    kind = sorted(s.types)[0]
    for at in (datetime(2026, 1, 2, 3, 4), datetime(2026, 1, 2, 3, 4, tzinfo=UTC)):
        c = _consumption(credit_type=kind, at=at, organisation=sorted(s.tree.parent)[0])
        made = credits.request(s, c, 0)
        types = s.singles[kind]
        expected = credits.Request(
            c.id,
            c.organisation,
            None,
            types,
            c.quantity,
            credits.moment(at),
            at.date(),
            c.service or s.types[kind].service,
            None,
            {t: s.overdraft[t] for t in sorted(types) if t in s.overdraft} or None,
            None,
            f"`{kind}`",
            kind,
            None,
            credits.UsageAttributes(),
        )
        _same(made, expected)
        assert made.day == date(2026, 1, 2)


def test_a_credits_result_has_every_field() -> None:
    names = [f.name for f in dataclasses.fields(credits.CreditsResult)]
    assert names == ["outcomes", "purchases", "credits", "remaining", "ledger", "owners"]


@given(
    amounts=st.lists(st.decimals(1, 500, places=2), min_size=1, max_size=8),
    kinds=st.lists(st.sampled_from(["grant", "withdraw", "debit"]), min_size=8, max_size=8),
)
def test_a_balances_ledger_entries_and_result_are_the_dataclasses_records(
    amounts: list[Decimal], kinds: list[str]
) -> None:
    from engine.models.scenario import BalanceEvent

    rules = RULES
    policy = sorted(rules.models("balance_policy"))[0]
    events = [
        BalanceEvent.model_validate(
            {
                "id": f"e{i}",
                "type": kind,
                "at": datetime(2026, 1, 1 + i, tzinfo=UTC),
                "amount": amount,
                **({"request": f"q{i}"} if kind == "debit" else {}),
            }
        )
        for i, (amount, kind) in enumerate(zip(amounts, kinds, strict=False))
    ]
    scenario = type(
        "Scenario", (), {"balance": type("B", (), {"policy": policy, "opening": Decimal(5), "events": events})()}
    )
    result = balances.evaluate(rules, scenario)
    _same(
        result,
        balances.BalanceResult(result.policy, result.opening, result.ledger, result.refused, result.alerts),
    )
    for entry in result.ledger:
        _same(entry, balances.LedgerEntry(*(getattr(entry, f.name) for f in dataclasses.fields(entry))))
    # each entry's fields hold its event's facts (the ledger's entries are made positionally)
    by_id = {e.id: e for e in events}
    balance = Decimal(5)
    for entry in result.ledger:
        event = by_id[entry.event]
        assert (entry.at, entry.type.value, entry.request, entry.reason) == (
            event.at,
            event.type.value,
            event.request,
            None,
        )
        assert entry.quantity == event.amount
        balance += entry.quantity if entry.type.value == "grant" else -entry.quantity
        assert entry.balance == balance


def test_a_book_lent_the_rule_sets_credits_is_the_book_the_constructor_makes() -> None:
    s = credits.setting(RULES)
    made = credits.Book.lent(s.book, s.tree, s.order, None)
    expected = credits.Book(list(s.book.credits), s.tree, s.order, None, shared=s.book)
    assert _fields(made) == _fields(expected) and made._key == expected._key
    assert made.remaining is not s.book.remaining  # its own: a decision draws from it

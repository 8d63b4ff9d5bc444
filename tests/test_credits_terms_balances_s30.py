"""The credit, balance and cancellation evaluators after session 30's cuts (issue 11): the same
decisions as the slower forms they replace.

- credits: a consumption's criteria context makes its consumer only when read (`_Context`), the
  same record `models.credit_context.records()` makes; consumptions alone are listed as events
  only when they must be sorted (a stream written out of order decides as the same stream in
  order); the owners' view finds a credit's type among the credits the ledger touches.
- balances: `_zero_of` tells a whole number without `as_tuple`; `_in_time_order` loops.
- terms: `CancellationDecision.allowed` loops; `_Prepared.rule` reads the outcomes without `get`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import load_rules
from engine.decide import balances, credits, terms
from engine.decide.decision import to_json
from engine.models.credit_context import records

REPO = Path(__file__).resolve().parent.parent
RULES = load_rules(REPO / "rules")


# --- credits ------------------------------------------------------------------------------------


def _request(**changes: Any) -> credits.Request:
    s = credits.setting(RULES)
    fields = {
        "id": "R1",
        "organisation": "globex-de-berlin",
        "user": None,
        "credit_type": "network-offer",
        "service": None,
        "product": None,
        "quantity": Decimal(3),
        "unit": None,
        "at": datetime(2015, 5, 16, 10, tzinfo=timezone(timedelta(hours=2))),
        "method": None,
        "device": None,
        "source_category": None,
        "destination_category": None,
    }
    fields.update(changes)
    consumption = type("Consumption", (), fields)()
    return credits.request(s, consumption, 0)


def _eager(criteria: credits.CreditCriteria, r: credits.Request) -> Any:
    """The context as it was made before session 30: every record at once."""
    context, consumption, consumer = records()
    chain = [org for org, _ in criteria.tree.chain(r.organisation)] if r.organisation is not None else []
    return context(
        as_of=criteria.as_of,
        consumption=consumption(
            id=r.id,
            service=r.service,
            product=r.product,
            credit_type=r.credit_type,
            quantity=r.quantity,
            unit=r.unit,
            at=r.at,
            method=r.usage.method,
            device=r.usage.device,
            source_category=r.usage.source_category,
            destination_category=r.usage.destination_category,
        ),
        consumer=consumer(
            organisation=r.organisation,
            parent=chain[1] if len(chain) > 1 else None,
            organisations=chain,
            user=r.asked_by,
            owner=r.user,
        ),
    )


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"organisation": "globex"},  # a root: no parent
        {"organisation": None, "user": "peter"},  # a credit user: their owner's organisation
        {"user": "john", "organisation": None, "method": "app", "device": "phone"},
        {"credit_type": None, "service": "network-offer", "unit": None},
    ],
)
def test_a_criteria_context_reads_as_the_records_made_at_once(changes: dict[str, Any]) -> None:
    s = credits.setting(RULES)
    criteria = credits.CreditCriteria(RULES.criteria, s.tree, datetime(2015, 5, 18, 18, tzinfo=UTC))
    r = _request(**changes)
    made, expected = criteria.context(r), _eager(criteria, r)
    assert made.as_of == expected.as_of
    assert made.consumption == expected.consumption
    assert made.consumer == expected.consumer  # (made when first read)
    assert made.consumer is made.consumer  # once
    assert criteria.context(r) is made  # one context per consumption
    assert criteria.results(r) == RULES.criteria.evaluate_credit(expected)


def _decided(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(to_json(RULES.decide(data)))


def _consumption(i: int, at: datetime, rnd: random.Random) -> dict[str, Any]:
    who = rnd.choice(
        [
            {"organisation": "globex-de"},
            {"organisation": "globex-de-berlin"},
            {"organisation": "globex-fr"},
            {"user": "peter"},
            {"user": "mary"},
        ]
    )
    what = rnd.choice(
        [
            {"credit_type": "network-offer"},
            {"service": "network-offer"},
            {"credit_type": "email-credits"},
            {"credit_type": "sms-credits"},
            {"service": "voice"},
        ]
    )
    return {"id": f"R{i}", **who, **what, "quantity": rnd.randint(1, 30), "at": at.isoformat()}


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), count=st.integers(2, 6))
def test_consumptions_written_out_of_order_decide_as_written_in_order(seed: int, count: int) -> None:
    rnd = random.Random(seed)
    start = datetime(2015, 5, 12, 8, tzinfo=timezone(timedelta(hours=2)))
    times = sorted(start + timedelta(minutes=rnd.randint(0, 3000)) for _ in range(count))
    items = [_consumption(i, at, rnd) for i, at in enumerate(times)]
    shuffled = items[:]
    rnd.shuffle(shuffled)
    base = {"id": "s", "as_of": "2015-05-20T18:00:00+02:00"}
    try:
        ordered = _decided({**base, "consumptions": items})
    except Exception as exc:  # (a mix the rules refuse, e.g. a unit: refused alike out of order)
        with pytest.raises(type(exc)):
            _decided({**base, "consumptions": shuffled})
        return
    assert _decided({**base, "consumptions": shuffled}) == ordered
    if len(set(times)) == len(times):  # (ties keep the input order: another stream)
        assert [a["request"] for a in ordered["credits"]["allocations"]] == sorted(
            (a["request"] for a in ordered["credits"]["allocations"]), key=lambda r: int(r[1:])
        )


def _drawn_by_before(result: credits.CreditsResult) -> dict[tuple[str, str], Decimal]:
    """`_drawn_by` before session 30: the type of the first credit of a code among all the credits."""
    type_of: dict[str, str] = {}
    for c in result.credits:
        type_of.setdefault(c.code, c.type)
    drawn_by: dict[tuple[str, str], Decimal] = {}
    for o in result.outcomes:
        who = o.request.asked_by or ""
        for d in o.draws:
            key = (who, type_of[d.credit])
            drawn_by[key] = drawn_by.get(key, Decimal(0)) + d.quantity
    return drawn_by


def _results() -> Iterator[credits.CreditsResult]:
    """Credit results of the samples, and of streams with purchases, scenario credits and a code
    issued twice (two credits of one code in the book)."""
    from engine.decide.decision import as_decided
    from engine.decide.scenarios import checked_scenario

    def result(data: dict[str, Any]) -> credits.CreditsResult:
        return credits.evaluate(RULES, as_decided(RULES, checked_scenario(data)))

    from engine.load import load_file

    for path in sorted((REPO / "samples" / "credits").glob("*.yaml")):
        for document in load_file(path).documents:
            data = {k: v for k, v in document.data.items() if k != "expect"}
            yield result(json.loads(json.dumps(data, default=str)))
    stream = [
        {
            "id": "P1",
            "user": "peter",
            "credit_type": "email-credits",
            "quantity": 2000,
            "at": "2015-05-12T09:00:00+02:00",
        },
        {"id": "P2", "user": "mary", "credit_type": "sms-credits", "quantity": 30, "at": "2015-05-12T09:30:00+02:00"},
    ]
    uses = [
        {
            "id": "R1",
            "user": "mary",
            "credit_type": "email-credits",
            "quantity": 9000,
            "at": "2015-05-12T10:00:00+02:00",
        },
        {"id": "R2", "user": "peter", "credit_type": "sms-credits", "quantity": 600, "at": "2015-05-12T11:00:00+02:00"},
        {
            "id": "R3",
            "user": "john",
            "credit_type": "email-credits",
            "quantity": 4000,
            "at": "2015-05-12T12:00:00+02:00",
        },
    ]
    base = {"id": "s", "as_of": "2015-05-12T16:00:00+02:00"}
    yield result({**base, "consumptions": uses, "credit_purchases": stream})
    yield result({**base, "consumptions": uses[::-1], "credit_purchases": stream})


def test_the_owners_view_names_the_types_it_named_before() -> None:
    found = 0
    for result in _results():
        part = credits.credits_json(result)
        touched = sorted(
            (c for c in result.credits if c.code in {e.credit for e in result.ledger}), key=lambda c: c.code
        )
        assert credits._drawn_by(result, touched) == _drawn_by_before(result)
        assert [r["credit"] for r in part["remaining"]] == [c.code for c in touched]
        found += bool(result.owners)
    assert found >= 3  # (owners' views were compared)


def test_a_code_issued_twice_names_its_first_credit_s_type() -> None:
    first = credits.CreditFact("x", "email-credits", Decimal(5), None, None, "john", date(2015, 1, 1), holder_user=True)
    again = credits.CreditFact("x", "sms-credits", Decimal(5), None, None, "john", date(2015, 1, 2), holder_user=True)
    r = credits.Request(
        "R1", None, "john", frozenset({"email-credits"}), Decimal(2), datetime(2015, 5, 1, tzinfo=UTC), date(2015, 5, 1)
    )
    book = credits.Book([first], credits.Tree({}))
    outcome = book.apply(r)
    book.issue(again, datetime(2015, 5, 2, tzinfo=UTC), "x")
    result = credits.CreditsResult((outcome,), (), tuple(book.credits), book.remaining, tuple(book.ledger), ())
    touched = [c for c in result.credits if c.code == "x"]
    assert credits._drawn_by(result, touched) == _drawn_by_before(result) == {("", "email-credits"): Decimal(2)}


# --- balances ---------------------------------------------------------------------------------------


def _zero_before(*values: Decimal) -> Decimal | None:
    exponent = min(int(v.as_tuple().exponent) for v in values)
    return Decimal(0).scaleb(exponent) if exponent < 0 else None


_decimals = st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**9), max_value=10**9, places=None)


@given(
    values=st.lists(
        st.one_of(_decimals, st.sampled_from([Decimal("1E+3"), Decimal("10.00"), Decimal("-0.0")])),
        min_size=1,
        max_size=8,
    )
)
def test_a_zero_of_the_most_decimals_is_the_one_found_before(values: list[Decimal]) -> None:
    found, expected = balances._zero_of(*values), _zero_before(*values)
    assert (found is None) == (expected is None)
    if expected is not None:
        assert found is not None and str(found) == str(expected)


class _Event:
    def __init__(self, at: datetime) -> None:
        self.at = at


def _order_before(events: Sequence[_Event]) -> list[_Event]:
    keys = [e.at.replace(tzinfo=UTC) if e.at.tzinfo is None else e.at for e in events]
    if all(a <= b for a, b in pairwise(keys)):
        return list(events)
    return [events[i] for i in sorted(range(len(events)), key=keys.__getitem__)]


@given(
    moments=st.lists(st.tuples(st.integers(0, 5000), st.sampled_from([None, 0, 60, -300, 540])), min_size=0, max_size=7)
)
def test_balance_events_are_put_in_the_order_they_were_put_in_before(moments: list[tuple[int, int | None]]) -> None:
    start = datetime(2015, 9, 1, 9)
    events = [
        _Event((start + timedelta(minutes=m)).replace(tzinfo=None if z is None else timezone(timedelta(minutes=z))))
        for m, z in moments
    ]
    found = balances._in_time_order(events)  # type: ignore[arg-type]
    assert [id(e) for e in found] == [id(e) for e in _order_before(events)]


# --- terms ----------------------------------------------------------------------------------------


def test_a_cancellation_is_allowed_only_when_every_term_allows_it() -> None:
    def term(allowed: bool) -> terms.TermDecision:
        made = terms.TermDecision({"for": "plan", "term": "t"})
        made.allowed = allowed
        return made

    for flags in ([], [True], [False], [True, False], [True, True, True], [True, True, False]):
        decision = terms.CancellationDecision(date(2015, 7, 1), [term(f) for f in flags])
        assert decision.allowed is all(flags)


class _Outcomes(Mapping[str, list[tuple[str, bool]]]):
    """Outcomes as `CriteriaOutcomes` gives them: a `Mapping` whose lookup raises for an owner
    without criteria."""

    def __init__(self, found: dict[str, list[tuple[str, bool]]]) -> None:
        self.found = found

    def __getitem__(self, owner: str) -> list[tuple[str, bool]]:
        return self.found[owner]

    def __iter__(self) -> Iterator[str]:
        return iter(self.found)

    def __len__(self) -> int:
        return len(self.found)


def test_a_term_s_rule_reads_its_exceptions_as_get_read_them() -> None:
    evaluator = terms.TermEvaluator(RULES)
    with_exceptions = [code for code, t in evaluator.terms.items() if t.exceptions]
    assert with_exceptions
    for code in with_exceptions:
        prepared = evaluator._prepare(code)
        sections = [f"exceptions[{i}]" for i in range(len(prepared.term.exceptions))]
        cases: list[Mapping[str, list[tuple[str, bool]]]] = [
            {},
            _Outcomes({}),
            _Outcomes({f"term:{code}": [(s, False) for s in sections]}),
            {f"term:{code}": [(s, i == len(sections) - 1) for i, s in enumerate(sections)]},
            _Outcomes({f"term:{code}": [(s, True) for s in sections]}),
        ]
        for outcomes in cases:
            reasons: list[dict[str, Any]] = []
            rule, variant, _ = prepared.rule(outcomes, reasons)
            held = [s for s, holds in outcomes.get(f"term:{code}", ()) if holds]
            if held:
                assert reasons and reasons[0]["code"] == "exception_holds"
                assert reasons[0]["facts"]["index"] == int(held[0][len("exceptions[") : -1]) + 1
            else:
                assert reasons == [] and rule is prepared.term.early_cancellation
                assert variant is prepared.variant

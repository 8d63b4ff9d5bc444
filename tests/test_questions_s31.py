"""Credits and balances reading a scenario model's fields as a mapping (session 31, issue 11): the
same decisions as the attribute reads they replace.

- credits: `evaluate` resolves each consumption from its model's `__dict__` (`resolved`); `request`
  reads the same fields as attributes, of any object. Both give the same request, and the fields
  `request` reads (`_CONSUMPTION_FIELDS`) are every field `resolved` reads and the model has.
- balances: `_well_formed` reads each event's fields from its `__dict__`; it still says "well
  formed" exactly when `check` finds nothing, over generated events of every type.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import load_rules
from engine.decide import balances, credits
from engine.decide.decision import as_decided, to_json
from engine.decide.scenarios import ScenarioError, checked_scenario, validate_scenario
from engine.models.scenario import Consumption

REPO = Path(__file__).resolve().parent.parent
RULES = load_rules(REPO / "rules")


# --- credits ------------------------------------------------------------------------------------


def test_the_fields_request_reads_are_the_consumption_models_fields() -> None:
    assert set(credits._CONSUMPTION_FIELDS) == set(Consumption.model_fields)


class _Attributes:
    """A consumption as an object with its fields as attributes only (no `__dict__` of them)."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self._fields = fields

    def __getattr__(self, name: str) -> Any:
        return self._fields[name]


_CONSUMPTIONS = [
    {"credit_type": "network-offer", "organisation": "globex-de-berlin"},
    {"credit_type": None, "service": "network-offer", "organisation": "globex-de-berlin"},
    {"credit_type": "network-offer", "user": "peter"},
    {"credit_type": "network-offer", "user": "john", "method": "app", "device": "phone"},
    {"credit_type": "network-offer", "organisation": "globex-de-berlin", "source_category": "a"},
    {"credit_type": "network-offer", "organisation": "globex-de-berlin", "destination_category": "b"},
]


@pytest.mark.parametrize("changes", _CONSUMPTIONS)
@pytest.mark.parametrize("offset", [None, 0, 120, -300])
def test_a_consumption_resolves_alike_from_its_mapping_and_its_attributes(changes: dict[str, Any], offset: Any) -> None:
    s = credits.setting(RULES)
    at = datetime(2015, 5, 16, 10)
    data: dict[str, Any] = {
        "id": "R1",
        "quantity": "3",
        "at": (at if offset is None else at.replace(tzinfo=UTC) + timedelta(minutes=offset)).isoformat(),
        **changes,
    }
    try:
        model = Consumption.model_validate(data)
    except ValueError:
        pytest.skip("not a consumption the schema takes")
    try:
        expected = credits.request(s, _Attributes({n: getattr(model, n) for n in Consumption.model_fields}), 0)
    except ScenarioError as error:
        with pytest.raises(ScenarioError) as raised:
            credits.resolved(s, model.__dict__, 0)
        assert (raised.value.field, raised.value.message) == (error.field, error.message)
        return
    found = credits.resolved(s, model.__dict__, 0)
    assert dataclasses.asdict(found) == dataclasses.asdict(expected)
    # each field where it belongs (the two forms share `resolved`: a field read for another shows here)
    said = (found.id, found.quantity, found.unit, found.product, found.credit_type, found.asked_by)
    assert said == (model.id, model.quantity, model.unit, model.product, model.credit_type, model.user)
    usage = (model.method, model.device, model.source_category, model.destination_category)
    assert tuple(found.usage) == usage
    assert found.day == model.at.date()
    assert credits.request(s, model, 0) == found


def test_the_shipped_credit_samples_decide_as_from_attributes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every shipped sample with consumptions: decided with the consumptions read as a mapping,
    and with `resolved` handed the fields read as attributes instead (the form before)."""
    import json

    from engine.load import load_file

    documents = [
        d.data
        for path in sorted((REPO / "samples").rglob("*.yaml"))
        for d in load_file(path).documents
        if "consumptions" in d.data
    ]
    assert documents
    decided = []
    for data in documents:
        data = {k: v for k, v in data.items() if k != "expect"}
        scenario = as_decided(RULES, checked_scenario(json.loads(json.dumps(data, default=str))))
        decided.append((scenario, to_json(credits.credits_json(credits.evaluate(RULES, scenario)))))
    original = credits.resolved
    as_attributes = lambda s, fields, i: original(  # noqa: E731
        s, {n: getattr(_Attributes(dict(fields)), n) for n in credits._CONSUMPTION_FIELDS}, i
    )
    monkeypatch.setattr(credits, "resolved", as_attributes)
    for scenario, text in decided:
        assert to_json(credits.credits_json(credits.evaluate(RULES, scenario))) == text


# --- balances -----------------------------------------------------------------------------------

_EVENT = st.fixed_dictionaries(
    {"type": st.sampled_from(["grant", "withdraw", "debit", "refund"])},
    optional={
        "amount": st.sampled_from(["0", "-1", "5", "2.50"]),
        "request": st.sampled_from(["r1", "r2"]),
        "reason": st.sampled_from(["cancelled", "failed"]),
        "id": st.sampled_from(["E1", "E2"]),
    },
)


@settings(max_examples=300, deadline=None)
@given(events=st.lists(_EVENT, max_size=5))
def test_well_formed_events_are_those_check_finds_nothing_wrong_with(events: list[dict[str, Any]]) -> None:
    written = [{"id": f"EV-{i}", "at": f"2015-09-01T10:{i:02d}:00Z", **event} for i, event in enumerate(events)]
    data = {"id": "b", "as_of": "2015-09-30T18:00:00Z", "balance": {"policy": "standard-balance", "events": written}}
    checked = validate_scenario(data, None)
    if checked.diagnostics:  # (a value the schema refuses: not a question for `_well_formed`)
        return
    balance = checked.scenario.balance
    assert balances._well_formed(balance.events) == (not list(balances.check(RULES, balance)))


def test_a_balance_stream_reads_each_events_own_fields() -> None:
    data = {
        "id": "b",
        "as_of": "2015-09-30T18:00:00Z",
        "balance": {
            "policy": "standard-balance",
            "opening": "0",
            "events": [
                {"id": "EV-1", "type": "grant", "amount": "100", "at": "2015-09-01T09:00:00+02:00"},
                {"id": "EV-2", "type": "debit", "amount": "25", "request": "s1", "at": "2015-09-03T10:00:00+02:00"},
                {"id": "EV-3", "type": "debit", "amount": "90", "request": "s2", "at": "2015-09-04T10:00:00+02:00"},
                {"id": "EV-4", "type": "refund", "request": "s1", "reason": "failed", "at": "2015-09-05T10:00:00Z"},
                {"id": "EV-5", "type": "refund", "request": "s1", "reason": "failed", "at": "2015-09-06T10:00:00Z"},
                {"id": "EV-6", "type": "debit", "amount": "25", "request": "s2", "at": "2015-09-07T10:00:00Z"},
            ],
        },
    }
    scenario = validate_scenario(data, None).scenario
    result = balances.evaluate(RULES, scenario)
    assert [e.event for e in result.ledger] == ["EV-1", "EV-2", "EV-3", "EV-4"]
    assert [r.code for r in result.refused] == ["refund_repeated", "debit_repeated"]
    assert [(e.at, e.reason) for e in result.ledger] == [(e.at, e.reason) for e in scenario.balance.events[:4]]
    assert [e.balance for e in result.ledger] == [Decimal(100), Decimal(75), Decimal(-15), Decimal(10)]

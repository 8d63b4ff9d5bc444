"""Scenarios built directly agree with pydantic whatever keys each mapping gives, in any order.

The direct builder (`engine.models._scenario_direct`) starts each instance's `__dict__` as a copy
of its model's defaults and replaces the given fields' values; an optional field that is omitted
or null keeps its default. These tests give every model of a scenario every subset of the keys
seen for it in the corpus (samples, the sample run, the criteria benchmark), shuffled, with nulls,
an unknown key, and a field's name for its alias, and compare with `Scenario.model_validate`
(`_compare` of test_scenario_speed_direct). Defaults must never be shared: not with the
templates, not between instances, and the caller's lists must never be shared into the model.
"""

from __future__ import annotations

import copy
import itertools
import random
from typing import Any

import pytest

from engine.models._scenario_direct import build_scenario
from engine.models.scenario import Scenario
from tests.test_scenario_speed_direct import _compare, _corpus, _scenario
from tests.test_validate_speed_models import _same

#: Every field of every model given (the corpus has no scenario credits, for one).
_EVERYTHING: dict[str, Any] = {
    "id": "everything",
    "as_of": "2015-06-15T10:00:00+02:00",
    "account": {
        "code": "A1",
        "classification": "Residential",
        "payment_preference": "direct_debit",
        "presentment_preference": "email",
        "segments": ["VIP"],
        "due_date": "2015-06-30",
        "start": "2010-01-01",
    },
    "subscription": {
        "code": "S1",
        "type": "mobile",
        "plan": "plan-1",
        "add_ons": ["bundle-1"],
        "add_on_starts": {"bundle-1": "2015-01-01"},
        "billing_term_scheme": "term-1",
        "billing_frequency": "monthly",
        "binding_period": "24 months",
        "concurrent_usage": 2,
        "concurrent_usage_rate": 50,
        "start": "2014-01-01",
        "billing_term_start": "2014-01-01",
        "status_history": [{"status": "active", "from": "2014-01-01", "to": "2014-12-31"}],
        "products": [
            {"product": "p1", "price": "10.00 EUR", "quantity": 2, "bundle": "bundle-1", "main": True, "type": "termed"}
        ],
        "billing_period": {"from": "2015-06-01", "to": "2015-06-30"},
        "buy_in_advance": "3 months",
    },
    "job": {
        "code": "J1",
        "type": "installation",
        "segments": ["VIP"],
        "products": [{"product": "p1", "price": "1 EUR", "quantity": 1, "main": False}],
    },
    "usage": [
        {
            "at": "2015-06-14T10:00:00Z",
            "quantity": "2.5",
            "service": "data",
            "catalog": "c",
            "service_type": "t",
            "termed_service": "p1",
            "method": "m",
            "device": "phone",
            "source_category": "s",
            "destination_category": "d",
            "product": "p1",
            "amount": "1.25 EUR",
        }
    ],
    "agent": {"user": "u1", "units": ["unit-1"]},
    "requested_discounts": [
        {"discount": "d1", "value": "10", "start": "2015-06-01", "end": "2015-07-01", "added_on": "2015-06-01"}
    ],
    "approvals": [{"discount": "d1", "by": "u2", "units": ["unit-1"]}],
    "discount_history": [{"discount": "d1", "on": "2015-01-01"}],
    "consumptions": [
        {
            "id": "r1",
            "organisation": "o1",
            "user": "u1",
            "credit_type": "c1",
            "quantity": 2,
            "at": "2015-06-15T09:00:00Z",
            "service": "sms",
            "product": "p1",
            "unit": "messages",
        }
    ],
    "balance": {
        "policy": "pol",
        "opening": 5,
        "events": [
            {
                "id": "e1",
                "type": "refund",
                "amount": 1,
                "request": "r1",
                "reason": "failed",
                "at": "2015-06-15T09:00:00Z",
            }
        ],
    },
    "cancellation": {
        "date": "2015-07-01",
        "reason": "moved_abroad",
        "add_ons": ["bundle-1"],
        "renewed_on": "2015-06-01",
    },
    "purchase": {
        "plan": "plan-1",
        "add_ons": ["bundle-1"],
        "products": [{"product": "p1", "bundle": "bundle-1"}],
        "coupons": ["C"],
        "payment_method": "card",
        "user": "u1",
        "coupon_redemptions": {"C": 1},
    },
    "credits": [
        {
            "code": "cr1",
            "name": "n",
            "type": "c1",
            "quantity": 3,
            "usage_period": {"from": "2015-01-01", "to": "2015-12-31"},
            "holder": "o1",
            "allocation": "all_organisations",
            "issued": "2015-01-01",
            "priority": 1,
            "scope": {"services": ["sms"], "products": ["p1"]},
        }
    ],
    "credit_purchases": [
        {
            "id": "cp1",
            "user": "u1",
            "credit_type": "c1",
            "quantity": 5,
            "at": "2015-06-01T00:00:00Z",
            "usage_period": {"from": "2015-06-01", "to": "2015-12-31"},
        }
    ],
}

#: Subsets tried per mapping when there are more than 2**_EXHAUSTIVE of them.
_EXHAUSTIVE = 10
_SAMPLED = 600


def _place(path: tuple[Any, ...]) -> tuple[Any, ...]:
    """A path with its list indices as 0: the place a model has in every scenario."""
    return tuple(0 if isinstance(part, int) else part for part in path)


def _harvest() -> dict[tuple[Any, ...], tuple[dict[str, Any], tuple[Any, ...], dict[str, Any]]]:
    """Per place of a mapping: every key seen there with a value it had, one scenario that has a
    mapping there, and its path in that scenario (the corpus first, then `_EVERYTHING`)."""
    found: dict[tuple[Any, ...], tuple[dict[str, Any], tuple[Any, ...], dict[str, Any]]] = {}

    def walk(data: Any, path: tuple[Any, ...], carrier: dict[str, Any]) -> None:
        if isinstance(data, dict):
            keys, _, _ = found.setdefault(_place(path), ({}, path, carrier))
            for key, value in data.items():
                keys.setdefault(key, value)
                walk(value, (*path, key), carrier)
        elif isinstance(data, list):
            for i, value in enumerate(data):
                walk(value, (*path, i), carrier)

    for data in [*_corpus(), _EVERYTHING]:
        walk(_scenario(data), (), _scenario(data))
    return found


_FOUND = _harvest()


def _put(carrier: dict[str, Any], path: tuple[Any, ...], mapping: dict[str, Any]) -> dict[str, Any]:
    if not path:
        return mapping
    data = copy.deepcopy(carrier)
    here: Any = data
    for part in path[:-1]:
        here = here[part]
    here[path[-1]] = mapping
    return data


def _subsets(keys: list[str], rng: random.Random) -> list[tuple[str, ...]]:
    if len(keys) <= _EXHAUSTIVE:
        return [s for n in range(len(keys) + 1) for s in itertools.combinations(keys, n)]
    return [tuple(k for k in keys if rng.random() < 0.5) for _ in range(_SAMPLED)] + [(), tuple(keys)]


def test_the_corpus_reaches_every_model_of_a_scenario() -> None:
    places = {place for place in _FOUND if place}
    for place in [("account",), ("subscription", "products", 0), ("usage", 0), ("balance", "events", 0)]:
        assert place in places
    assert len(places) >= 25, sorted(places, key=str)
    for keys, _, _ in _FOUND.values():
        assert "unknown_key" not in keys


@pytest.mark.parametrize("place", sorted(_FOUND, key=str), ids=lambda place: ".".join(map(str, place)) or "scenario")
def test_every_subset_of_keys_in_any_order_agrees_with_pydantic(place: tuple[Any, ...]) -> None:
    keys, path, carrier = _FOUND[place]
    rng = random.Random(".".join(map(str, place)))
    # the keys that cannot be left out (a required field, one of two an after-validator wants)
    needed = [k for k in keys if _compare(_put(carrier, path, {j: v for j, v in keys.items() if j != k})) == "refused"]
    outcomes: dict[str, int] = {}
    for subset in _subsets([k for k in keys if k not in needed], rng):
        order = [*needed, *subset]
        rng.shuffle(order)
        for mapping in ({k: keys[k] for k in [*needed, *subset]}, {k: keys[k] for k in order}):
            outcome = _compare(_put(carrier, path, mapping))
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("direct", 0) >= outcomes.get("refused", 0), outcomes  # most are built directly


@pytest.mark.parametrize("place", sorted(_FOUND, key=str), ids=lambda place: ".".join(map(str, place)) or "scenario")
def test_nulls_unknown_keys_and_field_names_agree_with_pydantic(place: tuple[Any, ...]) -> None:
    keys, path, carrier = _FOUND[place]
    variants = [{**keys, "unknown_key": 1}, {"unknown_key": 1, **keys}]
    variants += [{**keys, key: None} for key in keys]  # null: an optional field's default, else refused
    variants += [{("from_" if k == "from" else k): v for k, v in keys.items()}]  # pydantic takes the name too
    variants += [{**keys, "from_": keys["from"]}] if "from" in keys else []  # both: pydantic decides
    for mapping in variants:
        _compare(_put(carrier, path, mapping))


def test_defaults_are_new_for_every_instance_and_never_the_callers() -> None:
    data = {"id": "s", "as_of": "2024-01-31T23:00:00Z", "account": {"code": "A1"}, "usage": []}
    first = build_scenario(data)
    assert first is not None
    first.account.segments.append("changed")  # a default list of one instance...
    first.requested_discounts.append("changed")
    second = build_scenario(data)
    assert second is not None
    _same(second, Scenario.model_validate(data), "scenario")  # ...is not the next one's
    assert second.account.segments == [] and second.requested_discounts == []
    assert second.usage is not data["usage"]  # a given list is copied
    assert second.account.__dict__ is not first.account.__dict__


def test_ids_are_checked_as_pydantic_checks_them() -> None:
    base = {"id": "s", "as_of": "2024-01-31T23:00:00Z"}
    for value in ("", "x", "s1", " ", "é", "é" * 3, "a\ud800", "\ud800", "\x00", "A" * 1000, 1, None, ["s"]):
        for _ in range(2):
            _compare({**base, "id": value})


def test_as_of_kept_per_text_is_the_date_time_pydantic_gives() -> None:
    for text in (
        "2024-01-31T23:00:00Z",
        "2024-01-31T23:00:00+00:00",
        "2024-01-31T23:00:00-00:00",
        "2024-01-31T23:00:00+01:00",
        "2024-01-31 23:00:00.5+05:30",
        "2024-01-31T23:00:00",
        "2024-01-31",
        "1700000000",
        1700000000,
    ):
        for _ in range(2):  # parsed, then kept
            _compare({"id": "s", "as_of": text})
    one, other = (build_scenario({"id": "s", "as_of": "2024-01-31T23:00:00Z"}) for _ in range(2))
    assert one is not None and other is not None and one is not other and one.as_of == other.as_of

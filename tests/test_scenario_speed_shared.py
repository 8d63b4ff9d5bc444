"""Product lines shared between scenarios (`engine.models._scenario_direct._SHARED_ITEMS`).

The direct builder keeps the `ProductLine` it built from a JSON object and hands the same instance
to a later scenario whose line is an equal object (a catalog product at its price recurs across a
billing run). These tests check that a shared line is the line pydantic builds for that scenario,
that only objects of exact `str` and `int` values are keys (`True == 1`, `1.0 == 1`: a bool or a
float must never find a line built from an int), and that the model stays frozen.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

import engine.models._scenario_direct as direct
from engine.decide.scenarios import validate_scenario
from engine.models.common import DecimalField, Strict
from engine.models.scenario import ProductLine, Scenario
from tests.test_validate_speed_models import _same


def _scenario(lines: list[Any], *, job: bool = False) -> dict[str, Any]:
    if job:
        return {"id": "s", "as_of": "2024-05-31T10:00:00Z", "job": {"code": "J1", "products": lines}}
    holder = {"code": "H1", "start": "2023-01-01", "products": lines}
    return {"id": "s", "as_of": "2024-05-31T10:00:00Z", "subscription": holder}


def _lines(data: dict[str, Any]) -> list[ProductLine]:
    scenario = validate_scenario(data, None).scenario
    holder = scenario.subscription if scenario.subscription is not None else scenario.job
    lines: list[ProductLine] = holder.products
    return lines


def _pydantic_lines(data: dict[str, Any]) -> list[ProductLine] | None:
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError:
        return None
    holder = scenario.subscription if scenario.subscription is not None else scenario.job
    lines: list[ProductLine] = holder.products
    return lines


@pytest.mark.parametrize("job", [False, True])
def test_an_equal_line_in_a_later_scenario_is_the_same_instance(job: bool) -> None:
    line = {"product": "SHAREDTV", "type": "termed", "price": "12.50 EUR", "quantity": 2}
    first = _lines(_scenario([line], job=job))[0]
    again = _lines(_scenario([dict(line)], job=job))[0]
    assert again is first
    wanted = _pydantic_lines(_scenario([line], job=job))
    assert wanted is not None
    _same(again, wanted[0], "line")
    with pytest.raises(ValidationError, match="frozen"):
        again.quantity = 3  # type: ignore[misc]


def test_another_value_or_key_order_builds_its_own_line() -> None:
    first = _lines(_scenario([{"product": "SHAREDTV", "price": "12.50 EUR"}]))[0]
    other_price = _lines(_scenario([{"product": "SHAREDTV", "price": "12.51 EUR"}]))[0]
    reordered = _lines(_scenario([{"price": "12.50 EUR", "product": "SHAREDTV"}]))[0]
    assert other_price is not first and str(other_price.price) == "12.51 EUR"
    assert reordered is not first and reordered == first


@pytest.mark.parametrize(
    ("kept", "asked"),
    [
        ({"quantity": 1}, {"quantity": True}),
        ({"quantity": 1}, {"quantity": 1.0}),
        ({"quantity": 2}, {"quantity": 2.0}),
        ({"main": 1}, {"main": True}),
        ({"quantity": 0}, {"quantity": False}),
    ],
)
def test_a_bool_or_float_never_finds_a_line_built_from_an_int(kept: dict[str, Any], asked: dict[str, Any]) -> None:
    """Whatever pydantic makes of the bool or float (a value or an error), the scenario gets that."""
    first = _scenario([{"product": "SHAREDX", **kept}])
    if _pydantic_lines(first) is not None:
        _lines(first)  # kept (when valid) under a key equal to the one asked next
    data = _scenario([{"product": "SHAREDX", **asked}])
    wanted = _pydantic_lines(data)
    checked = validate_scenario(data, None)
    if wanted is None:
        assert checked.scenario is None and checked.diagnostics
    else:
        assert checked.scenario is not None
        _same(checked.scenario.subscription.products[0], wanted[0], "line")


_VALUES = st.one_of(
    st.sampled_from(["SHAREDA", "SHAREDB", "termed", "usage", "Service", "1.00 EUR", "2.50 USD", "x", ""]),
    st.integers(-1, 3),
    st.booleans(),
    st.sampled_from([1.0, 2.0, 0.5]),
    st.none(),
)
_KEYS = st.sampled_from(["product", "price", "quantity", "bundle", "main", "type", "other"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.dictionaries(_KEYS, _VALUES, max_size=4), min_size=1, max_size=6))
def test_lines_in_sequence_are_the_lines_pydantic_builds(lines: list[dict[str, Any]]) -> None:
    """Scenarios decided one after another (the kept lines carry over): each line as pydantic has it."""
    for line in lines:
        data = _scenario([line, dict(line)])
        wanted = _pydantic_lines(data)
        checked = validate_scenario(data, None)
        if wanted is None:
            assert checked.scenario is None and checked.diagnostics
            continue
        assert checked.scenario is not None
        for got, want in zip(checked.scenario.subscription.products, wanted, strict=True):
            _same(got, want, "line")


def test_the_kept_lines_are_bounded() -> None:
    _lines(_scenario([{"product": "SHAREDTV"}]))
    kept = [
        value
        for value in direct._builder(Scenario).__globals__.values()  # type: ignore[attr-defined]
        if isinstance(value, dict) and any(type(v) is ProductLine for v in value.values())
    ]
    assert kept, "the builder keeps product lines"
    for n in range(direct._CACHE_SIZE + 5):
        _lines(_scenario([{"product": "SHAREDTV", "quantity": n + 1}]))
    assert all(len(table) <= direct._CACHE_SIZE for table in kept)


def test_a_model_that_is_not_frozen_is_never_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    class Loose(BaseModel):
        code: str

    class Holder(Strict):
        items: list[Loose]

    monkeypatch.setattr(direct, "_SHARED_ITEMS", frozenset({"Loose"}))
    with pytest.raises(TypeError, match="Loose is shared between scenarios: it must be frozen"):
        direct._builder(Holder)


def test_a_float_never_finds_an_item_built_from_an_equal_int(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a decimal field, 1 and 1.0 are different values (`1` and `1.0`) though equal keys: only
    exact `str` and `int` values make a key, so the float builds (or gives up) on its own."""

    class Amounted(Strict):
        amount: DecimalField

    class Holder(Strict):
        items: list[Amounted]

    monkeypatch.setattr(direct, "_SHARED_ITEMS", frozenset({"Amounted"}))
    build = direct._builder(Holder)
    for value in (1, 1.0, 1, 2.5, 2, 2.0):
        data = {"items": [{"amount": value}]}
        wanted = Holder.model_validate(data)
        try:
            got = build(data)
        except Exception:  # the direct path gave up: pydantic decides
            continue
        _same(got, wanted, "holder")

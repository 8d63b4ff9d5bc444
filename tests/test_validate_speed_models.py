"""Rule-file models built directly (`engine.models._direct`) are the models pydantic builds.

The models stage builds each document's model from its schema-checked data without running
pydantic's validator when the outcome is certain, and falls back to `model_validate` otherwise.
These tests run both on every document of the shipped rules and the golden cases and on many
broken variants of them (the schema stage's own variant generator): the direct path either gives
an instance equal in every value, value type and `model_fields_set`, or gives up; and whatever it
gives, `validate` raises exactly pydantic's error when pydantic does.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from engine.models import KINDS
from engine.models._direct import Unsure, _model, validate
from tests.test_schema_fast_path import DOCUMENTS, _variants


def _same(a: Any, b: Any, where: str = "") -> None:
    """Equal values of the same types all the way down (a date is not a string, 1 is not 1.0)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, BaseModel):
        assert a.model_fields_set == b.model_fields_set, where
        assert a.__pydantic_extra__ == b.__pydantic_extra__ and a.__pydantic_private__ == b.__pydantic_private__
        assert list(a.__dict__) == list(b.__dict__), where
        for name in a.__dict__:
            _same(a.__dict__[name], b.__dict__[name], f"{where}.{name}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, datetime | time):
        assert a == b and repr(a) == repr(b) and type(a.tzinfo) is type(b.tzinfo), where
    else:
        assert a == b, where
        if isinstance(a, Decimal | date):
            assert str(a) == str(b), where


def _compare(kind: str, data: Any) -> str:
    model = KINDS[kind]
    try:
        wanted = model.model_validate(data)
    except ValidationError as error:
        with pytest.raises(ValidationError) as raised:
            validate(model, data)
        assert raised.value.json() == error.json()
        with pytest.raises(Unsure):  # the direct path never accepts what pydantic refuses
            _model(model)(data)
        return "refused"
    _same(validate(model, data), wanted, kind)
    try:
        direct = _model(model)(data)
    except Unsure:
        return "fell back"
    _same(direct, wanted, kind)
    return "direct"


@pytest.mark.parametrize(("kind", "data"), DOCUMENTS, ids=[f"{k}-{d.get('code')}" for k, d in DOCUMENTS])
def test_every_shipped_and_golden_document_is_built_directly(kind: str, data: Any) -> None:
    assert _compare(kind, data) in ("direct", "refused")  # the golden cases hold broken documents too


def test_broken_variants_agree_with_pydantic() -> None:
    outcomes: dict[str, int] = {}
    for kind, data in DOCUMENTS:
        for variant in _variants(data):
            outcome = _compare(kind, variant)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    # every way occurs: many variants still valid (and direct), many refused by both
    assert outcomes.get("direct", 0) > 1000 and outcomes.get("refused", 0) > 1000, outcomes

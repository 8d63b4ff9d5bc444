"""Scenarios built directly (`engine.models._scenario_direct`) are the scenarios pydantic builds.

`validate_scenario` (and `checked_scenario`, what `RuleSet.decide` calls) builds a well-formed scenario in plain Python and falls back to pydantic's
`Scenario.model_validate` for anything the direct path cannot vouch for. These tests run both on
every shipped sample, every line of the sample billing run, the criteria benchmark's scenarios,
many broken variants of them (a key removed, an unknown key in every mapping, a value of another
type, numbers for dates, bad money, huge and non-finite numbers, non-ASCII text) and on scenarios
generated from the models' own field types: the direct path gives an instance equal in every
value, value type and `model_fields_set`, or gives up; and `validate_scenario` gives exactly the
diagnostics it gave when pydantic validated every scenario.
"""

from __future__ import annotations

import json
import random
import sys
import types
import typing
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from engine.decide.scenarios import ScenarioInvalid, _validate, checked_scenario, validate_scenario
from engine.models._direct import _split
from engine.models._scenario_direct import build_scenario
from engine.models.scenario import Scenario
from engine.values import Duration, Money
from tests.test_decide_differential import SAMPLES
from tests.test_schema_fast_path import _DELETE, _paths, _replace
from tests.test_validate_speed_models import _same

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
import criteria  # noqa: E402  (benchmarks/ is not a package)

RUN_LINES = [json.loads(line) for line in (REPO / "samples/run/nightly.jsonl").read_text("utf-8").splitlines() if line]
BENCHMARK = [criteria.make_scenario(i, random.Random(criteria.SEED + 1)) for i in range(300)]


def _scenario(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "expect"}


def _compare(data: Any) -> str:
    """Pydantic's outcome and the direct path's agree; which of the two decided."""
    try:
        old = _validate(data, None, "<scenario>")
    except Exception as error:  # pydantic's own failures (a lone surrogate in a pattern-checked code) stay as they were
        with pytest.raises(type(error)):
            validate_scenario(data, None)
        assert build_scenario(_scenario(data)) is None
        return "refused"
    new = validate_scenario(data, None)
    assert new.diagnostics == old.diagnostics
    assert new.expect is old.expect  # the same object, split off the same mapping
    if old.scenario is None:
        assert new.scenario is None
        with pytest.raises(ScenarioInvalid) as refused:  # `RuleSet.decide`'s path: the same diagnostics
            checked_scenario(data)
        assert refused.value.diagnostics == old.diagnostics
    else:
        _same(new.scenario, old.scenario, "scenario")
        _same(checked_scenario(data), old.scenario, "scenario")
    if not isinstance(data, dict):
        return "refused"
    try:
        wanted = Scenario.model_validate(_scenario(data))
    except (ValidationError, UnicodeError):  # (a lone surrogate: `_validate` words it, BR602)
        assert build_scenario(_scenario(data)) is None  # the direct path never accepts what pydantic refuses
        return "refused"
    direct = build_scenario(_scenario(data))
    if direct is None:
        return "fell back"
    _same(direct, wanted, "scenario")
    with pytest.raises(ValidationError, match="frozen"):
        direct.id = "changed"  # type: ignore[misc]
    return "direct"


@pytest.mark.parametrize(("name", "data"), SAMPLES, ids=[name for name, _ in SAMPLES])
def test_every_shipped_sample_is_built_directly(name: str, data: dict[str, Any]) -> None:
    assert _compare(data) == "direct"


def test_every_line_of_the_sample_run_is_built_directly() -> None:
    assert len(RUN_LINES) >= 1000
    assert {_compare(data) for data in RUN_LINES} == {"direct"}


def test_the_criteria_benchmark_scenarios_are_built_directly() -> None:
    assert {_compare(data) for data in BENCHMARK} == {"direct"}


#: Values put in every place of a scenario: other types, numbers and near misses for dates, bad
#: money and durations, huge and non-finite numbers, text pydantic reads in its own way.
_ODD_VALUES: tuple[Any, ...] = (
    "",
    "x",
    "é",
    "a\ud800",  # a lone surrogate: refused in constrained text, kept in plain text
    "A" * 101,
    "2015-02-30",
    "2015-06-15",
    "2015-06-15T10:00:00",
    "2015-06-15 10:00:00+01:00",
    "2015-06-15T25:00:00Z",
    "2015-06-15X",
    "1700000000",
    "10 EUR",
    "10.00 EUX",
    "-1.5 USD",
    "1e3",
    " 7 ",
    "1_000",
    "10.00",
    "6 month",
    "99999999 days",
    "active",
    "monthly",
    0,
    -1,
    1,
    1.0,
    1.5,
    10**15,
    10**16,
    10**30,
    1e300,
    float("nan"),
    float("inf"),
    True,
    False,
    None,
    [],
    {},
    ["x"],
    {"x": 1},
    Decimal("1.5"),
    date(2015, 6, 15),
)


def _broken(data: dict[str, Any], rng: random.Random, per_document: int) -> list[Any]:
    """Broken variants of `data`: at a sample of its places, a deleted key, an unknown key, odd values."""
    variants: list[Any] = [{**data, "unknown_key": 1}, {**data, "from_": "2015-01-01"}]
    for path in list(_paths(data))[1:]:
        here: Any = data
        for part in path:
            here = here[part]
        if isinstance(here, dict):
            variants.append(_replace(data, (*path, "unknown_key"), "x"))
            if "from" in here:  # the field's name instead of its alias (pydantic accepts it)
                renamed = {("from_" if k == "from" else k): v for k, v in here.items()}
                variants.append(_replace(data, path, renamed))
        if isinstance(path[-1], str):
            variants.append(_replace(data, path, _DELETE))
        variants.extend(_replace(data, path, odd) for odd in rng.sample(_ODD_VALUES, per_document))
    return variants


def _corpus() -> list[dict[str, Any]]:
    return [data for _, data in SAMPLES] + RUN_LINES[::40] + BENCHMARK[::10]


def test_broken_variants_give_the_same_diagnostics() -> None:
    rng = random.Random(7)
    outcomes: dict[str, int] = {}
    for data in _corpus():
        for variant in _broken(data, rng, 4):
            outcome = _compare(variant)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes["refused"] > 1000 and outcomes["direct"] > 1000 and outcomes["fell back"] > 100, outcomes


def test_not_a_mapping_and_expect_sections_are_handled_as_before() -> None:
    for data in ([], "x", None, 3, {"expect": {}}, {**RUN_LINES[0], "expect": {"discounts": []}}):
        _compare(data)


# --- scenarios generated from the models' field types ---------------------------------------------------


def _odd(draw: Any) -> Any:
    return draw(st.sampled_from(_ODD_VALUES))


@st.composite
def _value(draw: Any, annotation: Any, metadata: tuple[Any, ...] = (), depth: int = 0, odd: bool = False) -> Any:
    """A JSON value for a field of type `annotation`: well-formed, or now and then not when `odd`."""
    if odd and draw(st.integers(0, 19)) == 0:
        return _odd(draw)
    annotation, flat = _split(annotation, list(metadata))
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [m for m in typing.get_args(annotation) if m is not type(None) or draw(st.booleans())]
        return draw(_value(draw(st.sampled_from(members)), tuple(flat), depth, odd))
    if origin is list:
        (item,) = typing.get_args(annotation)
        return draw(st.lists(_value(item, (), depth + 1, odd), max_size=3 if depth < 2 else 1))
    if origin is dict:
        key, item = typing.get_args(annotation)
        # keys well-formed always: a JSON object's keys are text (an odd key drawn as a list or a
        # mapping could not be a key at all, and made the generator fail now and then)
        return draw(st.dictionaries(_value(key, (), depth + 1, False), _value(item, (), depth + 1, odd), max_size=2))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return draw(_mapping(annotation, depth + 1, odd))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return draw(st.sampled_from([m.value for m in annotation]))
    if annotation is type(None):
        return None
    if annotation is bool:
        return draw(st.booleans())
    if annotation is int:
        return draw(st.integers(0, 5))
    if annotation is str:
        if any(getattr(m, "pattern", None) for m in flat):
            return draw(st.sampled_from(["a", "A-1", "x.y_z", "sports-bundle", "9"]))
        if flat:  # an id: at least one character
            return draw(st.text(st.characters(max_codepoint=0x7F), min_size=1, max_size=5) | st.text(min_size=1))
        return draw(st.text(max_size=5))
    if annotation is date:
        return draw(st.dates(date(1, 1, 1), date(9999, 12, 31))).isoformat()
    if annotation is datetime:
        moment = draw(st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30)))
        zone = draw(st.sampled_from(["Z", "+01:00", "-05:30", "+00:00", ""]))
        return moment.isoformat() + zone
    if annotation is time:
        return draw(st.times()).isoformat()
    if annotation is Decimal:
        return draw(st.one_of(st.integers(-5, 10**6), st.sampled_from(["2.50", "0.000000001", "1", 0.5, 1.25])))
    if annotation is Money:
        return draw(st.sampled_from(["20.00 EUR", "0.5 USD", "-3 GBP", "1000000 JPY", "1.123456789 EUR"]))
    if annotation is Duration:
        return draw(st.sampled_from(["6 months", "1 year", "14 days", "2 weeks", "0 days"]))
    raise AssertionError(f"no strategy for {annotation!r}")


@st.composite
def _mapping(draw: Any, model: type[BaseModel], depth: int = 0, odd: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        wanted = info.is_required() or (depth < 3 and draw(st.integers(0, 2)) == 0)
        missing = odd and info.is_required() and draw(st.integers(0, 29)) == 0  # a required field left out
        if wanted and not missing:
            data[info.alias or name] = draw(_value(info.annotation, tuple(info.metadata), depth, odd))
    if odd and draw(st.integers(0, 29)) == 0:
        data["unknown_key"] = 1
    return data


_OUTCOMES: dict[str, int] = {}


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.booleans().flatmap(lambda odd: _mapping(Scenario, odd=odd)))
def test_generated_scenarios_agree_with_pydantic(data: dict[str, Any]) -> None:
    outcome = _compare(data)
    _OUTCOMES[outcome] = _OUTCOMES.get(outcome, 0) + 1


def test_generated_scenarios_were_built_directly_and_refused() -> None:
    """The generator above is no straw man: many of its scenarios are valid, and built directly."""
    if not _OUTCOMES:
        pytest.skip("runs after test_generated_scenarios_agree_with_pydantic")
    assert _OUTCOMES.get("direct", 0) > 50 and _OUTCOMES.get("refused", 0) > 50, _OUTCOMES

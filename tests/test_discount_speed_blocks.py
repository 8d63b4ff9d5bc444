"""Brief decisions by blocks of definitions decide and write what the long way does, byte for byte.

With brief reasons (a billing run's default), `DiscountEvaluator._by_blocks` looks up blocks of
consecutive definitions, kept per what decides them (their settled results, the criteria outcomes
they read, the bundles held, the lines' products); it keeps the result of a definition nothing
asks for (no request, no history) per the dates and the agent, and writes each block's shared
results once. Each decision here is compared with the long way: the same rule set with
`by_blocks` off, which walks every open definition one by one (the path detailed reasons take,
itself checked against the frozen reference evaluator in tests/test_decide_differential.py).
Compared: `decide_json` and `to_json(decide(...))`, every definition listed and applied only, or
the same refusal:

- every sample, and generated or mutated scenarios decided in sequence, so that what one decision
  leaves in the blocks' memos is reused by the next (dates, agents, lines, dated requests);
- a generated rule set of 100 definitions (`benchmarks/validate.py`'s generator, a third of them
  with a duration `until` a day of 2015): the samples with their dates moved, requests for its ad
  hoc definitions (dated or not), agents and history.
"""

from __future__ import annotations

import copy
import importlib.util
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import load_rules
from engine.decide.decision import _evaluator, criteria_outcomes, to_json
from engine.decide.scenarios import ScenarioError, validate_scenario
from engine.ruleset import RuleSet
from tests.test_decide_differential import SAMPLES, USERS, mutated_samples, scenarios

REPO = Path(__file__).resolve().parent.parent


def _pairs(rules: RuleSet) -> list[tuple[RuleSet, RuleSet]]:
    """(by blocks, the long way) for brief reasons, listing every definition and applied only."""
    pairs = []
    for listed in (rules.brief(), rules.brief().applied_only()):
        long_way = copy.copy(listed)
        long_way.__dict__["_evaluators"] = {}
        _evaluator(long_way).by_blocks = False
        pairs.append((listed, long_way))
    return pairs


SHIPPED = _pairs(load_rules(REPO / "rules"))


def _decided(rules: RuleSet, scenario: Any) -> tuple[str, ...]:
    try:
        return rules.decide_json(scenario), to_json(rules.decide(scenario))
    except ScenarioError as exc:
        return "error", f"{exc.code} {exc.field}: {exc.message} ({exc.hint})"


def _same(pairs: list[tuple[RuleSet, RuleSet]], data: dict[str, Any]) -> bool:
    """Both ways decide `data` alike; False for data the schema refuses (nothing to compare)."""
    checked = validate_scenario(copy.deepcopy(data), None)
    if checked.diagnostics:
        return False
    for blocks, long_way in pairs:
        fast = _decided(blocks, checked.scenario)
        assert fast == _decided(long_way, checked.scenario)
        assert fast[0] == "error" or fast[0] == fast[1]
    return True


@pytest.mark.parametrize(("name", "data"), SAMPLES, ids=[name for name, _ in SAMPLES])
def test_every_sample_decides_alike_by_blocks(name: str, data: dict[str, Any]) -> None:
    assert _same(SHIPPED, data), name


def test_the_blocks_are_used_and_kept() -> None:
    """Not vacuous: brief decisions go by blocks, and the blocks' memo serves the next decision."""
    blocks, _ = SHIPPED[0]
    evaluator = _evaluator(blocks)
    for _, data in SAMPLES:
        _same(SHIPPED, data)
    kept = len(evaluator._blocks)
    assert kept
    data = next(d for name, d in SAMPLES if name.startswith("discounts/"))
    scenario = validate_scenario(copy.deepcopy(data), None).scenario
    decided = evaluator.decide(scenario, criteria_outcomes(blocks, scenario), why=False)
    assert decided.blocks is not None
    assert len(evaluator._blocks) == kept  # a sample decided before: every block found


def test_sheets_decide_every_sample_again_alike() -> None:
    """A decision whose blocks were all met before is decided as one sheet (`_sheet`, built the
    second time its key is met, found by `_indexed_sheet` after): each sample decided three times,
    with the rest in between, is decided as the long way decides it, and sheets are made and used."""
    blocks, _ = SHIPPED[0]
    evaluator = _evaluator(blocks)
    for _ in range(3):
        for _, data in SAMPLES:
            _same(SHIPPED, data)
    assert evaluator._sheets and evaluator._sheet_index
    data = next(d for name, d in SAMPLES if name.startswith("discounts/") and "subscription" in d)
    scenario = validate_scenario(copy.deepcopy(data), None).scenario
    decided = evaluator.decide(scenario, criteria_outcomes(blocks, scenario), why=False)
    assert decided.blocks is not None and len(decided.blocks) == 1  # one sheet
    assert any(decided.blocks[0][0] is sheet for sheet in evaluator._sheets.values())


def test_a_changed_brief_decision_does_not_change_the_next() -> None:
    """Results the blocks share are copied into the dict API's decisions, never handed out."""
    blocks, _ = SHIPPED[0]
    data = next(d for name, d in SAMPLES if name.startswith("discounts/"))
    scenario = validate_scenario(copy.deepcopy(data), None).scenario
    expected = blocks.decide_json(scenario)
    first = blocks.decide(scenario)
    for definition in first["discounts"]["definitions"]:
        definition["reasons"].append("changed by the caller")
        definition["status"] = "changed"
    assert blocks.decide_json(scenario) == expected == to_json(blocks.decide(scenario))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.one_of(scenarios(), mutated_samples()), min_size=1, max_size=4))
def test_generated_scenarios_in_sequence_decide_alike_by_blocks(sequence: list[dict[str, Any]]) -> None:
    for data in sequence:
        _same(SHIPPED, data)


# --- a generated rule set of many definitions ------------------------------------------------------


def generated_rules(target: Path, definitions: int) -> Path:
    """`benchmarks/validate.py`'s generated rule set of `definitions` discounts, written under
    `target`: its rules folder."""
    spec = importlib.util.spec_from_file_location("bench_validate", REPO / "benchmarks" / "validate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate_rules(REPO / "rules", target / "rules", definitions)
    return target / "rules"


def _generated(target: Path, definitions: int) -> RuleSet:
    rules = generated_rules(target, definitions)
    _end_some(rules / "discounts")
    return load_rules(rules)


def _end_some(folder: Path) -> None:
    """Every third generated definition runs until a day of 2015 (its duration), so that a
    definition nothing asks for ends on some billing dates and not on others."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    for n, path in enumerate(sorted(folder.glob("*.yaml"))):
        documents = list(yaml.load_all(path.read_text(encoding="utf-8")))
        for i, document in enumerate(documents):
            until = date(2015, 1 + (i % 12), 15)
            effective = document.get("validity", {}).get("effective")
            if isinstance(effective, str):
                effective = date.fromisoformat(effective)
            # (an end before the definition is effective is BR413 since 2026-12-01)
            if (n + i) % 3 == 0 and (effective is None or effective <= until):
                document["duration"] = {"until": until}
        with path.open("w", encoding="utf-8") as f:
            yaml.dump_all(documents, f)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[tuple[RuleSet, RuleSet]], list[str]]:
    rules = _generated(tmp_path_factory.mktemp("blocks"), 100)
    ad_hoc = sorted(code for code, d in rules.models("discount").items() if d.type.value == "ad_hoc")
    return _pairs(rules), ad_hoc


DISCOUNT_SAMPLES = [data for name, data in SAMPLES if name.split("/")[0] in ("discounts", "purchase", "cancellation")]


def _moved(data: dict[str, Any], days: int) -> dict[str, Any]:
    """`data` with its billing date moved by `days` (and a billing period, when it has one)."""
    out = copy.deepcopy(data)
    out.pop("expect", None)
    as_of = str(out["as_of"])
    out["as_of"] = (date.fromisoformat(as_of[:10]) + timedelta(days=days)).isoformat() + as_of[10:]
    period = (out.get("subscription") or {}).get("billing_period")
    if period:
        for key in ("from", "to"):
            period[key] = (date.fromisoformat(str(period[key])) + timedelta(days=days)).isoformat()
    return out


def asking_scenario(
    data: st.DataObject, ad_hoc: list[str], days: int, codes: st.SearchStrategy[list[str]]
) -> dict[str, Any]:
    """A sample moved by up to `days` either way that asks for ad hoc discounts (`codes`: values,
    some with an `added_on`), with or without an agent, and a history of them."""
    scenario = _moved(data.draw(st.sampled_from(DISCOUNT_SAMPLES)), data.draw(st.integers(-days, days)))
    as_of = date.fromisoformat(str(scenario["as_of"])[:10])
    requests = []
    for code in data.draw(codes):
        request: dict[str, Any] = {"discount": code, "value": data.draw(st.sampled_from([5, 10, "5.00 EUR"]))}
        if data.draw(st.booleans()):
            request["added_on"] = (as_of - timedelta(days=data.draw(st.integers(-30, 400)))).isoformat()
        requests.append(request)
    scenario["requested_discounts"] = requests
    if data.draw(st.booleans()):
        scenario["agent"] = {"user": data.draw(st.sampled_from(USERS)), "units": []}
    else:
        scenario.pop("agent", None)
    history = data.draw(st.lists(st.sampled_from(ad_hoc), max_size=2))
    scenario["discount_history"] = [{"discount": code, "on": as_of.isoformat()} for code in history]
    return scenario


def test_the_samples_decide_alike_by_blocks_on_many_definitions(
    generated: tuple[list[tuple[RuleSet, RuleSet]], list[str]],
) -> None:
    pairs, _ = generated
    decided = sum(_same(pairs, _moved(data, days)) for days in (0, 0, -31, 45) for data in DISCOUNT_SAMPLES)
    assert decided >= 3 * len(DISCOUNT_SAMPLES)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_requests_agents_and_history_decide_alike_by_blocks_on_many_definitions(
    generated: tuple[list[tuple[RuleSet, RuleSet]], list[str]], data: st.DataObject
) -> None:
    pairs, ad_hoc = generated
    for _ in range(data.draw(st.integers(1, 3))):
        _same(pairs, asking_scenario(data, ad_hoc, 120, st.lists(st.sampled_from(ad_hoc), max_size=3)))

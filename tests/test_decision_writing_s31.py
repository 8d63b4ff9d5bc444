"""A kept bill's whole discount part, written once (thirty-first session), gives the same text.

`decide_text` writes the discount part of a bill the evaluator kept, none of whose results the
scenario asks for, once (`decision._whole_part`, as `PartText`) and joins it into each such
decision's text. Each decision, the first of its bill and
the ones after, is checked byte for byte against `to_json(decide(...))` (nothing shared, nothing
kept) on the samples, in order and shuffled, with brief and detailed reasons (bills are kept of brief ones only), listing all or the
applied only, on the shipped rules (definitions as data) and on 120 generated definitions
(definitions as text, `DefinitionsText`); and the kept parts are shown to be used.
"""

from __future__ import annotations

import importlib.util
import random
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine import load_rules
from engine.decide import decision
from engine.decide.decision import PartText, decide, decide_text, to_json
from engine.decide.scenarios import checked_scenario
from engine.ruleset import RuleSet

REPO = Path(__file__).resolve().parent.parent


def _module(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{name}_s31", REPO / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def _lines() -> tuple[bytes, ...]:
    return tuple(line.encode() for _, line in _module("decide").sample_lines())


@cache
def _generated(tmp: Path) -> RuleSet:
    _module("validate").generate_rules(REPO / "rules", tmp / "rules", 120)
    return load_rules(tmp / "rules")


def _decidable(rules: RuleSet) -> list[bytes]:
    found = []
    for line in _lines():
        try:
            decide(rules, checked_scenario(orjson.loads(line)))
        except Exception:  # (a sample another rule set cannot decide)
            continue
        found.append(line)
    return found


def _variants(rules: RuleSet) -> list[RuleSet]:
    return [rules.brief(), rules, rules.applied_only(), rules.brief().applied_only()]


def _kept_parts(rules: RuleSet) -> list[Any]:
    evaluator = rules.__dict__.get("_evaluators", {}).get("discounts")
    assert evaluator is not None
    found = []
    for kept in _bills_written(evaluator):
        found += [value for key, value in kept.items() if type(key) is tuple and key[-1:] == ("part",)]
    return found


def _bills_written(evaluator: Any) -> list[dict[Any, Any]]:
    """Every `written` dictionary the evaluator keeps for its bills (wherever it keeps them)."""
    seen: list[dict[Any, Any]] = []
    _collect(_state(evaluator), seen, 0)
    return seen


def _state(value: Any) -> dict[str, Any]:
    """An object's attributes: its `__dict__`, or, compiled (a native class has none), every
    attribute it has that is not a method."""
    if hasattr(value, "__dict__"):
        return dict(vars(value))
    return {n: v for n in dir(value) if not n.startswith("__") and not callable(v := getattr(value, n, None))}


def _collect(value: Any, seen: list[dict[Any, Any]], depth: int) -> None:
    if depth > 6:
        return
    if isinstance(value, dict):
        if any(type(key) is tuple and key[-1:] == ("part",) for key in value):
            seen.append(value)
            return
        for item in value.values():
            _collect(item, seen, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, seen, depth + 1)
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        _collect(vars(value), seen, depth + 1)
    elif type(value).__module__.startswith("engine.decide"):
        _collect(_state(value), seen, depth + 1)
    elif hasattr(value, "__slots__"):
        for slot in value.__slots__:
            _collect(getattr(value, slot, None), seen, depth + 1)


def _check(rules: RuleSet, lines: list[bytes], rounds: int, seed: int) -> None:
    order = random.Random(seed)
    for n in range(rounds):
        sequence = list(lines)
        if n:
            order.shuffle(sequence)
        for line in sequence:
            expected = to_json(decide(rules, checked_scenario(orjson.loads(line))))
            assert decide_text(rules, checked_scenario(orjson.loads(line)), owned=True) == expected, line[:200]
            assert rules.decide_json(line) == expected, line[:200]


@pytest.mark.parametrize("variant", range(4))
def test_shipped_rules_write_kept_parts_alike(variant: int) -> None:
    rules = _variants(load_rules(REPO / "rules"))[variant]
    lines = _decidable(rules)
    _check(rules, lines, 3, variant)
    kept = _kept_parts(rules)
    if rules.reasons == "brief":  # (the evaluator keeps bills of brief reasons only)
        assert kept, "no whole part was kept: the test checks nothing new"
    assert all(type(part) is PartText for part in kept)


@pytest.mark.parametrize("variant", [0, 3])
def test_generated_definitions_write_kept_parts_as_text_alike(tmp_path_factory: Any, variant: int) -> None:
    rules = _variants(_generated(tmp_path_factory.mktemp("s31")))[variant]
    assert len(decision._evaluator(rules).by_code) >= decision.TEXT_FROM
    lines = _decidable(rules)
    _check(rules, lines, 2, variant)
    kept = _kept_parts(rules)
    assert kept, "no whole part was kept: the test checks nothing new"
    assert all(type(part) is PartText for part in kept)


def test_part_text_is_put_in_at_its_spot() -> None:
    part = PartText('{"lines":[],"definitions":[],"totals":{}}')
    written = orjson.dumps({"scenario": "x\x00y", "discounts": decision._SPOT, "z": 1}).decode()
    assert (
        part.put_in(written) == '{"scenario":"x\\u0000y","discounts":{"lines":[],"definitions":[],"totals":{}},"z":1}'
    )

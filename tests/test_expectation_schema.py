"""Editors understand every shipped file: each validates against the schema its modeline names,
and the decision schema (behind `expect:`) matches what the engine writes, key for key."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from engine.decide.scenarios import read_scenarios
from engine.decision_schema import decision_schema
from engine.load import load_file
from engine.ruleset import RuleSet, load_rules

REPO = Path(__file__).resolve().parent.parent
FILES = sorted([*(REPO / "rules").rglob("*.yaml"), *(REPO / "samples").rglob("*.yaml")])
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.M)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(REPO / "rules")


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(REPO).as_posix() for p in FILES])
def test_every_file_is_valid_against_the_schema_its_modeline_names(path: Path) -> None:
    found = MODELINE.findall(path.read_text(encoding="utf-8"))
    assert len(found) == 1, "every shipped file names its schema once, for editors"
    schema_path = (path.parent / found[0]).resolve()
    assert schema_path.parent == REPO / "schemas" and schema_path.is_file()
    if "/samples/" in path.as_posix():
        assert schema_path.name == "expectation.schema.json", "samples carry expectations"
    validator = Draft7Validator(json.loads(schema_path.read_text(encoding="utf-8")))
    for document in load_file(path).documents:
        assert [e.message for e in validator.iter_errors(document.data)] == []


def test_a_misspelt_expectation_key_is_marked_by_the_schema() -> None:
    validator = Draft7Validator(json.loads((REPO / "schemas/expectation.schema.json").read_text(encoding="utf-8")))
    document = {"id": "x", "as_of": "2015-01-01T00:00:00Z", "expect": {"cancelation": {"allowed": True}}}
    assert [e.message for e in validator.iter_errors(document)] == [
        "Additional properties are not allowed ('cancelation' was unexpected)"
    ]
    document["expect"] = {"cancellation": {"terms": [{"term": "commit-24m", "penalty": {"totl": "1.00 EUR"}}]}}
    assert ["('totl' was unexpected)" in e.message for e in validator.iter_errors(document)] == [True]


def test_every_sample_decision_matches_the_decision_schema(rules: RuleSet) -> None:
    validator = Draft7Validator(decision_schema())
    checked = 0
    for path in sorted((REPO / "samples").rglob("*.yaml")):
        for item in read_scenarios(path):
            for explain, decider in ((False, rules), (True, rules), (False, rules.applied_only())):
                decision = decider.decide(item.scenario, explain=explain)
                errors = [
                    f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(decision)
                ]
                assert errors == [], path.name
                checked += 1
    assert checked >= 3 * 88

"""The shipped rule set and samples: clean, and valid against the JSON Schemas editors use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from engine.load import load_file
from engine.validate import validate_paths

REPO = Path(__file__).resolve().parent.parent
RULE_FILES = sorted((REPO / "rules").rglob("*.yaml"))
SAMPLE_FILES = sorted((REPO / "samples").rglob("*.yaml"))


def _validator(name: str) -> Draft7Validator:
    schema = json.loads((REPO / "schemas" / name).read_text(encoding="utf-8"))
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def _documents(path: Path) -> list[Any]:
    source = load_file(path)
    assert source.diagnostics == []
    return [d.data for d in source.documents]


def test_shipped_rules_validate_clean() -> None:
    assert validate_paths([REPO / "rules"]) == []


def test_shipped_rules_cover_every_kind() -> None:
    from engine.models import KINDS

    kinds = {doc["kind"] for path in RULE_FILES for doc in _documents(path)}
    assert kinds == set(KINDS)


@pytest.mark.parametrize("path", RULE_FILES, ids=[p.relative_to(REPO).as_posix() for p in RULE_FILES])
def test_rule_file_matches_editor_schema(path: Path) -> None:
    combined = _validator("rules.schema.json")
    for document in _documents(path):
        assert list(combined.iter_errors(document)) == []
        assert list(_validator(f"{document['kind']}.schema.json").iter_errors(document)) == []


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=[p.relative_to(REPO).as_posix() for p in SAMPLE_FILES])
def test_sample_scenario_matches_schema(path: Path) -> None:
    validator = _validator("scenario.schema.json")
    for document in _documents(path):
        scenario = {k: v for k, v in document.items() if k != "expect"}  # an expectation file's extra part
        assert list(validator.iter_errors(scenario)) == []

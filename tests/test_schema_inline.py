"""`engine.schema.inline_refs`: the schema with its references inlined judges every document alike.

Differential: the shipped documents, mutated (a value replaced, a key removed or added), give the
same jsonschema errors (path, keyword, message, nested context) with the committed schema and
with its inlined form.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator
from jsonschema.exceptions import best_match

from engine.load import load_file, rule_files
from engine.schema import inline_refs, schema_dir

REPO = Path(__file__).resolve().parent.parent


@cache
def _schema(kind: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((schema_dir() / f"{kind}.schema.json").read_text(encoding="utf-8"))
    return loaded


@cache
def _validators(kind: str) -> tuple[Draft7Validator, Draft7Validator]:
    schema = _schema(kind)
    checker = Draft7Validator.FORMAT_CHECKER
    return Draft7Validator(schema, format_checker=checker), Draft7Validator(inline_refs(schema), format_checker=checker)


@cache
def _documents() -> tuple[dict[str, Any], ...]:
    return tuple(doc.data for path in rule_files(REPO / "rules") for doc in load_file(path).documents)


def _errors(validator: Draft7Validator, data: Any) -> list[Any]:
    def describe(error: Any) -> Any:
        return (
            list(error.absolute_path),
            error.validator,
            repr(error.validator_value),
            error.message,
            sorted(repr(describe(e)) for e in error.context),
        )

    errors = list(validator.iter_errors(data))
    best = best_match(errors)
    return [*sorted(repr(describe(e)) for e in errors), None if best is None else repr(describe(best))]


def test_no_reference_is_left_outside_the_definitions() -> None:
    for path in sorted(schema_dir().glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        inlined = inline_refs(schema)
        assert inlined.get("definitions") == schema.get("definitions")
        rest = json.dumps({k: v for k, v in inlined.items() if k != "definitions"})
        assert '"$ref"' not in rest, path.name


def test_recursive_and_foreign_references_are_left_alone() -> None:
    recursive = {
        "definitions": {"Node": {"properties": {"next": {"$ref": "#/definitions/Node"}}}},
        "$ref": "#/definitions/Node",
    }
    assert inline_refs(recursive) is recursive
    foreign = {"properties": {"a": {"$ref": "other.json#/x"}}}
    assert inline_refs(foreign) is foreign


def test_the_shipped_documents_are_valid_under_both() -> None:
    for data in _documents():
        original, inlined = _validators(data["kind"])
        assert _errors(original, data) == _errors(inlined, data) == [None]


VALUES = st.sampled_from(
    [
        None,
        "x",
        "",
        5,
        -1,
        0,
        1.5,
        101,
        True,
        [],
        ["x"],
        [1, 2, 3],
        {},
        {"bogus": 1},
        "2015-13-45",
        "20 EUR",
        "6 parsecs",
    ]
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*prefix, i))
    return found


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_documents_get_the_same_errors(data: st.DataObject) -> None:
    document = copy.deepcopy(data.draw(st.sampled_from(_documents())))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(document)))
        parent: Any = document
        for key in path[:-1]:
            parent = parent[key]
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent["unknown_" + str(path[-1])] = copy.deepcopy(data.draw(VALUES))
        else:
            parent[path[-1]] = copy.deepcopy(data.draw(VALUES))
        if path[-1] == "kind":
            return
    original, inlined = _validators(document["kind"])
    assert _errors(original, document) == _errors(inlined, document)

"""The schema stage's fast path says "valid" exactly when jsonschema finds no error.

`engine.schema._accepts` compiles each kind's schema into plain checks; jsonschema still makes
every diagnostic (it runs on each document the fast path refuses). These tests compare the two
verdicts on every document of the shipped rules and the golden cases, and on many broken
variants of them: a key removed, an unknown key, a value of another type, an empty text or list,
a bad date, money without currency.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.load import load_file
from engine.models import KINDS
from engine.schema import _accepts, _validator

REPO = Path(__file__).resolve().parent.parent


def _documents() -> list[tuple[str, Any]]:
    found = []
    for folder in (REPO / "rules", REPO / "tests" / "cases"):
        for path in sorted(folder.rglob("*.y*ml")):
            for doc in load_file(path).documents:
                kind = doc.data.get("kind")
                if isinstance(kind, str) and kind in KINDS:
                    found.append((kind, doc.data))
    return found


def _paths(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _paths(value, (*path, i))


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copied = copy.deepcopy(data)
    target = copied
    for part in path[:-1]:
        target = target[part]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return copied


_DELETE = object()
_ODD_VALUES = ("", "x", "2015-02-30", "10 EUR", "10.00", "1 fortnight", 0, -1, 1.5, 10**6, True, None, [], {}, ["x"])


def _variants(data: Any) -> Iterator[Any]:
    yield data
    yield {**data, "unknown_key": 1}
    for path in _paths(data):
        if not path:
            continue
        if isinstance(path[-1], str):
            yield _replace(data, path, _DELETE)
        for odd in _ODD_VALUES:
            yield _replace(data, path, odd)


DOCUMENTS = _documents()


def test_the_corpus_covers_every_kind() -> None:
    assert {kind for kind, _ in DOCUMENTS} == set(KINDS)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_has_a_fast_path(kind: str) -> None:
    assert _accepts(kind) is not None


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_fast_path_agrees_with_jsonschema(kind: str) -> None:
    accepts = _accepts(kind)
    assert accepts is not None
    validator = _validator(kind)
    checked = refused = 0
    for document_kind, data in DOCUMENTS:
        if document_kind != kind:
            continue
        for variant in _variants(data):
            valid = not any(True for _ in validator.iter_errors(variant))
            assert accepts(variant) == valid, variant
            checked += 1
            refused += not valid
    assert checked > refused > 0

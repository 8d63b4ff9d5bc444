"""Plain rule files are read in one pass (`engine.load._one_pass`), with the very result of the two.

The one pass turns libyaml's events into data, spans, key spans and styles without composing
nodes first; anything it does not handle (anchors, aliases, merge keys, tags, complex or
duplicate keys, directives it refuses, syntax errors, limits) sends the whole file to the composer
and the converter. These tests load every YAML file of the repository and a corpus of edge cases
both ways and compare everything a `SourceFile` holds, in order; and check that the plain files
do take the one pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import engine.load
from engine.load import _one_pass, load_file

REPO = Path(__file__).resolve().parent.parent

EDGE_CASES = {
    "plain": "kind: product\ncode: tv\nname: TV\n",
    "scalars": "a: 1\nb: -2.5\nc: 0x1F\nd: 1_000\ne: true\nf: ~\ng: null\nh: .inf\ni: '007'\nj: \"x\"\nk:\nl: 2015-01-01\n",
    "keys of other types": "1: a\ntrue: b\nnull: c\n1.5: d\n'q': e\n\"dq\": f\n",
    "block styles": "a: |\n  line 1\n  line 2\nb: >\n  folded\n  text\nc: |-\n  kept\n",
    "multi-line plain": "a: one\n  two\n  three\nb: x\n",
    "plain at the end": "a: b\nc: multi\n  line",
    "flow": "a: {b: 1, c: [1, 2, {d: e}]}\nf: []\ng: {}\n",
    "nested": "a:\n  b:\n    - c: 1\n      d: [x, y]\n    - - 1\n      - 2\n",
    "documents": "---\na: 1\n---\nb: 2\n...\n---\n- 1\n---\n~\n---\n",
    "empty": "",
    "only comments": "# nothing\n",
    "root list": "- a\n- b\n",
    "root scalar": "just text\n",
    "directive": "%YAML 1.2\n---\na: 1\n",
    "bad directive": "%YAML 2.0\n---\na: 1\n",
    "tag directive": "%TAG ! tag:example.com,2000:\n---\na: 1\n",
    "anchor and alias": "a: &x {b: 1}\nc: *x\n",
    "merge": "base: &b {x: 1}\nuse:\n  <<: *b\n  y: 2\n",
    "merge text as value": "a: <<\n",
    "core tags": "a: !!str 12\nb: !!int '7'\nc: !!float 1\nd: !!bool true\ne: !!null ''\n",
    "wrong tag": "a: !!int abc\n",
    "custom tag": "a: !python/object x\n",
    "collection tag": "a: !!map {b: 1}\nc: !!seq [1]\n",
    "duplicate key": "a: 1\nb: 2\na: 3\n",
    "duplicate key after conversion": "1: a\n'1': b\n",
    "keys that are no text": "~: 1\n0x1F: 2\nTrue: 3\n1.50: 5\n? [a, b]\n: 6\n",
    "complex key": "? [a, b]\n: c\n",
    "syntax error": "a: [1, 2\nb: 3\n",
    "libyaml stricter": "a: {t: 10:00}\n",
    "tab": "a:\n\tb: 1\n",
    "long integer": "a: " + "9" * 5000 + "\n",
    "deep": "a: " + "[" * 70 + "]" * 70 + "\n",
    "unicode": "name: Café ☕\n'clé': 'valeur'\n",
    "crlf": "a: 1\r\nb:\r\n  - x\r\n",
    "comments": "a: 1  # one\n# between\nb: 2\n",
    "document end then text": "a: 1\n...\nb: 2\n",
}


def _snapshot(path: Path) -> Any:
    source = load_file(path)
    documents = [
        (d.file, d.index, d.data, d.start, list(d.spans.items()), list(d.key_spans.items()), list(d.styles.items()))
        for d in source.documents
    ]
    return repr((documents, source.diagnostics, source.digest))  # repr: types and order count too


def _both(path: Path) -> tuple[Any, Any]:
    results = []
    for one_pass in (True, False):
        engine.load.USE_ONE_PASS = one_pass
        try:
            results.append(_snapshot(path))
        finally:
            engine.load.USE_ONE_PASS = True
    return results[0], results[1]


def _repository_files() -> Iterator[Path]:
    for folder in ("rules", "samples", "tests"):
        yield from sorted(p for p in (REPO / folder).rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


REPOSITORY_FILES = list(_repository_files())


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_edge_cases_load_alike(tmp_path: Path, name: str) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(EDGE_CASES[name], encoding="utf-8", newline="")
    one_pass, two_passes = _both(path)
    assert one_pass == two_passes


def test_every_repository_file_loads_alike() -> None:
    for path in REPOSITORY_FILES:
        one_pass, two_passes = _both(path)
        assert one_pass == two_passes, path


def _takes_the_one_pass(path: Path) -> bool:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:  # a test case of invalid UTF-8: refused before parsing
        return False
    return _one_pass(str(path), text) is not None


def test_plain_files_take_the_one_pass() -> None:
    taken = [p for p in REPOSITORY_FILES if _takes_the_one_pass(p)]
    shipped = [p for p in REPOSITORY_FILES if p.is_relative_to(REPO / "rules")]
    assert set(shipped) <= set(taken)
    assert len(taken) > 0.8 * len(REPOSITORY_FILES)


@pytest.mark.parametrize(
    "name", ["anchor and alias", "merge", "custom tag", "duplicate key", "complex key", "syntax error", "deep"]
)
def test_what_the_one_pass_leaves_to_the_composer(name: str) -> None:
    assert _one_pass("case.yaml", EDGE_CASES[name]) is None

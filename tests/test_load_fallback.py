"""When libyaml fails on valid YAML 1.2, the pure parser reads only the rest of the file.

libyaml refuses some valid YAML 1.2 (a plain `10:00` in a flow mapping, a bare document after
`...`). The documents it completed before are kept and the pure parser, ten times slower, starts
at the document it failed on. The outcome must be exactly the one of the pure parser reading the
whole file: every document (index, data, spans of values and keys, styles) and every diagnostic,
to the column, wherever the failing document is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import engine.load
from engine.load import SourceFile, load_file

FAILS = "kind: note\ncode: flow\nwindow: {at: 10:00, to: 18:30}  # libyaml: found unexpected ':'\n"


def doc(i: int) -> str:
    """A document libyaml reads, with a bit of everything that has a span or a style."""
    return (
        f"kind: note\ncode: n{i}\nname: 'Note {i} – é€😀'\nlist: [a, 'b', {{c: {i}}}]\n"
        f"text: |\n  line one\n  line two\nnested:\n  - x: {i}.5\n    y: null\n"
    )


def load(path: Path, use_c: bool) -> SourceFile:
    engine.load.USE_C_PARSER = use_c
    try:
        return load_file(path)
    finally:
        engine.load.USE_C_PARSER = True


def same_as_pure(tmp_path: Path, text: str, newline: str = "\n", lines_from: int = 0) -> SourceFile:
    """Loads `text` both ways and asserts the outcomes are identical; returns libyaml-first's.

    `lines_from`: the first document whose lines are compared (libyaml also breaks lines at NEL,
    LS and PS, so the lines of the documents it read before such a character are its own).
    """
    path = tmp_path / "f.yaml"
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    mixed, pure = load(path, True), load(path, False)
    assert mixed.diagnostics == pure.diagnostics
    assert [d.end_column for d in mixed.diagnostics] == [d.end_column for d in pure.diagnostics]
    assert len(mixed.documents) == len(pure.documents)
    for a, b in zip(mixed.documents, pure.documents, strict=True):
        assert (a.index, a.data, a.styles) == (b.index, b.data, b.styles)
        if a.index >= lines_from:
            assert a.start == b.start
            assert a.spans == b.spans
            assert a.key_spans == b.key_spans
    return mixed


def libyaml_fails(text: str) -> bool:
    from ruamel.yaml.error import YAMLError

    try:
        for _ in engine.load._events(text, False):
            pass
    except YAMLError:
        return True
    return False


def codes(source: SourceFile) -> list[str | None]:
    return [d.code for d in source.documents]


# --- where the failing document is -----------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize(
    "separator",
    [
        "---\n",
        "...\n---\n",
        "... # the end\n# between\n\n---\n",
        "...\n",  # a bare document after `...`: libyaml refuses it, YAML 1.2 allows it
        "---\n# a comment\n",
        "...\n%YAML 1.2\n---\n",
    ],
)
def test_failing_document_first_middle_or_last(tmp_path: Path, where: str, separator: str, newline: str) -> None:
    docs = [doc(i) for i in range(5)]
    at = {"first": 0, "middle": 2, "last": 5}[where]
    docs.insert(at, FAILS)
    text = separator.join(docs)
    assert libyaml_fails(text)
    source = same_as_pure(tmp_path, text, newline)
    assert source.diagnostics == []
    assert codes(source) == [f"n{i}" for i in range(at)] + ["flow"] + [f"n{i}" for i in range(at, 5)]
    flow = source.documents[at]
    assert flow.data["window"] == {"at": "10:00", "to": "18:30"}
    before = text[: text.index("18:30")]
    assert flow.locate(("window", "to")).line == before.count("\n") + 1
    assert flow.locate(("window", "to")).column == len(before) - before.rfind("\n")


@pytest.mark.parametrize(
    "text",
    [
        # several failing documents, with good ones between
        f"{doc(0)}---\n{FAILS}---\n{doc(1)}---\n{FAILS.replace('flow', 'flow2')}---\n{doc(2)}",
        # the rest is in error: a syntax error after the failing document, reported alone
        f"{doc(0)}---\n{FAILS}---\na: [1, 2\n",
        # ... or a limit: a duplicate key, a tag, a directive, an undefined alias
        f"{doc(0)}---\n{FAILS}---\na: 1\na: 2\n",
        f"{doc(0)}---\n{FAILS}---\na: !!timestamp 2015-01-01\n",
        f"{doc(0)}...\n{FAILS}...\n%TAG ! tag:x,2000:\n---\na: 1\n",
        f"{doc(0)}---\n{FAILS}---\na: *nowhere\n",
        # documents that are not mappings, or empty, before and after: BR109 in file order
        f"- a list\n---\n{doc(0)}---\n{FAILS}---\n- another\n---\n---\n{doc(1)}",
        # the failing document repeats an anchor of an earlier one (anchors are per document)
        f"a: &x 1\n---\n{FAILS}b: &x 2\nc: *x\n",
        # the error comes at a document libyaml would start differently
        f"{doc(0)}... junk after the end marker\n{FAILS}",
        "- a\nb: {at: 10:00}\n",
        "[a]\nb: {at: 10:00}\n",  # libyaml ends the document at `b`, then fails: no `---`, no new document
        f"{doc(0)}---\n'x'\n'y'\n",
        f"{doc(0)}---\n{FAILS}...\n...\n{doc(1)}",
        f"{doc(0)}...\n%YAML 1.3\n---\n{FAILS}",
        f"{doc(0)}---\n%YAML 1.2\n---\n{FAILS}",
        f"{doc(0)}---\n{FAILS}",  # ends without a line break
    ],
)
def test_the_rest_reads_as_the_whole_file_does(tmp_path: Path, text: str) -> None:
    assert libyaml_fails(text)
    same_as_pure(tmp_path, text)


@pytest.mark.parametrize(
    "text",
    [
        f"a: 'x\u2028y'\nb: \"\x85\"\n---\n{FAILS}",
        f"# \u2028\n{doc(0)}...\n# \u2029 \x85\n{FAILS}",
        f"a: 1 # \u2028\n... # \u2028 b: 2\n{FAILS}",
        f"a: 1\n...\u2028---\n{FAILS}",
        f"a: 1\u2028...\n{FAILS}",  # libyaml ends the document there, the pure parser reads on
        f"a: 1\u2028---\n{FAILS}",
        f"a: 'x\u2028y'\n---\n{FAILS}---\nb: \"\u2029\"\n---\n{FAILS}",
    ],
)
def test_lines_after_next_line_or_line_separators_are_the_pure_parsers(tmp_path: Path, text: str) -> None:
    """libyaml counts NEL, LS and PS as line breaks, the pure parser (YAML 1.2) does not: from the
    failing document on, lines are the pure parser's, as when it reads the whole file."""
    assert libyaml_fails(text)
    same_as_pure(tmp_path, text, lines_from=1)


DOCUMENTS = st.sampled_from(
    [
        "a: 1\n",
        "a: {at: 10:00}\n",
        "t: {x: 22:00, y: [06:00]}\n",
        "b: [1, 2]\nc: 'é'\n",
        "d: |\n  text\n",
        "- x\n",
        "",
        "e: &a {f: 1}\ng: *a\n",
        "h: !!str 1\n",
        "i: 1\ni: 2\n",
        "j: [1, 2\n",
        "k: yes # comment\n",
        "%YAML 1.2\n",
    ]
)
SEPARATORS = st.sampled_from(["---\n", "...\n", "...\n---\n", "--- ", "...\n%YAML 1.2\n---\n", "---\n# c\n", "\n---\n"])


def libyaml_is_lenient(text: str) -> bool:
    """Where libyaml reads a document the pure parser refuses: `...` twice (libyaml skips the
    second). Those documents are taken as libyaml reads them, as in a file it reads to the end."""
    return "...\n..." in text or text.startswith("...")


@settings(
    max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(DOCUMENTS, SEPARATORS), min_size=1, max_size=6), st.integers(0, 6), SEPARATORS)
def test_any_mix_of_documents_reads_as_the_pure_parser_reads_it(
    tmp_path: Path, parts: list[tuple[str, str]], at: int, separator: str
) -> None:
    texts = [document + separator for document, separator in parts]
    texts.insert(min(at, len(texts)), FAILS + separator)
    text = "".join(texts)
    assume(libyaml_fails(text) and not libyaml_is_lenient(text))
    same_as_pure(tmp_path, text)


# --- cost --------------------------------------------------------------------------------------


def test_a_failing_last_document_is_read_again_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pure parser (ten times slower than libyaml) reads only the rest of the file after the
    last document libyaml completed (it used to read the whole file), so a failing last document
    costs a small part of the file more. Measured by what the pure parser is given, not by a clock."""
    body = "---\n".join(doc(i) for i in range(600))  # about 90 KB
    failing = tmp_path / "failing.yaml"
    failing.write_text(body + "---\n" + FAILS, encoding="utf-8")
    big = tmp_path / "big.yaml"
    big.write_text("---\n".join([body] * 10) + "---\n" + FAILS, encoding="utf-8")
    assert big.stat().st_size < engine.load.MAX_FILE_BYTES
    assert libyaml_fails(failing.read_text(encoding="utf-8"))
    given: list[int] = []
    events = engine.load._events

    def counting(text: str, pure: bool) -> Any:
        if pure:
            given.append(len(text))
        return events(text, pure)

    monkeypatch.setattr(engine.load, "_events", counting)
    assert codes(load_file(failing))[-1] == "flow"
    assert codes(load_file(big))[-1] == "flow"
    assert len(given) == 2
    sizes = [failing.stat().st_size, big.stat().st_size]
    # a tenth of the file at most (libyaml reports its failure a read-ahead buffer after the last
    # document it completed), never the whole file: about 7 % measured, growing with the file
    assert all(size <= whole / 10 for size, whole in zip(given, sizes, strict=True)), (given, sizes)

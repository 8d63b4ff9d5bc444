"""The YAML the loader accepts, and a located diagnostic for everything else.

Every case is loaded twice: the way billrules runs (libyaml first, the pure parser when libyaml
reports an error) and with the pure parser only (what runs when ruamel.yaml.clib is missing).
Both must give the same data and the same diagnostics, to the column.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine.load
from engine.diagnostics import Diagnostic
from engine.load import SourceFile, load_file

PARSERS = ("libyaml first", "pure only")


@pytest.fixture(params=PARSERS)
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(engine.load, "USE_C_PARSER", request.param == "libyaml first")
    yield request.param


def load_text(tmp_path: Path, text: str) -> SourceFile:
    path = tmp_path / "f.yaml"
    path.write_text(text, encoding="utf-8")
    return load_file(path)


def load_both(tmp_path: Path, text: str) -> tuple[list[Any], list[tuple[int, int, str, str]]]:
    """Data and (line, column, code, message) of the diagnostics; asserts that both parsers agree."""
    results = []
    for use_c in (True, False):
        engine.load.USE_C_PARSER = use_c
        try:
            source = load_text(tmp_path, text)
        finally:
            engine.load.USE_C_PARSER = True
        results.append(
            ([d.data for d in source.documents], [(d.line, d.column, d.code, d.message) for d in source.diagnostics])
        )
    assert results[0] == results[1], "libyaml and the pure parser disagree"
    return results[0]


def only(diagnostics: list[tuple[int, int, str, str]]) -> tuple[int, int, str, str]:
    assert len(diagnostics) == 1, diagnostics
    return diagnostics[0]


def test_the_c_parser_is_installed() -> None:
    """ruamel.yaml.clib is a dependency: without it every test here would run the pure parser twice."""
    assert engine.load.c_parser_available()


# --- explicit tags --------------------------------------------------------------------------------

REFUSED_TAGS = [
    ("!!int abc", "BR114", "`!!int abc`: `abc` is not an integer"),
    ("!!int 1.5", "BR114", "`!!int 1.5`: `1.5` is not an integer"),
    ("!!int", "BR114", "`!!int`: an empty value is not an integer"),
    ("!!int +", "BR114", "`!!int +`: `+` is not an integer"),
    ("!!int _", "BR114", "`!!int _`: `_` is not an integer"),
    ("!!float x", "BR114", "`!!float x`: `x` is not a number"),
    ("!!float 0x1F", "BR114", "`!!float 0x1F`: `0x1F` is not a number"),
    ("!!bool maybe", "BR114", "`!!bool maybe`: `maybe` is not true or false"),
    ("!!bool yes", "BR114", "`!!bool yes`: `yes` is not true or false"),
    ("!!null x", "BR114", "`!!null x`: `x` is not null"),
    ("!!str {a: 1}", "BR114", "`!!str` is on a mapping: it tags a single value only"),
    ("!!int [1]", "BR114", "`!!int` is on a list: it tags a single value only"),
    ("!!map x", "BR114", "`!!map` is on a single value: it tags a mapping only"),
    ("!!map [a]", "BR114", "`!!map` is on a list: it tags a mapping only"),
    ("!!seq x", "BR114", "`!!seq` is on a single value: it tags a list only"),
    ("!!seq {a: 1}", "BR114", "`!!seq` is on a mapping: it tags a list only"),
    ("!!timestamp 2015-01-01", "BR106", "YAML tag `!!timestamp` is not allowed in rule files"),
    ("!!timestamp x", "BR106", "YAML tag `!!timestamp` is not allowed in rule files"),
    ("!!binary aGk=", "BR106", "YAML tag `!!binary` is not allowed in rule files"),
    ("!!set {a, b}", "BR106", "YAML tag `!!set` is not allowed in rule files"),
    ("!!omap [a: 1]", "BR106", "YAML tag `!!omap` is not allowed in rule files"),
    ("!!pairs [a: 1]", "BR106", "YAML tag `!!pairs` is not allowed in rule files"),
    ("!!merge x", "BR106", "YAML tag `!!merge` is not allowed in rule files"),
    ("!!value x", "BR106", "YAML tag `!!value` is not allowed in rule files"),
    ("!local x", "BR106", "YAML tag `!local` is not allowed in rule files"),
    ("! x", "BR106", "YAML tag `!` is not allowed in rule files"),
    ("!<tag:example.com,2026:x> x", "BR106", "YAML tag `tag:example.com,2026:x` is not allowed in rule files"),
]


@pytest.mark.parametrize(("value", "code", "message"), REFUSED_TAGS, ids=[c[0] for c in REFUSED_TAGS])
def test_a_tag_on_a_value_it_does_not_fit_is_located(tmp_path: Path, value: str, code: str, message: str) -> None:
    data, diagnostics = load_both(tmp_path, f"kind: segment\ncode: S\nname:   {value}\n")
    assert data == []
    assert only(diagnostics) == (3, 9, code, message)


ACCEPTED_TAGS = [
    ("!!str 12", "12"),
    ("!!str", ""),
    ("!!int '12'", 12),
    ("!!int 0x1F", 31),
    ("!!int -1_000", -1000),
    ("!<tag:yaml.org,2002:int> 5", 5),
    ("!!float 1", 1.0),
    ("!!float 2.5e3", 2500.0),
    ("!!float -.INF", float("-inf")),
    ("!!bool True", True),
    ("!!bool false", False),
    ("!!null", None),
    ("!!null ~", None),
    ("!!map {a: 1}", {"a": 1}),
    ("!!seq [1]", [1]),
]


@pytest.mark.parametrize(("value", "expected"), ACCEPTED_TAGS, ids=[c[0] for c in ACCEPTED_TAGS])
def test_a_core_tag_on_a_value_of_its_type_is_accepted(tmp_path: Path, value: str, expected: Any) -> None:
    data, diagnostics = load_both(tmp_path, f"name: {value}\n")
    assert (data, diagnostics) == ([{"name": expected}], [])


def test_plain_scalars_follow_yaml_1_2_and_never_crash(tmp_path: Path) -> None:
    text = """\
    a: yes
    b: 010
    c: 0o17
    d: 1_000
    e: 0b101
    f: _
    g: 0x_
    h: ._
    i: =
    j: 2015-01-01
    k: .5
    l: -.inf
    m: ~
    n: <<
    """
    data, diagnostics = load_both(tmp_path, text.replace("    ", ""))
    assert diagnostics == []
    assert data[0] == {
        "a": "yes",
        "b": 10,
        "c": 15,
        "d": 1000,
        "e": 5,
        "f": "_",
        "g": "0x_",
        "h": "._",
        "i": "=",
        "j": "2015-01-01",
        "k": 0.5,
        "l": float("-inf"),
        "m": None,
        "n": "<<",
    }


# --- directives ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_yaml_1_1_and_1_2_directives_are_read_by_the_yaml_1_2_rules(tmp_path: Path, version: str) -> None:
    data, diagnostics = load_both(tmp_path, f"%YAML {version}\n---\na: yes\nb: 010\nc: {{at: 10:00}}\n")
    assert (data, diagnostics) == ([{"a": "yes", "b": 10, "c": {"at": "10:00"}}], [])


def test_a_yaml_1_1_document_is_parsed_by_the_yaml_1_2_syntax_too(tmp_path: Path) -> None:
    """ruamel's pure parser would switch to YAML 1.1 syntax and refuse the bare document after `...`."""
    data, diagnostics = load_both(tmp_path, "%YAML 1.1\n---\na: 1\n...\nb: 2\n")
    assert (data, diagnostics) == ([{"a": 1}, {"b": 2}], [])


DIRECTIVES = [
    ("%YAML 1.3\n---\na: 1\n", (1, 1, "BR115", "YAML version `1.3` is not supported: rule files are YAML 1.2")),
    (
        "# tool output\n%YAML 2.0\n---\na: 1\n",
        (2, 1, "BR115", "YAML version `2.0` is not supported: rule files are YAML 1.2"),
    ),
    ("%YAML x\n---\na: 1\n", (1, 1, "BR115", "malformed `%YAML` directive: expected a digit, but found 'x'")),
    ("%YAML 1\n---\na: 1\n", (1, 1, "BR115", "malformed `%YAML` directive: expected a digit or '.', but found '\\n'")),
    ("%YAML 1.2\n%YAML 1.2\n---\na: 1\n", (2, 1, "BR115", "`%YAML` is given twice for one document")),
    (
        "%YAML 1.2\n%TAG !e! tag:example.com,2026:\n---\na: !e!x 1\n",
        (
            2,
            1,
            "BR115",
            "`%TAG` directives are not supported: they only serve custom tags, which rule files cannot hold",
        ),
    ),
    (
        "%TAG ! tag:yaml.org,2002:\n---\na: !int 1\n",
        (
            1,
            1,
            "BR115",
            "`%TAG` directives are not supported: they only serve custom tags, which rule files cannot hold",
        ),
    ),
    ("%FOO bar\n---\na: 1\n", (1, 1, "BR115", "unknown directive `%FOO`: only `%YAML 1.2` (or 1.1) is supported")),
    (
        "a: 1\n...\n%YAML 1.3\n---\nb: 2\n",
        (3, 1, "BR115", "YAML version `1.3` is not supported: rule files are YAML 1.2"),
    ),
]


DIRECTIVE_IDS = ["1.3", "2.0", "x", "1", "twice", "tag", "core tag", "unknown", "second document"]


@pytest.mark.parametrize(("text", "expected"), DIRECTIVES, ids=DIRECTIVE_IDS)
def test_directives_other_than_yaml_1_1_or_1_2_are_refused_at_their_line(
    tmp_path: Path, text: str, expected: tuple[int, int, str, str]
) -> None:
    data, diagnostics = load_both(tmp_path, text)
    assert (data, only(diagnostics)) == ([], expected)


# --- integers -----------------------------------------------------------------------------------

TOO_LONG = "integer `{}…` is too long (the limit is 4,300 digits)"


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("7" * 4301, "7" * 40),
        ("-" + "7" * 4301, "-" + "7" * 39),
        ("0x" + "f" * 3600, "0x" + "f" * 38),  # above 10**4300: its decimal form would have 4,335 digits
        ("0o" + "7" * 4800, "0o" + "7" * 38),
        ("!!int " + "1" * 5000, "1" * 40),
    ],
    ids=["decimal", "negative", "hex", "octal", "tagged"],
)
def test_integers_longer_than_the_limit_are_refused(tmp_path: Path, written: str, shown: str) -> None:
    data, diagnostics = load_both(tmp_path, f"kind: segment\ncode: S\nname: S\ndescription: {written}\n")
    assert (data, only(diagnostics)) == ([], (4, 14, "BR116", TOO_LONG.format(shown)))


def test_integers_up_to_the_limit_load(tmp_path: Path) -> None:
    text = f"a: {'9' * 4300}\nb: {'0' * 5000}1\nc: 0x{'f' * 3000}\n"
    data, diagnostics = load_both(tmp_path, text)
    assert diagnostics == []
    assert data == [{"a": int("9" * 4300), "b": 1, "c": int("f" * 3000, 16)}]


def test_an_integer_too_long_in_a_scenario_file_is_a_located_diagnostic(tmp_path: Path) -> None:
    from engine.decide.scenarios import read_scenarios

    path = tmp_path / "s.yaml"
    path.write_text(f"id: s\nas_of: 2015-06-15T10:00:00Z\nquantity: {'1' * 5000}\n", encoding="utf-8")
    [item] = list(read_scenarios(path))
    assert [(d.line, d.column, d.code) for d in item.diagnostics] == [(3, 11, "BR116")]


# --- anchors and aliases --------------------------------------------------------------------------


def test_an_anchor_defined_twice_is_a_diagnostic_not_a_warning(
    tmp_path: Path, recwarn: pytest.WarningsRecorder
) -> None:
    data, diagnostics = load_both(tmp_path, "a: &x 1\nb: &x 2\nc: *x\n")
    assert (data, only(diagnostics)) == (
        [],
        (2, 4, "BR118", "anchor `&x` is defined twice (first at line 1, column 4)"),
    )
    assert [str(w.message) for w in recwarn] == []


def test_an_anchor_may_be_reused_in_the_next_document(tmp_path: Path) -> None:
    data, diagnostics = load_both(tmp_path, "a: &x 1\nb: *x\n---\na: &x 2\nb: *x\n")
    assert (data, diagnostics) == ([{"a": 1, "b": 1}, {"a": 2, "b": 2}], [])


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    data, diagnostics = load_both(tmp_path, "a: &x [1, *x]\n")
    assert data == []
    assert only(diagnostics) == (
        1,
        11,
        "BR107",
        "alias `*x` is inside the value it refers to: that value would be infinitely deep",
    )


def test_aliases_count_towards_depth(tmp_path: Path) -> None:
    deep = "[" * 40 + "1" + "]" * 40
    data, diagnostics = load_both(tmp_path, f"a: &x {deep}\nb: [[[[[[[[[[[[[[[[[[[[[[[[[[*x]]]]]]]]]]]]]]]]]]]]]]]]]\n")
    assert data == []
    assert only(diagnostics) == (2, 30, "BR107", "nesting is too deep (the limit is 64 levels)")


def test_merge_keys_and_aliases_still_work(tmp_path: Path) -> None:
    data, diagnostics = load_both(tmp_path, "d: &d {a: 1, b: 2}\ne:\n  <<: *d\n  b: 3\nf: [*d, *d]\n")
    assert diagnostics == []
    assert data == [{"d": {"a": 1, "b": 2}, "e": {"a": 1, "b": 3}, "f": [{"a": 1, "b": 2}, {"a": 1, "b": 2}]}]


# --- no warning reaches standard error ------------------------------------------------------------

WARNING_PRONE = [
    "a: &x 1\nb: &x 2\n",
    "%YAML 1.1\n---\na: 1\n",
    "%YAML 1.3\n---\na: 1\n",
    "%FOO bar\n---\na: 1\n",
    "a: !!float 1\n",
    "a: 0o17\nb: 017\n",
    "a: 1:30\n",
]


@pytest.mark.parametrize("text", WARNING_PRONE)
def test_loading_never_warns(tmp_path: Path, text: str, parser: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        source = load_text(tmp_path, text)
    assert all(isinstance(d, Diagnostic) for d in source.diagnostics)


# --- anything at all ----------------------------------------------------------------------------

PIECES = [
    "%YAML 1.2\n", "%YAML 1.1\n", "%YAML 1.3\n", "%TAG ! tag:yaml.org,2002:\n", "%FOO\n", "---\n", "...\n",
    "!!int ", "!!str ", "!!map ", "!!seq ", "!!float ", "!!bool ", "!!null ", "!!timestamp ", "!x ", "! ",
    "&a ", "*a ", "<<: ", "- ", "? ", ": ", "{", "}", "[", "]", "'", '"', "|\n", ">\n", "  ", "\n", "#c\n",
    "0x", "0o", "0b", "1_0", "9" * 5000, ".5", "~", "null", "true", "yes", "10:00", "_", "=", "\t", "é",
]  # fmt: skip


@settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.one_of(st.lists(st.sampled_from(PIECES), max_size=30).map("".join), st.text(max_size=80)))
def test_any_text_loads_or_is_a_located_diagnostic_with_both_parsers(tmp_path: Path, text: str) -> None:
    """No exception escapes the loader, whatever the text (the two parsers may disagree on odd syntax)."""
    path = tmp_path / "any.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    for use_c in (True, False):
        engine.load.USE_C_PARSER = use_c
        try:
            source = load_file(path)
        finally:
            engine.load.USE_C_PARSER = True
        assert all(d.line >= 1 and d.column >= 1 and d.code.startswith("BR1") for d in source.diagnostics)
        assert all(isinstance(doc.data, dict) for doc in source.documents)

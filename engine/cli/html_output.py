"""`--html FILE` of `decide` and `diff` (and `test --coverage-json FILE`): the target is checked
before any work, never one of the command's inputs, and written atomically."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from engine.cli.exits import UsageError
from engine.cli.safe_text import printable
from engine.files import is_dir


def html_target(name: str) -> Path:
    """The HTML file to write; a usage error unless it names a file in an existing folder, and
    not one named as scenarios and rules are (`--html other-scenario.yaml` replaced a scenario the
    command did not read, until 2026-12-02)."""
    path = report_target(name, "HTML")
    if _named_as_input(path, (*_READ_SUFFIXES, ".jsonl", ".ndjson", ".parquet", ".pq", ".gz")):
        raise UsageError(
            f"{printable(name)} is named like a scenario or rule file; give the HTML report a name ending in `.html`"
        )
    holds = _binary_scenarios(name)
    if holds is not None:
        raise UsageError(
            f"--html {printable(name)}: it holds {holds}, which it would replace; give it a file of its own"
        )
    return path


def json_report_named(path: Path, what: str) -> None:
    """A JSON report (`test --coverage-json`) is not named as a scenario file or a rule file is
    (`.jsonl`, `.ndjson`, `.yaml`, `.yml`): wherever it is, such a name holds scenarios or rules,
    not a report (`--coverage-json other.jsonl` replaced a scenario file the command did not
    read, until 2026-12-02)."""
    if _named_as_input(path, (".yaml", ".yml", ".jsonl", ".ndjson", ".parquet", ".pq", ".gz")):
        raise UsageError(
            f"{printable(str(path))} is named like a scenario or rule file; "
            f"give the {what} report a name ending in `.json`"
        )


def _named_as_input(path: Path, suffixes: tuple[str, ...]) -> bool:
    """Whether the report's name, or the file a link of that name leads to, is named as scenarios
    or rules are (a link is written through: `report.html` leading to `night.jsonl` replaced the
    scenarios, until 2026-12-02)."""
    return path.suffix.lower() in suffixes or Path(os.path.realpath(path)).suffix.lower() in suffixes


def report_target(name: str, what: str) -> Path:
    """A report file to write; a usage error unless it names a file in an existing folder. `-`
    is a usage error, as for `run --errors -`: the option names a file, standard output is
    `/dev/stdout` (until 2026-12-03 a file named `-` was written)."""
    if name == "-":
        raise UsageError(
            f"cannot write the {what} report to `-`: the option names a file; for standard output give /dev/stdout"
        )
    path = Path(name)
    if is_dir(path) or not is_dir(path.parent):
        raise UsageError(f"cannot write the {what} report to {printable(name)}: give a file in an existing folder")
    return path


def write_html(path: Path, page: str) -> None:
    """Write the report (temporary file in the same folder, then `os.replace`); a failure is a usage error."""
    write_report(path, page)


def write_report(path: Path, page: str) -> None:
    """`write_html` of any report's text."""
    from engine.report.html import write_atomically

    try:
        write_atomically(path, page)
    except OSError as exc:
        raise UsageError(f"cannot write {printable(str(path))}: {exc.strerror or exc}") from None


def not_an_input(path: Path, option: str, inputs: Iterable[str | Path | None]) -> None:
    """A usage error when the report would replace a file the command reads, or be written in a
    folder it reads as a file of the kind read there (a `.json` report among expectations would be
    read as one next time; an `.html` page beside the scenarios is not read). Until 2026-12-02
    `diff --html` and `test --coverage-json` wrote over a scenario, an expectation or a rule file
    named by mistake."""
    target = os.path.realpath(path)  # (a link is written through: what it leads to counts)
    readable = Path(target).suffix.lower() in _READ_SUFFIXES or path.suffix.lower() in _READ_SUFFIXES
    for name in inputs:
        if name is None:
            continue
        source = os.path.realpath(name)
        if target == source:
            raise UsageError(f"{option} {printable(str(path))} is one of the files read; give the report its own file")
        if readable and os.path.isdir(source) and os.path.commonpath([target, source]) == source:
            raise UsageError(
                f"{option} {printable(str(path))} is inside {printable(str(name))}, which is read; "
                "write the report outside it"
            )


#: what the commands read from a folder (rules: YAML; scenarios and expectations: YAML and JSON),
#: in any case (`B.YAML` is reported where it is not read)
_READ_SUFFIXES = (".yaml", ".yml", ".json")


def _binary_scenarios(name: str) -> str | None:
    """What an existing target holds that `billrules run` reads and no report is: Parquet scenarios
    (a `scenario` column without both `rules_version` and `decision`, or a column a field with `id`
    and `as_of` and no `decision` or `rules_version`: not a run's own decisions), or gzip-compressed data (scenarios
    piped through `zcat`); None otherwise (until 2026-12-03 `run --output`, `--summary`, `decide
    --html` and `test --coverage-json` replaced either, and `run --output` a Parquet file of
    scenarios read a column a field)."""
    try:
        real = os.path.realpath(name)
        if not os.path.isfile(real):
            return None
        with open(real, "rb") as file:
            magic = file.read(4)
    except OSError:
        return None
    if magic[:2] == b"\x1f\x8b":
        return "gzip-compressed data"
    if magic != b"PAR1":
        return None
    try:
        import pyarrow.parquet as pq

        columns = set(pq.read_schema(real).names)
    except Exception:  # (no pyarrow, or a file it cannot read: Parquet all the same)
        return "a Parquet file"
    decisions = {"scenario", "rules_version", "decision"} <= columns  # (as `run` writes them, and reads them)
    if "scenario" in columns and not decisions:
        # (until 2026-12-03 any `rules_version` column passed for a run's own decisions, though a run
        # reads a file without `decision` as scenarios: a hostile-input campaign of that day)
        return "Parquet scenarios (a `scenario` column)"
    if {"id", "as_of"} <= columns and not ({"decision", "rules_version"} & columns):
        return "Parquet scenarios (a column a field: `id`, `as_of`)"
    return None


#: the most of an existing target read to tell what it holds (a larger one is read as one JSON
#: document no further than this, and as JSON Lines no further than its first `_LINES_LOOKED_AT`
#: non-blank lines within this)
_LOOKED_AT = 16 * 1024 * 1024

#: the non-blank lines of a JSON Lines target looked at for a scenario (a first line that is
#: blank or bad does not hide the scenarios after it)
_LINES_LOOKED_AT = 10


def not_over_scenarios(name: str, option: str, lines: bool = False) -> None:
    """A usage error when the existing file `name` would be replaced by a report but holds what
    billrules reads: a JSON scenario (`id` and `as_of`), an expectation (`expect`) or a rule
    document (`kind`) — one JSON document, indented or not — or JSON Lines of which one of the
    first non-blank lines is a scenario (and no decision: `scenario`, `rules_version`). Such a file
    is named as a report must be (`.json`, `.jsonl`), so only its content tells (until 2026-12-03
    `run --summary expect.json` and `test --coverage-json` replaced an expectation, `run --output
    other.jsonl` a file of scenarios; and `run --output`/`--errors` one whose JSON was indented,
    whose first line was blank or bad, or a one-line rule document). `lines`: the target is
    written as JSON Lines (`--output`, `--errors`), and a scenario line is told as such first."""
    holds = _binary_scenarios(name)
    if holds is not None:
        raise UsageError(
            f"{option} {printable(name)}: it holds {holds}, which it would replace; give it a file of its own"
        )
    try:
        real = os.path.realpath(name)
        if not os.path.isfile(real):
            return
        with open(real, "rb") as file:
            rows = _first_rows(file)
            file.seek(0)
            whole = file.read() if os.fstat(file.fileno()).st_size <= _LOOKED_AT else None
    except OSError:
        return
    told = (_scenario_line(rows), _json_document(whole))
    for found in told if lines else reversed(told):
        if found is not None:
            raise UsageError(f"{option} {printable(name)}: {found}, which it would replace; give it a file of its own")


def _first_rows(file: BinaryIO) -> list[bytes]:
    """The file's lines up to its `_LINES_LOOKED_AT`-th non-blank one, within `_LOOKED_AT` bytes."""
    rows: list[bytes] = []
    budget, looked = _LOOKED_AT, 0
    while budget > 0 and looked < _LINES_LOOKED_AT:
        row = file.readline(budget)
        if not row:
            break
        rows.append(row)
        budget -= len(row)
        looked += bool(row.strip())
    return rows


def _held(data: object, document: bool) -> str | None:
    """What a JSON value is that billrules reads: a scenario or an expectation, or (`document`: the
    file's one JSON value) a rule document; None for anything else (a decision, an error record)."""
    if not isinstance(data, dict):
        return None
    if "id" in data and "as_of" in data and not ({"scenario", "rules_version"} & data.keys()):
        return "a scenario (`id`, `as_of`)" if "expect" not in data else "an expectation (`expect`)"
    if document and "expect" in data:
        return "an expectation (`expect`)"
    if document and isinstance(data.get("kind"), str):
        return "a rule document (`kind`)"
    return None


def _json_document(whole: bytes | None) -> str | None:
    """What the file holds read as JSON from its start (indented or not): its one JSON document,
    or, when more follows (JSON documents one after the other), its first one if a scenario."""
    import json

    if whole is None:  # (larger than `_LOOKED_AT`: not read as one document)
        return None
    try:
        text = _decoded(whole).lstrip()
        data, end = json.JSONDecoder().raw_decode(text)
    except (ValueError, RecursionError):  # (not UTF-8 or UTF-16/32 with its mark, or not JSON)
        return None
    if isinstance(data, list):  # a JSON array of scenarios (until 2026-12-03 replaced: a hostile-input campaign)
        held = next((_held(item, False) for item in data[:_LINES_LOOKED_AT] if _held(item, False)), None)
        return None if held is None else f"it holds a JSON array with {held}"
    held = _held(data, not text[end:].strip())
    return None if held is None else f"it holds {held}"


def _decoded(data: bytes) -> str:
    """The text of a file in UTF-8, or in UTF-16 or UTF-32 when it starts with their byte-order
    mark (an editor's "Unicode" save: until 2026-12-03 such a file of scenarios was replaced)."""
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return data.decode("utf-32")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def _scenario_line(rows: list[bytes]) -> str | None:
    """Which of the first non-blank lines is a scenario, read as JSON Lines are ("its first line
    is a scenario", "its line 3 is a scenario"); None when none of them is."""
    import json

    for number, row in enumerate(rows, start=1):
        try:
            held = _held(json.loads(row.decode("utf-8").lstrip("\ufeff")), False) if row.strip() else None
        except (ValueError, RecursionError):  # (not UTF-8, not JSON, or cut off by `_LOOKED_AT`)
            held = None
        if held is not None:
            return f"{'its first line' if number == 1 else f'its line {number}'} is {held}"
    return None

"""`--html FILE` of `decide` and `diff` (and `test --coverage-json FILE`): the target is checked
before any work, never one of the command's inputs, and written atomically."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from engine.cli.exits import UsageError
from engine.cli.safe_text import printable
from engine.files import is_dir


def html_target(name: str) -> Path:
    """The HTML file to write; a usage error unless it names a file in an existing folder, and
    not one named as scenarios and rules are (`--html other-scenario.yaml` replaced a scenario the
    command did not read, until 2026-12-02)."""
    path = report_target(name, "HTML")
    if _named_as_input(path, (*_READ_SUFFIXES, ".jsonl", ".ndjson")):
        raise UsageError(
            f"{printable(name)} is named like a scenario or rule file; give the HTML report a name ending in `.html`"
        )
    return path


def json_report_named(path: Path, what: str) -> None:
    """A JSON report (`test --coverage-json`) is not named as a scenario file or a rule file is
    (`.jsonl`, `.ndjson`, `.yaml`, `.yml`): wherever it is, such a name holds scenarios or rules,
    not a report (`--coverage-json other.jsonl` replaced a scenario file the command did not
    read, until 2026-12-02)."""
    if _named_as_input(path, (".yaml", ".yml", ".jsonl", ".ndjson")):
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

"""Turn diagnostics into text (like a compiler), JSON, GitHub annotations or SARIF 2.1.0.

A reporter is fed diagnostics as they are found (`add`, any number of times) and finished once
(`close`), so a command that streams scenarios keeps one report, one source-line cache and one
limit for the whole run. At most `limit` diagnostics are written (`--max-diagnostics`, default
1,000; 0 writes all); the rest are counted and the count is stated, never dropped silently.
Every string that came from input is escaped (`safe_text`), so no input can forge a report line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from engine.cli.safe_text import json_safe, printable
from engine.diagnostics import Diagnostic

DEFAULT_MAX_DIAGNOSTICS = 1000
FORMATS = ("github", "json", "sarif", "text")
#: Source lines longer than this are not quoted under a diagnostic (minified or hostile input).
MAX_QUOTED_LINE = 300


def add_report_options(parser: argparse.ArgumentParser, *, formats: bool = False) -> None:
    """The options every command that reports diagnostics shares."""
    if formats:
        parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    parser.add_argument(
        "--max-diagnostics",
        type=_non_negative,
        default=DEFAULT_MAX_DIAGNOSTICS,
        metavar="N",
        help=f"write at most N diagnostics and count the rest (default: {DEFAULT_MAX_DIAGNOSTICS:,}; 0: no limit)",
    )


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 0, got {text!r}")
    return value


class Reporter:
    """Counts every diagnostic, writes up to `limit` of them; subclasses say how."""

    def __init__(self, stream: TextIO, limit: int = DEFAULT_MAX_DIAGNOSTICS) -> None:
        self.stream = stream
        self.limit = limit
        self.total = 0
        self.files: set[str] = set()

    @property
    def shown(self) -> int:
        return self.total if not self.limit else min(self.total, self.limit)

    @property
    def omitted(self) -> int:
        return self.total - self.shown

    def add(self, diagnostics: Iterable[Diagnostic]) -> None:
        for diagnostic in diagnostics:
            self.total += 1
            self.files.add(diagnostic.file)
            if not self.limit or self.total <= self.limit:
                self.write(diagnostic)

    def write(self, diagnostic: Diagnostic) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Write what comes after the diagnostics (a summary, or the whole JSON document)."""

    def omitted_sentence(self) -> str:
        noun = "problem" if self.omitted == 1 else "problems"
        return f"{self.omitted:,} more {noun} not shown (the limit is {self.limit:,}; see --max-diagnostics)"


class TextReporter(Reporter):
    """Compiler-like lines: `file:line:column: error[CODE] message`, the source line, a caret, the hint."""

    def __init__(self, stream: TextIO, limit: int = DEFAULT_MAX_DIAGNOSTICS) -> None:
        super().__init__(stream, limit)
        colour = not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty()
        self.red, self.bold, self.cyan, self.reset = (
            ("\x1b[31m", "\x1b[1m", "\x1b[36m", "\x1b[0m") if colour else ("",) * 4
        )
        self._lines: dict[str, list[str] | None] = {}  # one read per file for the whole run

    def write(self, d: Diagnostic) -> None:
        red, bold, cyan, reset = self.red, self.bold, self.cyan, self.reset
        if d.severity.value == "warning" and red:
            red = "\x1b[33m"  # warnings in yellow, errors in red
        self.stream.write(
            f"{bold}{printable(d.file)}:{d.line}:{d.column}:{reset} {red}{d.severity.value}[{printable(d.code)}]{reset} {printable(d.message)}\n"
        )
        source = self._source_line(d.file, d.line) if d.code not in _NOT_READ else None
        if source is not None and 1 <= d.column <= len(source) + 1:
            gutter = " " * len(str(d.line))
            end = max(d.end_column or d.column + 1, d.column + 1)
            indent = _cells(printable(source[: d.column - 1]))
            width = max(1, _cells(printable(source[d.column - 1 : end - 1])))
            self.stream.write(f" {d.line} | {printable(source)}\n")
            self.stream.write(f" {gutter} | {' ' * indent}{red}^{'~' * (width - 1)}{reset}\n")
        for line in d.detail:
            self.stream.write(f"  = {printable(line)}\n")
        if d.hint:
            self.stream.write(f"  {cyan}hint:{reset} {printable(d.hint)}\n")

    def _source_line(self, file: str, line: int) -> str | None:
        if file not in self._lines:
            self._lines[file] = _read_lines(file)
        lines = self._lines[file]
        if lines is None or not 1 <= line <= len(lines):
            return None
        text = lines[line - 1]
        return text if len(text) <= MAX_QUOTED_LINE and "\x00" not in text else None

    def close(self) -> None:
        if self.omitted:
            self.stream.write(f"… {self.omitted_sentence()}\n")
        if self.total:
            files = len(self.files)
            noun = "problem" if self.total == 1 else "problems"
            self.stream.write(f"{self.total:,} {noun} in {files:,} file{'s' if files != 1 else ''}\n")


def _cells(text: str) -> int:
    """The columns `text` takes in a terminal: two for a wide character (CJK, most emoji), none
    for a combining mark or a zero-width one, one for the rest; the caret's padding (until
    2026-12-02 it counted characters, and a caret after `"日本"` stood two columns to the left)."""
    if text.isascii():
        return len(text)
    from unicodedata import category, east_asian_width

    return sum(2 if east_asian_width(c) in "WF" else 0 if category(c) in ("Mn", "Me", "Cf") else 1 for c in text)


#: Diagnostics about a file the loader did not read (a folder, too large, binary, a link leading
#: outside the rule set): never quoted, so a link to a secret does not print it into a CI log.
_NOT_READ = frozenset({"BR100", "BR101", "BR102", "BR117"})


def _read_lines(file: str) -> list[str] | None:
    """The lines of a regular file of bounded size, for quoting; None for anything else."""
    from engine.load import MAX_FILE_BYTES

    path = Path(file)
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        text = raw.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if path.suffix.lower() in (".jsonl", ".ndjson"):  # a line is what ends at `\n` (`run` reads so)
        lines = [line.removesuffix("\r") for line in text.split("\n")]
    else:  # lines as the YAML parsers number them (`str.splitlines` also broke at a form feed, a
        # vertical tab and the separators \x1c-\x1e: the quoted line was cut there, until 2026-12-02)
        lines = _YAML_LINE_BREAK.split(text)
    if lines and not lines[-1]:  # (a last line break ends the last line: no empty line after it)
        lines.pop()
    return lines


#: what ends a line of a YAML file, as libyaml counts the lines it reports
_YAML_LINE_BREAK = re.compile("\r\n|\r|\n|\x85|\u2028|\u2029")


class JsonReporter(Reporter):
    """One JSON document: the diagnostics written, the total count and how many were left out."""

    def __init__(self, stream: TextIO, limit: int = DEFAULT_MAX_DIAGNOSTICS) -> None:
        super().__init__(stream, limit)
        self.items: list[dict[str, object]] = []

    def write(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic.to_json())

    def close(self) -> None:
        document = {"diagnostics": self.items, "count": self.total, "omitted": self.omitted}
        self.stream.write(json_safe(json.dumps(document, indent=2, ensure_ascii=False)) + "\n")


def _escape_data(text: str) -> str:
    return printable(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


class GithubReporter(Reporter):
    """GitHub Actions workflow commands (`::error file=…,line=…::message`), one line each."""

    def write(self, d: Diagnostic) -> None:
        props = f"file={_escape_property(d.file)},line={d.line},col={d.column},endColumn={d.end_column or d.column},title={_escape_property(d.code)}"
        message = f"{d.message} ({d.hint})" if d.hint else d.message
        self.stream.write(f"::{d.severity.value} {props}::{_escape_data(message)}\n")

    def close(self) -> None:
        if self.omitted:
            self.stream.write(f"::warning title=billrules::{_escape_data(self.omitted_sentence())}\n")


class SarifReporter(Reporter):
    """SARIF 2.1.0, for code-scanning dashboards; left-out diagnostics are counted in the run's properties."""

    def __init__(self, stream: TextIO, limit: int = DEFAULT_MAX_DIAGNOSTICS) -> None:
        super().__init__(stream, limit)
        self.results: list[dict[str, Any]] = []

    def write(self, d: Diagnostic) -> None:
        self.results.append(
            {
                "ruleId": d.code,
                "level": "error" if d.severity.value == "error" else "warning",
                "message": {"text": f"{d.message}\nhint: {d.hint}" if d.hint else d.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": _uri(d.file)},
                            "region": {
                                "startLine": max(d.line, 1),
                                "startColumn": max(d.column, 1),
                                "endColumn": max(d.end_column or d.column, 1),
                            },
                        },
                    }
                ],
            }
        )

    def close(self) -> None:
        from engine.codes import CODES

        used = sorted({r["ruleId"] for r in self.results})
        rules = [
            {"id": code, "name": CODES[code][0], "shortDescription": {"text": CODES[code][1]}}
            for code in used
            if code in CODES
        ]
        run: dict[str, Any] = {"tool": {"driver": {"name": "billrules", "rules": rules}}, "results": self.results}
        if self.omitted:
            run["properties"] = {"total": self.total, "omitted": self.omitted}
        sarif = {
            "version": "2.1.0",
            "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
            "runs": [run],
        }
        self.stream.write(json_safe(json.dumps(sarif, indent=2, ensure_ascii=False)) + "\n")


REPORTERS: dict[str, type[Reporter]] = {
    "text": TextReporter,
    "json": JsonReporter,
    "github": GithubReporter,
    "sarif": SarifReporter,
}


def report(
    diagnostics: Iterable[Diagnostic], stream: TextIO, fmt: str = "text", limit: int = DEFAULT_MAX_DIAGNOSTICS
) -> None:
    """Write a whole list of diagnostics at once."""
    reporter = REPORTERS[fmt](stream, limit)
    reporter.add(diagnostics)
    reporter.close()


def _uri(file: str) -> str:
    """A file's path as SARIF's `uri`, a URI reference: percent-encoded (`my%20segs%25.yaml`; a
    byte of a name that is not UTF-8 as itself, `%FF`). Until 2026-12-02 a space or `%` was
    written raw, which is no URI, and a consumer decoding it read another name."""
    from urllib.parse import quote

    return quote(Path(file).as_posix(), safe="/", errors="surrogateescape")

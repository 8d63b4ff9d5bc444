"""Turn diagnostics into text (like a compiler), JSON, GitHub annotations or SARIF 2.1.0."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from engine.codes import CODES
from engine.diagnostics import Diagnostic

Reporter = Callable[[Sequence[Diagnostic], TextIO], None]


def _use_colour(stream: TextIO) -> bool:
    return not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty()


def _source_line(file: str, line: int, cache: dict[str, list[str] | None]) -> str | None:
    if file not in cache:
        try:
            cache[file] = Path(file).read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError):
            cache[file] = None
    lines = cache[file]
    if lines is None or not 1 <= line <= len(lines):
        return None
    text = lines[line - 1]
    return text if len(text) <= 300 and "\x00" not in text else None


def report_text(diagnostics: Sequence[Diagnostic], stream: TextIO) -> None:
    colour = _use_colour(stream)
    red, bold, cyan, reset = ("\x1b[31m", "\x1b[1m", "\x1b[36m", "\x1b[0m") if colour else ("", "", "", "")
    cache: dict[str, list[str] | None] = {}
    for d in diagnostics:
        stream.write(
            f"{bold}{d.file}:{d.line}:{d.column}:{reset} {red}{d.severity.value}[{d.code}]{reset} {d.message}\n"
        )
        source = _source_line(d.file, d.line, cache)
        if source is not None and d.column >= 1:
            gutter = " " * len(str(d.line))
            width = max(1, (d.end_column or d.column + 1) - d.column)
            stream.write(f" {d.line} | {source}\n")
            stream.write(f" {gutter} | {' ' * (d.column - 1)}{red}^{'~' * (width - 1)}{reset}\n")
        for line in d.detail:
            stream.write(f"  = {line}\n")
        if d.hint:
            stream.write(f"  {cyan}hint:{reset} {d.hint}\n")
    if diagnostics:
        files = len({d.file for d in diagnostics})
        noun = "problem" if len(diagnostics) == 1 else "problems"
        stream.write(f"{len(diagnostics)} {noun} in {files} file{'s' if files != 1 else ''}\n")


def report_json(diagnostics: Sequence[Diagnostic], stream: TextIO) -> None:
    json.dump(
        {"diagnostics": [d.to_json() for d in diagnostics], "count": len(diagnostics)},
        stream,
        indent=2,
        ensure_ascii=False,
    )
    stream.write("\n")


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def report_github(diagnostics: Sequence[Diagnostic], stream: TextIO) -> None:
    for d in diagnostics:
        props = f"file={_escape_property(d.file)},line={d.line},col={d.column},endColumn={d.end_column or d.column},title={d.code}"
        message = f"{d.message} ({d.hint})" if d.hint else d.message
        stream.write(f"::{d.severity.value} {props}::{_escape_data(message)}\n")


def report_sarif(diagnostics: Sequence[Diagnostic], stream: TextIO) -> None:
    used = sorted({d.code for d in diagnostics})
    rules = [
        {"id": code, "name": CODES[code][0], "shortDescription": {"text": CODES[code][1]}}
        for code in used
        if code in CODES
    ]
    results = [
        {
            "ruleId": d.code,
            "level": "error" if d.severity.value == "error" else "warning",
            "message": {"text": f"{d.message}\nhint: {d.hint}" if d.hint else d.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": Path(d.file).as_posix()},
                        "region": {
                            "startLine": max(d.line, 1),
                            "startColumn": max(d.column, 1),
                            "endColumn": max(d.end_column or d.column, 1),
                        },
                    },
                }
            ],
        }
        for d in diagnostics
    ]
    sarif = {
        "version": "2.1.0",
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
        "runs": [{"tool": {"driver": {"name": "billrules", "rules": rules}}, "results": results}],
    }
    json.dump(sarif, stream, indent=2, ensure_ascii=False)
    stream.write("\n")


REPORTERS: dict[str, Reporter] = {
    "text": report_text,
    "json": report_json,
    "github": report_github,
    "sarif": report_sarif,
}

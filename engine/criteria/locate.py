"""Map positions inside a criterion's text to line and column in the rule file.

A `when:` expression may be a plain, quoted or block scalar spanning several lines; YAML folds or
unescapes it before the parser sees it. The mapper walks the expression and the file's text side
by side, treating any run of whitespace as equal, so an error inside the expression gets the
caret at the character the analyst typed.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from engine.criteria.ast import Span
from engine.criteria.parse import Locator
from engine.load import Document, JsonPath


def _lines(file: str) -> tuple[str, ...]:
    try:
        path = Path(file).resolve()
        stat = path.stat()
    except OSError:
        return ()
    return _read_lines(str(path), stat.st_mtime_ns, stat.st_size)


@cache
def _read_lines(path: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    """Cached per file version (a long-lived process may see the same file change)."""
    try:
        return tuple(Path(path).read_text(encoding="utf-8-sig").splitlines())
    except (OSError, UnicodeDecodeError):
        return ()


def text_locator(document: Document, path: JsonPath, text: str) -> Locator:
    """A locator for the expression held at `path` in `document`."""
    start = document.locate(path)
    style = document.styles.get(path)
    lines = _lines(document.file)
    line, column = start.line - 1, start.column - 1  # 0-based in the file
    if style in ("|", ">"):
        line += 1
        while line < len(lines) and not lines[line].strip():
            line += 1
        column = len(lines[line]) - len(lines[line].lstrip()) if line < len(lines) else 0
    elif style in ('"', "'"):
        column += 1
    positions = _align(text, lines, line, column)

    def locate(begin: int, end: int) -> Span:
        b = positions[min(begin, len(positions) - 1)] if positions else (start.line - 1, start.column - 1)
        e = positions[min(max(end, begin + 1), len(positions) - 1)] if positions else b
        end_column = e[1] + 1 if e[0] == b[0] and e[1] > b[1] else b[1] + 2
        return Span(document.file, b[0] + 1, b[1] + 1, end_column)

    return locate


def _align(text: str, lines: tuple[str, ...], line: int, column: int) -> list[tuple[int, int]]:
    """For each offset 0..len(text) of the expression, its (line, column) in the file."""
    if line >= len(lines):
        return []
    positions: list[tuple[int, int]] = []
    li, ci = line, column

    def current() -> str:
        if li >= len(lines):
            return ""
        return lines[li][ci] if ci < len(lines[li]) else "\n"

    for ch in text:
        if ch.isspace():
            positions.append((li, ci))
            continue
        # skip file whitespace (line breaks, indentation) and escapes until the character matches;
        # if it cannot be found close by, keep the last good position rather than drift away
        sli, sci, lines_crossed = li, ci, 0
        while li < len(lines) and current() != ch and lines_crossed <= 2:
            if current() == "\n":
                li, ci, lines_crossed = li + 1, 0, lines_crossed + 1
            else:
                ci += 1
        if li >= len(lines) or current() != ch:
            li, ci = sli, sci
        positions.append((li, ci))
        ci += 1
    positions.append((li, ci))
    return positions

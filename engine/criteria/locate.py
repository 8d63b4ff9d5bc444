"""Map positions inside a criterion's text to line and column in the rule file.

A `when:` expression may be a plain, quoted or block scalar spanning several lines; YAML folds or
unescapes it before the parser sees it. The mapper walks the expression and the file's text side
by side, treating any run of whitespace as equal, so an error inside the expression gets the
caret at the character the analyst typed.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from engine.criteria.ast import Span
from engine.criteria.parse import Locator
from engine.load import Document, JsonPath

#: the lines of each file located while the pipeline's criteria stage runs, read once per file
#: (the stage locates thousands of criteria in a few files); `forget_texts` clears it
_STAGE_LINES: dict[str, tuple[str, ...]] = {}


def _lines(file: str) -> tuple[str, ...]:
    lines = _STAGE_LINES.get(file)
    if lines is None:
        lines = _STAGE_LINES[file] = _file_lines(file)
    return lines


def _file_lines(file: str) -> tuple[str, ...]:
    try:
        stat = os.stat(file)
    except OSError:
        return ()
    return _read_lines(os.path.abspath(file), stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size)


@cache
def _read_lines(path: str, device: int, inode: int, mtime_ns: int, size: int) -> tuple[str, ...]:
    """Cached per file version (a long-lived process may see the same file change)."""
    try:
        return tuple(Path(path).read_text(encoding="utf-8-sig").splitlines())
    except (OSError, UnicodeDecodeError):
        return ()


_new = object.__new__


def _span(file: str, line: int, column: int, end_column: int) -> Span:
    """`Span(file, line, column, end_column)`, made without the frozen dataclass's `__init__`
    (which sets each field through `object.__setattr__`): a locator makes one per AST node."""
    span = _new(Span)
    values = span.__dict__
    values["file"] = file
    values["line"] = line
    values["column"] = column
    values["end_column"] = end_column
    values["text"] = ""
    return span


def fresh(locate: Locator) -> Locator:
    """Mark a locator that returns a new span at every call: `anchor` may fill in its text
    instead of copying it."""
    locate.fresh = True  # type: ignore[attr-defined]
    return locate


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
    if line < len(lines) and lines[line].startswith(text, column):
        return _straight_locator(document.file, text, line, column)
    positions = _align(text, lines, line, column, escapes=style == '"')
    return _aligned_locator(document.file, positions, (start.line - 1, start.column - 1))


def _aligned_locator(file: str, positions: list[tuple[int, int]], fallback: tuple[int, int]) -> Locator:
    def locate(begin: int, end: int) -> Span:
        b = positions[min(begin, len(positions) - 1)] if positions else fallback
        e = positions[min(max(end, begin + 1), len(positions) - 1)] if positions else b
        end_column = e[1] + 1 if e[0] == b[0] and e[1] > b[1] else b[1] + 2
        return _span(file, b[0] + 1, b[1] + 1, end_column)

    return fresh(locate)


def _straight_locator(file: str, text: str, line: int, column: int) -> Locator:
    """The locator `_align` gives when the expression is written as it is, on one line of the
    file from `column` (the common case), without aligning every character: a character is at
    its own column, and whitespace at the column just after the last other character before it
    (as `_align`, which does not move through the file on the expression's whitespace)."""
    size = len(text)

    def column_of(offset: int) -> int:
        if offset < size and not text[offset].isspace():
            return column + offset
        return column + len(text[:offset].rstrip())

    def locate(begin: int, end: int) -> Span:
        b = column_of(min(begin, size))
        e = column_of(min(max(end, begin + 1), size))
        return _span(file, line + 1, b + 1, e + 1 if e > b else b + 2)

    return fresh(locate)


def _align(text: str, lines: tuple[str, ...], line: int, column: int, escapes: bool = False) -> list[tuple[int, int]]:
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
        at = ci
        while li < len(lines) and at < len(lines[li]) and lines[li][at] in " \t" and not ch.isspace():
            at += 1  # (the expression's spaces do not move through the file: the file's are passed here)
        # (only double-quoted text has escapes: elsewhere `\\` is two characters of the expression)
        escape = _escape_at(lines[li], at) if escapes and li < len(lines) else None
        if escape is not None and escape[0] == ch:  # `\u0022` written for `"`: the escape is the character
            # (until 2026-12-02 the `"` was looked for in the file, and every later column drifted)
            positions.append((li, at))
            ci = at + escape[1]
            continue
        if ch.isspace():
            positions.append((li, ci))
            continue
        # skip file whitespace (line breaks, indentation) and escapes until the character matches;
        # if it cannot be found close by, keep the last good position rather than drift away
        # (blank lines are not counted: YAML folds two of them into two line breaks, and until
        # 2026-12-04 the third line crossed put the caret back on the expression's first line)
        sli, sci, lines_crossed = li, ci, 0
        while li < len(lines) and current() != ch and lines_crossed <= 2:
            if current() == "\n":
                li, ci = li + 1, 0
                if li < len(lines) and lines[li].strip():
                    lines_crossed += 1
            else:
                ci += 1
        if li >= len(lines) or current() != ch:
            li, ci = sli, sci
        positions.append((li, ci))
        ci += 1
    positions.append((li, ci))
    return positions


#: YAML's one-letter escapes of double-quoted text
_SHORT_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
    "L": "\u2028", "P": "\u2029",
}  # fmt: skip
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


def _escape_at(line: str, column: int) -> tuple[str, int] | None:
    """The character a double-quoted escape starting at `column` of `line` stands for, and the
    escape's length (`\\u0022`: `"`, 6); None when no escape starts there."""
    if column + 1 >= len(line) or line[column] != "\\":
        return None
    letter = line[column + 1]
    if letter in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[letter], 2
    digits = _HEX_ESCAPES.get(letter)
    if digits is None:
        return None
    hexadecimal = line[column + 2 : column + 2 + digits]
    if len(hexadecimal) != digits or any(c not in "0123456789abcdefABCDEF" for c in hexadecimal):
        return None
    code = int(hexadecimal, 16)
    return (chr(code), 2 + digits) if code <= 0x10FFFF else None

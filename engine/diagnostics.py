"""Diagnostics: every problem found anywhere in the pipeline is one flat record.

Checks never raise for bad input; they yield `Diagnostic` values, so a single run reports every
finding. Only the command line turns diagnostics into text, JSON, GitHub annotations or SARIF.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One finding, with a location (1-based line and column; 0 when unknown)."""

    file: str
    line: int
    column: int
    code: str
    message: str
    hint: str = ""
    end_column: int = 0
    severity: Severity = Severity.ERROR
    detail: tuple[str, ...] = field(default=(), compare=False)

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.column, self.code, self.message)

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_column": self.end_column or self.column,
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
            "detail": list(self.detail),
        }


@dataclass(frozen=True)
class FieldDiagnostic(Diagnostic):
    """A diagnostic about a scenario record (a run's line, or a scenario given as data): the line is
    the record's, the field names the place in it."""

    field_path: str = ""


def sorted_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sort by location and drop exact duplicates, so output is deterministic."""
    unique = {(d.sort_key(), d.hint, d.end_column): d for d in diagnostics}
    return [unique[k] for k in sorted(unique)]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A "did you mean" hint for a misspelt name (`closest`), or an empty string."""
    match = closest(name, candidates)
    return f"did you mean `{match}`?" if match is not None else ""


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate a misspelt name stands for, or None.

    A candidate must be alike (difflib's ratio, 0.6 or more) and close: at most a third of the
    name's letters typed wrong, left out, added or swapped (at least two may be), `typo_distance`,
    or the same words with a word more or less at either end (`effective_from`: `effective`).
    Alike alone suggested words sharing a few letters: `users:` got `services`, `units:` got
    `quantity`, the add-on `movies-bundle` got `multiroom-bundle` (until 2026-12-03)."""
    import difflib  # only when there is something to report (it is slow to import)

    allowed = max(2, len(name) // 3)
    for match in difflib.get_close_matches(name, sorted(set(candidates)), n=3, cutoff=0.6):
        if typo_distance(name, match) <= allowed or _word_more(name, match):
            return match
    return None


def _word_more(first: str, second: str) -> bool:
    """Are the words of one (split at `_`, `-`, `.`) the other's with words added at its start or
    end (`effective_from` and `effective`)? The words shared must have four letters or more
    between them (`id` is not `id_code` misspelt)."""
    import re

    a, b = (re.split(r"[_.-]", text.lower()) for text in (first, second))
    short, long = (a, b) if len(a) < len(b) else (b, a)
    if len(short) == len(long) or sum(len(word) for word in short) < 4:
        return False
    return long[: len(short)] == short or long[-len(short) :] == short


def typo_distance(first: str, second: str) -> int:
    """The fewest letters to change, insert, delete or swap with their neighbour to turn `first`
    into `second` (the optimal string alignment distance)."""
    before: list[int] = []
    previous = list(range(len(second) + 1))
    for i, a in enumerate(first, 1):
        current = [i]
        for j, b in enumerate(second, 1):
            cost = current[j - 1] + 1
            cost = min(cost, previous[j] + 1, previous[j - 1] + (a != b))
            if i > 1 and j > 1 and a == second[j - 2] and first[i - 2] == b:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, previous = previous, current
    return previous[-1]

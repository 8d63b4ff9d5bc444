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
    """A "did you mean" hint for a misspelt name, or an empty string."""
    import difflib  # only when there is something to report (it is slow to import)

    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean `{matches[0]}`?" if matches else ""

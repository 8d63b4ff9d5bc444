"""Reasons are data: why a decision came out as it did, as a record, worded only at the boundary.

An evaluator returns `Reason(code, facts, source)`: a stable code (`expired`, `used_up`, ...),
the facts it compared (actual and expected values, as plain JSON-ready data: text, numbers,
money and dates already rendered as text), and where the rule that decided lives. `--json`
carries the record; `billrules test` compares codes and facts; text and HTML word it with the
template registered for its code (`register`). A code without a template is still rendered
(its code and facts), so a forgotten template never hides a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: code -> `str.format` template over the reason's facts, e.g. "expired on {to}".
_TEMPLATES: dict[str, str] = {}


@dataclass(frozen=True)
class Source:
    """Where the deciding rule was written: file, 1-based line and column."""

    file: str
    line: int
    column: int

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column}


@dataclass(frozen=True)
class Reason:
    """One reason: a stable code, the facts compared, and the rule's location (when one decided)."""

    code: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    source: Source | None = None

    def words(self) -> str:
        """The reason in an analyst's words (the registered template, filled with the facts)."""
        template = _TEMPLATES.get(self.code)
        if template is not None:
            try:
                return template.format(**self.facts)
            except (KeyError, IndexError, ValueError):
                pass
        facts = ", ".join(f"{k} {v}" for k, v in self.facts.items())
        return f"{self.code.replace('_', ' ')}{': ' + facts if facts else ''}"

    def to_json(self) -> dict[str, Any]:
        """The record as data, with its words: deterministic key order, facts in insertion order."""
        data: dict[str, Any] = {"code": self.code, "text": self.words(), "facts": dict(self.facts)}
        if self.source is not None:
            data["source"] = self.source.to_json()
        return data


def register(templates: Mapping[str, str]) -> None:
    """Add an evaluator's templates; a code may be registered once (codes are an interface)."""
    for code, template in templates.items():
        if _TEMPLATES.get(code, template) != template:
            raise ValueError(f"reason code `{code}` is registered twice with different words")
        _TEMPLATES[code] = template
